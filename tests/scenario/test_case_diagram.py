"""The auditor's picture of a case on its diagram, checked against the audit trail.

A gas leak with a poisoned person runs gas_leak and, through a call activity,
emergency_patient; each diagram shows only its own elements, and the call activity
leads into the called process's path.
"""

import pytest
from emergency_path import EP_HOSPITAL_ELEMENTS, EP_HOSPITAL_FLOWS, T, send_victims_to_hospital

from engine.errors import NotFound
from engine.runtime.case_diagram import case_diagram
from engine.runtime.queries import get_instance_row


def picture(case, process_id=None):
    with case.runtime.db.session() as session:
        return case_diagram(session, get_instance_row(session, case.instance_id), process_id,
                            now=case.runtime.clock.now())


def poisoned_gas_leak(start_case):
    case = start_case("gas_leak", {}, as_user="guard1")
    case.complete("locate_leak", "guard1", location_known=True, unit="3栋501厨房",
                  leak_cause="软管老化", found_at=T)
    case.complete("close_valve", "guard1", valve_type="bottle_valve", valve_closed=True,
                  safety_rules_kept=True, closed_at=T)
    case.complete("open_windows", "guard1", windows_opened=True, ventilated_at=T)
    case.complete("assess_aftermath", "guard1", poisoned_people=True, fire_broke_out=False)
    return case


def test_running_case_shows_what_ran_what_is_open_and_who_did_it(start_case):
    case = poisoned_gas_leak(start_case)
    own = picture(case)
    assert own.process_id == "gas_leak" and "<bpmn:process id=\"gas_leak\"" in own.bpmn_xml
    assert own.completed == [e for e in case.path("gas_leak").elements]
    assert own.flows == case.path("gas_leak").flows
    [call] = [eid for eid, pid in own.called.items() if pid == "emergency_patient"]
    assert own.current == [call]  # the open task is inside the called process

    called = picture(case, "emergency_patient")
    assert "<bpmn:process id=\"emergency_patient\"" in called.bpmn_xml
    assert called.current == ["choose_help"]
    locate = own.history["locate_leak"]
    completed = [e for e in locate.events if e["type"] == "task_completed"]
    assert [(e["actor"], e["role"]) for e in completed] == [("guard1", "guard")]
    assert completed[0]["submitted"]["unit"] == "3栋501厨房"
    assert locate.clause and locate.name


def test_finished_case_highlights_exactly_the_audit_trail_in_each_diagram(start_case):
    case = poisoned_gas_leak(start_case)
    send_victims_to_hospital(case, "3栋501")
    case.complete("record_duty_log", "reception1", log_entry="已处理", closed_at=T)
    called = picture(case, "emergency_patient")
    assert called.completed == EP_HOSPITAL_ELEMENTS and called.flows == EP_HOSPITAL_FLOWS
    assert called.current == [] and called.cancelled == [] and called.failed == []
    own = picture(case)
    assert own.completed == case.path("gas_leak").elements and own.current == []


def test_a_task_open_or_finished_past_its_due_time_is_marked_breached(start_case, runtime):
    case = start_case("consultation", {"site": "nanshan"}, as_user="reception1")
    case.complete("receive_consultation", "reception1", caller="林先生", unit="3-2-1201", phone="13800000000",
                  consultation_mode="oral", question="停水到几点？", confidential=False,
                  received_at=runtime.clock.now().isoformat())
    case.complete("answer_oral", "reception1", needs_supervisor=True, escalation_note="需请示主管")
    assert case.task("reply_oral").due_at is not None
    assert picture(case).breached == []
    runtime.clock.advance(minutes=4)
    assert picture(case).breached == []
    runtime.clock.advance(minutes=2)  # past the 5 minutes nanshan allows
    assert picture(case).breached == ["reply_oral"]
    case.complete("reply_oral", "reception1", supervisor_answer="18点恢复", answer="18点恢复供水", reply_method="phone")
    assert "reply_oral" in picture(case).breached  # answered late stays late


def test_a_process_the_case_does_not_run_is_not_found(start_case):
    case = poisoned_gas_leak(start_case)
    with pytest.raises(NotFound):
        picture(case, "move_in")

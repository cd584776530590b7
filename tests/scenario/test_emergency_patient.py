"""The emergency-patient SOP (PROCEDURES.md "Emergency patient";
processes/emergency_patient.bpmn), one test per path: each case is played through the
runtime API by the people who do the work, and its audit trail is checked exactly —
elements executed, sequence flows taken, who completed which task in which role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.audit import chain as audit
from engine.audit.events import EventType
from engine.definitions.forms import load_forms
from engine.definitions.rules import load_rules
from engine.errors import FormInvalid, NothingWaiting, PermissionDenied

PROCESS = "emergency_patient"
AT = "2026-11-23T09:05:00+00:00"  # a valid date-time for every *_at field

# -- valid form data per task (forms/emergency_patient/*.yaml) ---------------------------

# help_type and major are chosen per path, so every test states them.
CHOOSE_HELP = dict(caller="林先生", patient_name="林老先生", unit="3-2-1201", phone="13800000000",
                   condition="晕倒", received_at=AT)
NOTIFY_SECURITY_LEAD = dict(security_lead_name="刘队长", lead_notified_at=AT)
DISPATCH_GUARDS = dict(guards=["赵刚", "孙伟"], standby_place="patient_home", dispatched_at=AT)
ARRANGE_VEHICLE = dict(vehicle_type="taxi", vehicle_plate="粤B·T1234", guard_assist=False)
ESCORT_TO_HOSPITAL = dict(hospital_name="市人民医院", family_present=True, items_reminded=True,
                          assistance_given=["settle", "register", "find_doctor"], more_help_needed=False)
ESCORT_NEEDING_MORE_HELP = dict(ESCORT_TO_HOSPITAL, more_help_needed=True,
                                more_help_detail="住户需要有人回家取病历和换洗衣物")
ARRANGE_MORE_HELP = dict(help_arrangement="安排护管员陪同家属回家取病历和衣物送到医院", help_assignee="孙伟")
RETURN_AND_REPORT = dict(returned_at=AT, handling_report="病人已送市人民医院安置，家属陪同")
CALL_120 = dict(condition_detail="意识模糊，呼吸尚平稳", called_120_at=AT, call_confirmed=True,
                requester_informed=True)
NOTIFY_LEAD_AMBULANCE = dict(security_lead_name="刘队长", lead_notified_at=AT)
PREPARE_GATE = dict(gate_guard_name="孙伟", extra_staff_at_entrance=False)
GUIDE_AMBULANCE = dict(ambulance_arrived_at=AT, destination_hospital="市人民医院",
                       assistance_notes="引路到3栋，开电梯，协助搬运")
REPORT_BACK_120 = dict(handling_report="救护车已接走病人送市人民医院", completed_at=AT)
ASSIGN_CARER = dict(carer_name="赵刚", carer_sent_at=AT)
NURSING_CARE = dict(relative_present=True, relative_name="女儿", care_started_at=AT,
                    care_notes="让病人平卧休息，给予温开水")
INSPECT_NURSING = dict(inspected=True, inspected_at=AT, inspection_notes="女儿在场守候，看护遵从住户安排")
RECORD_CASE = dict(handling_summary="已按住户意见处理完毕", closed_at=AT, register_no="QZ-2026-118")
SUPERVISOR_CONFIRM = dict(supervisor_confirmed=True, supervisor_notes="处理及时")
REPORT_MANAGER = dict(reported_at=AT, report_method="phone", report_notes="重大急救事件处理经过和结果")
MANAGER_REVIEW = dict(notify_leadership=False, manager_notes="处理得当")
CHASE_OVERDUE_REPORT = dict(followup_notes="已向接待员了解情况，督促其立即汇报")


# -- helpers ---------------------------------------------------------------------------

@pytest.fixture
def report_limit(library, clock) -> timedelta:
    """The default site's limit for reporting a major case to the manager (sla.yaml)."""
    rules = load_rules(library.rules)
    duration = rules.sla_duration("emergency.report_major", rules.default_site)
    parsed = TimerEventDefinition.parse_iso_duration(duration)
    return TimerEventDefinition.get_timedelta_from_start(parsed, clock.now())


def minutes(delta: timedelta) -> float:
    return delta / timedelta(minutes=1)


def assert_audit_sound(case) -> None:
    """Every executed element names its SOP clause, and the hash chain is intact."""
    completed = case.events(EventType.ELEMENT_COMPLETED) + case.events(EventType.TASK_COMPLETED)
    assert completed
    missing = [e.element_id for e in completed if not (e.data.get("clause") or "").strip()]
    assert missing == [], f"completed without a clause: {missing}"
    with case.runtime.db.session() as session:
        result = audit.verify_chain(session)
    assert result.ok, str(result)


# -- send to hospital ---------------------------------------------------------------------

def test_hospital_without_more_help_ordinary_case_is_confirmed_by_supervisor(start_case):
    case = start_case(PROCESS, as_user="reception1")
    case.complete("choose_help", "reception1", **CHOOSE_HELP, help_type="hospital", major=False)
    case.complete("notify_security_lead", "reception1", **NOTIFY_SECURITY_LEAD)
    case.complete("dispatch_guards", "seclead1", **DISPATCH_GUARDS)
    case.complete("arrange_vehicle", "reception1", **ARRANGE_VEHICLE)
    case.complete("escort_to_hospital", "guard1", **ESCORT_TO_HOSPITAL)
    case.complete("return_and_report", "guard1", **RETURN_AND_REPORT)
    case.complete("record_case", "reception1", **RECORD_CASE)
    case.complete("supervisor_confirm", "supervisor1", **SUPERVISOR_CONFIRM)

    path = case.path()
    assert path.elements == [
        "start", "choose_help", "gw_help_type", "notify_security_lead", "dispatch_guards",
        "arrange_vehicle", "escort_to_hospital", "gw_more_help", "gw_more_help_merge",
        "return_and_report", "gw_help_merge", "record_case", "gw_major", "supervisor_confirm",
        "gw_report_merge", "end"]
    assert path.flows == [
        "Flow_start", "Flow_choose_help", "Flow_hospital", "Flow_notify_security_lead",
        "Flow_dispatch_guards", "Flow_arrange_vehicle", "Flow_escort_to_hospital", "Flow_more_help_no",
        "Flow_more_help_merge", "Flow_return_and_report", "Flow_help_merge", "Flow_record_case",
        "Flow_not_major", "Flow_supervisor_confirm", "Flow_report_merge"]
    assert case.human_trail() == [
        ("choose_help", "reception", "reception1"),
        ("notify_security_lead", "reception", "reception1"),
        ("dispatch_guards", "security_lead", "seclead1"),
        ("arrange_vehicle", "reception", "reception1"),
        ("escort_to_hospital", "guard", "guard1"),
        ("return_and_report", "guard", "guard1"),
        ("record_case", "reception", "reception1"),
        ("supervisor_confirm", "cs_supervisor", "supervisor1"),
    ]
    assert case.status == "completed"
    assert case.open_tasks() == []
    assert_audit_sound(case)


def test_hospital_with_more_help_major_case_is_reported_to_manager_who_asks_leadership(
        start_case, report_limit):
    case = start_case(PROCESS, as_user="reception1")
    case.complete("choose_help", "reception1", **CHOOSE_HELP, help_type="hospital", major=True)
    case.complete("notify_security_lead", "reception1", **NOTIFY_SECURITY_LEAD)
    case.complete("dispatch_guards", "seclead1", **DISPATCH_GUARDS)
    case.complete("arrange_vehicle", "reception1", **ARRANGE_VEHICLE)
    case.complete("escort_to_hospital", "guard1", **ESCORT_NEEDING_MORE_HELP)
    case.complete("arrange_more_help", "supervisor1", **ARRANGE_MORE_HELP)
    case.complete("return_and_report", "guard2", **RETURN_AND_REPORT)  # either guard on the job reports
    case.complete("record_case", "reception1", **RECORD_CASE)
    case.complete("report_manager", "reception1", **REPORT_MANAGER)

    # Reported in time: the overdue timer went with the report and never fires.
    assert case.wait(minutes=minutes(report_limit) + 1) == 0
    assert case.events(EventType.TIMER_FIRED) == []
    assert [t.element_id for t in case.open_tasks()] == ["manager_review"]

    case.complete("manager_review", "manager1", **dict(MANAGER_REVIEW, notify_leadership=True,
                                                        leadership_instructions="公司领导指示：派人到医院慰问"))

    path = case.path()
    assert path.elements == [
        "start", "choose_help", "gw_help_type", "notify_security_lead", "dispatch_guards",
        "arrange_vehicle", "escort_to_hospital", "gw_more_help", "arrange_more_help", "gw_more_help_merge",
        "return_and_report", "gw_help_merge", "record_case", "gw_major", "report_manager", "manager_review",
        "gw_report_merge", "end"]
    assert path.flows == [
        "Flow_start", "Flow_choose_help", "Flow_hospital", "Flow_notify_security_lead",
        "Flow_dispatch_guards", "Flow_arrange_vehicle", "Flow_escort_to_hospital", "Flow_more_help_yes",
        "Flow_arrange_more_help", "Flow_more_help_merge", "Flow_return_and_report", "Flow_help_merge",
        "Flow_record_case", "Flow_major", "Flow_report_manager", "Flow_manager_review", "Flow_report_merge"]
    assert case.human_trail() == [
        ("choose_help", "reception", "reception1"),
        ("notify_security_lead", "reception", "reception1"),
        ("dispatch_guards", "security_lead", "seclead1"),
        ("arrange_vehicle", "reception", "reception1"),
        ("escort_to_hospital", "guard", "guard1"),
        ("arrange_more_help", "cs_supervisor", "supervisor1"),
        ("return_and_report", "guard", "guard2"),
        ("record_case", "reception", "reception1"),
        ("report_manager", "reception", "reception1"),
        ("manager_review", "manager", "manager1"),
    ]
    [review] = [e for e in case.events(EventType.TASK_COMPLETED) if e.element_id == "manager_review"]
    assert review.data["submitted"]["notify_leadership"] is True
    assert case.status == "completed"
    assert case.open_tasks() == []
    assert_audit_sound(case)


# -- call 120 -----------------------------------------------------------------------------

def test_call_120_waits_for_the_ambulance_then_gate_guard_guides_it(start_case):
    case = start_case(PROCESS, as_user="reception1")
    case.complete("choose_help", "reception1", **CHOOSE_HELP, help_type="call_120", major=False)
    case.complete("call_120", "reception1", **CALL_120)
    case.complete("notify_lead_ambulance", "reception1", **NOTIFY_LEAD_AMBULANCE)
    with pytest.raises(NothingWaiting):  # the gate is not told yet, so nobody waits for it
        case.send("ambulance_arrived", {"plate": "粤B·12000"}, as_user="guard2")
    case.complete("prepare_gate", "seclead1", **PREPARE_GATE)

    # Waiting at the message catch: nobody has anything to do until the ambulance comes.
    assert case.open_tasks() == []
    assert case.status == "running"
    assert case.path().elements[-1] == "prepare_gate"

    arrival = {"plate": "粤B·12000", "crew": "市急救中心"}
    case.send("ambulance_arrived", arrival, as_user="guard2")
    received = case.events(EventType.MESSAGE_RECEIVED)
    assert [(e.element_id, e.actor, e.data) for e in received] == [
        ("wait_ambulance", "guard2", {"name": "ambulance_arrived", "payload": arrival})]
    assert [t.element_id for t in case.open_tasks()] == ["guide_ambulance"]
    assert case.task_view("guide_ambulance").data["ambulance_message"] == arrival

    case.complete("guide_ambulance", "guard2", **GUIDE_AMBULANCE)
    case.complete("report_back_120", "seclead1", **REPORT_BACK_120)
    case.complete("record_case", "reception1", **RECORD_CASE)
    case.complete("supervisor_confirm", "supervisor1", **SUPERVISOR_CONFIRM)

    path = case.path()
    assert path.elements == [
        "start", "choose_help", "gw_help_type", "call_120", "notify_lead_ambulance", "prepare_gate",
        "wait_ambulance", "guide_ambulance", "report_back_120", "gw_help_merge", "record_case", "gw_major",
        "supervisor_confirm", "gw_report_merge", "end"]
    assert path.flows == [
        "Flow_start", "Flow_choose_help", "Flow_call_120", "Flow_called_120", "Flow_notify_lead_ambulance",
        "Flow_prepare_gate", "Flow_ambulance_arrived", "Flow_guide_ambulance", "Flow_report_back_120",
        "Flow_help_merge", "Flow_record_case", "Flow_not_major", "Flow_supervisor_confirm",
        "Flow_report_merge"]
    assert case.human_trail() == [
        ("choose_help", "reception", "reception1"),
        ("call_120", "reception", "reception1"),
        ("notify_lead_ambulance", "reception", "reception1"),
        ("prepare_gate", "security_lead", "seclead1"),
        ("guide_ambulance", "guard", "guard2"),
        ("report_back_120", "security_lead", "seclead1"),
        ("record_case", "reception", "reception1"),
        ("supervisor_confirm", "cs_supervisor", "supervisor1"),
    ]
    assert case.status == "completed"
    assert case.open_tasks() == []
    assert_audit_sound(case)


# -- short-term nursing -------------------------------------------------------------------

def test_nursing_is_refused_without_a_relative_present_and_major_case_goes_to_manager(start_case):
    case = start_case(PROCESS, as_user="reception1")
    case.complete("choose_help", "reception1", **CHOOSE_HELP, help_type="nursing", major=True)
    case.complete("assign_carer", "seclead1", **ASSIGN_CARER)

    # The carer must never be alone with the patient: the form refuses, nothing is recorded.
    events_before = case.events()
    with pytest.raises(FormInvalid) as refused:
        case.complete("nursing_care", "guard1", **dict(NURSING_CARE, relative_present=False))
    assert [e.field for e in refused.value.errors] == ["relative_present"]
    assert case.events() == events_before
    assert [t.element_id for t in case.open_tasks()] == ["nursing_care"]
    assert "relative_present" not in case.task_view("nursing_care").data

    case.complete("nursing_care", "guard1", **NURSING_CARE)
    case.complete("inspect_nursing", "seclead1", **INSPECT_NURSING)
    case.complete("record_case", "reception1", **RECORD_CASE)
    case.complete("report_manager", "reception1", **REPORT_MANAGER)
    case.complete("manager_review", "manager1", **MANAGER_REVIEW)

    path = case.path()
    assert path.elements == [
        "start", "choose_help", "gw_help_type", "assign_carer", "nursing_care", "inspect_nursing",
        "gw_help_merge", "record_case", "gw_major", "report_manager", "manager_review", "gw_report_merge",
        "end"]
    assert path.flows == [
        "Flow_start", "Flow_choose_help", "Flow_nursing", "Flow_assign_carer", "Flow_nursing_care",
        "Flow_inspect_nursing", "Flow_help_merge", "Flow_record_case", "Flow_major", "Flow_report_manager",
        "Flow_manager_review", "Flow_report_merge"]
    assert case.human_trail() == [
        ("choose_help", "reception", "reception1"),
        ("assign_carer", "security_lead", "seclead1"),
        ("nursing_care", "guard", "guard1"),
        ("inspect_nursing", "security_lead", "seclead1"),
        ("record_case", "reception", "reception1"),
        ("report_manager", "reception", "reception1"),
        ("manager_review", "manager", "manager1"),
    ]
    assert case.status == "completed"
    assert case.open_tasks() == []
    assert_audit_sound(case)


# -- a major case reported late -----------------------------------------------------------

def test_late_report_of_major_case_fires_overdue_timer_once_and_manager_chases(start_case, report_limit):
    case = start_case(PROCESS, as_user="reception1")
    case.complete("choose_help", "reception1", **CHOOSE_HELP, help_type="nursing", major=True)
    case.complete("assign_carer", "seclead1", **ASSIGN_CARER)
    case.complete("nursing_care", "guard1", **NURSING_CARE)
    case.complete("inspect_nursing", "seclead1", **INSPECT_NURSING)
    case.complete("record_case", "reception1", **RECORD_CASE)
    report = case.task("report_manager")
    assert report.due_at - report.created_at == report_limit

    assert case.wait(minutes=minutes(report_limit) - 1) == 0  # still within the limit
    assert case.wait(minutes=2) == 1  # past it
    fired = case.events(EventType.TIMER_FIRED)
    assert [(e.element_id, e.actor) for e in fired] == [("timer_report_overdue", "system")]
    # Non-interrupting: the report is still owed, and the manager now chases it.
    assert [(t.element_id, t.role) for t in case.open_tasks()] == [
        ("report_manager", "reception"), ("chase_overdue_report", "manager")]

    assert case.wait(minutes=minutes(report_limit)) == 0  # firing again does nothing
    assert len(case.events(EventType.TIMER_FIRED)) == 1
    assert [t.element_id for t in case.open_tasks()] == ["report_manager", "chase_overdue_report"]

    case.complete("report_manager", "reception1", **REPORT_MANAGER)
    case.complete("manager_review", "manager1", **MANAGER_REVIEW)
    assert case.status == "running"  # the escalation path is still open
    assert [t.element_id for t in case.open_tasks()] == ["chase_overdue_report"]
    case.complete("chase_overdue_report", "manager1", **CHASE_OVERDUE_REPORT)

    path = case.path()
    assert path.elements == [
        "start", "choose_help", "gw_help_type", "assign_carer", "nursing_care", "inspect_nursing",
        "gw_help_merge", "record_case", "gw_major", "timer_report_overdue", "report_manager",
        "manager_review", "gw_report_merge", "end", "chase_overdue_report", "end_escalated"]
    assert path.flows == [
        "Flow_start", "Flow_choose_help", "Flow_nursing", "Flow_assign_carer", "Flow_nursing_care",
        "Flow_inspect_nursing", "Flow_help_merge", "Flow_record_case", "Flow_major", "Flow_report_overdue",
        "Flow_report_manager", "Flow_manager_review", "Flow_report_merge", "Flow_chase_overdue_report"]
    assert case.human_trail() == [
        ("choose_help", "reception", "reception1"),
        ("assign_carer", "security_lead", "seclead1"),
        ("nursing_care", "guard", "guard1"),
        ("inspect_nursing", "security_lead", "seclead1"),
        ("record_case", "reception", "reception1"),
        ("report_manager", "reception", "reception1"),
        ("manager_review", "manager", "manager1"),
        ("chase_overdue_report", "manager", "manager1"),
    ]
    assert case.status == "completed"
    assert case.open_tasks() == []
    assert_audit_sound(case)


# -- who may act, and what the task shows ---------------------------------------------------

def test_guard_cannot_do_reception_task_which_shows_clause_documentation_and_form(start_case, library):
    case = start_case(PROCESS, as_user="reception1")
    events_before = case.events()
    with pytest.raises(PermissionDenied, match="reception"):
        case.complete("choose_help", "guard1", **CHOOSE_HELP, help_type="hospital", major=False)
    assert case.events() == events_before
    assert [t.element_id for t in case.open_tasks()] == ["choose_help"]

    view = case.task_view("choose_help")
    assert view.role == "reception"
    assert view.clause == "001/第6篇 4.2 1); 000 四.2(1); 002 4.2.1"
    assert view.documentation.startswith("接到急救病人的求助信息时，首先主动询问病人的住址")
    assert "重大急救事件" in view.documentation
    assert view.form_id == "emergency_patient/choose_help"
    assert view.form_schema == load_forms(library.forms)["emergency_patient/choose_help"]
    assert view.form_schema["required"] == ["unit", "phone", "condition", "help_type", "major"]
    assert view.form_schema["properties"]["help_type"]["enum"] == ["hospital", "call_120", "nursing"]

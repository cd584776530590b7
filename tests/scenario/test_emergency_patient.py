"""The emergency-patient SOP (PROCEDURES.md "Emergency patient";
processes/emergency_patient.bpmn), one test per path: each case is played through the
runtime API by the people who do the work, and its audit trail is checked exactly —
elements executed, sequence flows taken, who completed which task in which role."""

from __future__ import annotations

import pytest
from after_visit import assert_after_emergency_visit, handed_over_visits

from engine.accounts.users import load_actor
from engine.audit import chain as audit
from engine.audit.events import EventType
from engine.definitions.forms import load_forms
from engine.errors import FormInvalid, NothingWaiting, PermissionDenied
from engine.scheduling.outbox import list_notifications

PROCESS = "emergency_patient"
AT = "2026-11-23T09:05:00+00:00"  # a valid date-time for every *_at field

# -- valid form data per task (forms/emergency_patient/*.yaml) ---------------------------

# help_type and major are chosen per path, so every test states them.
CHOOSE_HELP = dict(caller="林先生", patient_name="林老先生", unit="3-2-1201", phone="13800000000",
                   condition="晕倒", received_at=AT)
NOTIFY_SECURITY_LEAD = dict(security_lead_name="刘队长", lead_notified_at=AT)
DISPATCH_GUARDS = dict(guards=["赵刚", "孙伟"], standby_place="patient_home", dispatched_at=AT)
ARRANGE_VEHICLE = dict(vehicle_type="taxi", vehicle_plate="粤B·T1234", guard_assist=False)
FIRST_AID = dict(illness_kind="fainted", aid_given=["lay_flat", "loosen_clothing", "cool_airy_place"], critical=False)
CRITICAL_FIRST_AID = dict(FIRST_AID, critical=True, aid_notes="呼吸微弱")
REPORT_CRITICAL = dict(superior_told=True, neighbour_post_told=True, team_lead_told=True, cpr_given=True)
LEAD_ASSIST = dict(arrived=True, helpers="孙伟（邻岗）")
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
EXPLAIN_NURSING_REQUEST = dict(security_lead_name="刘队长", care_request="女儿在家，需要有人帮忙看护两小时",
                               explained_at=AT)
ASSIGN_CARER = dict(carer_name="赵刚", carer_sent_at=AT)
NURSING_CARE = dict(relative_present=True, relative_name="女儿", care_started_at=AT,
                    care_notes="让病人平卧休息，给予温开水")
INSPECT_NURSING = dict(inspected=True, inspected_at=AT, inspection_notes="女儿在场守候，看护遵从住户安排")
RECORD_CASE = dict(handling_summary="已按住户意见处理完毕", closed_at=AT, register_no="QZ-2026-118")
SUPERVISOR_CONFIRM = dict(supervisor_confirmed=True, supervisor_notes="处理及时")
MANAGER_REVIEW = dict(notify_leadership=False, manager_notes="处理得当")

HOSPITAL_HEAD = ["gw_help_type", "notify_security_lead", "dispatch_guards", "arrange_vehicle", "gw_reach_patient",
                 "gw_aid_done", "first_aid", "gw_critical"]
# The requester is visited afterwards (001/第2篇 1.6): a case of its own opens the visit.
VISIT_TAIL = ["gw_resident_reported", "arrange_after_visit", "end"]
VISIT_TAIL_FLOWS = ["Flow_resident_reported", "Flow_arrange_after_visit"]
ORDINARY_TAIL = ["gw_help_merge", "record_case", "gw_report", "supervisor_confirm", "gw_report_merge", *VISIT_TAIL]
ORDINARY_TAIL_FLOWS = ["Flow_help_merge", "Flow_record_case", "Flow_report_supervisor", "Flow_supervisor_confirm",
                       "Flow_report_merge", *VISIT_TAIL_FLOWS]


# -- helpers ---------------------------------------------------------------------------

def assert_audit_sound(case) -> None:
    """Every executed element names its SOP clause, and the hash chain is intact."""
    completed = case.events(EventType.ELEMENT_COMPLETED) + case.events(EventType.TASK_COMPLETED)
    assert completed
    missing = [e.element_id for e in completed if not (e.data.get("clause") or "").strip()]
    assert missing == [], f"completed without a clause: {missing}"
    with case.runtime.db.session() as session:
        result = audit.verify_chain(session)
    assert result.ok, str(result)


def open_roles(case) -> set[tuple[str, str]]:
    return {(t.element_id, t.role) for t in case.open_tasks()}


def told(case, *users) -> dict[str, list[str]]:
    with case.runtime.db.session() as session:
        return {u: [n.text for n in list_notifications(session, load_actor(session, u))] for u in users}


def sla_trail(case) -> list[tuple]:
    return [(e.type, e.element_id, e.data.get("at"), e.data.get("notify")) for e in case.events()
            if e.type.startswith("sla_")]


# -- send to hospital ---------------------------------------------------------------------

def test_hospital_ordinary_case_first_aid_on_reaching_the_patient_then_supervisor_confirms(start_case):
    case = start_case(PROCESS, as_user="reception1")
    case.complete("choose_help", "reception1", **CHOOSE_HELP, help_type="hospital", major=False)
    assert open_roles(case) == {("notify_security_lead", "reception")}  # no manager task for an ordinary case
    case.complete("notify_security_lead", "reception1", **NOTIFY_SECURITY_LEAD)
    case.complete("dispatch_guards", "seclead1", **DISPATCH_GUARDS)
    case.complete("arrange_vehicle", "reception1", **ARRANGE_VEHICLE)
    # The guards reach the patient: first aid before anything else (001/第5篇 2.4.3 2)).
    assert open_roles(case) == {("first_aid", "guard")}
    case.complete("first_aid", "guard1", **FIRST_AID)
    case.complete("escort_to_hospital", "guard1", **ESCORT_TO_HOSPITAL)
    case.complete("return_and_report", "guard1", **RETURN_AND_REPORT)
    case.complete("record_case", "reception1", **RECORD_CASE)
    case.complete("supervisor_confirm", "supervisor1", **SUPERVISOR_CONFIRM)

    path = case.path()
    assert path.elements == [
        "start", "choose_help", "gw_major", "gw_major_merge", *HOSPITAL_HEAD, "gw_aid_merge", "gw_after_aid",
        "escort_to_hospital", "gw_more_help", "gw_more_help_merge", "return_and_report", *ORDINARY_TAIL]
    assert path.flows == [
        "Flow_start", "Flow_choose_help", "Flow_not_major", "Flow_major_merge", "Flow_hospital",
        "Flow_notify_security_lead", "Flow_dispatch_guards", "Flow_arrange_vehicle", "Flow_reach_patient",
        "Flow_aid_needed", "Flow_first_aid", "Flow_not_critical", "Flow_aid_merge", "Flow_to_escort",
        "Flow_escort_to_hospital", "Flow_more_help_no", "Flow_more_help_merge", "Flow_return_and_report",
        *ORDINARY_TAIL_FLOWS]
    assert case.human_trail() == [
        ("choose_help", "reception", "reception1"),
        ("notify_security_lead", "reception", "reception1"),
        ("dispatch_guards", "security_lead", "seclead1"),
        ("arrange_vehicle", "reception", "reception1"),
        ("first_aid", "guard", "guard1"),
        ("escort_to_hospital", "guard", "guard1"),
        ("return_and_report", "guard", "guard1"),
        ("record_case", "reception", "reception1"),
        ("supervisor_confirm", "cs_supervisor", "supervisor1"),
    ]
    [aid] = [e for e in case.events(EventType.TASK_COMPLETED) if e.element_id == "first_aid"]
    assert aid.data["submitted"]["aid_given"] == ["lay_flat", "loosen_clothing", "cool_airy_place"]
    assert case.status == "completed"
    assert case.open_tasks() == []
    assert_audit_sound(case)


def test_major_case_reaches_the_manager_at_once_while_the_guards_go_and_the_critical_patient_gets_the_team_lead(
        start_case):
    """立即向公司经理汇报 (001/第6篇 4.2 2)): the manager's task opens with the choice, not after the record;
    critical on site (2.4.3 3)): report up, the next post and the team lead come; more help is the guards'
    department head's (4.2 1)①: 部门主管)."""
    case = start_case(PROCESS, as_user="reception1")
    case.complete("choose_help", "reception1", **CHOOSE_HELP, help_type="hospital", major=True)
    assert open_roles(case) == {("notify_security_lead", "reception"), ("manager_review", "manager")}
    assert case.task("manager_review").due_at is not None

    # The worker's next pass tells the manager at once (the chain's 0 % level), before anyone on the case acts.
    case.wait(seconds=1)
    assert sla_trail(case) == [("sla_escalated", "manager_review", "0%", ["role:manager"])]
    [message] = told(case, "manager1")["manager1"]
    assert message.startswith(f"【紧急】{case.reference}（3-2-1201）：「立即接报重大急救事件」请立即处理，期限 ")
    assert told(case, "reception1", "supervisor1") == {"reception1": [], "supervisor1": []}

    # The manager takes the report while the help is under way.
    case.complete("manager_review", "manager1", **dict(MANAGER_REVIEW, notify_leadership=True,
                                                        leadership_instructions="公司领导指示：派人到医院慰问"))
    assert open_roles(case) == {("notify_security_lead", "reception")}
    case.complete("notify_security_lead", "reception1", **NOTIFY_SECURITY_LEAD)
    case.complete("dispatch_guards", "seclead1", **DISPATCH_GUARDS)
    case.complete("arrange_vehicle", "reception1", **ARRANGE_VEHICLE)
    case.complete("first_aid", "guard1", **CRITICAL_FIRST_AID)
    with pytest.raises(FormInvalid):  # the next post and the team lead must be told: no way round it
        case.complete("report_critical", "guard1", **dict(REPORT_CRITICAL, team_lead_told=False))
    case.complete("report_critical", "guard1", **REPORT_CRITICAL)
    case.complete("lead_assist", "seclead1", **LEAD_ASSIST)
    case.complete("escort_to_hospital", "guard1", **ESCORT_NEEDING_MORE_HELP)
    assert open_roles(case) == {("arrange_more_help", "security_supervisor")}
    with pytest.raises(PermissionDenied, match="security_supervisor"):
        case.complete("arrange_more_help", "supervisor1", **ARRANGE_MORE_HELP)
    case.complete("arrange_more_help", "secsup1", **ARRANGE_MORE_HELP)
    case.complete("return_and_report", "guard2", **RETURN_AND_REPORT)  # either guard on the job reports
    case.complete("record_case", "reception1", **RECORD_CASE)

    path = case.path()
    assert path.elements == [
        "start", "choose_help", "gw_major", "par_major", "gw_major_merge", "gw_help_type", "manager_review",
        "end_manager", "notify_security_lead", "dispatch_guards", "arrange_vehicle", "gw_reach_patient",
        "gw_aid_done", "first_aid", "gw_critical", "report_critical", "lead_assist", "gw_aid_merge", "gw_after_aid",
        "escort_to_hospital", "gw_more_help", "arrange_more_help", "gw_more_help_merge", "return_and_report",
        "gw_help_merge", "record_case", "gw_report", "gw_report_merge", *VISIT_TAIL]
    assert path.flows == [
        "Flow_start", "Flow_choose_help", "Flow_major", "Flow_major_manager", "Flow_major_response",
        "Flow_major_merge", "Flow_hospital", "Flow_manager_review", "Flow_notify_security_lead",
        "Flow_dispatch_guards", "Flow_arrange_vehicle", "Flow_reach_patient", "Flow_aid_needed", "Flow_first_aid",
        "Flow_critical", "Flow_report_critical", "Flow_lead_assist", "Flow_aid_merge", "Flow_to_escort",
        "Flow_escort_to_hospital", "Flow_more_help_yes", "Flow_arrange_more_help", "Flow_more_help_merge",
        "Flow_return_and_report", "Flow_help_merge", "Flow_record_case", "Flow_major_reported", "Flow_report_merge",
        *VISIT_TAIL_FLOWS]
    assert case.human_trail() == [
        ("choose_help", "reception", "reception1"),
        ("manager_review", "manager", "manager1"),
        ("notify_security_lead", "reception", "reception1"),
        ("dispatch_guards", "security_lead", "seclead1"),
        ("arrange_vehicle", "reception", "reception1"),
        ("first_aid", "guard", "guard1"),
        ("report_critical", "guard", "guard1"),
        ("lead_assist", "security_lead", "seclead1"),
        ("escort_to_hospital", "guard", "guard1"),
        ("arrange_more_help", "security_supervisor", "secsup1"),
        ("return_and_report", "guard", "guard2"),
        ("record_case", "reception", "reception1"),
    ]
    [review] = [e for e in case.events(EventType.TASK_COMPLETED) if e.element_id == "manager_review"]
    assert review.data["submitted"]["notify_leadership"] is True
    assert sla_trail(case) == [("sla_escalated", "manager_review", "0%", ["role:manager"])]  # taken up in time
    assert case.status == "completed"
    assert case.open_tasks() == []
    assert_audit_sound(case)


def test_a_manager_who_has_not_taken_up_the_report_is_chased_and_the_supervisors_are_told(start_case, sla_limit):
    case = start_case(PROCESS, as_user="reception1")
    case.complete("choose_help", "reception1", **CHOOSE_HELP, help_type="call_120", major=True)
    limit = sla_limit("emergency.major_at_once")
    report = case.task("manager_review")
    assert report.due_at - report.created_at == limit

    case.wait(seconds=1)
    case.wait(seconds=limit.total_seconds() - 2)  # still within the limit: only the at-once message so far
    assert [entry[2] for entry in sla_trail(case)] == ["0%"]
    case.wait(seconds=2)
    case.wait()  # the worker again, at the same moment: nothing more
    assert sla_trail(case) == [
        ("sla_escalated", "manager_review", "0%", ["role:manager"]),
        ("sla_breached", "manager_review", None, None),
        ("sla_escalated", "manager_review", "100%", ["role:manager", "role:security_supervisor", "role:cs_supervisor"]),
    ]
    messages = told(case, "manager1", "secsup1", "supervisor1")
    assert {u: len(texts) for u, texts in messages.items()} == {"manager1": 2, "secsup1": 1, "supervisor1": 1}
    assert all("立即接报重大急救事件" in text for texts in messages.values() for text in texts)
    # Non-interrupting: the report is still the manager's, and the 120 path went on regardless.
    assert open_roles(case) == {("call_120", "reception"), ("manager_review", "manager")}


def test_a_major_case_started_from_triage_reaches_the_manager_at_once(start_case):
    intake = dict(caller="林先生", unit="3-2-1201", phone="13800000000", category="emergency_patient",
                  description="老人在家晕倒")
    case = start_case("help_request", intake, as_user="reception1")
    case.complete("register_request", "reception1", **intake, received_at=AT)
    case.complete("choose_help", "reception1", **CHOOSE_HELP, help_type="call_120", major=True)
    assert ("manager_review", "manager") in open_roles(case)
    assert ("call_120", "reception") in open_roles(case)
    assert case.path("emergency_patient").elements == [
        "start", "choose_help", "gw_major", "par_major", "gw_major_merge", "gw_help_type"]


def test_a_major_poisoning_called_from_gas_leak_reaches_the_manager_at_once(start_case):
    case = start_case("gas_leak", {}, as_user="guard1")
    case.complete("locate_leak", "guard1", unit="6栋5楼502", leak_cause="煤气管接口松脱", location_known=True)
    case.complete("close_valve", "guard1", valve_type="bottle_valve", valve_closed=True, safety_rules_kept=True,
                  closed_at=AT)
    case.complete("open_windows", "guard1", windows_opened=True, ventilated_at=AT)
    case.complete("assess_aftermath", "guard1", poisoned_people=True, fire_broke_out=False)
    case.complete("choose_help", "reception1", unit="6栋5楼502", phone="13800000000", condition="煤气中毒，昏迷",
                  help_type="call_120", major=True)
    assert open_roles(case) == {("call_120", "reception"), ("manager_review", "manager")}


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
        "start", "choose_help", "gw_major", "gw_major_merge", "gw_help_type", "call_120", "notify_lead_ambulance",
        "prepare_gate", "wait_ambulance", "guide_ambulance", "report_back_120", *ORDINARY_TAIL]
    assert path.flows == [
        "Flow_start", "Flow_choose_help", "Flow_not_major", "Flow_major_merge", "Flow_call_120", "Flow_called_120",
        "Flow_notify_lead_ambulance", "Flow_prepare_gate", "Flow_ambulance_arrived", "Flow_guide_ambulance",
        "Flow_report_back_120", *ORDINARY_TAIL_FLOWS]
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

def test_nursing_reception_explains_to_the_duty_lead_first_and_no_carer_is_alone_with_the_patient(start_case):
    case = start_case(PROCESS, as_user="reception1")
    case.complete("choose_help", "reception1", **CHOOSE_HELP, help_type="nursing", major=False)
    # 向护管值班负责人说明情况 (001/第6篇 4.2 1)③): the lead hears the request before anyone is assigned.
    assert open_roles(case) == {("explain_nursing_request", "reception")}
    case.complete("explain_nursing_request", "reception1", **EXPLAIN_NURSING_REQUEST)
    lead_sees = case.task_view("assign_carer")
    assert lead_sees.data["care_request"] == EXPLAIN_NURSING_REQUEST["care_request"]
    assert "{{ care_request }}" in lead_sees.instructions
    case.complete("assign_carer", "seclead1", **ASSIGN_CARER)
    case.complete("first_aid", "guard1", **dict(FIRST_AID, illness_kind="abdominal_pain",
                                                 aid_given=["sit_down", "warm_water"]))

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
    case.complete("supervisor_confirm", "supervisor1", **SUPERVISOR_CONFIRM)

    path = case.path()
    assert path.elements == [
        "start", "choose_help", "gw_major", "gw_major_merge", "gw_help_type", "explain_nursing_request",
        "assign_carer", "gw_reach_patient", "gw_aid_done", "first_aid", "gw_critical", "gw_aid_merge",
        "gw_after_aid", "nursing_care", "inspect_nursing", *ORDINARY_TAIL]
    assert path.flows == [
        "Flow_start", "Flow_choose_help", "Flow_not_major", "Flow_major_merge", "Flow_nursing",
        "Flow_explain_nursing_request", "Flow_assign_carer", "Flow_reach_patient", "Flow_aid_needed",
        "Flow_first_aid", "Flow_not_critical", "Flow_aid_merge", "Flow_to_nursing", "Flow_nursing_care",
        "Flow_inspect_nursing", *ORDINARY_TAIL_FLOWS]
    assert case.human_trail() == [
        ("choose_help", "reception", "reception1"),
        ("explain_nursing_request", "reception", "reception1"),
        ("assign_carer", "security_lead", "seclead1"),
        ("first_aid", "guard", "guard1"),
        ("nursing_care", "guard", "guard1"),
        ("inspect_nursing", "security_lead", "seclead1"),
        ("record_case", "reception", "reception1"),
        ("supervisor_confirm", "cs_supervisor", "supervisor1"),
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
    assert "提交时即立即向管理处经理汇报" in view.documentation
    assert view.form_id == "emergency_patient/choose_help"
    assert view.form_schema == load_forms(library.forms)["emergency_patient/choose_help"]
    assert view.form_schema["required"] == ["unit", "phone", "condition", "help_type", "major"]
    assert view.form_schema["properties"]["help_type"]["enum"] == ["hospital", "call_120", "nursing"]
    major = view.form_schema["properties"]["major"]
    assert "提交时即立即向管理处经理汇报" in major["description"]  # what the test above shows happening
    assert "told at once" in major["x-description-en"]


def hospital_case_to_the_end(case, **choose_help) -> None:
    """Play the ordinary send-to-hospital path from the first task to the supervisor's confirmation."""
    case.complete("choose_help", "reception1", **choose_help, help_type="hospital", major=False)
    case.complete("notify_security_lead", "reception1", **NOTIFY_SECURITY_LEAD)
    case.complete("dispatch_guards", "seclead1", **DISPATCH_GUARDS)
    case.complete("arrange_vehicle", "reception1", **ARRANGE_VEHICLE)
    case.complete("first_aid", "guard1", **FIRST_AID)
    case.complete("escort_to_hospital", "guard1", **ESCORT_TO_HOSPITAL)
    case.complete("return_and_report", "guard1", **RETURN_AND_REPORT)
    case.complete("record_case", "reception1", **RECORD_CASE)
    assert handed_over_visits(case) == []  # not before the supervisor has the report
    case.complete("supervisor_confirm", "supervisor1", **SUPERVISOR_CONFIRM)


def test_the_requester_is_visited_after_the_emergency(start_case):
    """突发事件处理完毕后回访 (001/第2篇 1.6): a case of its own opens the visit of the requester."""
    case = start_case(PROCESS, {}, as_user="reception1")
    hospital_case_to_the_end(case, **CHOOSE_HELP)

    assert case.path().elements[-len(ORDINARY_TAIL):] == ORDINARY_TAIL
    assert case.path().flows[-len(ORDINARY_TAIL_FLOWS):] == ORDINARY_TAIL_FLOWS
    assert case.human_trail()[-1] == ("supervisor_confirm", "cs_supervisor", "supervisor1")
    assert_after_emergency_visit(case, resident="林先生", unit="3-2-1201")
    assert_audit_sound(case)


def test_without_a_recorded_requester_no_visit_is_opened(start_case):
    case = start_case(PROCESS, {}, as_user="reception1")
    hospital_case_to_the_end(case, **{k: v for k, v in CHOOSE_HELP.items() if k != "caller"})

    assert case.path().elements[-3:] == ["gw_report_merge", "gw_resident_reported", "end"]
    assert case.path().flows[-2:] == ["Flow_report_merge", "Flow_no_resident"]
    assert handed_over_visits(case) == []
    assert case.status == "completed"

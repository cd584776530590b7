"""Scenario tests of processes/complaint.bpmn (投诉处理, 001/第4篇, 003 4.3, 5.2, 001/第2篇 回访):
one test per path."""

from datetime import timedelta

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.errors import FormInvalid
from engine.rules import load_rules

T = "2026-11-23T09:05:00+00:00"
R, CS, M, ES, SL, EN = (
    "reception",
    "cs_supervisor",
    "manager",
    "engineering_supervisor",
    "security_lead",
    "environment",
)
INTAKE = dict(
    complainant="林先生",
    unit="3栋12楼1203",
    phone="13800000000",
    anonymous=False,
    subject="卫生间水管漏水报修两次未修",
    description="上周两次报修卫生间水管漏水，至今无人上门维修",
    basis="ignored_after_two_reminders",
    department="engineering",
    serious=False,
    repeated_back=True,
    reported_to_head=True,
)
HANDLED = dict(promised_time=T, result="已更换卫生间水管接头，试水无渗漏", reported_to_reception=True)
RESULT = dict(
    result_recorded="已更换水管接头，投诉人确认",
    complainant_signed=True,
    rating="satisfied",
    severity="ordinary",
)
DOOR_OK = dict(visit_mode="door", resident_signature=True, visit_result="satisfied", visit_notes="客户满意")
PHONE_OK = dict(visit_mode="phone", phone_visit_mark="电话回访", visit_result="satisfied")

START = ["start", "intake", "gw_class"]
START_FLOWS = ["Flow_start", "Flow_intake"]
VALID = ["gw_serious", "gw_serious_merge", "gw_department"]
VALID_FLOWS = ["Flow_valid", "Flow_not_serious", "Flow_serious_merge"]
ENGINEERING = ["quote_repair", "gw_agreed", "handle_engineering", "gw_dept_merge"]
ENGINEERING_FLOWS = ["Flow_engineering", "Flow_quote_repair", "Flow_agreed", "Flow_handle_engineering"]
RECORD = ["record_result", "gw_anonymous"]
RECORD_FLOWS = ["Flow_dept_merge", "Flow_record_result"]


def start(start_case, **intake):
    case = start_case("complaint", {"complainant": "林先生"}, as_user="reception1")
    assert case.reference.startswith("TS-")
    case.complete("intake", "reception1", **dict(INTAKE, **intake))
    return case


def visit(kind, task, flow):
    """Elements and flows of one follow-up visit ending satisfied."""
    return (
        ["gw_severity", task, "gw_visit_merge", "gw_satisfied"],
        ["Flow_named", kind, flow, "Flow_visit_merge"],
    )


def test_excessive_demand_explained_and_recorded(start_case):
    case = start(start_case, basis="facility_not_in_plan", subject="要求在小区内加建游泳池")
    assert [t.element_id for t in case.open_tasks()] == ["explain_excessive"]
    case.complete(
        "explain_excessive", "reception1", explained=True, explanation="游泳池不在小区规划内，已耐心解释"
    )
    path = case.path()
    assert path.elements == START + ["explain_excessive", "end_excessive"]
    assert path.flows == START_FLOWS + ["Flow_excessive", "Flow_explain_excessive"]
    assert case.human_trail() == [("intake", R, "reception1"), ("explain_excessive", R, "reception1")]
    assert case.status == "completed"


def test_assistance_matter_explained_other_party_contacted(start_case):
    case = start(start_case, basis="other_resident_violation", subject="楼上住户高空抛物")
    case.complete(
        "assist_other_party",
        "supervisor1",
        explained=True,
        other_party="15楼1503住户",
        party_contacted=True,
        feedback="已联系楼上住户，对方承诺不再抛物，已告知投诉人",
    )
    path = case.path()
    assert path.elements == START + ["assist_other_party", "end_assistance"]
    assert path.flows == START_FLOWS + ["Flow_assistance", "Flow_assist_other_party"]
    assert case.human_trail() == [("intake", R, "reception1"), ("assist_other_party", CS, "supervisor1")]
    assert case.status == "completed"


def test_engineering_paid_repair_agreed_door_visit_satisfied(start_case):
    case = start(start_case)
    case.complete("quote_repair", "engsup1", price_item="更换水管接头", quote_amount=30, agreement="agreed")
    case.complete("handle_engineering", "engsup1", **HANDLED)
    case.complete("record_result", "reception1", **RESULT)
    assert case.task("visit_ordinary").role == R
    assert case.task_view("visit_ordinary").due_at is not None  # complaint.followup
    # a door visit needs the customer's signature: the form refuses, nothing is recorded
    events_before = case.events()
    with pytest.raises(FormInvalid) as refused:
        case.complete("visit_ordinary", "reception1", **dict(DOOR_OK, resident_signature=False))
    assert [e.field for e in refused.value.errors] == ["resident_signature"]
    assert case.events() == events_before
    case.complete("visit_ordinary", "reception1", **DOOR_OK)
    v_el, v_fl = visit("Flow_ordinary", "visit_ordinary", "Flow_visit_ordinary")
    path = case.path()
    assert path.elements == START + VALID + ENGINEERING + RECORD + v_el + ["end_closed"]
    assert path.flows == START_FLOWS + VALID_FLOWS + ENGINEERING_FLOWS + RECORD_FLOWS + v_fl + [
        "Flow_satisfied"
    ]
    assert case.human_trail() == [
        ("intake", R, "reception1"),
        ("quote_repair", ES, "engsup1"),
        ("handle_engineering", ES, "engsup1"),
        ("record_result", R, "reception1"),
        ("visit_ordinary", R, "reception1"),
    ]
    assert case.status == "completed"


def test_engineering_paid_repair_declined_recorded_and_closed(start_case):
    case = start(start_case, basis="contract_duty_not_met", subject="室内水龙头损坏")
    case.complete("quote_repair", "engsup1", price_item="更换水龙头", quote_amount=50, agreement="declined")
    assert [t.element_id for t in case.open_tasks()] == ["record_declined"]
    case.complete("record_declined", "reception1", decline_notes="住户认为价格偏高，自行购买水龙头更换")
    path = case.path()
    assert path.elements == START + VALID + ["quote_repair", "gw_agreed", "record_declined", "end_declined"]
    assert path.flows == START_FLOWS + VALID_FLOWS + [
        "Flow_engineering",
        "Flow_quote_repair",
        "Flow_declined",
        "Flow_record_declined",
    ]
    assert case.human_trail() == [
        ("intake", R, "reception1"),
        ("quote_repair", ES, "engsup1"),
        ("record_declined", R, "reception1"),
    ]
    assert case.status == "completed"


def test_security_important_phone_visit_by_cs_supervisor(start_case):
    case = start(start_case, department="security", basis="promise_not_kept", subject="信件报刊多次丢失")
    assert [t.element_id for t in case.open_tasks()] == ["handle_security"]
    case.complete("handle_security", "seclead1", **HANDLED)
    case.complete("record_result", "reception1", **dict(RESULT, severity="important"))
    assert case.task("visit_important").role == CS
    # a phone visit is marked "电话回访"
    with pytest.raises(FormInvalid) as refused:
        case.complete("visit_important", "supervisor1", visit_mode="phone", visit_result="satisfied")
    assert [e.field for e in refused.value.errors] == ["phone_visit_mark"]
    with pytest.raises(FormInvalid):
        case.complete("visit_important", "supervisor1", **dict(PHONE_OK, phone_visit_mark="上门"))
    case.complete("visit_important", "supervisor1", **PHONE_OK)
    v_el, v_fl = visit("Flow_important", "visit_important", "Flow_visit_important")
    path = case.path()
    assert path.elements == START + VALID + ["handle_security", "gw_dept_merge"] + RECORD + v_el + [
        "end_closed"
    ]
    assert path.flows == START_FLOWS + VALID_FLOWS + [
        "Flow_security",
        "Flow_handle_security",
    ] + RECORD_FLOWS + v_fl + ["Flow_satisfied"]
    assert case.human_trail() == [
        ("intake", R, "reception1"),
        ("handle_security", SL, "seclead1"),
        ("record_result", R, "reception1"),
        ("visit_important", CS, "supervisor1"),
    ]
    assert case.status == "completed"


def test_environment_major_visit_by_manager(start_case):
    case = start(
        start_case,
        department="environment",
        basis="contractor_below_standard",
        subject="外包清洁公司不按时清扫",
    )
    case.complete("handle_environment", "env1", **HANDLED)
    case.complete("record_result", "reception1", **dict(RESULT, severity="major"))
    case.complete("visit_major", "manager1", **dict(DOOR_OK, visit_result="basically_satisfied"))
    v_el, v_fl = visit("Flow_major", "visit_major", "Flow_visit_major")
    path = case.path()
    assert path.elements == START + VALID + ["handle_environment", "gw_dept_merge"] + RECORD + v_el + [
        "end_closed"
    ]
    assert path.flows == START_FLOWS + VALID_FLOWS + [
        "Flow_environment",
        "Flow_handle_environment",
    ] + RECORD_FLOWS + v_fl + ["Flow_satisfied"]
    assert case.human_trail() == [
        ("intake", R, "reception1"),
        ("handle_environment", EN, "env1"),
        ("record_result", R, "reception1"),
        ("visit_major", M, "manager1"),
    ]
    assert case.status == "completed"


def test_serious_complaint_reported_to_manager_and_site_visited_first(start_case):
    case = start(
        start_case,
        serious=True,
        department="security",
        basis="rude_or_damage",
        subject="护管员与住户发生冲突",
    )
    assert [t.element_id for t in case.open_tasks()] == ["report_manager"]
    case.complete("report_manager", "manager1", reported=True, manager_instructions="立即会同护管部到现场")
    case.complete(
        "joint_site_visit",
        "manager1",
        site_findings="护管员态度生硬",
        handling_plan="护管部赔礼道歉并教育当事人",
    )
    case.complete("handle_security", "seclead1", **HANDLED)
    case.complete("record_result", "reception1", **dict(RESULT, severity="major"))
    case.complete("visit_major", "manager1", **PHONE_OK)
    v_el, v_fl = visit("Flow_major", "visit_major", "Flow_visit_major")
    path = case.path()
    assert path.elements == START + [
        "gw_serious",
        "report_manager",
        "joint_site_visit",
        "gw_serious_merge",
        "gw_department",
        "handle_security",
        "gw_dept_merge",
    ] + RECORD + v_el + ["end_closed"]
    assert path.flows == START_FLOWS + [
        "Flow_valid",
        "Flow_serious",
        "Flow_report_manager",
        "Flow_joint_site_visit",
        "Flow_serious_merge",
        "Flow_security",
        "Flow_handle_security",
    ] + RECORD_FLOWS + v_fl + ["Flow_satisfied"]
    assert case.human_trail() == [
        ("intake", R, "reception1"),
        ("report_manager", M, "manager1"),
        ("joint_site_visit", M, "manager1"),
        ("handle_security", SL, "seclead1"),
        ("record_result", R, "reception1"),
        ("visit_major", M, "manager1"),
    ]
    assert case.status == "completed"


def test_resolution_overdue_escalates_to_cs_supervisor(start_case, library):
    case = start(
        start_case, department="environment", basis="contract_duty_not_met", subject="垃圾未及时清运"
    )
    duration = load_rules(library.rules).sla_duration("complaint.resolve", "nanshan")
    limit = TimerEventDefinition.get_timedelta_from_start(
        TimerEventDefinition.parse_iso_duration(duration), None
    )
    assert limit == timedelta(days=3)
    assert case.wait(seconds=limit.total_seconds() - 60) == 0
    assert case.wait(seconds=120) == 1
    assert case.task("supervise_overdue").role == CS
    assert case.task("handle_environment")  # non-interrupting: the department still handles it
    case.complete(
        "supervise_overdue",
        "supervisor1",
        overdue_reason="清运车辆故障",
        action="已督促环境部今日清运，并告知投诉人",
    )
    assert case.status == "running"
    case.complete("handle_environment", "env1", **HANDLED)
    case.complete("record_result", "reception1", **RESULT)
    case.complete("visit_ordinary", "reception1", **DOOR_OK)
    v_el, v_fl = visit("Flow_ordinary", "visit_ordinary", "Flow_visit_ordinary")
    path = case.path()
    assert path.elements == START + VALID + [
        "timer_environment_overdue",
        "supervise_overdue",
        "end_escalated",
        "handle_environment",
        "gw_dept_merge",
    ] + RECORD + v_el + ["end_closed"]
    assert path.flows == START_FLOWS + VALID_FLOWS + [
        "Flow_environment",
        "Flow_environment_overdue",
        "Flow_supervise_overdue",
        "Flow_handle_environment",
    ] + RECORD_FLOWS + v_fl + ["Flow_satisfied"]
    assert case.human_trail() == [
        ("intake", R, "reception1"),
        ("supervise_overdue", CS, "supervisor1"),
        ("handle_environment", EN, "env1"),
        ("record_result", R, "reception1"),
        ("visit_ordinary", R, "reception1"),
    ]
    assert case.status == "completed"


def test_dissatisfied_fixed_again_and_visited_again(start_case):
    case = start(start_case)
    case.complete("quote_repair", "engsup1", agreement="not_needed")
    case.complete("handle_engineering", "engsup1", **HANDLED)
    case.complete("record_result", "reception1", **RESULT)
    case.complete(
        "visit_ordinary",
        "reception1",
        visit_mode="phone",
        phone_visit_mark="电话回访",
        visit_result="dissatisfied",
        visit_notes="水管接头仍有渗水",
    )
    # dissatisfied: back to the department to fix it again
    assert [t.element_id for t in case.open_tasks()] == ["quote_repair"]
    case.complete("quote_repair", "engsup1", agreement="not_needed")
    case.complete("handle_engineering", "engsup1", **dict(HANDLED, result="重新更换密封圈，复查无渗水"))
    case.complete("record_result", "reception1", **RESULT)
    case.complete("visit_ordinary", "reception1", **DOOR_OK)
    v_el, v_fl = visit("Flow_ordinary", "visit_ordinary", "Flow_visit_ordinary")
    path = case.path()
    round_ = ["gw_department"] + ENGINEERING + RECORD + v_el
    round_flows = ENGINEERING_FLOWS + RECORD_FLOWS + v_fl
    assert path.elements == START + VALID[:2] + round_ + round_ + ["end_closed"]
    assert path.flows == START_FLOWS + VALID_FLOWS + round_flows + ["Flow_dissatisfied"] + round_flows + [
        "Flow_satisfied"
    ]
    once = [
        ("quote_repair", ES, "engsup1"),
        ("handle_engineering", ES, "engsup1"),
        ("record_result", R, "reception1"),
        ("visit_ordinary", R, "reception1"),
    ]
    assert case.human_trail() == [("intake", R, "reception1")] + once + once
    assert case.status == "completed"


def test_anonymous_complaint_gets_no_visit(start_case):
    case = start(
        start_case,
        anonymous=True,
        complainant="",
        phone="",
        department="environment",
        basis="contract_duty_not_met",
        subject="绿化带无人修剪",
    )
    case.complete("handle_environment", "env1", **HANDLED)
    case.complete("record_result", "reception1", **dict(RESULT, complainant_signed=False))
    path = case.path()
    assert path.elements == START + VALID + ["handle_environment", "gw_dept_merge"] + RECORD + [
        "end_no_visit"
    ]
    assert path.flows == START_FLOWS + VALID_FLOWS + [
        "Flow_environment",
        "Flow_handle_environment",
    ] + RECORD_FLOWS + ["Flow_anonymous"]
    assert case.human_trail() == [
        ("intake", R, "reception1"),
        ("handle_environment", EN, "env1"),
        ("record_result", R, "reception1"),
    ]
    assert case.status == "completed"

"""Scenario tests of processes/complaint.bpmn (投诉处理, 001/第4篇, 003 4.3, 5.2, 001/第2篇 回访):
one test per path, every gateway branch and every timer.

The class of a complaint (valid / assistance / excessive, 003 4.3) comes from the decision
table processes/complaint_classification.dmn; a test edits a copy of it and shows the
classification change without any change to the diagram."""

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from engine.audit.events import EventType
from engine.definitions.library import Bundle, deploy_bundle, read_bundle
from engine.errors import FormInvalid
from engine.policy import followup

ROOT = Path(__file__).resolve().parents[2]
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
QUOTE_AGREED = dict(agreement="agreed", price_item="replace_valve")
NO_QUOTE = dict(agreement="not_needed")
HANDLED = dict(promised_time=T, result="已更换卫生间水管接头，试水无渗漏", reported_to_reception=True)
RESULT = dict(
    result_recorded="已更换水管接头，投诉人确认",
    complainant_signed=True,
    rating="satisfied",
    severity="ordinary",
)
DOOR_OK = dict(visit_mode="door", resident_signature=True, visit_result="satisfied", visit_notes="客户满意")
PHONE_OK = dict(visit_mode="phone", phone_visit_mark="电话回访", visit_result="satisfied")
CHASED = dict(overdue_reason="回访人休假", action="已安排今天下午电话回访")

START = ["start", "intake", "classify", "gw_class"]
START_FLOWS = ["Flow_start", "Flow_intake", "Flow_classify"]
VALID = ["gw_serious", "gw_serious_merge", "gw_department"]
VALID_FLOWS = ["Flow_valid", "Flow_not_serious", "Flow_serious_merge"]
ENGINEERING = ["quote_repair", "gw_agreed", "handle_engineering", "gw_dept_merge"]
ENGINEERING_FLOWS = ["Flow_engineering", "Flow_quote_repair", "Flow_agreed", "Flow_handle_engineering"]
RECORD = ["record_result", "gw_anonymous"]
RECORD_FLOWS = ["Flow_dept_merge", "Flow_record_result"]
# the department branches: (intake department, handling task, role, user, branch flow)
DEPARTMENTS = {
    "engineering": ("handle_engineering", ES, "engsup1", "Flow_engineering"),
    "security": ("handle_security", SL, "seclead1", "Flow_security"),
    "environment": ("handle_environment", EN, "env1", "Flow_environment"),
}
# the follow-up levels: (visit task, role, user, branch flow), (chase task, its end, role, user)
VISITS = {
    "ordinary": (
        ("visit_ordinary", R, "reception1", "Flow_ordinary"),
        ("chase_visit", "end_visit_chased", CS, "supervisor1"),
    ),
    "important": (
        ("visit_important", CS, "supervisor1", "Flow_important"),
        ("chase_visit_manager", "end_visit_chased_manager", M, "manager1"),
    ),
    "major": (
        ("visit_major", M, "manager1", "Flow_major"),
        ("chase_visit", "end_visit_chased", CS, "supervisor1"),
    ),
}


def start(start_drawn_case, sampled=True, **intake):
    """Start and take in a complaint; its reference is one the follow-up draw samples unless told."""
    case = start_drawn_case("complaint", {"complainant": "林先生"}, as_user="reception1", sampled=sampled)
    assert case.reference.startswith("TS-")
    case.complete("intake", "reception1", **dict(INTAKE, **intake))
    return case


def open_ids(case):
    return [t.element_id for t in case.open_tasks()]


DRAWN = ["decide_followup", "gw_followup_sampled"]
DRAWN_FLOWS = ["Flow_named", "Flow_decide_followup"]


def visit(kind, task, flow):
    """Elements and flows of one follow-up visit, drawn and ending satisfied."""
    return (
        DRAWN + ["gw_severity", task, "gw_visit_merge", "gw_satisfied"],
        DRAWN_FLOWS + ["Flow_sampled", kind, flow, "Flow_visit_merge"],
    )


def decisions(case):
    """The data of the case's `followup_decided` audit events."""
    return [e.data for e in case.events(EventType.FOLLOWUP_DECIDED)]


# -- classification (003 4.3) -------------------------------------------------------------

# class -> (first open task, flows taken up to it) for an engineering complaint
CLASSES = {
    "valid": ("quote_repair", START_FLOWS + VALID_FLOWS + ["Flow_engineering"]),
    "assistance": ("assist_other_party", START_FLOWS + ["Flow_assistance"]),
    "excessive": ("explain_excessive", START_FLOWS + ["Flow_excessive"]),
}


@pytest.mark.parametrize(
    "basis, expected",
    [
        ("contract_duty_not_met", "valid"),
        ("promise_not_kept", "valid"),
        ("law_broken", "valid"),
        ("overcharging", "valid"),
        ("ignored_after_two_reminders", "valid"),
        ("rude_or_damage", "valid"),
        ("contractor_below_standard", "valid"),
        ("other_resident_violation", "assistance"),
        ("developer_defect", "assistance"),
        ("owners_committee_matter", "assistance"),
        ("other_utility", "assistance"),
        ("government_matter", "assistance"),
        ("facility_not_in_plan", "excessive"),
        ("fee_below_standard", "excessive"),
        ("outside_contract", "excessive"),
    ],
)
def test_the_decision_table_classifies_every_basis_of_the_seed(start_drawn_case, basis, expected):
    case = start(start_drawn_case, basis=basis)
    task, flows = CLASSES[expected]
    assert open_ids(case) == [task]
    assert case.path().flows == flows


def test_designers_change_the_classification_in_the_table_not_the_diagram(
    start_drawn_case, runtime, library, tmp_path
):
    """A copy of the library where developer defects (003 4.3.2.2) become valid complaints,
    and a new basis the table does not list falls to the catch-all rule: only the .dmn
    changed, the complaint diagram is byte for byte the same, and cases started before
    keep the classification of their version."""
    before = start(start_drawn_case, basis="developer_defect")
    assert open_ids(before) == ["assist_other_party"]

    shutil.copytree(ROOT / "processes", tmp_path / "processes")
    shutil.copytree(ROOT / "forms", tmp_path / "forms")
    table = tmp_path / "processes" / "complaint_classification.dmn"
    text = table.read_text(encoding="utf-8")
    rule = text.index('<outputEntry id="rule_developer_defect_out">')
    table.write_text(text[:rule] + text[rule:].replace('"assistance"', '"valid"', 1), encoding="utf-8")
    intake_form = tmp_path / "forms" / "complaint" / "intake.yaml"
    intake_form.write_text(
        intake_form.read_text(encoding="utf-8").replace(
            "enum: [contract_duty_not_met,", "enum: [noise_at_night, contract_duty_not_met,"
        ),
        encoding="utf-8",
    )
    edited = read_bundle(tmp_path / "processes", tmp_path / "forms")
    assert edited.bpmn == library.bpmn  # no diagram change
    assert edited.dmn != library.dmn
    with runtime.transaction() as session:
        deployed = {r.process_id: (r.version, r.created) for r in deploy_bundle(session, edited, "designer1")}
    assert deployed["complaint"] == (2, True)

    after = start(start_drawn_case, basis="developer_defect", subject="新房卫生间渗水")
    assert open_ids(after) == ["quote_repair"]
    assert after.path().flows == START_FLOWS + VALID_FLOWS + ["Flow_engineering"]
    unlisted = start(start_drawn_case, basis="noise_at_night", department="security", subject="夜间噪音")
    assert open_ids(unlisted) == ["handle_security"]  # no rule for it: the catch-all makes it valid
    assert open_ids(before) == ["assist_other_party"]  # the running case keeps its version's table


def test_excessive_demand_explained_and_recorded(start_drawn_case):
    case = start(start_drawn_case, basis="facility_not_in_plan", subject="要求在小区内加建游泳池")
    assert open_ids(case) == ["explain_excessive"]
    case.complete(
        "explain_excessive", "reception1", explained=True, explanation="游泳池不在小区规划内，已耐心解释"
    )
    path = case.path()
    assert path.elements == START + ["explain_excessive", "end_excessive"]
    assert path.flows == START_FLOWS + ["Flow_excessive", "Flow_explain_excessive"]
    assert case.human_trail() == [("intake", R, "reception1"), ("explain_excessive", R, "reception1")]
    assert case.status == "completed"


def test_assistance_matter_explained_other_party_contacted_and_fed_back(start_drawn_case):
    case = start(start_drawn_case, basis="other_resident_violation", subject="楼上住户高空抛物")
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


# -- valid complaints, by department ------------------------------------------------------


def test_engineering_paid_repair_quoted_from_the_price_list_agreed_door_visit(
    start_drawn_case, sla_limit, runtime, followup_rate, expected_decision
):
    case = start(start_drawn_case)
    quote = case.task_view("quote_repair")
    assert quote.role == R  # the desk quotes before it dispatches (001/第4篇 4.2 1))
    assert (
        quote.form_schema["properties"]["price_item"]["x-enum-labels"]["replace_valve"]
        == "更换角阀（25元/个）"
    )
    with pytest.raises(FormInvalid) as refused:  # a quote names its price-list item
        case.complete("quote_repair", "reception1", agreement="agreed")
    assert [e.field for e in refused.value.errors] == ["price_item"]
    case.complete("quote_repair", "reception1", **QUOTE_AGREED)
    handle = case.task("handle_engineering")
    assert handle.due_at == runtime.clock.now() + sla_limit("complaint.resolve")
    case.complete("handle_engineering", "engsup1", **HANDLED)
    case.complete("record_result", "reception1", **RESULT)
    assert case.task("visit_ordinary").role == R
    assert case.task("visit_ordinary").due_at == runtime.clock.now() + sla_limit("complaint.followup")
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
        ("quote_repair", R, "reception1"),
        ("handle_engineering", ES, "engsup1"),
        ("record_result", R, "reception1"),
        ("visit_ordinary", R, "reception1"),
    ]
    assert case.status == "completed"
    # the draw is in the audit trail, with the rate that applied when it was made
    assert decisions(case) == [expected_decision(case, "complaint", True, ordinal=1, sampled_before=0)]


def test_engineering_paid_repair_declined_recorded_and_closed(start_drawn_case):
    case = start(start_drawn_case, basis="contract_duty_not_met", subject="室内水龙头损坏")
    case.complete("quote_repair", "reception1", agreement="declined", price_item="replace_faucet")
    assert open_ids(case) == ["record_declined"]
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
        ("quote_repair", R, "reception1"),
        ("record_declined", R, "reception1"),
    ]
    assert case.status == "completed"


def test_security_important_phone_visit_by_cs_supervisor(start_drawn_case):
    case = start(start_drawn_case, department="security", basis="promise_not_kept", subject="信件报刊多次丢失")
    assert open_ids(case) == ["handle_security"]
    case.complete("handle_security", "seclead1", **HANDLED)
    case.complete("record_result", "reception1", **dict(RESULT, severity="important"))
    assert case.task("visit_important").role == CS
    # a phone visit is marked "电话回访" by choosing it: nobody types the mark (issue #16)
    case.complete("visit_important", "supervisor1", visit_mode="phone", visit_result="satisfied")
    [visited] = [e for e in case.events("task_completed") if e.element_id == "visit_important"]
    assert visited.data["submitted"]["phone_visit_mark"] == "电话回访"
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


def test_environment_major_visit_by_manager(start_drawn_case):
    case = start(
        start_drawn_case,
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


def test_serious_complaint_reported_at_once_manager_visits_site_and_assigns(start_drawn_case):
    """The desk reports to the leadership at once and contacts the department heads; the
    manager visits the site with them and decides the plan, here another department."""
    case = start(
        start_drawn_case,
        serious=True,
        department="security",
        basis="rude_or_damage",
        subject="保洁员与住户发生冲突并损坏住户物品",
    )
    assert open_ids(case) == ["report_manager"]
    assert case.task("report_manager").role == R
    case.complete("report_manager", "reception1", reported_to="王经理", department_heads_contacted=True)
    case.complete(
        "joint_site_visit",
        "manager1",
        site_findings="保洁员推倒住户花盆",
        handling_plan="环境部赔偿花盆并向住户道歉，教育当事人",
        department="environment",
    )
    case.complete("handle_environment", "env1", **HANDLED)
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
        "handle_environment",
        "gw_dept_merge",
    ] + RECORD + v_el + ["end_closed"]
    assert path.flows == START_FLOWS + [
        "Flow_valid",
        "Flow_serious",
        "Flow_report_manager",
        "Flow_joint_site_visit",
        "Flow_serious_merge",
        "Flow_environment",
        "Flow_handle_environment",
    ] + RECORD_FLOWS + v_fl + ["Flow_satisfied"]
    assert case.human_trail() == [
        ("intake", R, "reception1"),
        ("report_manager", R, "reception1"),
        ("joint_site_visit", M, "manager1"),
        ("handle_environment", EN, "env1"),
        ("record_result", R, "reception1"),
        ("visit_major", M, "manager1"),
    ]
    assert case.status == "completed"


# -- the promise of at most 3 days (003 5.2) ----------------------------------------------


@pytest.mark.parametrize("department", DEPARTMENTS)
def test_resolution_overdue_escalates_to_cs_supervisor(start_drawn_case, sla_limit, department):
    handle, role, user, branch = DEPARTMENTS[department]
    case = start(start_drawn_case, department=department, basis="contract_duty_not_met", subject="垃圾未及时清运")
    quoted = []
    if department == "engineering":
        case.complete("quote_repair", "reception1", **NO_QUOTE)
        quoted = [("quote_repair", R, "reception1")]
    assert sla_limit("complaint.resolve") == timedelta(days=3)
    assert case.wait(days=3, seconds=-60) == 0
    assert case.wait(seconds=120) == 1
    assert case.task("supervise_overdue").role == CS
    assert case.task(handle)  # non-interrupting: the department still handles it
    case.complete(
        "supervise_overdue",
        "supervisor1",
        overdue_reason="清运车辆故障",
        action="已督促今日处理，并告知投诉人",
    )
    assert case.status == "running"
    case.complete(handle, user, **HANDLED)
    case.complete("record_result", "reception1", **RESULT)
    case.complete("visit_ordinary", "reception1", **DOOR_OK)

    timer = f"timer_{department}_overdue"
    head = ["quote_repair", "gw_agreed"] if quoted else []
    head_flows = ["Flow_engineering", "Flow_quote_repair", "Flow_agreed"] if quoted else [branch]
    v_el, v_fl = visit("Flow_ordinary", "visit_ordinary", "Flow_visit_ordinary")
    path = case.path()
    assert path.elements == START + VALID + head + [
        timer,
        "supervise_overdue",
        "end_escalated",
        handle,
        "gw_dept_merge",
    ] + RECORD + v_el + ["end_closed"]
    assert path.flows == START_FLOWS + VALID_FLOWS + head_flows + [
        f"Flow_{department}_overdue",
        "Flow_supervise_overdue",
        f"Flow_handle_{department}",
    ] + RECORD_FLOWS + v_fl + ["Flow_satisfied"]
    assert case.human_trail() == [("intake", R, "reception1")] + quoted + [
        ("supervise_overdue", CS, "supervisor1"),
        (handle, role, user),
        ("record_result", R, "reception1"),
        ("visit_ordinary", R, "reception1"),
    ]
    assert case.status == "completed"


# -- follow-up visits (001/第2篇) ---------------------------------------------------------


@pytest.mark.parametrize("severity", VISITS)
def test_follow_up_not_made_within_3_days_is_chased(start_drawn_case, sla_limit, severity):
    """Ordinary and major visits are chased by the CS supervisor (the one responsible for
    follow-up visits); the supervisor's own late visits are chased by the manager."""
    (task, role, user, branch), (chase, chase_end, chase_role, chaser) = VISITS[severity]
    case = start(
        start_drawn_case, department="environment", basis="contract_duty_not_met", subject="绿化带无人修剪"
    )
    case.complete("handle_environment", "env1", **HANDLED)
    case.complete("record_result", "reception1", **dict(RESULT, severity=severity))
    assert sla_limit("complaint.followup") == timedelta(days=3)
    assert case.wait(days=3, seconds=-1) == 0
    assert case.wait(seconds=2) == 1
    assert case.task(chase).role == chase_role
    assert case.task(task)  # the visit is still to be made
    case.complete(chase, chaser, **CHASED)
    case.complete(task, user, **PHONE_OK)

    path = case.path()
    assert path.elements == START + VALID + ["handle_environment", "gw_dept_merge"] + RECORD + DRAWN + [
        "gw_severity",
        f"timer_{task}_overdue",
        chase,
        chase_end,
        task,
        "gw_visit_merge",
        "gw_satisfied",
        "end_closed",
    ]
    assert path.flows == START_FLOWS + VALID_FLOWS + [
        "Flow_environment",
        "Flow_handle_environment",
    ] + RECORD_FLOWS + DRAWN_FLOWS + [
        "Flow_sampled",
        branch,
        f"Flow_{task}_overdue",
        f"Flow_{chase}",
        f"Flow_{task}",
        "Flow_visit_merge",
        "Flow_satisfied",
    ]
    assert case.human_trail() == [
        ("intake", R, "reception1"),
        ("handle_environment", EN, "env1"),
        ("record_result", R, "reception1"),
        (chase, chase_role, chaser),
        (task, role, user),
    ]
    assert case.status == "completed"


def test_dissatisfied_fixed_again_and_visited_again_as_often_as_needed(start_drawn_case):
    case = start(start_drawn_case)
    dissatisfied = dict(visit_mode="phone", phone_visit_mark="电话回访", visit_result="dissatisfied")
    for attempt in range(2):  # twice dissatisfied, then satisfied
        case.complete("quote_repair", "reception1", **NO_QUOTE)
        case.complete("handle_engineering", "engsup1", **dict(HANDLED, result=f"第{attempt + 1}次处理"))
        case.complete("record_result", "reception1", **RESULT)
        case.complete("visit_ordinary", "reception1", **dict(dissatisfied, visit_notes="水管接头仍有渗水"))
        # dissatisfied: back to the department to fix it again
        assert open_ids(case) == ["quote_repair"]
    case.complete("quote_repair", "reception1", **NO_QUOTE)
    case.complete("handle_engineering", "engsup1", **dict(HANDLED, result="重新更换密封圈，复查无渗水"))
    case.complete("record_result", "reception1", **RESULT)
    case.complete("visit_ordinary", "reception1", **DOOR_OK)
    v_el, v_fl = visit("Flow_ordinary", "visit_ordinary", "Flow_visit_ordinary")
    path = case.path()
    round_ = ["gw_department"] + ENGINEERING + RECORD + v_el
    round_flows = ENGINEERING_FLOWS + RECORD_FLOWS + v_fl
    assert path.elements == START + VALID[:2] + round_ * 3 + ["end_closed"]
    assert path.flows == START_FLOWS + VALID_FLOWS + (
        round_flows + ["Flow_dissatisfied"]
    ) * 2 + round_flows + ["Flow_satisfied"]
    once = [
        ("quote_repair", R, "reception1"),
        ("handle_engineering", ES, "engsup1"),
        ("record_result", R, "reception1"),
        ("visit_ordinary", R, "reception1"),
    ]
    assert case.human_trail() == [("intake", R, "reception1")] + once * 3
    assert case.status == "completed"
    # drawn once: coming round again after a dissatisfied visit keeps the first decision
    assert [d["sampled"] for d in decisions(case)] == [True]


def test_anonymous_complaint_gets_no_visit(start_drawn_case):
    """Not even drawn: the reference is one the draw would sample, yet anonymity comes first."""
    case = start(
        start_drawn_case,
        anonymous=True,
        complainant="",
        phone="",
        department="environment",
        basis="contract_duty_not_met",
        subject="绿化带无人修剪",
    )
    case.complete("handle_environment", "env1", **HANDLED)
    case.complete("record_result", "reception1", **dict(RESULT, complainant_signed=False))
    assert case.wait(days=30) == 0  # no visit, so no visit timer either
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
    assert decisions(case) == []


# -- sampling at the site's rate (001/第2篇 1.3) ------------------------------------------


def test_complaint_not_drawn_closes_without_a_visit(start_drawn_case, followup_rate, expected_decision):
    case = start(
        start_drawn_case, sampled=False, department="environment", basis="contract_duty_not_met",
        subject="绿化带无人修剪",
    )
    case.complete("handle_environment", "env1", **HANDLED)
    case.complete("record_result", "reception1", **dict(RESULT, severity="major"))
    # one earlier complaint of the month was visited: 1 of 2 keeps the month at 50 %
    drawn_now = expected_decision(case, "complaint", False, ordinal=2, sampled_before=1)
    assert open_ids(case) == []
    assert case.wait(days=30) == 0  # no visit, so no visit timer either
    path = case.path()
    assert path.elements == START + VALID + ["handle_environment", "gw_dept_merge"] + RECORD + DRAWN + [
        "end_not_sampled"
    ]
    assert path.flows == START_FLOWS + VALID_FLOWS + [
        "Flow_environment",
        "Flow_handle_environment",
    ] + RECORD_FLOWS + DRAWN_FLOWS + ["Flow_not_sampled"]
    assert case.status == "completed"
    draw = followup.draw(case.reference)
    assert draw >= followup_rate("complaint")
    assert decisions(case) == [drawn_now]


def test_a_site_that_visits_more_complaints_draws_at_its_own_rate(start_drawn_case, followup_rate,
                                                                   expected_decision):
    """Binhai Court visits 60 % of complaints (processes/rules/followup.yaml site_overrides)."""
    assert (followup_rate("complaint"), followup_rate("complaint", "binhai")) == (0.5, 0.6)
    case = start_drawn_case("complaint", {"complainant": "林先生", "site": "binhai"}, as_user="reception2",
                            sampled=True)  # Binhai's own staff work it
    case.complete("intake", "reception2", **dict(INTAKE, department="environment", basis="contract_duty_not_met"))
    case.complete("handle_environment", "bhenv1", **HANDLED)
    case.complete("record_result", "reception2", **RESULT)
    assert open_ids(case) == ["visit_ordinary"]
    assert decisions(case) == [expected_decision(case, "complaint", True, 1, 0, site="binhai")]
    assert decisions(case)[0]["rate"] == 0.6


def test_a_new_rate_applies_to_new_cases_and_the_trail_keeps_the_old_one(start_drawn_case, runtime, library):
    """Rates are deployed with the library: a case drawn before the change keeps its rate in
    the audit trail, a case running on the new version is drawn at the new rate."""
    before = start(start_drawn_case, department="environment", basis="contract_duty_not_met")
    before.complete("handle_environment", "env1", **HANDLED)
    before.complete("record_result", "reception1", **RESULT)
    raised = Bundle(library.bpmn, library.dmn, library.forms, dict(library.rules))
    raised.rules["followup.yaml"] = library.rules["followup.yaml"].replace("complaint: 50%", "complaint: 80%")
    assert raised.rules["followup.yaml"] != library.rules["followup.yaml"]
    with runtime.transaction() as session:
        deployed = {r.process_id: r.version for r in deploy_bundle(session, raised, "designer1")}
    assert deployed["complaint"] == 2
    after = start(start_drawn_case, department="environment", basis="contract_duty_not_met")
    after.complete("handle_environment", "env1", **HANDLED)
    after.complete("record_result", "reception1", **RESULT)
    assert [d["rate"] for d in decisions(before)] == [0.5]
    assert [d["rate"] for d in decisions(after)] == [0.8]

"""Scenario tests of processes/complaint.bpmn (投诉处理, 001/第4篇, 003 4.3, 5.2, 001/第2篇 回访):
one test per path, every gateway branch and every timer.

The class of a complaint (valid / assistance / excessive, 003 4.3) comes from the decision
table processes/complaint_classification.dmn; a test edits a copy of it and shows the
classification change without any change to the diagram.

The complainant is told at intake when it will be solved (003 5.2), never later than the
site's limit `complaint.resolve`; the chase follows that time. An engineering complaint opens
its 维修单 as a repair case of its own (001/第4篇 4.2 1) a) and tracks it at the desk (b、c)
until the signed copy is back; `run_repair` drives that repair case, by its reference, with
tests/scenario/test_repair.py's own form data. Indoor cleaning or greening runs the
paid-service procedure (4.2 2)) through a call activity."""

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jinja2
import pytest

from engine.audit.events import EventType
from engine.definitions.library import Bundle, deploy_bundle, read_bundle
from engine.errors import FormInvalid
from engine.policy import followup
from engine.runtime.case_diagram import case_diagram
from engine.runtime.queries import get_instance_row, list_events
from tests.scenario.conftest import Case
from tests.scenario.test_repair import CHECK, DISPATCH, NOTIFY, ORDER, SIGNED, paperwork

ROOT = Path(__file__).resolve().parents[2]
T = "2026-11-23T09:05:00+00:00"
PROMISED = "2026-11-25T09:00:00+00:00"  # two days after the clock's start: within the 3 days
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
    promised_time=PROMISED,
    repeated_back=True,
    reported_to_head=True,
)
QUOTE_AGREED = dict(agreement="agreed", price_item="replace_valve")
NO_QUOTE = dict(agreement="not_needed")
HANDLED = dict(result="已更换卫生间水管接头，试水无渗漏", reported_to_reception=True)
RESULT = dict(
    result_recorded="已更换水管接头，投诉人确认",
    complainant_signed=True,
    rating="satisfied",
    severity="ordinary",
)
DOOR_OK = dict(visit_mode="door", resident_signature=True, visit_result="satisfied", visit_notes="客户满意")
PHONE_OK = dict(visit_mode="phone", phone_visit_mark="电话回访", visit_result="satisfied")
CHASED = dict(overdue_reason="回访人休假", action="已安排今天下午电话回访")
CHECKED = dict(check_opinion="回访记录完整，客户已签名", signed=True)  # the supervisor signs (001/第2篇 1.8)

START = ["start", "intake", "classify", "gw_class"]
START_FLOWS = ["Flow_start", "Flow_intake", "Flow_classify"]
VALID = ["gw_serious", "gw_serious_merge", "gw_department"]
VALID_FLOWS = ["Flow_valid", "Flow_not_serious", "Flow_serious_merge"]
ENGINEERING = ["quote_repair", "gw_agreed", "open_repair", "track_repair_order", "gw_dept_merge"]
ENGINEERING_FLOWS = ["Flow_engineering", "Flow_quote_repair", "Flow_agreed", "Flow_open_repair",
                     "Flow_track_repair_order"]
RECORD = ["record_result", "gw_anonymous"]
RECORD_FLOWS = ["Flow_dept_merge", "Flow_record_result"]
# the department branches a person handles: (handling task, role, user, branch flow)
DEPARTMENTS = {
    "security": ("handle_security", SL, "seclead1", "Flow_security"),
    "environment": ("handle_environment", EN, "env1", "Flow_environment"),
}
# the desk's record that the signed 维修单 is back (001/第4篇 4.2 1) a–c)
TRACKED = dict(signed_order_returned=True, completed_on_time=True, complainant_informed=True,
               result="已更换卫生间水管接头，试水无渗漏")
# the repair case an engineering complaint opens, as run_repair plays it
REPAIR_TRAIL = [
    ("write_order", R, "reception1"),
    ("notify_engineering", R, "reception1"),
    ("assign_technician", ES, "engsup1"),
    ("arrive_now", "technician", "tech1"),
    ("check_order", "technician", "tech1"),
    ("do_repair", "technician", "tech1"),
    ("resident_sign", "technician", "tech1"),  # signed in front of the technician (001/第8篇 4.1 6))
    ("return_copies", "technician", "tech1"),
    ("confirm_copies", ES, "engsup1"),
    ("return_order", R, "reception1"),
    ("send_copy3", R, "reception1"),
    ("collect_fee", "finance", "finance1"),
]
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


def handed_repair(case) -> Case:
    """The repair case the complaint opened for its 维修单: a case of its own, citing the complaint,
    whose reference the desk's tracking task shows."""
    handed = case.events(EventType.CASE_HANDED_OVER)
    assert [(e.element_id, e.data["reference"][:3]) for e in handed] == [("repair", "BX-")]
    with case.runtime.db.session() as session:
        row = get_instance_row(session, handed[0].data["reference"])
        started = list_events(session, row.id)[0]
    assert started.data["handed_over_from"] == case.reference
    assert case.task_view("track_repair_order").data["repair_reference"] == row.reference
    return Case(case.runtime, row.id, row.reference)


def repair_until_signed(case) -> Case:
    """Play the complaint's repair case until the resident has signed the order: the desk writes
    the 维修单 from the complaint, engineering repairs it now, the resident signs."""
    repair = handed_repair(case)
    order = repair.task_view("write_order").data
    assert (order["resident"], order["phone"]) == (INTAKE["complainant"], INTAKE["phone"])
    assert order["problem"] == INTAKE["description"]  # the complaint is the order's problem
    assert order["followup_covered_by"] == case.reference  # visited by the complaint (001/第2篇 1.12)
    repair.complete("write_order", "reception1", **dict(ORDER, resident=order["resident"], unit=order["unit"],
                                                         problem=order["problem"]))
    repair.complete("notify_engineering", "reception1", **NOTIFY)
    repair.complete("assign_technician", "engsup1", **DISPATCH)
    repair.complete("arrive_now", "tech1", arrived_at=case.runtime.clock.now().isoformat())
    repair.complete("check_order", "tech1", **CHECK)
    repair.complete("do_repair", "tech1", quantity=1, repair_notes="更换水管接头", completed_at=T)
    repair.complete("resident_sign", "tech1", **dict(SIGNED, resident_name=order["resident"]))
    return repair


def run_repair(case, chased=()):
    """The complaint's repair case runs to the signature; the desk records that the signed copy is
    back (the complaint goes on to its result), then the repair's paperwork and fee follow in the
    repair case, which draws no visit of its own. `chased`: the repair's trail before it (a chase
    of the desk). Returns the complaint's trail it added."""
    repair = repair_until_signed(case)
    case.complete("track_repair_order", "reception1", **TRACKED)
    paperwork(repair)
    assert repair.human_trail() == [*chased, *REPAIR_TRAIL]
    assert repair.status == "completed" and decisions(repair, "repair") == []
    return [("track_repair_order", R, "reception1")]


def handle(case, department):
    """Handle a valid complaint in its department; return the trail it added."""
    if department == "engineering":
        return run_repair(case)
    task, role, user, _ = DEPARTMENTS[department]
    case.complete(task, user, **HANDLED)
    return [(task, role, user)]


DRAWN = ["decide_followup", "gw_followup_sampled"]
DRAWN_FLOWS = ["Flow_named", "Flow_decide_followup"]


def visit(kind, task, flow):
    """Elements and flows of one follow-up visit, drawn and ending satisfied; the assistant's visit is
    checked and signed by the CS supervisor (001/第2篇 1.8), the supervisor's and manager's are not."""
    checked = task == "visit_ordinary"
    return (
        DRAWN + ["gw_severity", task, *(["check_visit"] if checked else []), "gw_visit_merge", "gw_satisfied"],
        DRAWN_FLOWS + ["Flow_sampled", kind, flow, *(["Flow_check_visit"] if checked else []), "Flow_visit_merge"],
    )


def visit_checked(case, **visit_data):
    """The assistant visits; the CS supervisor checks the visit and signs (001/第2篇 1.8)."""
    case.complete("visit_ordinary", "reception1", **visit_data)
    case.complete("check_visit", "supervisor1", **CHECKED)


def decisions(case, category="complaint"):
    """The data of the case's `followup_decided` audit events of `category` (a called repair draws its own)."""
    return [e.data for e in case.events(EventType.FOLLOWUP_DECIDED) if e.data["category"] == category]


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
    """The desk (管理员 / 客服部, 003 3.2, 001/第4篇 4.4) explains and contacts the other party,
    not the CS supervisor."""
    case = start(start_drawn_case, basis="other_resident_violation", subject="楼上住户高空抛物")
    assert case.task("assist_other_party").role == R
    case.complete(
        "assist_other_party",
        "reception1",
        explained=True,
        other_party="15楼1503住户",
        party_contacted=True,
        feedback="已联系楼上住户，对方承诺不再抛物，已告知投诉人",
    )
    path = case.path()
    assert path.elements == START + ["assist_other_party", "end_assistance"]
    assert path.flows == START_FLOWS + ["Flow_assistance", "Flow_assist_other_party"]
    assert case.human_trail() == [("intake", R, "reception1"), ("assist_other_party", R, "reception1")]
    assert case.status == "completed"


# -- valid complaints, by department ------------------------------------------------------


def test_engineering_paid_repair_quoted_then_run_as_a_repair_order_and_visited(
    start_drawn_case, sla_limit, runtime, followup_rate, expected_decision
):
    """001/第4篇 4.2 1): the desk quotes a paid indoor repair from the price list, then the
    complaint runs the 维修单 flow (a-c) of the repair procedure, carrying the complainant,
    unit, phone and complaint into the order; the result is recorded and visited after it."""
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
    assert open_ids(case) == ["track_repair_order"]  # the desk issues the 维修单 (a) and tracks it
    repair_trail = run_repair(case)
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
    check = case.task("check_visit")  # the supervisor checks the assistant's visit before it closes
    assert (check.role, case.status) == (CS, "running")
    assert case.task_view("check_visit").form_schema["title"] == "检查回访并签署意见"
    case.complete("check_visit", "supervisor1", **CHECKED)
    v_el, v_fl = visit("Flow_ordinary", "visit_ordinary", "Flow_visit_ordinary")
    path = case.path("complaint")
    assert path.elements == START + VALID + ENGINEERING + RECORD + v_el + ["end_closed"]
    assert path.flows == START_FLOWS + VALID_FLOWS + ENGINEERING_FLOWS + RECORD_FLOWS + v_fl + [
        "Flow_satisfied"
    ]
    assert case.human_trail() == [
        ("intake", R, "reception1"),
        ("quote_repair", R, "reception1"),
        *repair_trail,
        ("record_result", R, "reception1"),
        ("visit_ordinary", R, "reception1"),
        ("check_visit", CS, "supervisor1"),
    ]
    assert case.status == "completed"
    # the complaint's draw is in the audit trail, with the rate that applied when it was made
    assert decisions(case) == [expected_decision(case, "complaint", True, ordinal=1, sampled_before=0)]


def test_the_result_is_recorded_once_the_signed_order_is_back_not_after_the_repairs_paperwork(
    start_drawn_case, runtime, sla_limit, month_tally
):
    """001/第4篇 4.2 1) a–c: the desk issues the 维修单 as a repair case of its own and tracks it by
    the time told to the complainant; once the copy the customer signed is back, the complaint
    records its result and makes its 3-day visit while the repair case still waits for its copies,
    copy 3 to finance (by the 25th) and the fee. The complaint's visit covers the problem
    (001/第2篇 1.12): the repair draws no visit of its own and leaves the month's repair tally alone."""
    case = start(start_drawn_case)
    case.complete("quote_repair", "reception1", **QUOTE_AGREED)
    track = case.task("track_repair_order")  # timed like the other departments' handling
    assert (track.role, track.sla_key, track.due_at) == (
        R, "complaint.resolve", runtime.clock.now() + sla_limit("complaint.resolve"))
    assert case.task_view("track_repair_order").data["promised_time"] == PROMISED
    order = handed_repair(case).task_view("write_order").data
    assert order["item"] == QUOTE_AGREED["price_item"]  # the agreed quote is noted on the order
    repair = repair_until_signed(case)
    assert open_ids(repair) == ["return_copies"]
    case.complete("track_repair_order", "reception1", **TRACKED)
    assert open_ids(case) == ["record_result"]  # at once, not after finance
    assert case.task_view("record_result").data["result"] == TRACKED["result"]
    case.complete("record_result", "reception1", **RESULT)
    visit_checked(case, **DOOR_OK)
    assert case.status == "completed"
    assert (repair.status, open_ids(repair)) == ("running", ["return_copies"])  # its paperwork goes on

    # the complaint's own trail: the hand-over to the repair case sits between issuing and tracking
    trail = [(e.type, e.element_id) for e in case.events()
             if e.type in (EventType.CASE_HANDED_OVER, EventType.TASK_COMPLETED)]
    assert trail == [
        (EventType.TASK_COMPLETED, "intake"), (EventType.TASK_COMPLETED, "quote_repair"),
        (EventType.CASE_HANDED_OVER, "repair"), (EventType.TASK_COMPLETED, "track_repair_order"),
        (EventType.TASK_COMPLETED, "record_result"), (EventType.TASK_COMPLETED, "visit_ordinary"),
        (EventType.TASK_COMPLETED, "check_visit"),
    ]
    assert case.human_trail() == [
        ("intake", R, "reception1"), ("quote_repair", R, "reception1"), ("track_repair_order", R, "reception1"),
        ("record_result", R, "reception1"), ("visit_ordinary", R, "reception1"), ("check_visit", CS, "supervisor1"),
    ]
    assert case.path("complaint").elements[len(START + VALID):][:5] == ENGINEERING

    paperwork(repair)
    assert repair.status == "completed"
    assert repair.human_trail() == REPAIR_TRAIL
    elements, flows = repair.path().elements, repair.path().flows
    assert {"gw_followup_covered", "end_followup_covered", "end_collected"} <= set(elements)
    assert "Flow_followup_covered" in flows and "decide_followup" not in elements
    assert decisions(repair, "repair") == [] and month_tally("repair") == (0, 0)  # no visit of its own


def test_indoor_cleaning_or_greening_is_a_paid_service_of_its_own(start_drawn_case):
    """001/第4篇 4.2 2), 003 4.2.2: the desk negotiates indoor cleaning and greening with the
    resident as a paid service, through the paid-service procedure, not a department's complaint."""
    case = start(start_drawn_case, department="paid_service", basis="contract_duty_not_met",
                 subject="室内清洁", description="要求春节前做一次全屋清洁")
    assert open_ids(case) == ["agree_scope_price"]
    talk = case.task_view("agree_scope_price")
    assert talk.role == R and (talk.data["caller"], talk.data["description"]) == ("林先生", "要求春节前做一次全屋清洁")
    case.complete("agree_scope_price", "reception1", service="indoor_cleaning", quantity=1,
                  service_scope="全屋清洁一次", resident_agrees=True)
    case.complete("arrange_service", "reception1", arranged_with="环境部郑洁")
    case.complete("provide_service", "env1", service_done=True, no_cash_taken=True)
    case.complete("confirm_completion", "reception1", resident_confirmed=True, satisfaction="satisfied",
                  no_cash_taken=True)
    case.complete("bill_charge", "finance1", billed=True, bill_month="2026-12")
    path = case.path("complaint")
    assert path.elements == START + VALID + ["call_paid_service", "end_paid_service"]
    assert path.flows == START_FLOWS + VALID_FLOWS + ["Flow_paid_service", "Flow_call_paid_service"]
    assert case.path("paid_service").elements[-2:] == ["bill_charge", "end"]
    assert case.human_trail() == [
        ("intake", R, "reception1"),
        ("agree_scope_price", R, "reception1"),
        ("arrange_service", R, "reception1"),
        ("provide_service", EN, "env1"),
        ("confirm_completion", R, "reception1"),
        ("bill_charge", "finance", "finance1"),
    ]
    assert case.status == "completed"


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


# -- the time told to the complainant, at most the site's limit (003 5.2) -------------------


def promise(case, **delta) -> str:
    """ISO-8601 text of the case clock's now plus `delta`: a time to tell the complainant."""
    return (case.runtime.clock.now() + timedelta(**delta)).isoformat()


def start_promising(start_drawn_case, **intake):
    """Start a complaint whose intake is still open, so a test chooses the promised time."""
    case = start_drawn_case("complaint", {"complainant": "林先生"}, as_user="reception1")
    assert open_ids(case) == ["intake"]
    return case, dict(INTAKE, **intake)


@pytest.mark.parametrize("department", ["engineering", *DEPARTMENTS])
def test_the_chase_follows_the_time_told_to_the_complainant(start_drawn_case, department):
    """At intake the complainant is told when it will be solved (告之业户解决时间); when that
    time comes and the department has not finished, the CS supervisor chases it, while the
    department (for engineering: the repair order) goes on."""
    case, intake = start_promising(start_drawn_case, department=department, basis="contract_duty_not_met",
                                   subject="垃圾未及时清运")
    case.complete("intake", "reception1", **dict(intake, promised_time=promise(case, hours=30)))
    [taken] = [e for e in case.events("task_completed") if e.element_id == "intake"]
    assert taken.data["submitted"]["promised_time"] == promise(case, hours=30)  # the promise is on record
    head, head_flows, quoted = [], [DEPARTMENTS.get(department, (0, 0, 0, "Flow_engineering"))[3]], []
    if department == "engineering":
        case.complete("quote_repair", "reception1", **NO_QUOTE)
        head, quoted = ["quote_repair", "gw_agreed", "open_repair"], [("quote_repair", R, "reception1")]
        head_flows = ["Flow_engineering", "Flow_quote_repair", "Flow_agreed", "Flow_open_repair"]
    case.wait(hours=30, seconds=-60)
    assert "supervise_overdue" not in open_ids(case)
    case.wait(seconds=120)  # at the promised time, not at the 3-day limit
    assert case.task("supervise_overdue").role == CS
    chased = []
    if department == "engineering":  # the unwritten order has been chased in the repair case meanwhile
        handed_repair(case).complete("chase_desk", "supervisor1", chase_notes="前台已补填维修单")
        chased = [("chase_desk", CS, "supervisor1")]
    case.complete("supervise_overdue", "supervisor1", overdue_reason="清运车辆故障",
                  action="已督促今日处理，并告知投诉人")
    assert case.status == "running"
    # non-interrupting: the department still handles it
    handled = run_repair(case, chased) if department == "engineering" else handle(case, department)
    case.complete("record_result", "reception1", **RESULT)
    visit_checked(case, **DOOR_OK)

    task = "track_repair_order" if department == "engineering" else DEPARTMENTS[department][0]
    done_flow = "Flow_track_repair_order" if department == "engineering" else f"Flow_handle_{department}"
    v_el, v_fl = visit("Flow_ordinary", "visit_ordinary", "Flow_visit_ordinary")
    path = case.path("complaint")
    assert path.elements == START + VALID + head + [
        f"timer_{department}_overdue",
        "supervise_overdue",
        "end_escalated",
        task,
        "gw_dept_merge",
    ] + RECORD + v_el + ["end_closed"]
    assert path.flows == START_FLOWS + VALID_FLOWS + head_flows + [
        f"Flow_{department}_overdue",
        "Flow_supervise_overdue",
        done_flow,
    ] + RECORD_FLOWS + v_fl + ["Flow_satisfied"]
    assert case.human_trail() == [("intake", R, "reception1")] + quoted + [
        ("supervise_overdue", CS, "supervisor1"),
        *handled,
        ("record_result", R, "reception1"),
        ("visit_ordinary", R, "reception1"),
        ("check_visit", CS, "supervisor1"),
    ]
    assert case.status == "completed"


def test_a_promise_beyond_the_sites_limit_or_in_the_past_is_refused(start_drawn_case, sla_limit):
    """一般不应超过三天: the desk may not promise later than `complaint.resolve` allows from now
    (three calendar days here), nor a time already past; the refusal is a Chinese field error
    and nothing is recorded."""
    case, intake = start_promising(start_drawn_case, department="environment")
    assert sla_limit("complaint.resolve") == timedelta(days=3)
    before = case.events()
    for promised, words in ((promise(case, days=3, minutes=1), "不能晚于本中心规定的时限（2026-11-26 17:00）"),
                            (promise(case, hours=-1), "承诺的时间不能早于现在")):
        with pytest.raises(FormInvalid) as refused:
            case.complete("intake", "reception1", **dict(intake, promised_time=promised))
        assert [(e.field, e.zh) for e in refused.value.errors] == [("promised_time", words)]
    assert case.events() == before and open_ids(case) == ["intake"]
    case.complete("intake", "reception1", **dict(intake, promised_time=promise(case, days=3)))  # the limit itself
    assert open_ids(case) == ["handle_environment"]
    assert [e.element_id for e in case.events("task_completed")] == ["intake"]


def test_a_site_counting_working_days_may_promise_over_the_weekend(start_drawn_case, runtime, library, clock):
    """三天内 is three calendar days unless the site's policy says working days: Binhai Court's
    override counts complaint.resolve on the office calendar (Saturday morning, Monday, Tuesday),
    so on a Friday afternoon it may promise Tuesday, which Nanshan (calendar days) may not."""
    text = library.rules["sla.yaml"]
    assert "site_overrides:\n  binhai:\n" in text
    working = Bundle(library.bpmn, library.dmn, library.forms, dict(library.rules))
    working.rules["sla.yaml"] = text.replace(
        "site_overrides:\n  binhai:\n",
        "site_overrides:\n  binhai:\n    complaint.resolve: {days: working, calendar: office}\n")
    with runtime.transaction() as session:
        deploy_bundle(session, working, "designer1")
    clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc))  # Friday 16:00 in Shenzhen
    tuesday = "2026-12-01T07:00:00+00:00"  # Tuesday 15:00: nearly 4 calendar days, under 3 working days on
    nanshan, intake = start_promising(start_drawn_case, department="environment")
    with pytest.raises(FormInvalid) as refused:
        nanshan.complete("intake", "reception1", **dict(intake, promised_time=tuesday))
    assert [e.zh for e in refused.value.errors] == ["不能晚于本中心规定的时限（2026-11-30 16:00）"]
    binhai = start_drawn_case("complaint", {"complainant": "林先生", "site": "binhai"}, as_user="reception2")
    binhai.complete("intake", "reception2", **dict(intake, promised_time=tuesday))
    assert open_ids(binhai) == ["handle_environment"]
    assert binhai.wait(days=3, hours=23, seconds=-60) == 0
    assert binhai.wait(seconds=120) == 1  # the chase at the promised Tuesday
    assert binhai.path().elements[-1] == "timer_environment_overdue"
    assert binhai.task("supervise_overdue").role == CS


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
    checked = severity == "ordinary"  # only the assistant's visit is checked (001/第2篇 1.8)
    if checked:
        case.complete("check_visit", "supervisor1", **CHECKED)

    path = case.path()
    assert path.elements == START + VALID + ["handle_environment", "gw_dept_merge"] + RECORD + DRAWN + [
        "gw_severity",
        f"timer_{task}_overdue",
        chase,
        chase_end,
        task,
        *(["check_visit"] if checked else []),
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
        *(["Flow_check_visit"] if checked else []),
        "Flow_visit_merge",
        "Flow_satisfied",
    ]
    assert case.human_trail() == [
        ("intake", R, "reception1"),
        ("handle_environment", EN, "env1"),
        ("record_result", R, "reception1"),
        (chase, chase_role, chaser),
        (task, role, user),
        *([("check_visit", CS, "supervisor1")] if checked else []),
    ]
    assert case.status == "completed"


def test_dissatisfied_fixed_again_and_visited_again_as_often_as_needed(start_drawn_case):
    """Each dissatisfied visit tells the customer a new time (001/第2篇 2.3, 003 5.2), which the
    next chase follows; the follow-up draw is made once."""
    case = start(start_drawn_case, department="environment", basis="contract_duty_not_met", subject="绿化带无人修剪")
    dissatisfied = dict(visit_mode="phone", phone_visit_mark="电话回访", visit_result="dissatisfied")
    case.complete("handle_environment", "env1", **HANDLED)
    case.complete("record_result", "reception1", **RESULT)
    with pytest.raises(FormInvalid) as refused:  # not without a new time to tell the customer
        case.complete("visit_ordinary", "reception1", **dissatisfied)
    assert [e.field for e in refused.value.errors] == ["new_promised_time"]
    case.complete("visit_ordinary", "reception1", **dict(dissatisfied, new_promised_time=promise(case, days=1)))
    assert open_ids(case) == ["check_visit"]  # the supervisor checks the dissatisfied visit too (001/第2篇 1.8)
    case.complete("check_visit", "supervisor1", **CHECKED)
    assert open_ids(case) == ["handle_environment"]  # back to the department to fix it again
    case.wait(days=1, seconds=1)  # the new promise passes: chased again
    case.complete("supervise_overdue", "supervisor1", overdue_reason="等待苗木", action="已督促补种")
    case.complete("handle_environment", "env1", **dict(HANDLED, result="补种绿篱"))
    case.complete("record_result", "reception1", **RESULT)
    with pytest.raises(FormInvalid) as by_phone:  # 001/第2篇 1.9: the second visit is made at the door
        case.complete("visit_ordinary", "reception1", **dict(dissatisfied, new_promised_time=promise(case, days=2)))
    assert [(e.field, e.zh) for e in by_phone.value.errors] == [("visit_mode", "第二次回访须上门回访")]
    again = dict(DOOR_OK, visit_result="dissatisfied", new_promised_time=promise(case, days=2))
    visit_checked(case, **again)
    case.complete("handle_environment", "env1", **dict(HANDLED, result="重新修剪并补种"))
    case.complete("record_result", "reception1", **RESULT)
    visit_checked(case, **PHONE_OK)  # after the second, an ordinary complaint may be visited by phone
    [first, second] = [e.data["submitted"]["new_promised_time"] for e in case.events("task_completed")
                       if e.element_id == "visit_ordinary" and e.data["submitted"]["visit_result"] == "dissatisfied"]
    assert first < second
    v_el, v_fl = visit("Flow_ordinary", "visit_ordinary", "Flow_visit_ordinary")
    path = case.path()
    round_ = ["handle_environment", "gw_dept_merge"] + RECORD + v_el
    round_flows = ["Flow_handle_environment"] + RECORD_FLOWS + v_fl
    chased = ["timer_environment_overdue", "supervise_overdue", "end_escalated"]
    assert path.elements == START + VALID + round_ + ["gw_department"] + chased + round_ + ["gw_department"] + (
        round_ + ["end_closed"])
    assert path.flows == START_FLOWS + VALID_FLOWS + ["Flow_environment"] + round_flows + [
        "Flow_dissatisfied", "Flow_environment", "Flow_environment_overdue", "Flow_supervise_overdue",
    ] + round_flows + ["Flow_dissatisfied", "Flow_environment"] + round_flows + ["Flow_satisfied"]
    once = [("handle_environment", EN, "env1"), ("record_result", R, "reception1"), ("visit_ordinary", R, "reception1"),
            ("check_visit", CS, "supervisor1")]
    assert case.human_trail() == [("intake", R, "reception1")] + once + [("supervise_overdue", CS, "supervisor1")] + (
        once * 2)
    assert case.status == "completed"
    modes = [e.data["submitted"]["visit_mode"] for e in case.events("task_completed") if e.element_id == "visit_ordinary"]
    assert modes == ["phone", "door", "phone"]
    # drawn once: coming round again after a dissatisfied visit keeps the first decision
    assert [d["sampled"] for d in decisions(case)] == [True]


def test_a_major_complaints_repeat_visits_are_all_at_the_door(start_drawn_case):
    """001/第2篇 1.9: visits after the second may be by phone, but not for a 第三类 (major) complaint;
    what the case counts decides, whatever the visitor sends."""
    case = start(start_drawn_case, department="environment", basis="contract_duty_not_met", subject="绿化带无人修剪")
    major = dict(RESULT, severity="major")
    rounds = 0
    for visit_data in (dict(PHONE_OK, visit_result="dissatisfied"), dict(DOOR_OK, visit_result="dissatisfied")):
        case.complete("handle_environment", "env1", **HANDLED)
        case.complete("record_result", "reception1", **major)
        case.complete("visit_major", "manager1", **dict(visit_data, new_promised_time=promise(case, days=1)))
        rounds += 1
    case.complete("handle_environment", "env1", **HANDLED)
    case.complete("record_result", "reception1", **major)
    view = case.task_view("visit_major")
    assert "第 3 次回访" in jinja2.Environment().from_string(view.instructions).render(**view.data)
    with pytest.raises(FormInvalid) as by_phone:  # the third visit, still at the door
        case.complete("visit_major", "manager1", **dict(PHONE_OK, visit_count=0, severity="ordinary"))
    assert [(e.field, e.zh) for e in by_phone.value.errors] == [("visit_mode", "重大投诉的再次回访须上门回访")]
    case.complete("visit_major", "manager1", **DOOR_OK)
    visits = [(e.actor, e.data["submitted"]["visit_mode"]) for e in case.events("task_completed")
              if e.element_id == "visit_major"]
    assert visits == [("manager1", "phone"), ("manager1", "door"), ("manager1", "door")]
    assert all("visit_count" not in e.data["submitted"] for e in case.events("task_completed"))  # never the sender's
    assert case.status == "completed"


def test_the_complainant_signs_and_rates_or_the_reason_is_recorded(start_drawn_case):
    """001/第4篇 4.5 2): after handling the complainant signs and rates; where they cannot
    (absent, refusing), the desk records why, and the case goes on with that on record."""
    case = start(start_drawn_case, department="environment", basis="contract_duty_not_met", subject="绿化带无人修剪")
    case.complete("handle_environment", "env1", **HANDLED)
    unsigned = dict(result_recorded="已修剪绿化带", severity="ordinary")
    refusals = {
        "complainant_signed": unsigned,  # neither signed nor a reason
        "no_signature_reason": dict(unsigned, complainant_signed=False),
        "rating": dict(unsigned, complainant_signed=True),  # signed, so rated
    }
    before = case.events()
    for field, data in refusals.items():
        with pytest.raises(FormInvalid) as refused:
            case.complete("record_result", "reception1", **data)
        assert field in [e.field for e in refused.value.errors], data
    assert case.events() == before
    case.complete("record_result", "reception1", **dict(unsigned, complainant_signed=False,
                                                        no_signature_reason="投诉人出差，电话确认已处理"))
    [recorded] = [e for e in case.events("task_completed") if e.element_id == "record_result"]
    assert recorded.data["submitted"]["complainant_signed"] is False
    assert recorded.data["submitted"]["no_signature_reason"] == "投诉人出差，电话确认已处理"
    assert open_ids(case) == ["visit_ordinary"]
    assert case.human_trail() == [("intake", R, "reception1"), ("handle_environment", EN, "env1"),
                                  ("record_result", R, "reception1")]


def test_each_step_cites_the_clause_it_carries_out(start_drawn_case):
    """The auditor's picture names each element's clause: the follow-up level is 001/第2篇 1.3's
    (一般投诉由物业助理回访…), the assistance matter is the desk's (003 3.2), the engineering order
    is 001/第4篇 4.2 1)'s, and anonymity (1.13) is cited only where it is decided."""
    case = start(start_drawn_case, department="environment", basis="contract_duty_not_met")
    case.complete("handle_environment", "env1", **HANDLED)
    case.complete("record_result", "reception1", **dict(RESULT, severity="important"))
    case.complete("visit_important", "supervisor1", **PHONE_OK)
    with case.runtime.db.session() as session:
        picture = case_diagram(session, get_instance_row(session, case.instance_id), "complaint")
    assert {"gw_severity", "visit_important", "gw_anonymous"} <= set(picture.completed)
    clause = {element: history.clause for element, history in picture.history.items()}
    assert clause["gw_severity"] == "001/第2篇 1.3"
    assert "001/第2篇 1.13" not in clause["visit_important"] and "001/第2篇 1.13" in clause["gw_anonymous"]
    assert "003 5.2" in clause["intake"]  # the time is told at intake


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
    unsigned = {k: v for k, v in RESULT.items() if k != "rating"}
    case.complete("record_result", "reception1", **dict(unsigned, complainant_signed=False,
                                                        no_signature_reason="匿名投诉，无人签名"))
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


REPLY_LETTER = dict(authority="区住建局", reply_letter_number="荔物函〔2026〕12号",
                    reply_letter_date="2026-11-23T08:30:00+00:00", reply_letter_summary="已修剪绿化带并复函",
                    reply_letter_attached=True)


@pytest.mark.parametrize("anonymous", [False, True])
def test_a_complaint_the_authority_wants_only_a_reply_letter_to_gets_no_visit_but_the_letter_attached(
        start_drawn_case, anonymous):
    """001/第2篇 1.13: where the higher authority asks only for a reply letter there is no visit
    (not even a draw), but the desk attaches the reply letter to the complaint form; anonymous or not."""
    case = start(start_drawn_case, reply_letter_only=True, anonymous=anonymous, department="environment",
                 basis="contract_duty_not_met", subject="绿化带无人修剪")
    case.complete("handle_environment", "env1", **HANDLED)
    case.complete("record_result", "reception1", **RESULT)
    attach = case.task("attach_reply_letter")
    assert attach.role == R
    with pytest.raises(FormInvalid) as refused:  # the letter is on file, with its number
        case.complete("attach_reply_letter", "reception1",
                      **{k: v for k, v in REPLY_LETTER.items() if k != "reply_letter_number"})
    assert [e.field for e in refused.value.errors] == ["reply_letter_number"]
    case.complete("attach_reply_letter", "reception1", **REPLY_LETTER)
    assert case.wait(days=30) == 0  # no visit, so no visit timer either
    path = case.path()
    assert path.elements == START + VALID + ["handle_environment", "gw_dept_merge"] + RECORD + [
        "attach_reply_letter", "end_no_visit"]
    assert path.flows == START_FLOWS + VALID_FLOWS + ["Flow_environment", "Flow_handle_environment"] + (
        RECORD_FLOWS + ["Flow_reply_letter", "Flow_attach_reply_letter"])
    assert case.human_trail() == [("intake", R, "reception1"), ("handle_environment", EN, "env1"),
                                  ("record_result", R, "reception1"), ("attach_reply_letter", R, "reception1")]
    [attached] = [e for e in case.events("task_completed") if e.element_id == "attach_reply_letter"]
    assert attached.data["submitted"]["reply_letter_number"] == "荔物函〔2026〕12号"
    assert case.status == "completed" and decisions(case) == []


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

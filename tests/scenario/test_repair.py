"""Scenario tests of processes/repair.bpmn (报修处理, 001/第8篇 4.1–4.3, 003 4.2.1.1, 001/第2篇 1.4):
one test per path, every gateway branch and every timer.

Every SOP time limit is a timer from sla.yaml; charges come from the price list
(processes/rules/prices.yaml) through a script task, and only finance collects.
Repairs start on references the follow-up draw samples (30 %, processes/rules/followup.yaml),
so the paths reach the visit as the SOP writes it; the repair not drawn has its own test."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from engine.audit.events import EventType
from engine.clock import LOCAL_TZ
from engine.definitions.form_people import staff_of_site
from engine.definitions.library import Bundle, deploy_bundle
from engine.errors import FormInvalid, PermissionDenied
from engine.policy import followup
from engine.runtime.queries import list_tasks
from engine.scheduling.escalation import fire_due_levels
from engine.stats import StatsQuery, month_kpis
from engine.store.models import Notification

T = "2026-11-23T09:05:00+00:00"
R, CS, ES, TE, RS, F = (
    "reception",
    "cs_supervisor",
    "engineering_supervisor",
    "technician",
    "resident",
    "finance",
)
ORDER = dict(
    order_no="WX-20261123-07",
    resident="林先生",
    unit="5栋3楼302",
    phone="13800000000",
    problem="厨房水龙头漏水",
    item="replace_faucet",
    timing="now",
    public_facility=False,
)
NOTIFY = dict(engineering_notified=True, notified_person="周工")
DISPATCH = dict(technician="tech1", dispatch_notes="带水龙头阀芯")
CHECK = dict(
    actual_problem="厨房水龙头阀芯损坏",
    corrected_item="replace_faucet",
    price_shown=True,
    resident_agrees=True,
    material_supplied=False,
)
ASSESSED = dict(feasible=True, quoted_price=80, assessment="可修，加固支架", resident_accepts=True)
DOOR_OK = dict(visit_mode="door", resident_signature=True, visit_result="satisfied")
# what the signature pad sends: the drawn signature as a PNG data URL (a 1×1 image here)
SIGNATURE = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
SIGNED = dict(
    tested=True,
    resident_present=True,
    resident_name="林先生",
    satisfied="satisfied",
    resident_signature=SIGNATURE,
    copy1_given=True,
)

HEAD_ELEMENTS = ["start", "write_order", "gw_public", "notify_engineering", "gw_item"]
HEAD_FLOWS = ["Flow_start", "Flow_write_order", "Flow_private", "Flow_notify_engineering"]
HEAD_TRAIL = [("write_order", R, "reception1"), ("notify_engineering", R, "reception1")]
# 立即安排维修人员 (001/第8篇 4.1 2)): the supervisor's own step, naming the technician
NOW_ELEMENTS = ["assign_technician", "gw_timing", "arrive_now", "gw_arrive_merge", "check_order", "gw_agree"]
NOW_FLOWS = ["Flow_assign_technician", "Flow_now", "Flow_arrive_now", "Flow_arrive_merge", "Flow_check_order"]
ONSITE_TRAIL = [("assign_technician", ES, "engsup1"), ("arrive_now", TE, "tech1"), ("check_order", TE, "tech1")]
SIGN_ELEMENTS = ["gw_material_merge", "do_repair", "compute_charge", "resident_sign", "gw_after_sign"]
SIGN_FLOWS = ["Flow_material_merge", "Flow_do_repair", "Flow_compute_charge", "Flow_resident_sign"]
# after the signature, both branches start at once: the draw for the visit, and the paperwork
# a repair of its own draws its visit; one a complaint handed on is visited by the complaint
DRAW_ELEMENTS = ["gw_followup_covered", "decide_followup", "gw_followup_sampled", "gw_visit_again"]
DRAW_FLOWS = ["Flow_to_return", "Flow_to_visit", "Flow_followup_own", "Flow_decide_followup", "Flow_sampled",
              "Flow_visit_again"]
# 4.1 7): copies 2 and 3 back by 17:00, 返单, copy 3 to finance by the 25th, then finance collects
PAPER_ELEMENTS = ["return_copies", "confirm_copies", "return_order", "send_copy3", "collect_fee", "end_collected"]
PAPER_FLOWS = ["Flow_return_copies", "Flow_confirm_copies", "Flow_return_order", "Flow_send_copy3",
               "Flow_collect_fee"]
PAPER_TRAIL = [
    ("return_copies", TE, "tech1"),
    ("confirm_copies", ES, "engsup1"),
    ("return_order", R, "reception1"),
    ("send_copy3", R, "reception1"),
    ("collect_fee", F, "finance1"),
]
# the assistant's visit, checked and signed by the CS supervisor (001/第2篇 1.8)
VISIT_ELEMENTS = ["visit_repair", "check_visit", "gw_visit_satisfied", "end_visited"]
VISIT_FLOWS = ["Flow_visit_repair", "Flow_check_visit", "Flow_visit_satisfied"]
CHECKED = dict(check_opinion="回访记录完整，客户已签名", signed=True)
TAIL_ELEMENTS = SIGN_ELEMENTS + DRAW_ELEMENTS + PAPER_ELEMENTS + VISIT_ELEMENTS
TAIL_FLOWS = SIGN_FLOWS + DRAW_FLOWS + PAPER_FLOWS + VISIT_FLOWS
VISIT_TRAIL = [("visit_repair", R, "reception1"), ("check_visit", CS, "supervisor1")]
TAIL_TRAIL = [("do_repair", TE, "tech1"), ("resident_sign", TE, "tech1")] + PAPER_TRAIL + VISIT_TRAIL
# the usual path: listed item, repair now, no material of the resident's
LISTED_NOW_ELEMENTS = HEAD_ELEMENTS + NOW_ELEMENTS + ["gw_material"] + TAIL_ELEMENTS
LISTED_NOW_FLOWS = HEAD_FLOWS + ["Flow_listed"] + NOW_FLOWS + ["Flow_agreed", "Flow_no_material"] + TAIL_FLOWS


def open_ids(case):
    return [t.element_id for t in case.open_tasks()]


def write_order(start_drawn_case, sampled=True, **order):
    case = start_drawn_case("repair", {}, as_user="reception1", sampled=sampled)
    assert case.reference.startswith("BX-")
    case.complete("write_order", "reception1", **dict(ORDER, **order))
    return case


def open_order(start_drawn_case, sampled=True, **order):
    case = write_order(start_drawn_case, sampled, **order)
    case.complete("notify_engineering", "reception1", **NOTIFY)
    return case


def on_site(case, dispatched=False, **check):
    if not dispatched:
        case.complete("assign_technician", "engsup1", **DISPATCH)
    case.complete("arrive_now", "tech1", arrived_at=T)
    case.complete("check_order", "tech1", **dict(CHECK, **check))
    return case


def repaired_and_signed(case, quantity=1, charge=30, **signed):
    case.complete("do_repair", "tech1", quantity=quantity, repair_notes="更换水龙头", completed_at=T)
    assert case.task_view("resident_sign").data["charge"] == charge
    case.complete("resident_sign", "tech1", **dict(SIGNED, **signed))
    return case


def paperwork(case, charge=30):
    """4.1 7) and 4.3: the copies go back, the desk closes the order and sends copy 3; finance collects."""
    case.complete("return_copies", "tech1", copies_returned=True)
    case.complete("confirm_copies", "engsup1", order_confirmed=True, copy4_kept=True, passed_to_desk=True)
    case.complete("return_order", "reception1", order_returned=True, copy2_kept=True)
    case.complete("send_copy3", "reception1", copy3_sent=True)
    assert case.task("collect_fee").role == F  # only finance collects (001/第8篇 4.3)
    assert case.task_view("collect_fee").data["charge"] == charge
    case.complete("collect_fee", "finance1", collected_with="management_fee")
    return case


def visit_checked(case, **visit):
    """The desk's visit, then the CS supervisor checks it and signs (001/第2篇 1.8)."""
    case.complete("visit_repair", "reception1", **visit)
    assert case.task("check_visit").role == CS
    case.complete("check_visit", "supervisor1", **CHECKED)
    return case


def finish(case, quantity=1, charge=30):
    """Repair, sign in front of the technician, the paperwork to finance, and the desk's visit."""
    repaired_and_signed(case, quantity, charge)
    paperwork(case, charge)
    visit_checked(case, **DOOR_OK)
    assert case.status == "completed"
    return case


# -- resident repairs ---------------------------------------------------------------------


def decisions(case):
    """The data of the case's `followup_decided` audit events."""
    return [e.data for e in case.events(EventType.FOLLOWUP_DECIDED)]


def test_listed_item_now_charged_from_the_price_list(start_drawn_case, sla_limit, runtime, followup_rate,
                                                     expected_decision):
    case = write_order(start_drawn_case)
    assert case.task("notify_engineering").due_at == runtime.clock.now() + sla_limit(
        "repair.engineering_notified"
    )
    case.complete("notify_engineering", "reception1", **NOTIFY)
    case.complete("assign_technician", "engsup1", **DISPATCH)
    assert case.task("arrive_now").due_at == runtime.clock.now() + sla_limit("repair.arrive_now")
    on_site(case, dispatched=True)
    finish(case, quantity=2, charge=60)  # 更换水龙头 30 元/个 × 2
    assert case.wait(days=40) == 0  # every timer went with its task

    path = case.path()
    assert path.elements == LISTED_NOW_ELEMENTS
    assert path.flows == LISTED_NOW_FLOWS
    assert case.human_trail() == HEAD_TRAIL + ONSITE_TRAIL + TAIL_TRAIL
    # the first repair of the month is visited whatever its draw: the floor needs it
    assert decisions(case) == [expected_decision(case, "repair", True, 1, 0, month="2026-11")]  # done in November


def test_a_new_price_in_prices_yaml_changes_the_charge_not_the_diagram(start_drawn_case, library, runtime):
    repriced = Bundle(library.bpmn, library.dmn, library.forms, dict(library.rules))
    repriced.rules["prices.yaml"] = library.rules["prices.yaml"].replace(
        "    zh: 更换水龙头\n    en: Replace a tap\n    price: 30\n",
        "    zh: 更换水龙头\n    en: Replace a tap\n    price: 35\n",
    )
    assert repriced.rules["prices.yaml"] != library.rules["prices.yaml"]
    with runtime.transaction() as session:
        deployed = {
            r.process_id: (r.version, r.created) for r in deploy_bundle(session, repriced, "designer1")
        }
    assert deployed["repair"] == (2, True)
    case = open_order(start_drawn_case)
    case.complete("assign_technician", "engsup1", **DISPATCH)
    case.complete("arrive_now", "tech1", arrived_at=T)
    shown = case.task_view("check_order").form_schema["properties"]["corrected_item"]["x-enum-labels"]
    assert shown["replace_faucet"] == "更换水龙头（35元/个）"  # the price shown to the resident
    case.complete("check_order", "tech1", **CHECK)
    finish(case, quantity=2, charge=70)
    assert case.path().elements == LISTED_NOW_ELEMENTS


def test_item_chosen_from_the_price_list_with_prices_in_the_labels(start_drawn_case):
    case = start_drawn_case("repair", {}, as_user="reception1")
    item = case.task_view("write_order").form_schema["properties"]["item"]
    assert item["enum"][0] == "replace_faucet" and item["enum"][-1] == "unlisted"
    assert item["x-enum-labels"]["replace_faucet"] == "更换水龙头（30元/个）"
    assert item["x-enum-labels-en"]["unclog_drain"] == "Unclog a drain (50 yuan per job)"
    assert item["x-enum-labels"]["unlisted"] == "价目表以外的项目（需评估）"
    with pytest.raises(FormInvalid) as refused:
        case.complete("write_order", "reception1", **dict(ORDER, item="paint_wall"))
    assert [e.field for e in refused.value.errors] == ["item"]


def test_appointment_on_site_before_the_appointment(start_drawn_case):
    case = open_order_with_appointment(start_drawn_case, "2026-11-24T10:00:00+08:00")
    assert open_ids(case) == ["arrive_appointment"]
    case.wait(hours=16, minutes=54)  # to 2026-11-24 09:54 local: an arrival is never in the future
    case.complete("arrive_appointment", "tech1", arrived_at="2026-11-24T09:54:00+08:00")
    case.complete("check_order", "tech1", **CHECK)
    finish(case)
    assert case.wait(days=2) == 0  # the appointment timer went with the task

    path = case.path()
    assert (
        path.elements
        == HEAD_ELEMENTS
        + [
            "assign_technician",
            "gw_timing",
            "arrive_appointment",
            "gw_arrive_merge",
            "check_order",
            "gw_agree",
            "gw_material",
        ]
        + TAIL_ELEMENTS
    )
    assert (
        path.flows
        == HEAD_FLOWS
        + [
            "Flow_listed",
            "Flow_assign_technician",
            "Flow_appointment",
            "Flow_arrive_appointment",
            "Flow_arrive_merge",
            "Flow_check_order",
            "Flow_agreed",
            "Flow_no_material",
        ]
        + TAIL_FLOWS
    )
    assert (
        case.human_trail()
        == HEAD_TRAIL
        + [("assign_technician", ES, "engsup1"), ("arrive_appointment", TE, "tech1"), ("check_order", TE, "tech1")]
        + TAIL_TRAIL
    )


def open_order_with_appointment(start_drawn_case, appointment_at):
    case = start_drawn_case("repair", {}, as_user="reception1")
    with pytest.raises(FormInvalid) as refused:  # an appointment needs its time
        case.complete("write_order", "reception1", **dict(ORDER, timing="appointment"))
    assert [e.field for e in refused.value.errors] == ["appointment_at"]
    case.complete(
        "write_order", "reception1", **dict(ORDER, timing="appointment", appointment_at=appointment_at)
    )
    case.complete("notify_engineering", "reception1", **NOTIFY)
    case.complete("assign_technician", "engsup1", **DISPATCH)
    return case


def test_not_on_site_5_minutes_before_the_appointment_escalates(start_drawn_case, sla_limit, runtime):
    """Appointment 10:00 China time = 02:00 UTC; the clock is at 09:00 UTC the day before, so the
    timer is due at 01:55 UTC the next day: 16 h 55 min from now."""
    case = open_order_with_appointment(start_drawn_case, "2026-11-24T10:00:00+08:00")
    assert sla_limit("repair.arrive_before_appointment") == timedelta(minutes=5)
    assert case.wait(hours=16, minutes=54, seconds=59) == 0
    assert case.wait(seconds=2) == 1
    assert runtime.clock.now() > datetime.fromisoformat("2026-11-24T01:55:00+00:00")
    assert case.task("chase_arrival").role == ES
    assert case.task("arrive_appointment")  # non-interrupting: the technician still comes
    case.complete("chase_arrival", "engsup1", chase_notes="吴师傅堵车，预计准时到达")
    case.complete("arrive_appointment", "tech1", arrived_at="2026-11-24T09:59:00+08:00")
    case.complete("check_order", "tech1", **CHECK)
    finish(case)

    path = case.path()
    assert (
        path.elements
        == HEAD_ELEMENTS
        + [
            "assign_technician",
            "gw_timing",
            "timer_appointment_overdue",
            "chase_arrival",
            "end_chased",
            "arrive_appointment",
            "gw_arrive_merge",
            "check_order",
            "gw_agree",
            "gw_material",
        ]
        + TAIL_ELEMENTS
    )
    assert (
        path.flows
        == HEAD_FLOWS
        + [
            "Flow_listed",
            "Flow_assign_technician",
            "Flow_appointment",
            "Flow_appointment_overdue",
            "Flow_chase_arrival",
            "Flow_arrive_appointment",
            "Flow_arrive_merge",
            "Flow_check_order",
            "Flow_agreed",
            "Flow_no_material",
        ]
        + TAIL_FLOWS
    )
    assert (
        case.human_trail()
        == HEAD_TRAIL
        + [
            ("assign_technician", ES, "engsup1"),
            ("chase_arrival", ES, "engsup1"),
            ("arrive_appointment", TE, "tech1"),
            ("check_order", TE, "tech1"),
        ]
        + TAIL_TRAIL
    )


def test_arrival_overdue_escalates_to_supervisor(start_drawn_case, sla_limit):
    case = open_order(start_drawn_case)
    case.complete("assign_technician", "engsup1", **DISPATCH)
    limit = sla_limit("repair.arrive_now")
    assert limit == timedelta(minutes=10)
    assert case.wait(seconds=limit.total_seconds() - 1) == 0
    assert case.wait(seconds=2) == 1
    assert case.task("chase_arrival").role == ES
    assert case.task("arrive_now")  # non-interrupting: the technician still arrives
    case.complete("chase_arrival", "engsup1", chase_notes="吴师傅在另一单，已改派并督促立即到场")
    assert case.status == "running"
    on_site(case, dispatched=True)
    finish(case)

    path = case.path()
    assert path.elements == HEAD_ELEMENTS + [
        "assign_technician",
        "gw_timing",
        "timer_arrive_overdue",
        "chase_arrival",
        "end_chased",
    ] + (NOW_ELEMENTS[2:] + ["gw_material"] + TAIL_ELEMENTS)
    assert path.flows == HEAD_FLOWS + [
        "Flow_listed",
        "Flow_assign_technician",
        "Flow_now",
        "Flow_arrive_overdue",
        "Flow_chase_arrival",
    ] + (NOW_FLOWS[2:] + ["Flow_agreed", "Flow_no_material"] + TAIL_FLOWS)
    assert case.human_trail() == HEAD_TRAIL + ONSITE_TRAIL[:1] + [("chase_arrival", ES, "engsup1")] + (
        ONSITE_TRAIL[1:] + TAIL_TRAIL
    )


@pytest.mark.parametrize(
    "task, timer, key",
    [
        ("write_order", "timer_order_overdue", "repair.order_written"),
        ("notify_engineering", "timer_notify_overdue", "repair.engineering_notified"),
    ],
)
def test_desk_late_with_the_order_is_chased_by_cs_supervisor(
    start_drawn_case, sla_limit, runtime, task, timer, key
):
    """The order is written within 2 minutes and engineering told within 3 (001/第8篇 4.1 2))."""
    case = start_drawn_case("repair", {}, as_user="reception1")
    if task == "notify_engineering":
        case.complete("write_order", "reception1", **ORDER)
    limit = sla_limit(key)
    assert limit == timedelta(minutes=2 if task == "write_order" else 3)
    assert case.task(task).due_at == runtime.clock.now() + limit
    assert case.wait(seconds=limit.total_seconds() - 1) == 0
    assert case.wait(seconds=2) == 1
    assert case.task("chase_desk").role == CS
    case.complete("chase_desk", "supervisor1", chase_notes="前台同时接了三个电话，已安排另一位客服员协助")
    if task == "write_order":
        case.complete("write_order", "reception1", **ORDER)
    case.complete("notify_engineering", "reception1", **NOTIFY)
    on_site(case)
    finish(case)

    flow = {"write_order": "Flow_order_overdue", "notify_engineering": "Flow_notify_overdue"}[task]
    path = case.path()
    before = HEAD_ELEMENTS.index(task)
    assert (
        path.elements
        == HEAD_ELEMENTS[:before] + [timer, "chase_desk", "end_desk_chased"] + (LISTED_NOW_ELEMENTS[before:])
    )
    flows_before = HEAD_FLOWS.index("Flow_start" if task == "write_order" else "Flow_private") + 1
    assert (
        path.flows == HEAD_FLOWS[:flows_before] + [flow, "Flow_chase_desk"] + LISTED_NOW_FLOWS[flows_before:]
    )
    desk = [("write_order", R, "reception1")] if task == "notify_engineering" else []
    rest = HEAD_TRAIL[len(desk) :]
    assert case.human_trail() == desk + [("chase_desk", CS, "supervisor1")] + rest + ONSITE_TRAIL + TAIL_TRAIL


# -- items not on the price list ----------------------------------------------------------


def test_unlisted_item_assessed_accepted_and_charged_the_quote(start_drawn_case, sla_limit, runtime):
    case = open_order(start_drawn_case, item="unlisted", problem="阳台晾衣架松脱")
    task = case.task("assess_unlisted")
    assert task.role == ES
    assert task.due_at == runtime.clock.now() + sla_limit("repair.assess_unlisted")
    with pytest.raises(FormInvalid) as refused:  # the resident accepts a price
        case.complete(
            "assess_unlisted", "engsup1", **{k: v for k, v in ASSESSED.items() if k != "quoted_price"}
        )
    assert [e.field for e in refused.value.errors] == ["quoted_price"]
    case.complete("assess_unlisted", "engsup1", **ASSESSED)
    on_site(case, corrected_item="unlisted")
    finish(case, charge=80)

    path = case.path()
    assert path.elements == HEAD_ELEMENTS + ["assess_unlisted", "gw_accept"] + NOW_ELEMENTS + [
        "gw_material"
    ] + (TAIL_ELEMENTS)
    assert (
        path.flows
        == HEAD_FLOWS
        + ["Flow_unlisted", "Flow_assess_unlisted", "Flow_accepted"]
        + NOW_FLOWS
        + ["Flow_agreed", "Flow_no_material"]
        + TAIL_FLOWS
    )
    assert case.human_trail() == HEAD_TRAIL + [("assess_unlisted", ES, "engsup1")] + ONSITE_TRAIL + TAIL_TRAIL


DECLINED_ELEMENTS = ["assess_unlisted", "gw_accept", "file_declined", "end_declined"]
DECLINED_FLOWS = ["Flow_unlisted", "Flow_assess_unlisted", "Flow_declined", "Flow_file_declined"]


def test_unlisted_item_declined_is_filed_at_the_desk(start_drawn_case):
    """001/第8篇 4.1 2) ③ and 4): a declined quote sends nobody and the order is filed like an on-site refusal."""
    case = open_order(start_drawn_case, item="unlisted", problem="阳台晾衣架松脱")
    with pytest.raises(FormInvalid) as refused:  # the desk files the reason with the order
        case.complete("assess_unlisted", "engsup1", **dict(ASSESSED, resident_accepts=False))
    assert [e.field for e in refused.value.errors] == ["decline_reason"]
    case.complete(
        "assess_unlisted",
        "engsup1",
        **dict(ASSESSED, resident_accepts=False, decline_reason="住户嫌贵，自行找人维修"),
    )
    assert open_ids(case) == ["file_declined"]
    assert case.task("file_declined").role == R
    assert case.task_view("file_declined").data["decline_reason"] == "住户嫌贵，自行找人维修"
    case.complete("file_declined", "reception1", filed=True)
    path = case.path()
    assert path.elements == HEAD_ELEMENTS + DECLINED_ELEMENTS
    assert path.flows == HEAD_FLOWS + DECLINED_FLOWS
    assert case.human_trail() == HEAD_TRAIL + [("assess_unlisted", ES, "engsup1"), ("file_declined", R, "reception1")]
    assert case.status == "completed"


def test_repair_judged_not_feasible_never_sends_a_technician(start_drawn_case):
    """001/第8篇 4.1 2) ③: only a feasible repair the resident accepts is scheduled."""
    case = open_order(start_drawn_case, item="unlisted", problem="外墙渗水")
    not_feasible = dict(ASSESSED, feasible=False, assessment="属外墙结构问题，工程部无法维修")
    with pytest.raises(FormInvalid) as refused:  # the resident's yes cannot override the assessment
        case.complete("assess_unlisted", "engsup1", **not_feasible)
    assert [e.field for e in refused.value.errors] == ["resident_accepts"]
    case.complete("assess_unlisted", "engsup1", **dict(not_feasible, resident_accepts=False))
    assert open_ids(case) == ["file_declined"]
    case.complete("file_declined", "reception1", filed=True)

    path = case.path()
    assert path.elements == HEAD_ELEMENTS + DECLINED_ELEMENTS
    assert not {"arrive_now", "arrive_appointment"} & set(path.elements)
    assert case.human_trail() == HEAD_TRAIL + [("assess_unlisted", ES, "engsup1"), ("file_declined", R, "reception1")]
    assert case.status == "completed"


def test_a_quote_of_zero_is_not_a_quote(start_drawn_case):
    case = open_order(start_drawn_case, item="unlisted", problem="阳台晾衣架松脱")
    with pytest.raises(FormInvalid) as refused:
        case.complete("assess_unlisted", "engsup1", **dict(ASSESSED, quoted_price=0))
    assert [e.field for e in refused.value.errors] == ["quoted_price"]
    assert open_ids(case) == ["assess_unlisted"]
    assert "assess_unlisted" not in [element for element, _role, _user in case.human_trail()]


def test_assessment_overdue_desk_chases_and_tells_the_resident(start_drawn_case, sla_limit):
    case = open_order(start_drawn_case, item="unlisted", problem="阳台晾衣架松脱")
    assert sla_limit("repair.assess_unlisted") == timedelta(minutes=15)
    assert case.wait(minutes=14, seconds=59) == 0
    assert case.wait(seconds=2) == 1
    assert case.task("chase_assessment").role == R
    assert case.task("assess_unlisted")
    case.complete(
        "chase_assessment", "reception1", chase_notes="周工在开会，答应10分钟内回复", resident_informed=True
    )
    case.complete(
        "assess_unlisted", "engsup1", **dict(ASSESSED, resident_accepts=False, decline_reason="住户不修了")
    )
    case.complete("file_declined", "reception1", filed=True)

    path = case.path()
    assert path.elements == HEAD_ELEMENTS + [
        "timer_assess_overdue",
        "chase_assessment",
        "end_assessment_chased",
    ] + DECLINED_ELEMENTS
    assert path.flows == HEAD_FLOWS + [
        "Flow_unlisted",
        "Flow_assess_overdue",
        "Flow_chase_assessment",
    ] + DECLINED_FLOWS[1:]
    assert case.human_trail() == HEAD_TRAIL + [
        ("chase_assessment", R, "reception1"),
        ("assess_unlisted", ES, "engsup1"),
        ("file_declined", R, "reception1"),
    ]
    assert case.status == "completed"


def test_item_found_not_on_the_list_on_site_goes_back_for_assessment(start_drawn_case):
    """The order said 更换水龙头 but the real job is not on the price list: the technician
    corrects the order, the supervisor assesses, and after the resident accepts the work is
    scheduled again and charged the quote."""
    case = open_order(start_drawn_case)
    on_site(case, actual_problem="水龙头所在的墙内暗管破裂", corrected_item="unlisted")
    assert open_ids(case) == ["assess_unlisted"]
    case.complete("assess_unlisted", "engsup1", **dict(ASSESSED, quoted_price=260, assessment="开墙换暗管"))
    on_site(case, actual_problem="墙内暗管破裂", corrected_item="unlisted")
    finish(case, charge=260)

    path = case.path()
    assert path.elements == HEAD_ELEMENTS + NOW_ELEMENTS + [
        "mark_unlisted",
        "assess_unlisted",
        "gw_accept",
    ] + (NOW_ELEMENTS + ["gw_material"] + TAIL_ELEMENTS)
    assert (
        path.flows
        == HEAD_FLOWS
        + ["Flow_listed"]
        + NOW_FLOWS
        + ["Flow_found_unlisted", "Flow_mark_unlisted", "Flow_assess_unlisted", "Flow_accepted"]
        + NOW_FLOWS
        + ["Flow_agreed", "Flow_no_material"]
        + TAIL_FLOWS
    )
    assert case.human_trail() == HEAD_TRAIL + ONSITE_TRAIL + [("assess_unlisted", ES, "engsup1")] + (
        ONSITE_TRAIL + TAIL_TRAIL
    )


# -- on site: refusal and the resident's own material -------------------------------------


def test_resident_refuses_on_site_both_sign_and_the_desk_files(start_drawn_case):
    case = on_site(open_order(start_drawn_case), resident_agrees=False)
    case.complete(
        "record_refusal",
        "tech1",
        reminder_given=True,
        refusal_reason="住户认为价格偏高",
        technician_signature=True,
    )
    with pytest.raises(FormInvalid):  # the supervisor signs too
        case.complete("sign_refusal", "engsup1", supervisor_signature=False)
    case.complete("sign_refusal", "engsup1", supervisor_signature=True)
    case.complete("file_refusal", "reception1", filed=True)

    path = case.path()
    assert path.elements == HEAD_ELEMENTS + NOW_ELEMENTS + [
        "record_refusal",
        "sign_refusal",
        "file_refusal",
        "end_refused",
    ]
    assert path.flows == HEAD_FLOWS + ["Flow_listed"] + NOW_FLOWS + [
        "Flow_refused",
        "Flow_record_refusal",
        "Flow_sign_refusal",
        "Flow_file_refusal",
    ]
    assert case.human_trail() == HEAD_TRAIL + ONSITE_TRAIL + [
        ("record_refusal", TE, "tech1"),
        ("sign_refusal", ES, "engsup1"),
        ("file_refusal", R, "reception1"),
    ]
    assert case.status == "completed"


@pytest.mark.parametrize(
    "result, choice",
    [("qualified", "use_supplied"), ("unqualified", "use_replacement"), ("poor_quality", "use_supplied")],
)
def test_residents_material_checked_and_the_result_noted(start_drawn_case, result, choice):
    case = on_site(open_order(start_drawn_case), material_supplied=True)
    case.complete(
        "check_material",
        "tech1",
        material_result=result,
        resident_choice=choice,
        advice="" if result == "qualified" else "建议使用合格的水龙头",
    )
    finish(case)

    path = case.path()
    assert path.elements == HEAD_ELEMENTS + NOW_ELEMENTS + ["gw_material", "check_material"] + TAIL_ELEMENTS
    assert (
        path.flows
        == HEAD_FLOWS
        + ["Flow_listed"]
        + NOW_FLOWS
        + ["Flow_agreed", "Flow_material", "Flow_check_material"]
        + TAIL_FLOWS
    )
    assert case.human_trail() == HEAD_TRAIL + ONSITE_TRAIL + [("check_material", TE, "tech1")] + TAIL_TRAIL


def test_finance_collecting_separately_gives_a_receipt(start_drawn_case):
    case = repaired_and_signed(on_site(open_order(start_drawn_case)))
    case.complete("return_copies", "tech1", copies_returned=True)
    case.complete("confirm_copies", "engsup1", order_confirmed=True, copy4_kept=True, passed_to_desk=True)
    case.complete("return_order", "reception1", order_returned=True, copy2_kept=True)
    case.complete("send_copy3", "reception1", copy3_sent=True)
    with pytest.raises(FormInvalid) as refused:
        case.complete("collect_fee", "finance1", collected_with="receipt")
    assert [e.field for e in refused.value.errors] == ["receipt_no"]
    case.complete("collect_fee", "finance1", collected_with="receipt", receipt_no="SK0001")
    assert open_ids(case) == ["visit_repair"]


# -- follow-up visit within a month (001/第2篇 1.4) ---------------------------------------


def test_dissatisfied_visit_is_put_right_and_visited_again(start_drawn_case):
    case = paperwork(repaired_and_signed(on_site(open_order(start_drawn_case))))
    with pytest.raises(FormInvalid) as refused:  # dissatisfaction is written down
        case.complete(
            "visit_repair",
            "reception1",
            visit_mode="phone",
            phone_visit_mark="电话回访",
            visit_result="dissatisfied",
        )
    assert [e.field for e in refused.value.errors] == ["visit_notes"]
    case.complete(
        "visit_repair",
        "reception1",
        visit_mode="phone",
        phone_visit_mark="电话回访",
        visit_result="dissatisfied",
        visit_notes="水龙头仍滴水",
    )
    assert open_ids(case) == ["check_visit"]  # checked before it goes back to be put right (001/第2篇 1.8)
    case.complete("check_visit", "supervisor1", **CHECKED)
    assert case.task("rectify").role == ES
    case.complete("rectify", "engsup1", rectification="更换阀芯密封圈，已不滴水")
    visit_checked(case, **DOOR_OK)

    path = case.path()
    visit = ["gw_visit_again", "visit_repair", "check_visit", "gw_visit_satisfied"]
    before_visit = SIGN_ELEMENTS + DRAW_ELEMENTS + PAPER_ELEMENTS
    assert path.elements == HEAD_ELEMENTS + NOW_ELEMENTS + ["gw_material"] + before_visit + visit[1:] + [
        "rectify"
    ] + visit + ["end_visited"]
    assert path.flows == HEAD_FLOWS + ["Flow_listed"] + NOW_FLOWS + ["Flow_agreed", "Flow_no_material"] + (
        SIGN_FLOWS + DRAW_FLOWS + PAPER_FLOWS
    ) + [
        "Flow_visit_repair",
        "Flow_check_visit",
        "Flow_visit_dissatisfied",
        "Flow_rectify",
        "Flow_visit_again",
        "Flow_visit_repair",
        "Flow_check_visit",
        "Flow_visit_satisfied",
    ]
    assert case.human_trail() == HEAD_TRAIL + ONSITE_TRAIL + TAIL_TRAIL[:-len(VISIT_TRAIL)] + VISIT_TRAIL + [
        ("rectify", ES, "engsup1"),
    ] + VISIT_TRAIL
    assert case.status == "completed"
    assert [d["sampled"] for d in decisions(case)] == [True]  # the visit again needs no new draw


def test_visit_not_made_within_a_month_is_chased(start_drawn_case, sla_limit, runtime):
    case = repaired_and_signed(on_site(open_order(start_drawn_case)))
    month = sla_limit("repair.followup")
    assert month == timedelta(days=30)  # November has 30 days
    assert case.task("visit_repair").due_at == runtime.clock.now() + month
    assert case.wait(days=29, hours=23, minutes=59) == 0
    assert case.wait(minutes=2) == 1
    assert case.task("chase_visit").role == CS
    case.complete("chase_visit", "supervisor1", overdue_reason="物业助理休假", action="已安排本周内回访")
    visit_checked(case, **DOOR_OK)
    paperwork(case)

    path = case.path()
    assert path.elements == HEAD_ELEMENTS + NOW_ELEMENTS + ["gw_material"] + SIGN_ELEMENTS + DRAW_ELEMENTS + [
        "timer_visit_overdue",
        "chase_visit",
        "end_visit_chased",
        *VISIT_ELEMENTS,
    ] + PAPER_ELEMENTS
    assert path.flows == HEAD_FLOWS + ["Flow_listed"] + NOW_FLOWS + ["Flow_agreed", "Flow_no_material"] + (
        SIGN_FLOWS + DRAW_FLOWS
    ) + [
        "Flow_visit_overdue",
        "Flow_chase_visit",
        *VISIT_FLOWS,
    ] + PAPER_FLOWS
    assert case.human_trail() == HEAD_TRAIL + ONSITE_TRAIL + TAIL_TRAIL[:2] + [
        ("chase_visit", CS, "supervisor1"),
        *VISIT_TRAIL,
    ] + PAPER_TRAIL
    assert case.status == "completed"


def test_repair_not_drawn_is_collected_and_closed_without_a_visit(start_drawn_case, followup_rate, month_tally,
                                                                   expected_decision):
    case = repaired_and_signed(on_site(open_order(start_drawn_case, sampled=False)))
    assert open_ids(case) == ["return_copies"]  # the paperwork still goes to finance; nobody visits
    paperwork(case)
    # one earlier repair of the month was visited, so passing this one over keeps 1 of 2 >= 30 %
    drawn_now = expected_decision(case, "repair", False, ordinal=2, sampled_before=1)
    assert month_tally("repair") == (2, 1)
    assert case.wait(days=40) == 0  # no visit, so no visit timer either

    path = case.path()
    drawn_out = SIGN_ELEMENTS + ["gw_followup_covered", "decide_followup", "gw_followup_sampled", "end_not_sampled"] + PAPER_ELEMENTS
    assert path.elements == HEAD_ELEMENTS + NOW_ELEMENTS + ["gw_material"] + drawn_out
    assert path.flows == HEAD_FLOWS + ["Flow_listed"] + NOW_FLOWS + ["Flow_agreed", "Flow_no_material"] + (
        SIGN_FLOWS + ["Flow_to_return", "Flow_to_visit", "Flow_followup_own", "Flow_decide_followup", "Flow_not_sampled"]
    ) + PAPER_FLOWS
    assert case.human_trail() == HEAD_TRAIL + ONSITE_TRAIL + TAIL_TRAIL[:-len(VISIT_TRAIL)]
    assert case.status == "completed"
    draw = followup.draw(case.reference)
    assert draw >= followup_rate("repair")
    assert decisions(case) == [drawn_now]


# -- public facilities (001/第8篇 4.2) -----------------------------------------------------

PUBLIC = dict(ORDER, unit="3栋大堂", problem="大堂灯管不亮", item="replace_tube", public_facility=True)
PUBLIC_ELEMENTS = [
    "start",
    "write_order",
    "gw_public",
    "notify_public",
    "hand_over_patrol_form",
    "assign_public",
    "arrive_public",
    "repair_public",
    "end_public",
]
PUBLIC_FLOWS = [
    "Flow_start",
    "Flow_write_order",
    "Flow_public",
    "Flow_notify_public",
    "Flow_hand_over",
    "Flow_assign_public",
    "Flow_arrive_public",
    "Flow_repair_public",
]
PUBLIC_TRAIL = [
    ("write_order", R, "reception1"),
    ("notify_public", R, "reception1"),
    ("hand_over_patrol_form", R, "reception1"),
    ("assign_public", ES, "engsup1"),
    ("arrive_public", TE, "tech1"),
    ("repair_public", TE, "tech1"),
]
HANDED_OVER = dict(patrol_form_no="XS-1123-02", copy2_handed=True, signed_by="engsup1")
REPAIRED = dict(repair_notes="更换灯管2支", patrol_form_noted=True, site_cleaned=True)


def hand_over_and_dispatch(case):
    """4.2 2)–3): copy 2 of the patrol form signed for by engineering, then a technician sent."""
    case.complete("hand_over_patrol_form", "reception1", **HANDED_OVER)
    case.complete("assign_public", "engsup1", **DISPATCH)
    return case


def test_public_facility(start_drawn_case, sla_limit, runtime):
    case = write_order(start_drawn_case, **PUBLIC)
    assert case.task("notify_public").due_at == runtime.clock.now() + sla_limit("repair.public_notify")
    case.complete("notify_public", "reception1", **NOTIFY)
    hand_over_and_dispatch(case)
    assert case.task("arrive_public").due_at == runtime.clock.now() + sla_limit("repair.public_arrive")
    case.complete("arrive_public", "tech1", arrived_at=T)
    case.complete("repair_public", "tech1", **REPAIRED)
    assert case.path().elements == PUBLIC_ELEMENTS
    assert case.path().flows == PUBLIC_FLOWS
    assert case.human_trail() == PUBLIC_TRAIL
    assert case.status == "completed"


def test_public_facility_patrol_form_copy_2_is_handed_over_and_signed_for(start_drawn_case):
    """4.2 2): the desk gives engineering copy 2 of 《公共区域现场巡视表》 and has them sign for it,
    in a form of its own; who signed is chosen from engineering's staff, not typed."""
    case = write_order(start_drawn_case, **PUBLIC)
    case.complete("notify_public", "reception1", **NOTIFY)
    form = case.task_view("hand_over_patrol_form").form_schema
    assert form["properties"]["signed_by"]["x-enum-labels"] == {"engsup1": "周工", "tech1": "吴师傅"}
    with pytest.raises(FormInvalid) as refused:
        case.complete("hand_over_patrol_form", "reception1", **dict(HANDED_OVER, signed_by="reception1"))
    assert [e.field for e in refused.value.errors] == ["signed_by"]
    with pytest.raises(FormInvalid) as refused:
        case.complete("hand_over_patrol_form", "reception1", patrol_form_no="XS-1123-02", signed_by="engsup1")
    assert [e.field for e in refused.value.errors] == ["copy2_handed"]
    hand_over_and_dispatch(case)
    handed = [e for e in case.events(EventType.TASK_COMPLETED) if e.element_id == "hand_over_patrol_form"]
    assert [(e.actor, e.data["role"]) for e in handed] == [("reception1", R)]
    assert {k: handed[0].data["submitted"][k] for k in HANDED_OVER} == HANDED_OVER
    assert case.path().elements == PUBLIC_ELEMENTS[:6]


def test_public_facility_engineering_not_told_in_10_minutes(start_drawn_case, sla_limit):
    case = write_order(start_drawn_case, **PUBLIC)
    assert sla_limit("repair.public_notify") == timedelta(minutes=10)
    assert case.wait(minutes=9, seconds=59) == 0
    assert case.wait(seconds=2) == 1
    case.complete("chase_desk", "supervisor1", chase_notes="已督促前台立即通知工程部")
    case.complete("notify_public", "reception1", **NOTIFY)
    hand_over_and_dispatch(case)
    case.complete("arrive_public", "tech1", arrived_at=T)
    case.complete("repair_public", "tech1", **REPAIRED)
    path = case.path()
    assert (
        path.elements
        == PUBLIC_ELEMENTS[:3]
        + ["timer_public_notify_overdue", "chase_desk", "end_desk_chased"]
        + PUBLIC_ELEMENTS[3:]
    )
    assert (
        path.flows == PUBLIC_FLOWS[:3] + ["Flow_public_notify_overdue", "Flow_chase_desk"] + PUBLIC_FLOWS[3:]
    )
    assert case.human_trail() == PUBLIC_TRAIL[:1] + [("chase_desk", CS, "supervisor1")] + PUBLIC_TRAIL[1:]
    assert case.status == "completed"


def test_public_facility_technician_not_there_in_15_minutes(start_drawn_case, sla_limit):
    case = write_order(start_drawn_case, **PUBLIC)
    case.complete("notify_public", "reception1", **NOTIFY)
    hand_over_and_dispatch(case)
    assert sla_limit("repair.public_arrive") == timedelta(minutes=15)
    assert case.wait(minutes=14, seconds=59) == 0
    assert case.wait(seconds=2) == 1
    assert case.task("chase_arrival").role == ES
    case.complete("chase_arrival", "engsup1", chase_notes="已改派维修人员")
    case.complete("arrive_public", "tech1", arrived_at=T)
    case.complete("repair_public", "tech1", **REPAIRED)
    path = case.path()
    assert (
        path.elements
        == PUBLIC_ELEMENTS[:6]
        + ["timer_public_arrive_overdue", "chase_arrival", "end_chased"]
        + PUBLIC_ELEMENTS[6:]
    )
    assert (
        path.flows
        == PUBLIC_FLOWS[:6] + ["Flow_public_arrive_overdue", "Flow_chase_arrival"] + PUBLIC_FLOWS[6:]
    )
    assert case.human_trail() == PUBLIC_TRAIL[:4] + [("chase_arrival", ES, "engsup1")] + PUBLIC_TRAIL[4:]
    assert case.status == "completed"


# -- 立即安排维修人员: the supervisor's own step, naming the technician (4.1 2), 4.2 3)) ------------


def test_dispatch_names_a_technician_of_the_site_who_then_holds_every_technician_task(start_drawn_case, runtime):
    case = open_order(start_drawn_case)
    assert open_ids(case) == ["assign_technician"] and case.task("assign_technician").role == ES
    offered = case.task_view("assign_technician").form_schema["properties"]["technician"]
    assert (offered["enum"], offered["x-enum-labels"]) == (["tech1"], {"tech1": "吴师傅"})  # chosen, never typed
    for not_a_technician in ("吴师傅", "engsup1", "reception1"):
        with pytest.raises(FormInvalid) as refused:
            case.complete("assign_technician", "engsup1", technician=not_a_technician)
        assert [e.field for e in refused.value.errors] == ["technician"]
    case.complete("assign_technician", "engsup1", **DISPATCH)
    arrive = case.task("arrive_now")
    assert (arrive.role, arrive.assignee, arrive.status) == (TE, "tech1", "claimed")  # in tech1's inbox
    with runtime.db.session() as session:  # and told to tech1, not to every technician
        told = session.scalars(select(Notification).where(Notification.task_id == arrive.id)).all()
    assert [(n.kind, n.to_user, n.to_role) for n in told] == [("task_assigned", "tech1", None)]
    on_site(case, dispatched=True)
    finish(case)

    dispatched = [e for e in case.events(EventType.TASK_COMPLETED) if e.element_id == "assign_technician"]
    assert [(e.actor, e.data["role"], e.data["submitted"]["technician"]) for e in dispatched] == [
        ("engsup1", ES, "tech1")
    ]
    held = {e.element_id: e.data.get("assignee") for e in case.events(EventType.TASK_READY)
            if e.data["role"] == TE}
    assert held == {element: "tech1" for element in
                    ("arrive_now", "check_order", "do_repair", "resident_sign", "return_copies")}
    path = case.path()
    assert path.elements.index("assign_technician") == path.elements.index("gw_item") + 1
    assert path.elements.index("gw_timing") == path.elements.index("assign_technician") + 1


def test_a_quote_accepted_is_dispatched_by_the_supervisor_before_anyone_goes(start_drawn_case):
    """4.1 2) ③: 经征得住户…同意维修后，再…安排维修人员 — the dispatch follows the accepted quote."""
    case = open_order(start_drawn_case, item="unlisted", problem="阳台晾衣架松脱")
    case.complete("assess_unlisted", "engsup1", **ASSESSED)
    assert open_ids(case) == ["assign_technician"]
    assert case.path().flows[-2:] == ["Flow_assess_unlisted", "Flow_accepted"]


def test_a_technician_of_another_site_is_neither_offered_nor_accepted(start_drawn_case, library, runtime):
    staffed = Bundle(library.bpmn, library.dmn, library.forms, dict(library.rules))
    staffed.rules["staff.yaml"] = library.rules["staff.yaml"].replace(
        "  # company-wide\n", "  - {username: bhtech1, name: 梁师傅, roles: [technician], site: binhai}\n  # company-wide\n"
    )
    assert staffed.rules["staff.yaml"] != library.rules["staff.yaml"]
    with runtime.transaction() as session:
        deploy_bundle(session, staffed, "designer1")
    case = open_order(start_drawn_case)
    view = case.task_view("assign_technician")  # the page offers the case's site's technicians only
    assert staff_of_site(view.form_schema, view.site)["properties"]["technician"]["enum"] == ["tech1"]
    with pytest.raises(FormInvalid) as refused:
        case.complete("assign_technician", "engsup1", technician="bhtech1")
    assert [e.field for e in refused.value.errors] == ["technician"]


def test_the_order_number_is_written_on_the_order(start_drawn_case):
    """4.1 2): the 《维修单》 (一式四份) carries its number; each copy's way is recorded on the task that moves it."""
    case = start_drawn_case("repair", {}, as_user="reception1")
    with pytest.raises(FormInvalid) as refused:
        case.complete("write_order", "reception1", **{k: v for k, v in ORDER.items() if k != "order_no"})
    assert [e.field for e in refused.value.errors] == ["order_no"]
    case.complete("write_order", "reception1", **ORDER)
    case.complete("notify_engineering", "reception1", **NOTIFY)
    finish(on_site(case))
    copies = {e.element_id: e.data["submitted"] for e in case.events(EventType.TASK_COMPLETED)}
    assert copies["write_order"]["order_no"] == "WX-20261123-07"
    assert copies["resident_sign"]["copy1_given"] is True  # copy 1 to the resident
    assert copies["return_copies"]["copies_returned"] is True  # copies 2 and 3 to the supervisor
    assert copies["confirm_copies"]["copy4_kept"] is True  # copy 4 stays with engineering
    assert copies["return_order"]["copy2_kept"] is True  # copy 2 stays with the desk
    assert copies["send_copy3"]["copy3_sent"] is True  # copy 3 to finance


# -- the resident signs in front of the technician (4.1 6)) ---------------------------------


def test_the_resident_signs_on_the_technicians_task_and_no_login_is_needed(start_drawn_case, runtime):
    case = on_site(open_order(start_drawn_case))
    case.complete("do_repair", "tech1", quantity=1, repair_notes="更换水龙头", completed_at=T)
    sign = case.task("resident_sign")
    assert (sign.role, sign.assignee) == (TE, "tech1")
    with pytest.raises(PermissionDenied):  # no resident account signs, their own case or another's
        runtime.complete_task(sign.id, SIGNED, "resident1")
    with pytest.raises(FormInvalid) as refused:  # present: the name, the verdict and a drawn signature
        case.complete("resident_sign", "tech1", tested=True, resident_present=True)
    assert sorted(e.field for e in refused.value.errors) == [
        "copy1_given", "resident_name", "resident_signature", "satisfied"]
    with pytest.raises(FormInvalid) as refused:  # a typed name is not a drawn signature
        case.complete("resident_sign", "tech1", **dict(SIGNED, resident_signature="林先生"))
    assert [e.field for e in refused.value.errors] == ["resident_signature"]
    case.complete("resident_sign", "tech1", **dict(SIGNED, satisfied="dissatisfied", resident_comments="等了半小时"))
    assert sorted(open_ids(case)) == ["return_copies", "visit_repair"]

    signed = [e for e in case.events(EventType.TASK_COMPLETED) if e.element_id == "resident_sign"]
    assert [(e.actor, e.data["role"]) for e in signed] == [("tech1", TE)]
    assert {k: signed[0].data["submitted"][k] for k in ("resident_name", "satisfied", "resident_signature")} == {
        "resident_name": "林先生", "satisfied": "dissatisfied", "resident_signature": SIGNATURE}
    assert RS not in {role for _element, role, _user in case.human_trail()}


def test_a_resident_not_at_home_is_recorded_with_the_reason_and_the_case_goes_on(start_drawn_case):
    case = on_site(open_order(start_drawn_case))
    case.complete("do_repair", "tech1", quantity=1, repair_notes="更换水龙头", completed_at=T)
    with pytest.raises(FormInvalid) as refused:
        case.complete("resident_sign", "tech1", tested=True, resident_present=False)
    assert [e.field for e in refused.value.errors] == ["absent_reason"]
    case.complete("resident_sign", "tech1", tested=True, resident_present=False,
                  absent_reason="住户外出，由家人开门；第一联留交家人并电话告知住户")
    paperwork(case)
    visit_checked(case, **DOOR_OK)
    assert case.status == "completed"
    assert case.path().elements == LISTED_NOW_ELEMENTS
    assert case.human_trail() == HEAD_TRAIL + ONSITE_TRAIL + TAIL_TRAIL


# -- 4.1 7): copies 2 and 3 back by 17:00, 返单, copy 3 to finance by the 25th -----------------


def test_copies_back_by_17_00_and_copy_3_to_finance_by_the_25th(start_drawn_case, runtime):
    runtime.clock.set(datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc))
    case = repaired_and_signed(on_site(open_order(start_drawn_case)))  # Tuesday 09:00 in Shenzhen
    returned = case.task("return_copies")
    by_five = datetime(2026, 11, 24, 17, 0, tzinfo=LOCAL_TZ)
    assert (returned.assignee, returned.due_at) == ("tech1", by_five)  # 17:00 the same day
    with runtime.db.session() as session:  # in the technician's inbox with its due time
        inbox = list_tasks(session, assignee="tech1")
    assert [(t.element_id, t.due_at) for t in inbox] == [("return_copies", by_five)]

    runtime.clock.set(by_five + timedelta(minutes=1))
    fire_due_levels(runtime, runtime.clock.now())  # late: the supervisor is told
    breached = case.events(EventType.SLA_BREACHED)
    assert [(e.element_id, e.data["target"], e.data["duration"]) for e in breached] == [
        ("return_copies", "repair.copies_returned", "by 17:00")]
    told = case.events(EventType.SLA_ESCALATED)
    assert [(e.element_id, e.data["notify"]) for e in told] == [("return_copies", [f"role:{ES}"])]
    case.complete("return_copies", "tech1", copies_returned=True)
    case.complete("confirm_copies", "engsup1", order_confirmed=True, copy4_kept=True, passed_to_desk=True)
    case.complete("return_order", "reception1", order_returned=True, copy2_kept=True)
    sent = case.task("send_copy3")
    assert (sent.role, sent.due_at) == (R, datetime(2026, 11, 25, 23, 59, 59, tzinfo=LOCAL_TZ))  # by the 25th
    case.complete("send_copy3", "reception1", copy3_sent=True)
    case.complete("collect_fee", "finance1", collected_with="management_fee")

    assert case.path().elements[-len(PAPER_ELEMENTS):] == PAPER_ELEMENTS
    trail = case.human_trail()
    assert trail[trail.index(("return_copies", TE, "tech1")):] == PAPER_TRAIL
    with runtime.db.session() as session:  # counted in the month's statistics, per target
        sla = {s.target: (s.met, s.breached) for s in month_kpis(session, StatsQuery("2026-11", site="nanshan"),
                                                                  runtime.clock.now()).sla}
    assert sla["repair.copies_returned"] == (0, 1)
    assert sla["repair.copy3_to_finance"] == (1, 0)


def test_an_order_finished_after_17_00_goes_back_by_17_00_the_next_day(start_drawn_case, runtime):
    """The fake clock starts at 17:00 in Shenzhen: the repair is finished after the day's hand-in."""
    case = repaired_and_signed(on_site(open_order(start_drawn_case)))
    assert runtime.clock.now().astimezone(LOCAL_TZ).hour == 17
    assert case.task("return_copies").due_at == datetime(2026, 11, 24, 17, 0, tzinfo=LOCAL_TZ)


def test_a_resident_never_signs_a_case_they_did_not_open(start_drawn_case, library, runtime):
    """Even a diagram that puts the signature in a resident's lane (as this one did before) gives
    it to no resident account: the case was opened by the desk, not by them."""
    text = library.bpmn["repair.bpmn"].decode()
    sign_task = text[text.index('<bpmn:userTask id="resident_sign"'):text.index("</bpmn:userTask>", text.index(
        '<bpmn:userTask id="resident_sign"'))]
    in_residents_lane = text.replace(sign_task, sign_task.replace(
        '<spiffworkflow:property name="assignee" value="technician" />', "")).replace(
        "<bpmn:flowNodeRef>resident_sign</bpmn:flowNodeRef>", "").replace(
        "</bpmn:laneSet>", '<bpmn:lane id="Lane_resident" name="住户"><bpmn:flowNodeRef>resident_sign'
        "</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>")
    with runtime.transaction() as session:
        deploy_bundle(session, Bundle({**library.bpmn, "repair.bpmn": in_residents_lane.encode()}, library.dmn,
                                      library.forms, library.rules), "designer1")
    case = on_site(open_order(start_drawn_case))
    case.complete("do_repair", "tech1", quantity=1, repair_notes="更换水龙头", completed_at=T)
    sign = case.task("resident_sign")
    assert (sign.role, sign.assignee) == (RS, None)
    with pytest.raises(PermissionDenied):
        runtime.claim_task(sign.id, "resident1")
    with pytest.raises(PermissionDenied):
        runtime.complete_task(sign.id, SIGNED, "resident1")
    assert case.task("resident_sign").status == "ready"


def test_the_cs_supervisor_checks_and_signs_the_assistants_visit(start_drawn_case):
    """001/第2篇 1.8: the desk's visit is not the end of it; the CS supervisor checks it and signs an
    opinion, and only then does the order close."""
    case = paperwork(repaired_and_signed(on_site(open_order(start_drawn_case))))
    case.complete("visit_repair", "reception1", **DOOR_OK)
    assert (open_ids(case), case.task("check_visit").role, case.status) == (["check_visit"], CS, "running")
    with pytest.raises(FormInvalid) as refused:  # an opinion, signed
        case.complete("check_visit", "supervisor1", check_opinion="记录完整", signed=False)
    assert [e.field for e in refused.value.errors] == ["signed"]
    case.complete("check_visit", "supervisor1", **CHECKED)
    [checked] = [e for e in case.events(EventType.TASK_COMPLETED) if e.element_id == "check_visit"]
    assert (checked.actor, checked.data["role"], checked.data["submitted"]["check_opinion"]) == (
        "supervisor1", CS, CHECKED["check_opinion"])
    assert case.path().elements[-len(VISIT_ELEMENTS):] == VISIT_ELEMENTS
    assert case.status == "completed"

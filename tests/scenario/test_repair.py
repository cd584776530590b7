"""Scenario tests of processes/repair.bpmn (报修处理, 001/第8篇 4.1–4.3, 003 4.2.1.1): one test per path.

The paid price list is the `item` / `corrected_item` enum of the forms (labels carry the unit
price); the technician records the quantity and finance (the only role that collects) enters
the amount on the 收费 task."""

from datetime import timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.rules import load_rules

T = "2026-11-23T09:05:00+00:00"
R, ES, TE, RS, F = "reception", "engineering_supervisor", "technician", "resident", "finance"
ORDER = dict(
    resident="林先生",
    unit="5栋3楼302",
    phone="13800000000",
    problem="厨房水龙头漏水",
    item="replace_faucet",
    timing="now",
    public_facility=False,
)
NOTIFY = dict(engineering_notified=True, notified_person="周工")
CHECK = dict(
    actual_problem="厨房水龙头阀芯损坏",
    corrected_item="replace_faucet",
    price_shown=True,
    resident_agrees=True,
    material_supplied=False,
)

HEAD_ELEMENTS = ["start", "write_order", "gw_public", "notify_engineering", "gw_item"]
HEAD_FLOWS = ["Flow_start", "Flow_write_order", "Flow_private", "Flow_notify_engineering"]
HEAD_TRAIL = [("write_order", R, "reception1"), ("notify_engineering", R, "reception1")]
ONSITE_ELEMENTS = ["gw_arrive_merge", "check_order", "gw_agree", "gw_material"]
TAIL_ELEMENTS = ["gw_material_merge", "do_repair", "resident_sign", "collect_fee", "end_done"]
TAIL_FLOWS = ["Flow_material_merge", "Flow_do_repair", "Flow_resident_sign", "Flow_collect_fee"]
TAIL_TRAIL = [("do_repair", TE, "tech1"), ("resident_sign", RS, "resident1"), ("collect_fee", F, "finance1")]


def sla_limit(library, key: str, site: str = "nanshan") -> timedelta:
    duration = load_rules(library.rules).sla_duration(key, site)
    return TimerEventDefinition.get_timedelta_from_start(
        TimerEventDefinition.parse_iso_duration(duration), None
    )


def open_order(start_case, **order):
    case = start_case("repair", {}, as_user="reception1")
    assert case.reference.startswith("BX-")
    case.complete("write_order", "reception1", **dict(ORDER, **order))
    case.complete("notify_engineering", "reception1", **NOTIFY)
    return case


def finish(case, quantity=1, amount=30):
    case.complete("do_repair", "tech1", quantity=quantity, repair_notes="更换水龙头", completed_at=T)
    case.complete("resident_sign", "resident1", tested=True, resident_signature=True)
    assert case.task("collect_fee").role == F
    case.complete("collect_fee", "finance1", amount=amount, receipt_no="SK0001")


def test_listed_item_now(start_case, library, runtime):
    case = open_order(start_case)
    assert case.task("arrive_now").due_at == runtime.clock.now() + sla_limit(library, "repair.arrive_now")
    case.complete("arrive_now", "tech1", arrived_at=T)
    case.complete("check_order", "tech1", **CHECK)
    finish(case, quantity=2, amount=60)
    assert case.wait(hours=1) == 0  # the arrival timer went with the task

    path = case.path()
    assert path.elements == HEAD_ELEMENTS + ["gw_timing", "arrive_now"] + ONSITE_ELEMENTS + TAIL_ELEMENTS
    assert (
        path.flows
        == HEAD_FLOWS
        + [
            "Flow_listed",
            "Flow_now",
            "Flow_arrive_now",
            "Flow_arrive_merge",
            "Flow_check_order",
            "Flow_agreed",
            "Flow_no_material",
        ]
        + TAIL_FLOWS
    )
    assert (
        case.human_trail()
        == HEAD_TRAIL + [("arrive_now", TE, "tech1"), ("check_order", TE, "tech1")] + TAIL_TRAIL
    )
    assert case.status == "completed"


def test_appointment(start_case):
    case = open_order(start_case, timing="appointment", appointment_at="2026-11-24T02:00:00+00:00")
    assert [t.element_id for t in case.open_tasks()] == ["arrive_appointment"]
    case.complete("arrive_appointment", "tech1", arrived_at="2026-11-24T01:55:00+00:00")
    case.complete("check_order", "tech1", **CHECK)
    finish(case)

    path = case.path()
    assert (
        path.elements == HEAD_ELEMENTS + ["gw_timing", "arrive_appointment"] + ONSITE_ELEMENTS + TAIL_ELEMENTS
    )
    assert (
        path.flows
        == HEAD_FLOWS
        + [
            "Flow_listed",
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
        == HEAD_TRAIL + [("arrive_appointment", TE, "tech1"), ("check_order", TE, "tech1")] + TAIL_TRAIL
    )
    assert case.status == "completed"


def test_unlisted_item_accepted(start_case, library, runtime):
    case = open_order(start_case, item="unlisted", problem="阳台晾衣架松脱")
    task = case.task("assess_unlisted")
    assert task.role == ES
    assert task.due_at == runtime.clock.now() + sla_limit(library, "repair.assess_unlisted")
    case.complete(
        "assess_unlisted",
        "engsup1",
        feasible=True,
        quoted_price=80,
        assessment="可修，加固支架",
        resident_accepts=True,
    )
    case.complete("arrive_now", "tech1", arrived_at=T)
    case.complete("check_order", "tech1", **dict(CHECK, corrected_item="unlisted"))
    finish(case, amount=80)

    path = case.path()
    assert (
        path.elements
        == HEAD_ELEMENTS
        + ["assess_unlisted", "gw_accept", "gw_timing", "arrive_now"]
        + ONSITE_ELEMENTS
        + TAIL_ELEMENTS
    )
    assert (
        path.flows
        == HEAD_FLOWS
        + [
            "Flow_unlisted",
            "Flow_assess_unlisted",
            "Flow_accepted",
            "Flow_now",
            "Flow_arrive_now",
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
        + [("assess_unlisted", ES, "engsup1"), ("arrive_now", TE, "tech1"), ("check_order", TE, "tech1")]
        + TAIL_TRAIL
    )
    assert case.status == "completed"


def test_unlisted_item_declined(start_case):
    case = open_order(start_case, item="unlisted", problem="阳台晾衣架松脱")
    case.complete(
        "assess_unlisted",
        "engsup1",
        feasible=True,
        quoted_price=80,
        assessment="可修，加固支架",
        resident_accepts=False,
        decline_reason="住户嫌贵，自行找人维修",
    )

    path = case.path()
    assert path.elements == HEAD_ELEMENTS + ["assess_unlisted", "gw_accept", "end_declined"]
    assert path.flows == HEAD_FLOWS + ["Flow_unlisted", "Flow_assess_unlisted", "Flow_declined"]
    assert case.human_trail() == HEAD_TRAIL + [("assess_unlisted", ES, "engsup1")]
    assert case.status == "completed"


def test_resident_refuses_on_site(start_case):
    case = open_order(start_case)
    case.complete("arrive_now", "tech1", arrived_at=T)
    case.complete("check_order", "tech1", **dict(CHECK, resident_agrees=False))
    case.complete(
        "record_refusal",
        "tech1",
        reminder_given=True,
        refusal_reason="住户认为价格偏高",
        technician_signature=True,
    )
    case.complete("sign_refusal", "engsup1", supervisor_signature=True)
    case.complete("file_refusal", "reception1", filed=True)

    path = case.path()
    assert path.elements == HEAD_ELEMENTS + [
        "gw_timing",
        "arrive_now",
        "gw_arrive_merge",
        "check_order",
        "gw_agree",
        "record_refusal",
        "sign_refusal",
        "file_refusal",
        "end_refused",
    ]
    assert path.flows == HEAD_FLOWS + [
        "Flow_listed",
        "Flow_now",
        "Flow_arrive_now",
        "Flow_arrive_merge",
        "Flow_check_order",
        "Flow_refused",
        "Flow_record_refusal",
        "Flow_sign_refusal",
        "Flow_file_refusal",
    ]
    assert case.human_trail() == HEAD_TRAIL + [
        ("arrive_now", TE, "tech1"),
        ("check_order", TE, "tech1"),
        ("record_refusal", TE, "tech1"),
        ("sign_refusal", ES, "engsup1"),
        ("file_refusal", R, "reception1"),
    ]
    assert case.status == "completed"


def material_case(start_case, **material):
    case = open_order(start_case)
    case.complete("arrive_now", "tech1", arrived_at=T)
    case.complete("check_order", "tech1", **dict(CHECK, material_supplied=True))
    case.complete("check_material", "tech1", **material)
    finish(case)
    path = case.path()
    assert (
        path.elements
        == HEAD_ELEMENTS + ["gw_timing", "arrive_now"] + ONSITE_ELEMENTS + ["check_material"] + TAIL_ELEMENTS
    )
    assert (
        path.flows
        == HEAD_FLOWS
        + [
            "Flow_listed",
            "Flow_now",
            "Flow_arrive_now",
            "Flow_arrive_merge",
            "Flow_check_order",
            "Flow_agreed",
            "Flow_material",
            "Flow_check_material",
        ]
        + TAIL_FLOWS
    )
    assert (
        case.human_trail()
        == HEAD_TRAIL
        + [("arrive_now", TE, "tech1"), ("check_order", TE, "tech1"), ("check_material", TE, "tech1")]
        + TAIL_TRAIL
    )
    assert case.status == "completed"
    return case


def test_material_qualified(start_case):
    material_case(start_case, material_result="qualified", resident_choice="use_supplied")


def test_material_unqualified_resident_choice_respected(start_case):
    case = material_case(
        start_case,
        material_result="unqualified",
        advice="水龙头螺纹不匹配，建议更换",
        resident_choice="use_supplied",
    )
    assert case.status == "completed"


def test_arrival_overdue_escalates_to_supervisor(start_case, library):
    case = open_order(start_case)
    limit = sla_limit(library, "repair.arrive_now")
    assert limit == timedelta(minutes=10)
    assert case.wait(seconds=limit.total_seconds() - 1) == 0
    assert case.wait(seconds=2) == 1
    assert case.task("chase_arrival").role == ES
    assert case.task("arrive_now")  # non-interrupting: the technician still arrives
    case.complete("chase_arrival", "engsup1", chase_notes="吴师傅在另一单，已改派并督促立即到场")
    assert case.status == "running"
    case.complete("arrive_now", "tech1", arrived_at=T)
    case.complete("check_order", "tech1", **CHECK)
    finish(case)

    path = case.path()
    assert (
        path.elements
        == HEAD_ELEMENTS
        + ["gw_timing", "timer_arrive_overdue", "chase_arrival", "end_chased", "arrive_now"]
        + ONSITE_ELEMENTS
        + TAIL_ELEMENTS
    )
    assert (
        path.flows
        == HEAD_FLOWS
        + [
            "Flow_listed",
            "Flow_now",
            "Flow_arrive_overdue",
            "Flow_chase_arrival",
            "Flow_arrive_now",
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
        + [("chase_arrival", ES, "engsup1"), ("arrive_now", TE, "tech1"), ("check_order", TE, "tech1")]
        + TAIL_TRAIL
    )
    assert case.status == "completed"


def test_public_facility(start_case, library, runtime):
    case = start_case("repair", {}, as_user="reception1")
    case.complete(
        "write_order",
        "reception1",
        **dict(ORDER, unit="3栋大堂", problem="大堂灯管不亮", item="replace_tube", public_facility=True),
    )
    assert case.task("notify_public").due_at == runtime.clock.now() + sla_limit(
        library, "repair.public_notify"
    )
    case.complete("notify_public", "reception1", **NOTIFY)
    assert case.task("arrive_public").due_at == runtime.clock.now() + sla_limit(
        library, "repair.public_arrive"
    )
    case.complete("arrive_public", "tech1", arrived_at=T)
    case.complete(
        "repair_public", "tech1", repair_notes="更换灯管2支", patrol_form_noted=True, site_cleaned=True
    )

    path = case.path()
    assert path.elements == [
        "start",
        "write_order",
        "gw_public",
        "notify_public",
        "arrive_public",
        "repair_public",
        "end_public",
    ]
    assert path.flows == [
        "Flow_start",
        "Flow_write_order",
        "Flow_public",
        "Flow_notify_public",
        "Flow_arrive_public",
        "Flow_repair_public",
    ]
    assert case.human_trail() == [
        ("write_order", R, "reception1"),
        ("notify_public", R, "reception1"),
        ("arrive_public", TE, "tech1"),
        ("repair_public", TE, "tech1"),
    ]
    assert case.status == "completed"

"""Shift handover (交接班, 004 4.2–4.3): outgoing prepares, incoming counts the equipment
and records open items; important unfinished work blocks the handover; both sign; the
CS supervisor checks the log the next morning."""

import jinja2
import pytest

from engine.accounts.users import demo_password_hash, upsert_user

T = "2026-11-23T08:25:00+00:00"
R, CS = "reception", "cs_supervisor"
OUT, IN = "reception1", "reception3"  # outgoing 王敏, incoming 周丽 (both on the desk)
EQUIPMENT_OK = [dict(name="对讲机", count=2, damaged=0, lost=0), dict(name="灭火器", count=4, damaged=0, lost=0),
                dict(name="水瓶", count=1, damaged=0, lost=0)]


@pytest.fixture
def handover(start_case, runtime):
    """A handover case with the outgoing shift prepared; a second desk officer exists."""
    with runtime.transaction() as session:
        upsert_user(session, IN, "周丽", ["reception"], "nanshan", demo_password_hash())
    case = start_case("shift_handover", as_user=OUT)
    case.complete("prepare_handover", OUT, outgoing_staff="王敏", items_tidied=True, desk_clean=True,
                  log_completed=True, evidence_collected=True, shift_summary="夜间受理咨询2宗、报修1宗",
                  unfinished_work="3栋电梯报修待工程部回复；1203住户钥匙待取")
    return case


def count(case, equipment):
    case.complete("count_equipment", IN, incoming_staff="周丽", arrived_at=T, equipment=equipment)


def sign_and_check(case):
    case.complete("check_area", IN, area_normal=True)
    case.complete("sign_outgoing", OUT, outgoing_signature="王敏", outgoing_confirmed=True, outgoing_signed_at=T)
    case.complete("sign_incoming", IN, incoming_signature="周丽", incoming_confirmed=True, incoming_signed_at=T)
    assert case.task("supervisor_check").role == CS
    case.complete("supervisor_check", "supervisor1", log_checked=True, supervisor_signature="张强",
                  duty_report_received=True)


OPEN_ITEMS = [dict(item="1203住户钥匙待取", owner="陈静", important=False)]
TAIL_ELEMENTS = ["check_area", "sign_outgoing", "sign_incoming", "supervisor_check", "end"]
TAIL_FLOWS = ["Flow_handover_clear", "Flow_check_area", "Flow_sign_outgoing", "Flow_sign_incoming",
              "Flow_supervisor_check"]
TAIL_TRAIL = [("check_area", R, IN), ("sign_outgoing", R, OUT), ("sign_incoming", R, IN),
              ("supervisor_check", CS, "supervisor1")]


def test_clean_handover(handover):
    case = handover
    count(case, EQUIPMENT_OK)
    case.complete("review_log", IN, log_read=True, open_items=OPEN_ITEMS)
    sign_and_check(case)

    path = case.path()
    assert path.elements == ["start", "prepare_handover", "count_equipment", "gw_equipment", "gw_equipment_merge",
                             "review_log", "gw_open_items"] + TAIL_ELEMENTS
    assert path.flows == ["Flow_start", "Flow_prepare_handover", "Flow_count_equipment", "Flow_equipment_ok",
                          "Flow_equipment_merge", "Flow_review_log"] + TAIL_FLOWS
    assert case.human_trail() == [("prepare_handover", R, OUT), ("count_equipment", R, IN),
                                  ("review_log", R, IN)] + TAIL_TRAIL
    assert case.status == "completed"


def test_damaged_or_missing_equipment_is_explained(handover):
    case = handover
    count(case, [dict(name="对讲机", count=1, damaged=0, lost=1, note="少一台"),
                 dict(name="灭火器", count=4, damaged=1, lost=0, note="压力表指针在红区")])
    case.complete("explain_equipment", OUT, equipment_explanation="对讲机借给护管员巡逻；灭火器已报工程部",
                  reported_to_supervisor=True)
    case.complete("review_log", IN, log_read=True, open_items=[])
    sign_and_check(case)

    path = case.path()
    assert path.elements == ["start", "prepare_handover", "count_equipment", "gw_equipment", "explain_equipment",
                             "gw_equipment_merge", "review_log", "gw_open_items"] + TAIL_ELEMENTS
    assert path.flows == ["Flow_start", "Flow_prepare_handover", "Flow_count_equipment", "Flow_equipment_problem",
                          "Flow_explain_equipment", "Flow_equipment_merge", "Flow_review_log"] + TAIL_FLOWS
    assert case.human_trail() == [("prepare_handover", R, OUT), ("count_equipment", R, IN),
                                  ("explain_equipment", R, OUT), ("review_log", R, IN)] + TAIL_TRAIL
    assert case.status == "completed"


def test_important_unfinished_work_blocks_the_handover(handover):
    case = handover
    count(case, EQUIPMENT_OK)
    important = dict(item="3栋电梯困人报修，待工程部回复", owner="陈静", important=True)
    case.complete("review_log", IN, log_read=True, open_items=OPEN_ITEMS + [important])
    # blocked: nobody can sign; the outgoing shift must finish the work first
    assert [t.element_id for t in case.open_tasks()] == ["resolve_important_work"]
    case.complete("resolve_important_work", OUT, resolution_notes="已电话确认工程部到场处理完毕", resolved_at=T)
    # the incoming shift checks again; still marked unresolved -> blocked once more
    case.complete("review_log", IN, log_read=True, open_items=OPEN_ITEMS + [important])
    case.complete("resolve_important_work", OUT, resolution_notes="工程部维修单已签收，电梯恢复运行")
    case.complete("review_log", IN, log_read=True, open_items=OPEN_ITEMS + [dict(important, resolved=True)])
    sign_and_check(case)

    path = case.path()
    loop = ["review_log", "gw_open_items", "resolve_important_work"]
    assert path.elements == ["start", "prepare_handover", "count_equipment", "gw_equipment", "gw_equipment_merge"] \
        + loop + loop + ["review_log", "gw_open_items"] + TAIL_ELEMENTS
    loop_flows = ["Flow_review_log", "Flow_handover_blocked", "Flow_resolve_important_work"]
    assert path.flows == ["Flow_start", "Flow_prepare_handover", "Flow_count_equipment", "Flow_equipment_ok",
                          "Flow_equipment_merge"] + loop_flows + loop_flows + ["Flow_review_log"] + TAIL_FLOWS
    loop_trail = [("review_log", R, IN), ("resolve_important_work", R, OUT)]
    assert case.human_trail() == [("prepare_handover", R, OUT), ("count_equipment", R, IN)] + loop_trail \
        + loop_trail + [("review_log", R, IN)] + TAIL_TRAIL
    assert case.status == "completed"


def test_open_items_are_shown_to_both_signatories(handover):
    case = handover
    count(case, EQUIPMENT_OK)
    case.complete("review_log", IN, log_read=True, open_items=OPEN_ITEMS)
    case.complete("check_area", IN, area_normal=False, anomaly_description="大堂消防通道堆放纸箱",
                  outgoing_explanation="住户搬家临时堆放，已通知清理")
    view = case.task_view("sign_outgoing")
    shown = jinja2.Environment().from_string(view.instructions).render(**view.data)
    assert "1203住户钥匙待取" in shown and "跟进人：陈静" in shown

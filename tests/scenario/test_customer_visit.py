"""Scenario tests of processes/customer_visit.bpmn (客户拜访与回访, 001/第2篇 1.1–1.10, 2.3): one per path.

Every visit is decided like the complaint and repair visits (followup.yaml): holiday, move-in
and after-emergency visits at 100 % (1.6 gives no rate), community-event visits at the
10 % floor of the site's month (1.5). Who visits and within what time depends on the kind.
"""

import pytest

from engine.audit.events import EventType
from engine.errors import FormInvalid

PLAN = {"resident": "林先生", "unit": "5栋3楼302"}
CHECK = dict(check_opinion="回访及时，记录完整", signed=True)
DOOR = dict(visit_mode="door", resident_signature=True, visit_result="satisfied", visit_record="住户满意",
            new_issue="none")
PHONE = dict(visit_mode="phone", visit_result="satisfied", visit_record="住户满意", new_issue="none")
PROMISED = "2026-11-26T10:00:00+08:00"  # three days after the fake clock's start
RAISED = dict(new_issue="reply_later", issue="楼道灯还是不亮", promised_reply_at=PROMISED)

HEAD = ["start", "decide_followup", "gw_sampled", "gw_kind"]
HEAD_FLOWS = ["Flow_start", "Flow_decide_followup", "Flow_sampled"]
AFTER_VISIT = ["gw_visit_merge", "count_visit", "gw_raised"]
CHECKED = ["gw_check_merge", "gw_assistant_visit", "supervisor_check", "end"]
CHECKED_FLOWS = ["Flow_nothing_open", "Flow_check_merge", "Flow_check", "Flow_supervisor_check"]
CHECKED_TRAIL = [("supervisor_check", "cs_supervisor", "supervisor1")]


def plan(start_case, kind, **extra):
    case = start_case("customer_visit", {**PLAN, "visit_kind": kind, **extra}, as_user="supervisor1")
    assert case.reference.startswith("HF-")
    return case


def decisions(case):
    return [e.data for e in case.events(EventType.FOLLOWUP_DECIDED)]


def submitted(case, element):
    return [e.data["submitted"] for e in case.events(EventType.TASK_COMPLETED) if e.element_id == element]


def test_a_holiday_visit_is_organised_by_the_manager_and_needs_no_supervisors_check(start_case, runtime, sla_limit):
    """1.8: the CS supervisor checks the assistants' visits; the manager's own holiday visits are not theirs."""
    case = plan(start_case, "holiday")
    assert case.task("manager_visit").due_at == runtime.clock.now() + sla_limit("visit.holiday")
    case.complete("manager_visit", "manager1", **dict(DOOR, visit_record="春节慰问"))
    path = case.path()
    assert path.elements == HEAD + ["manager_visit"] + AFTER_VISIT + ["gw_check_merge", "gw_assistant_visit",
                                                                      "end_manager_visited"]
    assert path.flows == HEAD_FLOWS + ["Flow_holiday", "Flow_manager_visit", "Flow_visit_merge", "Flow_count_visit",
                                       "Flow_nothing_open", "Flow_check_merge", "Flow_manager_only"]
    assert case.human_trail() == [("manager_visit", "manager", "manager1")]
    [decided] = decisions(case)
    assert (decided["category"], decided["rate"], decided["sampled"], decided["by"]) == ("holiday", 1.0, True, "draw")
    assert case.status == "completed"


def test_a_problem_raised_at_a_holiday_visit_is_followed_up_by_the_assistant_and_checked(start_case):
    case = plan(start_case, "holiday")
    case.complete("manager_visit", "manager1", **dict(DOOR, new_issue="reply_later", issue="希望增加节日装饰",
                                                      promised_reply_at="2026-11-26T10:00:00+08:00"))
    case.complete("second_visit", "reception1", **DOOR)
    case.complete("supervisor_check", "supervisor1", **CHECK)
    assert case.path().elements[-len(CHECKED):] == CHECKED
    assert case.human_trail() == [("manager_visit", "manager", "manager1"), ("second_visit", "reception", "reception1"),
                                  ("supervisor_check", "cs_supervisor", "supervisor1")]


@pytest.mark.parametrize("kind", ["move_in", "after_emergency"])
def test_move_in_and_after_emergency_visits_by_the_assistant_a_door_visit_needs_the_signature(start_case, kind):
    case = plan(start_case, kind, related_case="RH-20261101-0001")
    with pytest.raises(FormInvalid) as refused:
        case.complete("assistant_visit", "reception1", **dict(DOOR, resident_signature=False))
    assert [e.field for e in refused.value.errors] == ["resident_signature"]
    case.complete("assistant_visit", "reception1", **PHONE)
    assert submitted(case, "assistant_visit")[0]["phone_visit_mark"] == "电话回访"  # set by the choice, not typed
    case.complete("supervisor_check", "supervisor1", **CHECK)
    assert case.path().elements == HEAD + ["assistant_visit"] + AFTER_VISIT + CHECKED
    assert case.human_trail() == [("assistant_visit", "reception", "reception1")] + CHECKED_TRAIL
    assert [d["category"] for d in decisions(case)] == [kind]
    assert case.status == "completed"


def test_a_community_event_visit_drawn_is_made_within_a_month_by_the_clerk(start_drawn_case, runtime, sla_limit):
    case = start_drawn_case("customer_visit", {**PLAN, "visit_kind": "community_event", "event_title": "中秋游园"},
                            as_user="supervisor1", category="community_event")
    assert case.task("community_visit").due_at == runtime.clock.now() + sla_limit("visit.community_event")
    assert sla_limit("visit.community_event").days in (30, 31)
    case.complete("community_visit", "reception1", **PHONE)
    case.complete("supervisor_check", "supervisor1", **CHECK)
    assert case.path().elements == HEAD + ["community_visit"] + AFTER_VISIT + CHECKED
    assert case.human_trail() == [("community_visit", "reception", "reception1")] + CHECKED_TRAIL
    assert decisions(case)[0]["category"] == "community_event" and decisions(case)[0]["rate"] == 0.1


def test_a_community_event_visit_not_drawn_ends_at_once(start_drawn_case, month_tally):
    case = start_drawn_case("customer_visit", {**PLAN, "visit_kind": "community_event"}, as_user="supervisor1",
                            category="community_event", sampled=False)
    assert case.path().elements == ["start", "decide_followup", "gw_sampled", "end_not_sampled"]
    assert case.path().flows == ["Flow_start", "Flow_decide_followup", "Flow_not_sampled"]
    assert case.human_trail() == []
    [decided] = decisions(case)
    assert (decided["sampled"], decided["by"], decided["ordinal"]) == (False, "", month_tally("community_event")[0])
    assert case.status == "completed"


def test_an_overdue_visit_is_chased_by_the_supervisor_and_still_made(start_case, sla_limit):
    case = plan(start_case, "move_in")
    limit = sla_limit("visit.planned")
    assert case.wait(seconds=limit.total_seconds() - 60) == 0
    assert case.wait(minutes=2) == 1
    assert sorted(t.element_id for t in case.open_tasks()) == ["assistant_visit", "chase_visit"]
    case.complete("chase_visit", "supervisor1", overdue_reason="助理休假", action="已安排明天上门")
    case.complete("assistant_visit", "reception1", **DOOR)
    case.complete("supervisor_check", "supervisor1", **CHECK)
    assert case.path().elements == HEAD + ["timer_assistant_overdue", "chase_visit", "end_visit_chased",
                                           "assistant_visit"] + AFTER_VISIT + CHECKED
    assert case.human_trail() == [("chase_visit", "cs_supervisor", "supervisor1"),
                                  ("assistant_visit", "reception", "reception1")] + CHECKED_TRAIL


def test_a_problem_raised_again_gets_a_promised_reply_a_door_second_visit_then_phone_visits(start_case):
    case = plan(start_case, "after_emergency")
    with pytest.raises(FormInvalid) as refused:  # a later reply needs the time promised
        case.complete("assistant_visit", "reception1", **dict(DOOR, new_issue="reply_later", issue="楼道灯还是不亮"))
    assert [e.field for e in refused.value.errors] == ["promised_reply_at"]
    with pytest.raises(FormInvalid):  # not satisfied is never left without an answer
        case.complete("assistant_visit", "reception1", **dict(DOOR, visit_result="dissatisfied"))
    case.complete("assistant_visit", "reception1", **dict(DOOR, visit_result="dissatisfied", **RAISED))
    with pytest.raises(FormInvalid) as refused:  # the second visit is at the door (1.9)
        case.complete("second_visit", "reception1", **dict(PHONE, resident_signature=True))
    assert [e.field for e in refused.value.errors] == ["visit_mode"]
    case.complete("second_visit", "reception1", **dict(DOOR, **dict(RAISED, issue="灯修好了但又闪")))
    case.complete("further_visit", "reception1", **PHONE)  # the third may be by phone
    case.complete("supervisor_check", "supervisor1", **CHECK)
    path = case.path()
    assert path.elements == HEAD + ["assistant_visit"] + AFTER_VISIT + ["gw_which_visit", "second_visit"] + (
        AFTER_VISIT + ["gw_which_visit", "further_visit"] + AFTER_VISIT + CHECKED)
    assert path.flows == HEAD_FLOWS + ["Flow_assistant", "Flow_assistant_visit", "Flow_visit_merge",
                                       "Flow_count_visit", "Flow_reply_later", "Flow_second", "Flow_second_visit",
                                       "Flow_visit_merge", "Flow_count_visit", "Flow_reply_later", "Flow_further",
                                       "Flow_further_visit", "Flow_visit_merge", "Flow_count_visit"] + CHECKED_FLOWS
    assert case.human_trail() == [("assistant_visit", "reception", "reception1"),
                                  ("second_visit", "reception", "reception1"),
                                  ("further_visit", "reception", "reception1")] + CHECKED_TRAIL
    assert submitted(case, "further_visit")[0]["phone_visit_mark"] == "电话回访"


def test_a_reply_not_made_by_the_promised_time_is_chased(start_case, runtime):
    case = plan(start_case, "move_in")
    case.complete("assistant_visit", "reception1", **dict(DOOR, **RAISED))
    assert case.task("second_visit")
    assert case.wait(days=2) == 0  # before the promised time
    assert case.wait(days=2) == 1
    assert sorted(t.element_id for t in case.open_tasks()) == ["chase_reply", "second_visit"]
    case.complete("chase_reply", "supervisor1", overdue_reason="材料未到", action="今天下午上门答复")
    case.complete("second_visit", "reception1", **DOOR)
    case.complete("supervisor_check", "supervisor1", **CHECK)
    elements = case.path().elements
    assert ["timer_second_overdue", "chase_reply", "end_reply_chased"] == elements[
        elements.index("timer_second_overdue"):elements.index("timer_second_overdue") + 3]
    assert case.human_trail()[1] == ("chase_reply", "cs_supervisor", "supervisor1")
    assert case.status == "completed"


def test_the_same_problem_answered_by_an_open_letter_kept_in_the_visit_file(start_case):
    case = plan(start_case, "after_emergency")
    case.complete("assistant_visit", "reception1", **dict(DOOR, new_issue="open_letter", issue="停水通知太晚"))
    with pytest.raises(FormInvalid) as refused:
        case.complete("file_open_letter", "supervisor1", letter_number="GKX-2026-11", letter_text="致全体住户")
    assert [e.field for e in refused.value.errors] == ["filed"]
    case.complete("file_open_letter", "supervisor1", letter_number="GKX-2026-11", letter_text="致全体住户",
                  filed=True)
    case.complete("supervisor_check", "supervisor1", **CHECK)
    path = case.path()
    assert path.elements == HEAD + ["assistant_visit"] + AFTER_VISIT + ["file_open_letter"] + CHECKED
    assert path.flows[-5:] == ["Flow_open_letter", "Flow_file_open_letter", "Flow_check_merge", "Flow_check",
                               "Flow_supervisor_check"]
    assert case.human_trail() == [("assistant_visit", "reception", "reception1"),
                                  ("file_open_letter", "cs_supervisor", "supervisor1")] + CHECKED_TRAIL

"""Scenario tests of processes/customer_visit.bpmn (客户拜访与回访, 001/第2篇 1.2, 1.6–1.8): one per path."""

import pytest

from engine.errors import FormInvalid

PLAN = {"resident": "林先生", "unit": "5栋3楼302"}
CHECK = dict(check_opinion="回访及时，记录完整", signed=True)


def test_a_holiday_visit_is_organised_by_the_manager(start_case):
    case = start_case("customer_visit", {**PLAN, "visit_kind": "holiday"}, as_user="supervisor1")
    assert case.reference.startswith("HF-")
    case.complete("manager_visit", "manager1", visit_mode="door", resident_signature=True, visit_record="春节慰问")
    case.complete("supervisor_check", "supervisor1", **CHECK)
    assert case.path().elements == ["start", "gw_kind", "manager_visit", "gw_kind_merge", "supervisor_check", "end"]
    assert case.human_trail() == [("manager_visit", "manager", "manager1"),
                                  ("supervisor_check", "cs_supervisor", "supervisor1")]
    assert case.status == "completed"


@pytest.mark.parametrize("kind", ["move_in", "after_emergency"])
def test_move_in_and_after_emergency_visits_by_the_assistant_a_door_visit_needs_the_signature(start_case, kind):
    case = start_case("customer_visit", {**PLAN, "visit_kind": kind, "related_case": "RH-20261101-0001"},
                      as_user="supervisor1")
    with pytest.raises(FormInvalid) as refused:
        case.complete("assistant_visit", "reception1", visit_mode="door", visit_record="住户满意")
    assert [e.field for e in refused.value.errors] == ["resident_signature"]
    case.complete("assistant_visit", "reception1", visit_mode="phone", visit_record="电话回访：住户满意")
    case.complete("supervisor_check", "supervisor1", **CHECK)
    assert case.path().elements == ["start", "gw_kind", "assistant_visit", "gw_kind_merge", "supervisor_check", "end"]
    assert case.human_trail() == [("assistant_visit", "reception", "reception1"),
                                  ("supervisor_check", "cs_supervisor", "supervisor1")]
    assert case.status == "completed"

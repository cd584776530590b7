"""Scenario test of processes/visit_plan.bpmn (月度回访计划, 001/第2篇 1.2): the CS supervisor
plans the month's visits one by one, and each becomes a visit case for its visitor."""

import pytest
from sqlalchemy import select

from engine.audit.events import EventType
from engine.errors import FormInvalid
from engine.store.models import Instance
from tests.scenario.conftest import Case

PLAN = dict(month="2026-12", visits=[
    {"visit_kind": "holiday", "resident": "林先生", "unit": "5栋302"},
    {"visit_kind": "move_in", "resident": "王女士", "unit": "6栋101", "phone": "13800000001"},
    {"visit_kind": "after_emergency", "resident": "陈先生", "unit": "3栋1203", "related_case": "JS-20261120-0001"},
])
DOOR = dict(visit_mode="door", resident_signature=True, visit_result="satisfied", visit_record="满意",
            new_issue="none")


def test_the_supervisors_plan_arranges_each_visit_for_its_visitor(start_case, runtime):
    plan = start_case("visit_plan", PLAN, as_user="supervisor1")
    assert plan.reference.startswith("HP-")
    assert plan.path().elements == ["start", "open_visits", "end"]
    assert plan.status == "completed"
    references = [e.data["reference"] for e in plan.events(EventType.CASE_HANDED_OVER)]
    with runtime.db.session() as session:
        ids = {r.reference: r.id for r in session.scalars(select(Instance).where(Instance.reference.in_(references)))}
    visits = [Case(runtime, ids[r], r) for r in references]
    assert [[t.element_id for t in v.open_tasks()] for v in visits] == [
        ["manager_visit"], ["assistant_visit"], ["assistant_visit"]]
    started = [v.events(EventType.INSTANCE_STARTED)[0].data for v in visits]
    assert [s["handed_over_from"] for s in started] == [plan.reference] * 3
    assert [(s["data"]["visit_kind"], s["data"]["resident"], s["data"]["plan_month"]) for s in started] == [
        ("holiday", "林先生", "2026-12"), ("move_in", "王女士", "2026-12"), ("after_emergency", "陈先生", "2026-12")]
    assert started[2]["data"]["related_case"] == "JS-20261120-0001"

    visits[0].complete("manager_visit", "manager1", **DOOR)  # the manager's own visit: nobody checks it
    visits[1].complete("assistant_visit", "reception1", **DOOR)
    visits[1].complete("supervisor_check", "supervisor1", check_opinion="回访到位", signed=True)
    assert visits[0].human_trail() == [("manager_visit", "manager", "manager1")]
    assert visits[1].human_trail() == [("assistant_visit", "reception", "reception1"),
                                       ("supervisor_check", "cs_supervisor", "supervisor1")]
    assert [v.status for v in visits] == ["completed", "completed", "running"]


def test_a_plan_names_a_month_and_at_least_one_visit(start_case):
    with pytest.raises(FormInvalid) as refused:
        start_case("visit_plan", dict(PLAN, month="2026-13", visits=[]), as_user="supervisor1")
    assert sorted(e.field for e in refused.value.errors) == ["month", "visits"]

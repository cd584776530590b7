"""Scenario test of processes/community_event.bpmn (社区文化活动, 001/第2篇 1.5).

The clerk records the event and the residents who took part; each of them gets a
community-event visit case (customer_visit), drawn at the site's 10 % floor for the month:
at least one in ten visited within a month, the others closed as not drawn.
"""

import math

from sqlalchemy import select

from engine.audit.events import EventType
from engine.store.models import Instance
from tests.scenario.conftest import Case

PEOPLE = [{"resident": f"住户{n}", "unit": f"{n}栋1楼101", "phone": f"1380000{n:04d}"} for n in range(1, 13)]
EVENT = dict(event_title="中秋游园会", event_kind="festival", held_at="2026-11-22T21:00:00+08:00", place="中心花园",
             organiser="王文员", participants=PEOPLE)


def handed_over(runtime, case) -> list[Case]:
    """The cases `case` opened, in order."""
    references = [e.data["reference"] for e in case.events(EventType.CASE_HANDED_OVER)]
    with runtime.db.session() as session:
        rows = {r.reference: r.id for r in session.scalars(select(Instance).where(Instance.reference.in_(references)))}
    return [Case(runtime, rows[r], r) for r in references]


def test_each_participant_is_drawn_and_at_least_a_tenth_visited_within_a_month(start_case, runtime, month_tally,
                                                                                sla_limit):
    event = start_case("community_event", EVENT, as_user="reception1")
    assert event.reference.startswith("WH-")
    assert event.path().elements == ["start", "open_visits", "end"]
    assert event.status == "completed"
    visits = handed_over(runtime, event)
    assert len(visits) == len(PEOPLE)

    drawn = []
    for person, visit in zip(PEOPLE, visits, strict=True):
        [decided] = visit.events(EventType.FOLLOWUP_DECIDED)
        assert decided.data["category"] == "community_event" and decided.data["rate"] == 0.1
        start = visit.events(EventType.INSTANCE_STARTED)[0].data
        assert start["handed_over_from"] == event.reference
        assert {k: start["data"][k] for k in ("visit_kind", "resident", "unit", "event_title")} == {
            "visit_kind": "community_event", "resident": person["resident"], "unit": person["unit"],
            "event_title": "中秋游园会"}
        if decided.data["sampled"]:
            drawn.append(visit)
            assert [t.element_id for t in visit.open_tasks()] == ["community_visit"]
            assert visit.task("community_visit").due_at == runtime.clock.now() + sla_limit("visit.community_event")
        else:
            assert visit.path().elements[-1] == "end_not_sampled" and visit.status == "completed"
    assert math.ceil(0.1 * len(PEOPLE)) <= len(drawn) < len(PEOPLE)
    assert month_tally("community_event") == (len(PEOPLE), len(drawn))

    drawn[0].complete("community_visit", "reception1", visit_mode="door", resident_signature=True,
                      visit_result="satisfied", visit_record="活动组织得好", new_issue="none")
    assert drawn[0].human_trail() == [("community_visit", "reception", "reception1")]
    assert [t.element_id for t in drawn[0].open_tasks()] == ["supervisor_check"]

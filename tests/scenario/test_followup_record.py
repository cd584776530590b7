"""The monthly 《客户回访记录》 (001/第2篇 2.4) per kind of visit, and 回访处理率 (1.11).

A November at Nanshan: complaints closed and partly visited, two move-in visits (one made),
a community event whose drawn residents are not yet visited. The follow-up table has a row
per kind with its floor, the visits made of those due (to be 100 %), and the cases behind
each number; the report's section prints the same figures.
"""

from datetime import datetime, timezone

import pytest

from engine.audit.events import EventType
from engine.stats import StatsQuery, cases_behind, cell_drill, month_kpis
from tests.scenario.test_followup_quota import close_complaint

NOV = StatsQuery("2026-11", site="nanshan")
LATER = datetime(2026, 12, 5, 1, 0, tzinfo=timezone.utc)
DOOR = dict(visit_mode="door", resident_signature=True, visit_result="satisfied", visit_record="满意",
            new_issue="none")
PEOPLE = [{"resident": f"住户{n}", "unit": f"{n}栋1楼101"} for n in range(1, 11)]


def test_the_months_follow_up_record_has_a_row_per_kind_and_the_handling_rate(start_case, runtime):
    complaints = [close_complaint(start_case, "nanshan") for _ in range(4)]
    visited = [case for case, decided in complaints if decided["sampled"]][:1]
    for case in visited:
        case.complete("visit_ordinary", "reception1", visit_mode="phone", visit_result="satisfied")
    move_ins = [start_case("customer_visit", {"visit_kind": "move_in", "resident": f"业主{n}", "unit": f"{n}栋"},
                           as_user="supervisor1") for n in (1, 2)]
    move_ins[0].complete("assistant_visit", "reception1", **DOOR)
    event = start_case("community_event", dict(event_title="重阳登山", event_kind="sports",
                                               held_at="2026-11-22T12:00:00+08:00", place="梧桐山",
                                               participants=PEOPLE), as_user="reception1")
    assert len(event.events(EventType.CASE_HANDED_OVER)) == len(PEOPLE)

    with runtime.db.session() as session:
        k = month_kpis(session, NOV, LATER)
        table = k.table("followup")
        rows = {str(r["label"]): r for r in table.rows}
        assert list(rows) == ["投诉回访", "社区文化活动回访", "入伙回访", "合计"]  # the SOP's order, then the total
        sampled = sum(d["sampled"] for _, d in complaints)
        assert [rows["投诉回访"][c] for c in ("decided", "policy_rate", "sampled", "visited")] == [4, 0.5, sampled, 1]
        assert rows["投诉回访"]["handled_rate"] == 1 / sampled
        community = k.followup_kinds["community_event"]
        assert (community.decided, community.policy_rate, community.visited) == (10, pytest.approx(0.1), 0)
        assert community.sampled >= 1 and community.handled_rate == 0.0  # drawn, not yet visited
        move_in = k.followup_kinds["move_in"]
        assert (move_in.decided, move_in.sampled, move_in.visited, move_in.handled_rate) == (2, 2, 1, 0.5)
        total = rows["合计"]
        assert total["decided"] == 4 + 10 + 2 and total["visited"] == 2
        assert total["handled_rate"] == 2 / (sampled + community.sampled + 2)
        assert [c.key for c in table.columns if c.key == "handled_rate"] == ["handled_rate"]

        # every number names its cases: the move-in visit still due is the one not made
        due = cases_behind(session, NOV, cell_drill(rows["入伙回访"], column(table, "sampled")), LATER)
        made = cases_behind(session, NOV, cell_drill(rows["入伙回访"], column(table, "visited")), LATER)
        assert {c.reference for c in due} == {c.reference for c in move_ins}
        assert [c.reference for c in made] == [move_ins[0].reference]
        behind = cases_behind(session, NOV, {"followup_kind": "community_event"}, LATER)
        assert len(behind) == 10 and {c.process_id for c in behind} == {"customer_visit"}


def column(table, key):
    return next(c for c in table.columns if c.key == key)

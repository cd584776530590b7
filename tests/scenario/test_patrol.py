"""Scenario tests of processes/patrol.bpmn (巡楼, 001/第1篇 2.2–2.10, 2.15): one test per path.

The 物业助理 walks the round per plan and signs in; each kind of finding has its step. A
broken public facility, entered on the round's sheet, opens a public-facility repair case of
its own (repair, 001/第8篇 4.2) whose order is timed by the patrol's 2 hours to engineering
(patrol.facility_report, handed over as sla_substitutes); a broken plant-room lock is
reported within 1 hour (patrol.lock_report). The round's coverage feeds the statistics.
"""

from datetime import timedelta

import pytest

from engine.errors import FormInvalid
from engine.runtime.queries import get_instance_row, list_events, list_tasks
from engine.stats import StatsQuery, month_kpis
from engine.stats.months import month_of
from tests.scenario.conftest import Case

START = {"round_area": "1–3栋 1–18楼及底层商铺", "planned_checkpoints": 12}
NOTHING = dict(broken_facility=False, open_doors=False, cleaning_issue=False, decoration_violation=False,
               safety_hazard=False, disorder=False)
ROUND = dict(checkpoints_visited=12, on_schedule=True)
LIGHT = dict(facility_location="3栋12楼走廊", facility_problem="走廊灯不亮", reporter_phone="13800000001")


def test_a_round_without_findings_records_its_coverage(start_case):
    case = start_case("patrol", START)
    assert case.reference.startswith("XL-")
    case.complete("walk_round", "reception1", **NOTHING, checkpoints_visited=11, on_schedule=False)
    assert case.path().elements == ["start", "walk_round", "gw_findings", "gw_findings_join", "end"]
    assert case.path().flows == ["Flow_start", "Flow_walk_round", "Flow_no_findings", "Flow_findings_join"]
    completed = [e for e in case.events("task_completed") if e.element_id == "walk_round"]
    assert case.human_trail() == [("walk_round", "reception", "reception1")]
    assert completed[0].data["submitted"]["checkpoints_visited"] == 11  # the round's coverage, for the statistics
    assert case.status == "completed"


def _handed_repair(case, runtime) -> Case:
    """The public-facility repair case the patrol opened (a case of its own, citing the patrol)."""
    handed = case.events("case_handed_over")
    assert [(e.element_id, e.data["reference"][:3]) for e in handed] == [("repair", "BX-")]
    with runtime.db.session() as session:
        row = get_instance_row(session, handed[0].data["reference"])
        started = list_events(session, row.id)[0]
    assert started.data["handed_over_from"] == case.reference
    return Case(runtime, row.id, row.reference)


def test_a_broken_light_opens_a_public_repair_case_whose_2_hour_limit_is_on_the_clock(start_case, runtime, sla_limit):
    case = start_case("patrol", START)
    found_at = runtime.clock.now()
    case.complete("walk_round", "reception1", **ROUND, **{**NOTHING, "broken_facility": True}, **LIGHT)
    assert case.path().elements == [
        "start", "walk_round", "gw_findings", "open_facility_repair", "gw_findings_join", "end"]
    assert case.status == "completed"  # the patrol round ends; the repair runs as its own case

    repair = _handed_repair(case, runtime)
    assert sla_limit("patrol.facility_report") == timedelta(hours=2)
    order = repair.task("write_order")  # in the desk's inbox with the patrol's 2 hours (001/第1篇 2.6), not 2 minutes
    assert (order.sla_key, order.due_at, order.role) == (
        "patrol.facility_report", found_at + timedelta(hours=2), "reception")
    with runtime.db.session() as session:
        inbox = [t for t in list_tasks(session, roles=["reception"]) if t.instance_id == repair.instance_id]
    assert [(t.element_id, t.due_at) for t in inbox] == [("write_order", found_at + timedelta(hours=2))]
    view = repair.task_view("write_order")  # the repair order arrives filled in, as a public facility
    assert (view.data["unit"], view.data["problem"], view.data["public_facility"], view.data["resident"]) == (
        "3栋12楼走廊", "走廊灯不亮", True, "公共区域")

    repair.wait(minutes=30)
    assert [t.element_id for t in repair.open_tasks()] == ["write_order"]  # no chase after the desk's 2 minutes
    repair.complete("write_order", "reception1", order_no="WX-0002", resident="公共区域", unit="3栋12楼走廊", phone="13800000001",
                    problem="走廊灯不亮", item="unlisted", timing="now", public_facility=True)
    assert repair.task("notify_public").due_at == runtime.clock.now() + sla_limit("repair.public_notify")
    repair.complete("notify_public", "reception1", engineering_notified=True, notified_person="周工")
    # 001/第8篇 4.2 2)–3): copy 2 of the patrol form signed for, then the supervisor sends a technician
    repair.complete("hand_over_patrol_form", "reception1", patrol_form_no="XS-1123-01", copy2_handed=True,
                    signed_by="engsup1")
    repair.complete("assign_public", "engsup1", technician="tech1")
    repair.complete("arrive_public", "tech1", arrived_at="2026-11-23T17:10:00+08:00")
    repair.complete("repair_public", "tech1", repair_notes="更换灯管", patrol_form_noted=True, site_cleaned=True)
    assert repair.path().elements == [
        "start", "write_order", "gw_public", "notify_public", "hand_over_patrol_form", "assign_public",
        "arrive_public", "repair_public", "end_public"]
    assert repair.human_trail() == [
        ("write_order", "reception", "reception1"), ("notify_public", "reception", "reception1"),
        ("hand_over_patrol_form", "reception", "reception1"), ("assign_public", "engineering_supervisor", "engsup1"),
        ("arrive_public", "technician", "tech1"), ("repair_public", "technician", "tech1"),
    ]
    with runtime.db.session() as session:  # counted: the statistics show the 2-hour target met, under the repair
        kpis = month_kpis(session, StatsQuery(month_of(found_at)), runtime.clock.now())
    by_target = {k.target: k for k in kpis.sla}
    assert (by_target["patrol.facility_report"].met, by_target["patrol.facility_report"].breached) == (1, 0)
    assert kpis.names.sla_target("patrol.facility_report").zh == "巡楼发现设施损坏报工程维修部"


def test_a_facility_not_reported_in_2_hours_is_escalated(start_case, runtime):
    case = start_case("patrol", START)
    case.complete("walk_round", "reception1", **ROUND, **{**NOTHING, "broken_facility": True}, **LIGHT)
    repair = _handed_repair(case, runtime)
    repair.wait(hours=1, minutes=59)
    assert [e.type for e in repair.events() if e.type.startswith("sla_")] == []
    assert [t.element_id for t in repair.open_tasks()] == ["write_order"]
    repair.wait(minutes=1, seconds=1)
    repair.wait(minutes=30)
    trail = [(e.type, e.element_id, e.data.get("at")) for e in repair.events() if e.type.startswith("sla_")]
    assert trail == [("sla_breached", "write_order", None), ("sla_escalated", "write_order", "100%"),
                     ("sla_escalated", "write_order", "100% + PT30M")]
    assert sorted(t.element_id for t in repair.open_tasks()) == ["chase_desk", "write_order"]  # chased at 2 hours


def test_a_broken_facility_must_say_where_and_what(start_case, runtime):
    case = start_case("patrol", START)
    with pytest.raises(FormInvalid) as refused:
        case.complete("walk_round", "reception1", **ROUND, **{**NOTHING, "broken_facility": True})
    assert {e.field for e in refused.value.errors} >= {"facility_location", "facility_problem"}
    assert case.events("case_handed_over") == []


def test_open_doors_are_closed_and_a_broken_lock_reported_within_an_hour(start_case, runtime):
    case = start_case("patrol", START)
    case.complete("walk_round", "reception1", **ROUND, **{**NOTHING, "open_doors": True})
    case.complete("close_doors", "reception1", door_location="5栋顶层风机房", doors_closed=True, broken_lock=True)
    assert case.task("report_lock").due_at == runtime.clock.now() + timedelta(hours=1)
    case.complete("report_lock", "reception1", engineering_told=True, told_whom="周工")
    assert case.path().elements == ["start", "walk_round", "gw_findings", "close_doors", "gw_lock", "report_lock",
                                    "gw_lock_merge", "gw_findings_join", "end"]
    assert case.status == "completed"


def test_a_lock_in_order_needs_no_report(start_case):
    case = start_case("patrol", START)
    case.complete("walk_round", "reception1", **ROUND, **{**NOTHING, "open_doors": True})
    case.complete("close_doors", "reception1", door_location="5栋管井房", doors_closed=True, broken_lock=False)
    assert "Flow_lock_ok" in case.path().flows and "report_lock" not in case.path().elements
    assert case.status == "completed"


def test_cleaning_decoration_hazard_and_disorder_findings_each_get_their_record(start_case):
    case = start_case("patrol", START)
    case.complete("walk_round", "reception1", **ROUND, **{**NOTHING, "cleaning_issue": True,
                  "decoration_violation": True, "safety_hazard": True, "disorder": True})
    assert sorted(t.element_id for t in case.open_tasks()) == [
        "dissuade_disorder", "handle_hazard", "record_cleaning", "record_decoration"]
    case.complete("record_cleaning", "reception1", cleaning_findings="车库地面油污", cleaning_handled="已通知环境部清洗")
    case.complete("record_decoration", "reception1", decoration_unit="2栋801", violation="拆改承重墙",
                  penalty="责令停工恢复，按违约标准处理")
    case.complete("handle_hazard", "reception1", hazard_unit="6栋302", hazard="阳台花盆无护栏", owner_told_first=True,
                  hazard_removed=True, manager_told=False)
    assert case.status == "running"  # the join waits for every finding
    case.complete("dissuade_disorder", "reception1", disorder_found="占用消防通道停车", dissuaded=True,
                  posted_on_board=True)
    assert [e for e, _, _ in case.human_trail()] == [
        "walk_round", "record_cleaning", "record_decoration", "handle_hazard", "dissuade_disorder"]
    assert case.path().elements[-2:] == ["gw_findings_join", "end"]
    assert case.status == "completed"


def test_the_rounds_coverage_feeds_the_statistics(start_case, runtime):
    """2.3–2.5: every planned checkpoint signed in, on time — counted per round in the month's figures."""
    full = start_case("patrol", START)
    full.complete("walk_round", "reception1", **NOTHING, checkpoints_visited=12, on_schedule=True)
    short = start_case("patrol", {**START, "planned_checkpoints": 8})
    short.complete("walk_round", "reception1", **NOTHING, checkpoints_visited=6, on_schedule=False)
    start_case("patrol", START)  # not walked yet: no round to count
    with runtime.db.session() as session:
        kpis = month_kpis(session, StatsQuery(month_of(runtime.clock.now())), runtime.clock.now())
    rounds = kpis.rounds
    assert (rounds.rounds, rounds.complete, rounds.on_schedule, rounds.planned, rounds.visited) == (2, 1, 1, 20, 18)
    assert rounds.coverage == 18 / 20
    (row,) = kpis.table("rounds").rows
    assert (row["label"].zh, row["rounds"], row["complete"], row["on_schedule"], row["coverage"]) == (
        "巡楼", 2, 1, 1, 18 / 20)
    assert "drill" not in row  # a round is a step: the procedure's cases would include the unwalked one

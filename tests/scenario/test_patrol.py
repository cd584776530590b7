"""Scenario tests of processes/patrol.bpmn (巡楼, 001/第1篇 2.2–2.10, 2.15): one test per path.

The 物业助理 walks the round per plan and signs in; each kind of finding has its step. A
broken public facility is reported to engineering within 2 hours (patrol.facility_report)
and opens the public-facility repair (repair, 001/第8篇 4.2) in the same case; a broken
plant-room lock is reported within 1 hour (patrol.lock_report).
"""

from datetime import timedelta

START = {"round_area": "1–3栋 1–18楼及底层商铺", "planned_checkpoints": 12}
NOTHING = dict(broken_facility=False, open_doors=False, cleaning_issue=False, decoration_violation=False,
               safety_hazard=False, disorder=False)
ROUND = dict(checkpoints_visited=12, on_schedule=True)
LIGHT = dict(facility_location="3栋12楼走廊", facility_problem="走廊灯不亮", reporter_phone="13800000001",
             patrol_sheet_filled=True)


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


def test_a_broken_light_opens_a_public_repair_with_its_2_hour_limit_on_the_clock(start_case, runtime, sla_limit):
    case = start_case("patrol", START)
    case.complete("walk_round", "reception1", **ROUND, **{**NOTHING, "broken_facility": True})
    assert sla_limit("patrol.facility_report") == timedelta(hours=2)
    assert case.task("report_facility").due_at == runtime.clock.now() + timedelta(hours=2)
    case.complete("report_facility", "reception1", **LIGHT)
    order = case.task_view("write_order")  # the repair order arrives filled in, as a public facility
    assert (order.data["unit"], order.data["problem"], order.data["public_facility"]) == (
        "3栋12楼走廊", "走廊灯不亮", True)
    case.complete("write_order", "reception1", order_no="WX-0002", resident="公共区域", unit="3栋12楼走廊",
                  phone="13800000001", problem="走廊灯不亮", item="unlisted", timing="now", public_facility=True)
    assert case.task("notify_public").due_at == runtime.clock.now() + sla_limit("repair.public_notify")
    case.complete("notify_public", "reception1", engineering_notified=True, notified_person="周工")
    # 001/第8篇 4.2 2)–3): copy 2 of the patrol form signed for, then the supervisor sends a technician
    case.complete("hand_over_patrol_form", "reception1", patrol_form_no="XS-1123-01", copy2_handed=True,
                  signed_by="engsup1")
    case.complete("assign_public", "engsup1", technician="tech1")
    case.complete("arrive_public", "tech1", arrived_at="2026-11-23T17:10:00+08:00")
    case.complete("repair_public", "tech1", repair_notes="更换灯管", patrol_form_noted=True, site_cleaned=True)

    assert case.path("repair").elements == [
        "start", "write_order", "gw_public", "notify_public", "hand_over_patrol_form", "assign_public",
        "arrive_public", "repair_public", "end_public"]
    assert case.path("patrol").elements == [
        "start", "walk_round", "gw_findings", "report_facility", "facility_repair", "gw_findings_join", "end"]
    assert case.human_trail() == [
        ("walk_round", "reception", "reception1"), ("report_facility", "reception", "reception1"),
        ("write_order", "reception", "reception1"), ("notify_public", "reception", "reception1"),
        ("hand_over_patrol_form", "reception", "reception1"), ("assign_public", "engineering_supervisor", "engsup1"),
        ("arrive_public", "technician", "tech1"), ("repair_public", "technician", "tech1"),
    ]
    assert case.status == "completed"


def test_a_facility_not_reported_in_2_hours_is_escalated(start_case):
    case = start_case("patrol", START)
    case.complete("walk_round", "reception1", **ROUND, **{**NOTHING, "broken_facility": True})
    case.wait(hours=1, minutes=59)
    assert [e.type for e in case.events() if e.type.startswith("sla_")] == []
    case.wait(minutes=1, seconds=1)
    case.wait(minutes=30)
    trail = [(e.type, e.element_id, e.data.get("at")) for e in case.events() if e.type.startswith("sla_")]
    assert trail == [("sla_breached", "report_facility", None), ("sla_escalated", "report_facility", "100%"),
                     ("sla_escalated", "report_facility", "100% + PT30M")]
    case.complete("report_facility", "reception1", **LIGHT)  # late, the repair still opens
    assert [t.element_id for t in case.open_tasks()] == ["write_order"]


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

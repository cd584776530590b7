"""Scenario tests of processes/water_leak.bpmn (浸水处理, 001/第5篇 2.4.1): one test per path."""

import pytest
from after_visit import assert_after_emergency_visit, handed_over_visits

from engine.errors import PermissionDenied

T = "2026-11-23T09:05:00+00:00"
REPORT = dict(
    caller="林先生",
    unit="5栋3楼302",
    phone="13800000000",
    description="厨房天花板往下滴水，地面积水",
    received_at=T,
)
LOG = dict(log_entry="5栋3楼302浸水，已处理完毕", closed_at=T, result_fed_back=True)


def test_wet_switches_power_cut_first_own_facility_repaired(start_case):
    case = start_case("water_leak", {"caller": "林先生"}, as_user="reception1")
    assert case.reference.startswith("JS-")
    case.complete("register_leak", "reception1", **REPORT)
    case.complete("go_to_scene", "guard1", arrived_at=T, switches_wet=True, wet_switches="厨房插座")
    # with wet switches the only open task is cutting the power
    assert [t.element_id for t in case.open_tasks()] == ["cut_power"]
    case.complete("cut_power", "guard1", power_cut=True, power_cut_at=T, breaker="302户配电箱总闸")
    case.complete(
        "stop_water",
        "guard1",
        action_taken="close_valve",
        valve_location="厨房水表阀",
        source_type="own_facility",
        escalation="none",
    )
    case.complete("repair_facility", "tech1", facility="厨房给水管", repair_notes="更换接头", repaired_at=T)
    case.complete("record_duty_log", "reception1", **LOG)

    path = case.path()
    assert path.elements == [
        "start",
        "register_leak",
        "go_to_scene",
        "gw_switches",
        "cut_power",
        "gw_switches_merge",
        "stop_water",
        "gw_complex",
        "gw_complex_merge",
        "gw_source",
        "repair_facility",
        "gw_source_merge",
        "record_duty_log",
        "gw_resident_reported",
        "arrange_after_visit",  # the resident who reported it is visited afterwards (001/第2篇 1.6)
        "end",
    ]
    assert path.flows == [
        "Flow_start",
        "Flow_register_leak",
        "Flow_go_to_scene",
        "Flow_switches_wet",
        "Flow_cut_power",
        "Flow_switches_merge",
        "Flow_stop_water",
        "Flow_not_complex",
        "Flow_complex_merge",
        "Flow_own_facility",
        "Flow_repair_facility",
        "Flow_source_merge",
        "Flow_record_duty_log",
        "Flow_resident_reported",
        "Flow_arrange_after_visit",
    ]
    trail = case.human_trail()
    assert trail == [
        ("register_leak", "reception", "reception1"),
        ("go_to_scene", "guard", "guard1"),
        ("cut_power", "guard", "guard1"),
        ("stop_water", "guard", "guard1"),
        ("repair_facility", "technician", "tech1"),
        ("record_duty_log", "reception", "reception1"),
    ]
    on_site = [e for e, _, _ in trail if e not in ("register_leak", "go_to_scene")]
    assert on_site[0] == "cut_power"  # power is cut before anything else is done on site
    assert path.elements.index("cut_power") < path.elements.index("stop_water")
    assert case.status == "completed"


def test_dry_switches_complex_scene_engineering_upstairs_leak(start_case):
    case = start_case("water_leak", {"caller": "林先生"}, as_user="reception1")
    case.complete("register_leak", "reception1", **REPORT)
    case.complete("go_to_scene", "guard1", arrived_at=T, switches_wet=False)
    assert [t.element_id for t in case.open_tasks()] == ["stop_water"]
    case.complete(
        "stop_water",
        "guard2",
        action_taken="not_stopped",
        source_type="upstairs",
        escalation="engineering",
        scene_notes="楼上402户无人，水从天花板渗下",
    )
    case.complete("engineering_handle", "engsup1", technicians="吴师傅", handling_notes="关闭402户入户总阀")
    case.complete(
        "contact_upstairs",
        "reception1",
        upstairs_unit="5栋4楼402",
        upstairs_contacted=True,
        agreed_action="402户业主回家维修并协商赔偿",
    )
    case.complete("record_duty_log", "reception1", **LOG)

    path = case.path()
    assert path.elements == [
        "start",
        "register_leak",
        "go_to_scene",
        "gw_switches",
        "gw_switches_merge",
        "stop_water",
        "gw_complex",
        "engineering_handle",
        "gw_complex_merge",
        "gw_source",
        "contact_upstairs",
        "gw_source_merge",
        "record_duty_log",
        "gw_resident_reported",
        "arrange_after_visit",  # the resident who reported it is visited afterwards (001/第2篇 1.6)
        "end",
    ]
    assert path.flows == [
        "Flow_start",
        "Flow_register_leak",
        "Flow_go_to_scene",
        "Flow_switches_dry",
        "Flow_switches_merge",
        "Flow_stop_water",
        "Flow_call_engineering",
        "Flow_engineering_handle",
        "Flow_complex_merge",
        "Flow_upstairs",
        "Flow_contact_upstairs",
        "Flow_source_merge",
        "Flow_record_duty_log",
        "Flow_resident_reported",
        "Flow_arrange_after_visit",
    ]
    assert "cut_power" not in path.elements
    assert case.human_trail() == [
        ("register_leak", "reception", "reception1"),
        ("go_to_scene", "guard", "guard1"),
        ("stop_water", "guard", "guard2"),
        ("engineering_handle", "engineering_supervisor", "engsup1"),
        ("contact_upstairs", "reception", "reception1"),
        ("record_duty_log", "reception", "reception1"),
    ]
    assert case.status == "completed"


def test_security_supervisor_takes_the_complex_scene_and_corrects_source_to_building_defect(start_case):
    """向班长、主管报告 (001/第5篇 2.4.1 3)): the guards' own supervisor (护管部主管), not the CS supervisor."""
    case = start_case("water_leak", {"caller": "林先生"}, as_user="reception1")
    case.complete("register_leak", "reception1", **REPORT)
    case.complete("go_to_scene", "guard1", arrived_at=T, switches_wet=False)
    case.complete(
        "stop_water",
        "guard1",
        action_taken="clear_drain",
        source_type="own_facility",
        escalation="supervisor",
    )
    assert case.task("supervisor_handle").role == "security_supervisor"
    with pytest.raises(PermissionDenied):
        case.complete("supervisor_handle", "supervisor1", supervisor_instructions="客服部主管不是护管员的主管")
    # the supervisor finds that the water seeps through the outer wall: a building defect
    case.complete(
        "supervisor_handle",
        "secsup1",
        supervisor_instructions="外墙渗水，属房屋质量问题",
        source_type="building_defect",
    )
    case.complete("notify_developer", "supervisor1", developer_contact="开发商工程部 李工", notified_at=T)
    case.complete("record_duty_log", "reception1", **LOG)

    path = case.path()
    assert path.elements == [
        "start",
        "register_leak",
        "go_to_scene",
        "gw_switches",
        "gw_switches_merge",
        "stop_water",
        "gw_complex",
        "supervisor_handle",
        "gw_complex_merge",
        "gw_source",
        "notify_developer",
        "gw_source_merge",
        "record_duty_log",
        "gw_resident_reported",
        "arrange_after_visit",  # the resident who reported it is visited afterwards (001/第2篇 1.6)
        "end",
    ]
    assert path.flows == [
        "Flow_start",
        "Flow_register_leak",
        "Flow_go_to_scene",
        "Flow_switches_dry",
        "Flow_switches_merge",
        "Flow_stop_water",
        "Flow_report_supervisor",
        "Flow_supervisor_handle",
        "Flow_complex_merge",
        "Flow_building_defect",
        "Flow_notify_developer",
        "Flow_source_merge",
        "Flow_record_duty_log",
        "Flow_resident_reported",
        "Flow_arrange_after_visit",
    ]
    assert case.human_trail() == [
        ("register_leak", "reception", "reception1"),
        ("go_to_scene", "guard", "guard1"),
        ("stop_water", "guard", "guard1"),
        ("supervisor_handle", "security_supervisor", "secsup1"),
        ("notify_developer", "cs_supervisor", "supervisor1"),
        ("record_duty_log", "reception", "reception1"),
    ]
    assert case.status == "completed"


def test_the_resident_who_reported_the_leak_is_visited_afterwards(start_case):
    """突发事件处理完毕后回访 (001/第2篇 1.6): the case opens the visit of the reporting resident."""
    case = start_case("water_leak", {"caller": "林先生"}, as_user="reception1")
    case.complete("register_leak", "reception1", **REPORT)
    case.complete("go_to_scene", "guard1", arrived_at=T, switches_wet=False)
    case.complete("stop_water", "guard1", action_taken="close_valve", source_type="own_facility", escalation="none")
    assert handed_over_visits(case) == []  # not before the leak is dealt with
    case.complete("repair_facility", "tech1", facility="厨房给水管", repair_notes="更换接头", repaired_at=T)
    case.complete("record_duty_log", "reception1", **LOG)

    assert case.path().elements[-4:] == ["record_duty_log", "gw_resident_reported", "arrange_after_visit", "end"]
    assert case.path().flows[-3:] == ["Flow_record_duty_log", "Flow_resident_reported", "Flow_arrange_after_visit"]
    assert case.human_trail()[-1] == ("record_duty_log", "reception", "reception1")
    assert_after_emergency_visit(case, resident="林先生", unit=REPORT["unit"])


def test_a_leak_found_on_patrol_without_a_reporter_opens_no_visit(start_case):
    case = start_case("water_leak", {}, as_user="guard1")
    case.complete("register_leak", "reception1", unit="5栋地下车库", description="消防管接头漏水")
    case.complete("go_to_scene", "guard1", arrived_at=T, switches_wet=False)
    case.complete("stop_water", "guard1", action_taken="close_valve", source_type="own_facility", escalation="none")
    case.complete("repair_facility", "tech1", facility="消防管", repair_notes="更换接头", repaired_at=T)
    case.complete("record_duty_log", "reception1", **LOG)

    assert case.path().elements[-3:] == ["record_duty_log", "gw_resident_reported", "end"]
    assert case.path().flows[-2:] == ["Flow_record_duty_log", "Flow_no_resident"]
    assert handed_over_visits(case) == []
    assert case.status == "completed"

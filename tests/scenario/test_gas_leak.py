"""Scenario tests of processes/gas_leak.bpmn (漏气处理, 001/第5篇 2.4.5 2)): one test per path.

Poisoned people go through the emergency_patient call activity, a fire through the
incident call activity (with incident_type "fire"); the called processes' elements
are in the same audit trail, their events carrying data["process"].
"""


from after_visit import assert_after_emergency_visit, handed_over_visits
from emergency_path import (
    EP_HOSPITAL_ELEMENTS,
    EP_HOSPITAL_FLOWS,
    EP_HOSPITAL_TRAIL,
    T,
    send_victims_to_hospital,
)

LOG = dict(log_entry="漏气已处理完毕", closed_at=T)
SAFETY_WORDS = ("电源", "打火机", "电话", "对讲机", "电筒", "湿毛巾")

def close_and_ventilate(case):
    case.complete(
        "close_valve",
        "guard1",
        valve_type="bottle_valve",
        valve_closed=True,
        safety_rules_kept=True,
        closed_at=T,
    )
    case.complete("open_windows", "guard1", windows_opened=True, ventilated_at=T)


def test_known_location_valve_closed_no_casualties(start_case):
    case = start_case("gas_leak", {}, as_user="guard1")
    assert case.reference.startswith("QX-")
    case.complete(
        "locate_leak",
        "guard1",
        location_known=True,
        unit="3栋501厨房",
        leak_cause="液化气瓶软管老化",
        found_at=T,
    )
    view = case.task_view("close_valve")
    for word in SAFETY_WORDS:  # the safety rules are shown with the task
        assert word in view.instructions, word
    close_and_ventilate(case)
    case.complete("assess_aftermath", "guard1", poisoned_people=False, fire_broke_out=False)
    case.complete("record_duty_log", "reception1", **LOG)

    path = case.path()
    assert path.elements == [
        "start",
        "locate_leak",
        "gw_location",
        "close_valve",
        "open_windows",
        "gw_location_merge",
        "assess_aftermath",
        "gw_aftermath",
        "gw_aftermath_join",
        "record_duty_log",
        "gw_resident_reported",  # no resident reported it: no visit
        "end",
    ]
    assert path.flows == [
        "Flow_start",
        "Flow_locate_leak",
        "Flow_location_known",
        "Flow_close_valve",
        "Flow_open_windows",
        "Flow_location_merge",
        "Flow_assess_aftermath",
        "Flow_no_aftermath",
        "Flow_aftermath_join",
        "Flow_record_duty_log",
        "Flow_no_resident",
    ]
    assert case.human_trail() == [
        ("locate_leak", "guard", "guard1"),
        ("close_valve", "guard", "guard1"),
        ("open_windows", "guard", "guard1"),
        ("assess_aftermath", "guard", "guard1"),
        ("record_duty_log", "reception", "reception1"),
    ]
    assert case.status == "completed"


def test_unknown_location_withdraw_before_report_poisoned_to_hospital(start_case):
    case = start_case("gas_leak", {}, as_user="guard1")
    case.complete("locate_leak", "guard1", location_known=False, unit="6栋5楼走廊", leak_cause="不明")
    # withdrawing is the only thing that can be done first
    assert [t.element_id for t in case.open_tasks()] == ["withdraw_to_safety"]
    case.complete("withdraw_to_safety", "guard1", withdrawn=True, safe_place="6栋楼下空地", withdrawn_at=T)
    case.complete(
        "report_superiors",
        "guard1",
        reporter="赵刚",
        report_method="radio",
        gas_company_informed=True,
        gas_company_notes="燃气公司20分钟到场",
    )
    case.complete(
        "superior_instruct",
        "secsup1",
        superior_instructions="关闭6栋总气闸和5楼电闸，疏散5楼住户",
        cut_power_ordered=True,
        cut_gas_ordered=True,
        evacuation_ordered=True,
    )
    case.complete(
        "evacuate_and_isolate",
        "guard2",
        measures_taken="已关闭总气闸和5楼电闸，疏散12人",
        people_evacuated=12,
    )
    case.complete(
        "assess_aftermath",
        "guard1",
        poisoned_people=True,
        fire_broke_out=False,
        aftermath_notes="一名老人昏迷",
    )
    assert [t.element_id for t in case.open_tasks()] == ["choose_help"]  # emergency_patient has started
    send_victims_to_hospital(case, "6栋5楼502")
    case.complete("record_duty_log", "reception1", **LOG)

    path = case.path()
    assert path.elements == [
        "start",
        "locate_leak",
        "gw_location",
        "withdraw_to_safety",
        "report_superiors",
        "superior_instruct",
        "evacuate_and_isolate",
        "gw_location_merge",
        "assess_aftermath",
        "gw_aftermath",
        *EP_HOSPITAL_ELEMENTS,
        "treat_poisoned",
        "gw_aftermath_join",
        "record_duty_log",
        "gw_resident_reported",  # no resident reported it: no visit
        "end",
    ]
    assert path.elements.index("withdraw_to_safety") < path.elements.index("report_superiors")
    assert path.flows == [
        "Flow_start",
        "Flow_locate_leak",
        "Flow_location_unknown",
        "Flow_withdraw",
        "Flow_report_superiors",
        "Flow_superior_instruct",
        "Flow_evacuate",
        "Flow_location_merge",
        "Flow_assess_aftermath",
        "Flow_poisoned",
        *EP_HOSPITAL_FLOWS,
        "Flow_treat_poisoned",
        "Flow_aftermath_join",
        "Flow_record_duty_log",
        "Flow_no_resident",
    ]
    assert case.path("emergency_patient").elements == EP_HOSPITAL_ELEMENTS
    trail = case.human_trail()
    assert trail == [
        ("locate_leak", "guard", "guard1"),
        ("withdraw_to_safety", "guard", "guard1"),
        ("report_superiors", "guard", "guard1"),
        ("superior_instruct", "security_supervisor", "secsup1"),
        ("evacuate_and_isolate", "guard", "guard2"),
        ("assess_aftermath", "guard", "guard1"),
        *EP_HOSPITAL_TRAIL,
        ("record_duty_log", "reception", "reception1"),
    ]
    assert [e for e, _, _ in trail].index("withdraw_to_safety") < [e for e, _, _ in trail].index(
        "report_superiors"
    )
    assert case.status == "completed"


def test_fire_from_leak_calls_incident_as_fire(start_case):
    case = start_case("gas_leak", {}, as_user="guard1")
    case.complete("locate_leak", "guard1", location_known=True, unit="3栋501厨房", leak_cause="灶具接口漏气")
    close_and_ventilate(case)
    case.complete("assess_aftermath", "guard1", poisoned_people=False, fire_broke_out=True)
    # the incident process starts with incident_type "fire" in its data
    assert [t.element_id for t in case.open_tasks()] == ["register_incident"]
    assert case.task_view("register_incident").data["incident_type"] == "fire"
    case.complete(
        "register_incident",
        "reception1",
        incident_type="fire",
        unit="3栋501",
        description="漏气引发厨房起火",
        serious=True,
    )
    case.complete("dispatch_guards", "seclead1", guards=["赵刚", "孙伟"], emergency_assembly=True)
    case.complete("manager_command", "manager1", manager_instructions="组织灭火，疏散3栋住户")
    case.complete(
        "supervisor_instruct", "secsup1", supervisor_instructions="报119，疏散", external_call="fire_119"
    )
    case.complete("call_external", "reception1", called_at=T, call_notes="已拨119")
    case.complete(
        "handle_on_site",
        "guard1",
        actions=["contain", "evacuate", "assist_authorities"],
        casualties=0,
        scene_report="消防到场扑灭",
    )
    case.complete(
        "record_duty_log", "reception1", log_entry="3栋501漏气起火，已扑灭", closed_at=T
    )  # incident's
    assert [t.element_id for t in case.open_tasks()] == ["record_duty_log"]  # gas_leak's own entry
    case.complete("record_duty_log", "reception1", **LOG)

    incident_elements = [
        "start",
        "register_incident",
        "dispatch_guards",
        "gw_serious",
        "manager_command",
        "gw_serious_merge",
        "supervisor_instruct",
        "gw_external",
        "call_external",
        "gw_external_merge",
        "handle_on_site",
        "gw_poisoning",
        "gw_poisoning_merge",
        "record_duty_log",
        "end",
    ]
    path = case.path()
    assert path.elements == [
        "start",
        "locate_leak",
        "gw_location",
        "close_valve",
        "open_windows",
        "gw_location_merge",
        "assess_aftermath",
        "gw_aftermath",
        "set_fire_type",
        *incident_elements,
        "fire_incident",
        "gw_aftermath_join",
        "record_duty_log",
        "gw_resident_reported",  # no resident reported it: no visit
        "end",
    ]
    assert path.flows == [
        "Flow_start",
        "Flow_locate_leak",
        "Flow_location_known",
        "Flow_close_valve",
        "Flow_open_windows",
        "Flow_location_merge",
        "Flow_assess_aftermath",
        "Flow_fire",
        "Flow_set_fire_type",
        "Flow_start",
        "Flow_register_incident",
        "Flow_dispatch_guards",
        "Flow_serious",
        "Flow_manager_command",
        "Flow_serious_merge",
        "Flow_supervisor_instruct",
        "Flow_call_external",
        "Flow_called_external",
        "Flow_external_merge",
        "Flow_handle_on_site",
        "Flow_not_poisoning",
        "Flow_poisoning_merge",
        "Flow_record_duty_log",
        "Flow_fire_incident",
        "Flow_aftermath_join",
        "Flow_record_duty_log",
        "Flow_no_resident",
    ]
    assert case.path("incident").elements == incident_elements
    assert case.path("gas_leak").elements[-5:] == [
        "fire_incident",
        "gw_aftermath_join",
        "record_duty_log",
        "gw_resident_reported",  # no resident reported it: no visit
        "end",
    ]
    assert case.human_trail() == [
        ("locate_leak", "guard", "guard1"),
        ("close_valve", "guard", "guard1"),
        ("open_windows", "guard", "guard1"),
        ("assess_aftermath", "guard", "guard1"),
        ("register_incident", "reception", "reception1"),
        ("dispatch_guards", "security_lead", "seclead1"),
        ("manager_command", "manager", "manager1"),
        ("supervisor_instruct", "security_supervisor", "secsup1"),
        ("call_external", "reception", "reception1"),
        ("handle_on_site", "guard", "guard1"),
        ("record_duty_log", "reception", "reception1"),
        ("record_duty_log", "reception", "reception1"),
    ]
    assert case.status == "completed"


def test_poisoned_and_fire_handled_at_the_same_time(start_case):
    """The inclusive gateway starts both call activities at once; the join waits for both."""
    case = start_case("gas_leak", {}, as_user="guard1")
    case.complete(
        "locate_leak", "guard1", location_known=True, unit="8栋203厨房", leak_cause="燃气灶接口漏气"
    )
    close_and_ventilate(case)
    case.complete("assess_aftermath", "guard1", poisoned_people=True, fire_broke_out=True)
    assert sorted(t.element_id for t in case.open_tasks()) == ["choose_help", "register_incident"]
    # the fire is handled first here; the poisoned people's case stays open meanwhile
    case.complete(
        "register_incident",
        "reception1",
        incident_type="fire",
        unit="8栋203",
        description="漏气起火",
        serious=False,
    )
    case.complete("dispatch_guards", "seclead1", guards=["孙伟"])
    case.complete("supervisor_instruct", "secsup1", supervisor_instructions="灭火", external_call="none")
    case.complete("handle_on_site", "guard2", actions=["contain"], casualties=1, scene_report="灭火器扑灭")
    case.complete("record_duty_log", "reception1", log_entry="8栋203起火已扑灭", closed_at=T)
    assert [t.element_id for t in case.open_tasks()] == ["choose_help"]  # the join still waits
    send_victims_to_hospital(case, "8栋203")
    assert [t.element_id for t in case.open_tasks()] == ["record_duty_log"]
    case.complete("record_duty_log", "reception1", **LOG)

    incident_elements = [
        "start",
        "register_incident",
        "dispatch_guards",
        "gw_serious",
        "gw_serious_merge",
        "supervisor_instruct",
        "gw_external",
        "gw_external_merge",
        "handle_on_site",
        "gw_poisoning",
        "gw_poisoning_merge",
        "record_duty_log",
        "end",
    ]
    incident_flows = [
        "Flow_start",
        "Flow_register_incident",
        "Flow_dispatch_guards",
        "Flow_not_serious",
        "Flow_serious_merge",
        "Flow_supervisor_instruct",
        "Flow_no_external",
        "Flow_external_merge",
        "Flow_handle_on_site",
        "Flow_not_poisoning",
        "Flow_poisoning_merge",
        "Flow_record_duty_log",
    ]
    path = case.path()
    # both called processes start in the same step (emergency_patient's start event first)
    assert (
        path.elements
        == [
            "start",
            "locate_leak",
            "gw_location",
            "close_valve",
            "open_windows",
            "gw_location_merge",
            "assess_aftermath",
            "gw_aftermath",
            "start",  # emergency_patient
            "set_fire_type",
            *incident_elements,
            "fire_incident",
            *EP_HOSPITAL_ELEMENTS[1:],
            "treat_poisoned",
            "gw_aftermath_join",
            "record_duty_log",
            "gw_resident_reported",  # no resident reported it: no visit
            "end",
        ]
    )
    assert (
        path.flows
        == [
            "Flow_start",
            "Flow_locate_leak",
            "Flow_location_known",
            "Flow_close_valve",
            "Flow_open_windows",
            "Flow_location_merge",
            "Flow_assess_aftermath",
            "Flow_poisoned",
            "Flow_start",  # emergency_patient
            "Flow_fire",
            "Flow_set_fire_type",
            *incident_flows,
            "Flow_fire_incident",
            *EP_HOSPITAL_FLOWS[1:],
            "Flow_treat_poisoned",
            "Flow_aftermath_join",
            "Flow_record_duty_log",
            "Flow_no_resident",
        ]
    )
    assert case.path("incident").elements == incident_elements
    assert case.path("emergency_patient").elements == EP_HOSPITAL_ELEMENTS
    assert case.path("gas_leak").elements == [
        "start",
        "locate_leak",
        "gw_location",
        "close_valve",
        "open_windows",
        "gw_location_merge",
        "assess_aftermath",
        "gw_aftermath",
        "set_fire_type",
        "fire_incident",
        "treat_poisoned",
        "gw_aftermath_join",
        "record_duty_log",
        "gw_resident_reported",  # no resident reported it: no visit
        "end",
    ]
    assert case.human_trail() == [
        ("locate_leak", "guard", "guard1"),
        ("close_valve", "guard", "guard1"),
        ("open_windows", "guard", "guard1"),
        ("assess_aftermath", "guard", "guard1"),
        ("register_incident", "reception", "reception1"),
        ("dispatch_guards", "security_lead", "seclead1"),
        ("supervisor_instruct", "security_supervisor", "secsup1"),
        ("handle_on_site", "guard", "guard2"),
        ("record_duty_log", "reception", "reception1"),
        *EP_HOSPITAL_TRAIL,
        ("record_duty_log", "reception", "reception1"),
    ]
    assert case.status == "completed"


def test_executed_path_can_be_read_per_process(start_case):
    """Element ids repeat across processes; each diagram gets only its own path."""
    case = start_case("gas_leak", {}, as_user="guard1")
    case.complete("locate_leak", "guard1", location_known=True, unit="3栋501厨房",
                  leak_cause="液化气瓶软管老化", found_at=T)
    close_and_ventilate(case)
    case.complete("assess_aftermath", "guard1", poisoned_people=True, fire_broke_out=False)
    gas_only, called = case.path("gas_leak"), case.path("emergency_patient")
    assert gas_only.elements[:2] == ["start", "locate_leak"]
    assert called.elements == ["start"] and called.flows == ["Flow_start"]
    assert set(gas_only.elements) | set(called.elements) == set(case.path().elements)
    ready = {e.element_id: e.data["process"] for e in case.events("task_ready")}
    assert ready["locate_leak"] == "gas_leak" and ready["choose_help"] == "emergency_patient"


def test_the_resident_who_reported_the_leak_is_visited_once_afterwards_though_poisoned_people_went_to_hospital(
        start_case):
    """突发事件处理完毕后回访 (001/第2篇 1.6): the gas leak opens the one visit; the emergency_patient it
    called for the poisoned leaves the visit to it (called, its case reference is the gas leak's)."""
    report = dict(caller="王女士", unit="6栋5楼502", phone="13800000000", description="楼道有很浓的煤气味")
    case = start_case("gas_leak", report, as_user="reception1")
    case.complete("locate_leak", "guard1", location_known=True, unit="6栋5楼502", leak_cause="燃气灶胶管脱落",
                  found_at=T)
    close_and_ventilate(case)
    case.complete("assess_aftermath", "guard1", poisoned_people=True, fire_broke_out=False)
    send_victims_to_hospital(case, "6栋5楼502")
    assert handed_over_visits(case) == []  # the called emergency_patient opened none
    case.complete("record_duty_log", "reception1", **LOG)

    assert case.path("emergency_patient").elements == EP_HOSPITAL_ELEMENTS  # its gateway went on to the end
    assert case.path("gas_leak").elements[-5:] == [
        "gw_aftermath_join", "record_duty_log", "gw_resident_reported", "arrange_after_visit", "end"]
    assert case.path().flows[-3:] == ["Flow_record_duty_log", "Flow_resident_reported", "Flow_arrange_after_visit"]
    assert case.human_trail()[-1] == ("record_duty_log", "reception", "reception1")
    assert_after_emergency_visit(case, resident="王女士", unit="6栋5楼502")

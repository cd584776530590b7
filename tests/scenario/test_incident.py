"""Scenario tests of processes/incident.bpmn (治安与灾害事件, 001/第6篇 4.6-4.7, 000 篇2): one test per path.

Poisoning calls emergency_patient; the called process's elements appear in the same
audit trail, their events carrying data["process"] == "emergency_patient".
"""


from emergency_path import (
    EP_HOSPITAL_ELEMENTS,
    EP_HOSPITAL_FLOWS,
    EP_HOSPITAL_TRAIL,
    T,
    send_victims_to_hospital,
)

LOG = dict(log_entry="事件处置完毕，已反馈当事人", closed_at=T, result_fed_back=True)

def test_ordinary_theft_no_police(start_case):
    case = start_case("incident", {"caller": "林先生"}, as_user="reception1")
    assert case.reference.startswith("SJ-")
    case.complete(
        "register_incident",
        "reception1",
        incident_type="theft",
        unit="7栋地下车库",
        caller="林先生",
        phone="13800000000",
        description="电动车被盗",
        serious=False,
        received_at=T,
    )
    case.complete("dispatch_guards", "seclead1", guards=["赵刚"], dispatched_at=T)
    assert [t.element_id for t in case.open_tasks()] == ["supervisor_instruct"]  # no manager task
    case.complete(
        "supervisor_instruct",
        "secsup1",
        supervisor_instructions="查看监控，保护现场",
        external_call="none",
    )
    case.complete(
        "handle_on_site",
        "guard1",
        arrived_at=T,
        actions=["protect_scene"],
        casualties=0,
        scene_report="已调取监控",
    )
    case.complete("record_duty_log", "reception1", **LOG)

    path = case.path()
    assert path.elements == [
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
    assert path.flows == [
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
    assert case.human_trail() == [
        ("register_incident", "reception", "reception1"),
        ("dispatch_guards", "security_lead", "seclead1"),
        ("supervisor_instruct", "security_supervisor", "secsup1"),
        ("handle_on_site", "guard", "guard1"),
        ("record_duty_log", "reception", "reception1"),
    ]
    assert case.status == "completed"


def test_serious_robbery_manager_commands_and_police_called(start_case):
    case = start_case("incident", {}, as_user="reception1")
    case.complete(
        "register_incident",
        "reception1",
        incident_type="robbery",
        unit="3栋大堂",
        description="住户在大堂被抢劫，歹徒持刀逃离",
        serious=True,
    )
    case.complete("dispatch_guards", "seclead1", guards=["赵刚", "孙伟"], emergency_assembly=True)
    # a serious incident goes to the manager before the supervisor acts
    assert [t.element_id for t in case.open_tasks()] == ["manager_command"]
    case.complete(
        "manager_command", "manager1", manager_instructions="封锁出入口，立即报警", leadership_informed=True
    )
    case.complete(
        "supervisor_instruct",
        "secsup1",
        supervisor_instructions="封锁出入口，协助公安",
        external_call="police_110",
    )
    case.complete(
        "call_external", "reception1", called_at=T, call_notes="已拨110，派出所10分钟到", gate_guard="孙伟"
    )
    case.complete(
        "handle_on_site",
        "guard1",
        actions=["contain", "protect_scene", "assist_authorities"],
        casualties=1,
        scene_report="一人轻伤，已协助公安勘查现场",
    )
    case.complete("record_duty_log", "reception1", **LOG)

    path = case.path()
    assert path.elements == [
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
    assert path.flows == [
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
    ]
    assert case.human_trail() == [
        ("register_incident", "reception", "reception1"),
        ("dispatch_guards", "security_lead", "seclead1"),
        ("manager_command", "manager", "manager1"),
        ("supervisor_instruct", "security_supervisor", "secsup1"),
        ("call_external", "reception", "reception1"),
        ("handle_on_site", "guard", "guard1"),
        ("record_duty_log", "reception", "reception1"),
    ]
    assert case.status == "completed"


def test_poisoning_calls_emergency_patient(start_case):
    case = start_case("incident", {}, as_user="reception1")
    case.complete(
        "register_incident",
        "reception1",
        incident_type="poisoning",
        unit="2栋1101",
        description="一家三口疑似食物中毒",
        serious=False,
    )
    case.complete("dispatch_guards", "seclead1", guards=["赵刚"])
    case.complete(
        "supervisor_instruct", "secsup1", supervisor_instructions="协助送医", external_call="none"
    )
    case.complete(
        "handle_on_site", "guard1", actions=["rescue"], casualties=3, scene_report="三人呕吐，已移至通风处"
    )
    # the call activity starts emergency_patient with the incident's data
    assert [t.element_id for t in case.open_tasks()] == ["choose_help"]
    assert case.task_view("choose_help").data["unit"] == "2栋1101"
    send_victims_to_hospital(case, "2栋1101")
    assert [t.element_id for t in case.open_tasks()] == ["record_duty_log"]
    case.complete("record_duty_log", "reception1", **LOG)

    path = case.path()
    assert path.elements == [
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
        *EP_HOSPITAL_ELEMENTS,
        "treat_victims",
        "gw_poisoning_merge",
        "record_duty_log",
        "end",
    ]
    assert path.flows == [
        "Flow_start",
        "Flow_register_incident",
        "Flow_dispatch_guards",
        "Flow_not_serious",
        "Flow_serious_merge",
        "Flow_supervisor_instruct",
        "Flow_no_external",
        "Flow_external_merge",
        "Flow_handle_on_site",
        "Flow_poisoning",
        *EP_HOSPITAL_FLOWS,
        "Flow_treat_victims",
        "Flow_poisoning_merge",
        "Flow_record_duty_log",
    ]
    assert case.path("emergency_patient").elements == EP_HOSPITAL_ELEMENTS
    assert case.path("incident").elements == [
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
        "treat_victims",
        "gw_poisoning_merge",
        "record_duty_log",
        "end",
    ]
    assert case.human_trail() == [
        ("register_incident", "reception", "reception1"),
        ("dispatch_guards", "security_lead", "seclead1"),
        ("supervisor_instruct", "security_supervisor", "secsup1"),
        ("handle_on_site", "guard", "guard1"),
        *EP_HOSPITAL_TRAIL,
        ("record_duty_log", "reception", "reception1"),
    ]
    assert case.status == "completed"

"""Scenario tests of processes/incident.bpmn (治安与灾害事件, 001/第6篇 4.6-4.7, 000 篇2): one test per path.

Poisoning calls emergency_patient; the called process's elements appear in the same
audit trail, their events carrying data["process"] == "emergency_patient".
"""

from engine import audit

T = "2026-11-23T09:05:00+00:00"
LOG = dict(log_entry="事件处置完毕，已反馈当事人", closed_at=T, result_fed_back=True)

# the emergency_patient "send to hospital" path, as run inside the call activity
EP_HOSPITAL_ELEMENTS = [
    "start",
    "choose_help",
    "gw_help_type",
    "notify_security_lead",
    "dispatch_guards",
    "arrange_vehicle",
    "escort_to_hospital",
    "gw_more_help",
    "gw_more_help_merge",
    "return_and_report",
    "gw_help_merge",
    "record_case",
    "gw_major",
    "supervisor_confirm",
    "gw_report_merge",
    "end",
]
EP_HOSPITAL_FLOWS = [
    "Flow_start",
    "Flow_choose_help",
    "Flow_hospital",
    "Flow_notify_security_lead",
    "Flow_dispatch_guards",
    "Flow_arrange_vehicle",
    "Flow_escort_to_hospital",
    "Flow_more_help_no",
    "Flow_more_help_merge",
    "Flow_return_and_report",
    "Flow_help_merge",
    "Flow_record_case",
    "Flow_not_major",
    "Flow_supervisor_confirm",
    "Flow_report_merge",
]
EP_HOSPITAL_TRAIL = [
    ("choose_help", "reception", "reception1"),
    ("notify_security_lead", "reception", "reception1"),
    ("dispatch_guards", "security_lead", "seclead1"),
    ("arrange_vehicle", "reception", "reception1"),
    ("escort_to_hospital", "guard", "guard1"),
    ("return_and_report", "guard", "guard1"),
    ("record_case", "reception", "reception1"),
    ("supervisor_confirm", "cs_supervisor", "supervisor1"),
]


def send_victims_to_hospital(case, unit):
    """Play emergency_patient's send-to-hospital path (no more help, not major)."""
    case.complete(
        "choose_help",
        "reception1",
        unit=unit,
        phone="13800000000",
        condition="煤气/食物中毒，头晕呕吐",
        help_type="hospital",
        major=False,
    )
    case.complete("notify_security_lead", "reception1", security_lead_name="刘队长", lead_notified_at=T)
    case.complete("dispatch_guards", "seclead1", guards=["赵刚", "孙伟"], standby_place="patient_home")
    case.complete("arrange_vehicle", "reception1", vehicle_type="taxi")
    case.complete(
        "escort_to_hospital", "guard1", hospital_name="南山医院", family_present=True, more_help_needed=False
    )
    case.complete("return_and_report", "guard1", returned_at=T, handling_report="中毒者已送医")
    case.complete("record_case", "reception1", handling_summary="中毒者已送南山医院", closed_at=T)
    case.complete("supervisor_confirm", "supervisor1", supervisor_confirmed=True)


def completed_in(case, process):
    """Elements completed inside `process`, in order, read from the audit trail."""
    return [
        e.element_id
        for e in case.events()
        if e.type in (audit.TASK_COMPLETED, audit.ELEMENT_COMPLETED) and e.data.get("process") == process
    ]


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
        "supervisor1",
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
        ("supervisor_instruct", "cs_supervisor", "supervisor1"),
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
        "supervisor1",
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
        ("supervisor_instruct", "cs_supervisor", "supervisor1"),
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
        "supervisor_instruct", "supervisor1", supervisor_instructions="协助送医", external_call="none"
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
    assert completed_in(case, "emergency_patient") == EP_HOSPITAL_ELEMENTS
    assert completed_in(case, "incident") == [
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
        ("supervisor_instruct", "cs_supervisor", "supervisor1"),
        ("handle_on_site", "guard", "guard1"),
        *EP_HOSPITAL_TRAIL,
        ("record_duty_log", "reception", "reception1"),
    ]
    assert case.status == "completed"

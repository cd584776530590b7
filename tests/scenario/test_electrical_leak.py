"""Scenario tests of processes/electrical_leak.bpmn (漏电处理, 001/第5篇 2.4.5 1)): one test per path.

The power is cut first — by the guard at a nearby switch, by the switch-room duty electrician
when someone is electrocuted, or by engineering — then an electrocuted person is freed with an
insulating object (never by hand) and, if needed, handled by the emergency_patient call
activity; a serious leak is sealed off, a fire goes to the incident call activity as "fire",
and the desk writes the duty log.
"""

import pytest
from emergency_path import EP_HOSPITAL_ELEMENTS, EP_HOSPITAL_TRAIL, T, send_victims_to_hospital

from engine.errors import FormInvalid

FOUND = dict(location="地下车库B区", equipment="照明配电箱", switch_nearby=True, someone_electrocuted=False,
             serious_leak=False, fire_broke_out=False, found_at=T)
LOG = dict(log_entry="漏电已处理完毕", closed_at=T)
FREED = dict(insulating_object="干燥木棍", not_by_hand=True, victim_freed=True, cpr_given=False)


def test_a_switch_nearby_is_switched_off(start_case):
    case = start_case("electrical_leak", {}, as_user="guard1")
    assert case.reference.startswith("LD-")
    assert "严禁用手" in case.task_view("find_leak").instructions
    case.complete("find_leak", "guard1", **FOUND)
    case.complete("switch_off", "guard1", power_off=True, switched_off_at=T)
    case.complete("record_duty_log", "reception1", **LOG)

    path = case.path()
    assert path.elements == [
        "start", "find_leak", "gw_power", "switch_off", "gw_power_merge", "gw_victim", "gw_victim_merge",
        "gw_serious", "gw_serious_merge", "gw_fire", "gw_fire_merge", "record_duty_log", "end",
    ]
    assert path.flows == [
        "Flow_start", "Flow_find_leak", "Flow_switch_nearby", "Flow_switch_off", "Flow_power_merge", "Flow_no_victim",
        "Flow_victim_merge", "Flow_not_serious", "Flow_serious_merge", "Flow_no_fire", "Flow_fire_merge",
        "Flow_record_duty_log",
    ]
    assert case.human_trail() == [
        ("find_leak", "guard", "guard1"), ("switch_off", "guard", "guard1"),
        ("record_duty_log", "reception", "reception1"),
    ]
    assert case.status == "completed"


def test_no_switch_engineering_cuts_the_power_and_a_serious_leak_is_sealed_off(start_case):
    case = start_case("electrical_leak", {}, as_user="guard1")
    case.complete("find_leak", "guard1", **{**FOUND, "switch_nearby": False, "serious_leak": True})
    case.complete("report_engineering", "guard1", reported_to="engineering", told_whom="吴师傅")
    case.complete("engineering_handle", "tech1", power_off=True, handling="更换漏电电缆")
    case.complete("seal_off", "guard1", sealed_off=True, sealed_area="B区配电箱周围")
    case.complete("record_duty_log", "reception1", **LOG)

    assert case.path().elements == [
        "start", "find_leak", "gw_power", "report_engineering", "engineering_handle", "gw_power_merge",
        "gw_victim", "gw_victim_merge", "gw_serious", "seal_off", "gw_serious_merge", "gw_fire",
        "gw_fire_merge", "record_duty_log", "end",
    ]
    assert case.human_trail() == [
        ("find_leak", "guard", "guard1"), ("report_engineering", "guard", "guard1"),
        ("engineering_handle", "technician", "tech1"), ("seal_off", "guard", "guard1"),
        ("record_duty_log", "reception", "reception1"),
    ]
    assert case.status == "completed"


def test_electrocuted_the_duty_electrician_cuts_the_circuit_and_the_victim_goes_to_hospital(start_case):
    case = start_case("electrical_leak", {}, as_user="guard1")
    case.complete("find_leak", "guard1", **{**FOUND, "switch_nearby": False, "someone_electrocuted": True})
    assert [t.element_id for t in case.open_tasks()] == ["call_electrician"]
    case.complete("call_electrician", "guard1", electrician="配电室李工", circuit_cut=True, superior_told=True,
                  not_by_hand=True)
    before = case.events()
    with pytest.raises(FormInvalid) as refused:  # never by hand: the form does not take it
        case.complete("separate_victim", "guard1", **{**FREED, "not_by_hand": False}, needs_medical_help=True)
    assert [e.field for e in refused.value.errors] == ["not_by_hand"] and case.events() == before
    case.complete("separate_victim", "guard1", **{**FREED, "cpr_given": True}, needs_medical_help=True)
    send_victims_to_hospital(case, "地下车库B区")
    case.complete("record_duty_log", "reception1", **LOG)

    assert case.path("emergency_patient").elements == EP_HOSPITAL_ELEMENTS
    assert case.path("electrical_leak").elements == [
        "start", "find_leak", "gw_power", "call_electrician", "gw_power_merge", "gw_victim", "separate_victim",
        "gw_medical", "treat_victim", "gw_medical_merge", "gw_victim_merge", "gw_serious", "gw_serious_merge",
        "gw_fire", "gw_fire_merge", "record_duty_log", "end",
    ]
    assert case.human_trail() == [
        ("find_leak", "guard", "guard1"), ("call_electrician", "guard", "guard1"),
        ("separate_victim", "guard", "guard1"), *EP_HOSPITAL_TRAIL, ("record_duty_log", "reception", "reception1"),
    ]
    assert case.status == "completed"


def test_electrocuted_beside_a_switch_is_switched_off_then_freed(start_case):
    case = start_case("electrical_leak", {}, as_user="guard1")
    case.complete("find_leak", "guard1", **{**FOUND, "someone_electrocuted": True})
    case.complete("switch_off", "guard1", power_off=True)
    case.complete("separate_victim", "guard1", **FREED, needs_medical_help=False)
    case.complete("record_duty_log", "reception1", **LOG)
    assert case.path().elements[2:9] == [
        "gw_power", "switch_off", "gw_power_merge", "gw_victim", "separate_victim", "gw_medical", "gw_medical_merge",
    ]
    assert "Flow_no_medical" in case.path().flows
    assert [e for e, _, _ in case.human_trail()] == ["find_leak", "switch_off", "separate_victim", "record_duty_log"]
    assert case.status == "completed"


def test_a_fire_from_the_leak_calls_the_incident_procedure_as_fire(start_case):
    case = start_case("electrical_leak", {}, as_user="guard1")
    case.complete("find_leak", "guard1", **{**FOUND, "fire_broke_out": True})
    case.complete("switch_off", "guard1", power_off=True)
    assert [t.element_id for t in case.open_tasks()] == ["register_incident"]
    assert case.task_view("register_incident").data["incident_type"] == "fire"
    case.complete("register_incident", "reception1", incident_type="fire", unit="地下车库B区",
                  description="配电箱漏电起火", serious=True)
    case.complete("dispatch_guards", "seclead1", guards=["赵刚", "孙伟"], emergency_assembly=True)
    case.complete("manager_command", "manager1", manager_instructions="组织灭火")
    case.complete("supervisor_instruct", "secsup1", supervisor_instructions="报119", external_call="fire_119")
    case.complete("call_external", "reception1", called_at=T, call_notes="已拨119")
    case.complete("handle_on_site", "guard1", actions=["contain", "evacuate"], casualties=0, scene_report="已扑灭")
    case.complete("record_duty_log", "reception1", log_entry="车库配电箱起火，已扑灭", closed_at=T)  # incident's
    assert [t.element_id for t in case.open_tasks()] == ["record_duty_log"]  # the leak's own entry
    case.complete("record_duty_log", "reception1", **LOG)

    assert case.path("electrical_leak").elements[-7:] == [
        "gw_serious_merge", "gw_fire", "set_fire_type", "fire_incident", "gw_fire_merge", "record_duty_log", "end",
    ]
    assert case.path("incident").elements[:2] == ["start", "register_incident"]
    assert case.human_trail()[-1] == ("record_duty_log", "reception", "reception1")
    assert case.status == "completed"

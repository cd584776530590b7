"""The emergency-patient "send to hospital" path as other procedures' scenarios run it
inside a call activity (gas-leak and incident poisoning, acute illness, a help request): its
expected audit trail and the steps that play it. Without a requester, or called by a procedure
that visits itself (gas_leak), gw_resident_reported goes on to the end; a help request's
requester gets the after-emergency visit (001/第2篇 1.6): EP_HOSPITAL_VISITED_*."""

from __future__ import annotations

T = "2026-11-23T09:05:00+00:00"

_HEAD = ["start", "choose_help", "gw_major", "gw_major_merge", "gw_help_type", "notify_security_lead",
         "dispatch_guards", "arrange_vehicle", "gw_reach_patient", "gw_aid_done"]
_TAIL = ["gw_aid_merge", "gw_after_aid", "escort_to_hospital", "gw_more_help", "gw_more_help_merge",
         "return_and_report", "gw_help_merge", "record_case", "gw_report", "supervisor_confirm", "gw_report_merge",
         "gw_resident_reported", "end"]
_HEAD_FLOWS = ["Flow_start", "Flow_choose_help", "Flow_not_major", "Flow_major_merge", "Flow_hospital",
               "Flow_notify_security_lead", "Flow_dispatch_guards", "Flow_arrange_vehicle", "Flow_reach_patient"]
_TAIL_FLOWS = ["Flow_aid_merge", "Flow_to_escort", "Flow_escort_to_hospital", "Flow_more_help_no", "Flow_more_help_merge",
               "Flow_return_and_report", "Flow_help_merge", "Flow_record_case", "Flow_report_supervisor",
               "Flow_supervisor_confirm", "Flow_report_merge", "Flow_no_resident"]

# The guards reach the victims and give first aid first (001/第5篇 2.4.3): not critical here.
EP_HOSPITAL_ELEMENTS = [*_HEAD, "first_aid", "gw_critical", *_TAIL]
EP_HOSPITAL_FLOWS = [*_HEAD_FLOWS, "Flow_aid_needed", "Flow_first_aid", "Flow_not_critical", *_TAIL_FLOWS]
# Called for a requester (a help request): the after-emergency visit opens at the end.
EP_HOSPITAL_VISITED_ELEMENTS = [*EP_HOSPITAL_ELEMENTS[:-1], "arrange_after_visit", "end"]
EP_HOSPITAL_VISITED_FLOWS = [*EP_HOSPITAL_FLOWS[:-1], "Flow_resident_reported", "Flow_arrange_after_visit"]
# Called from acute_illness, whose guard already gave first aid: not given twice.
EP_HOSPITAL_AFTER_AID_ELEMENTS = [*_HEAD, *_TAIL]
EP_HOSPITAL_AFTER_AID_FLOWS = [*_HEAD_FLOWS, "Flow_aid_done", *_TAIL_FLOWS]

_TRAIL_HEAD = [
    ("choose_help", "reception", "reception1"),
    ("notify_security_lead", "reception", "reception1"),
    ("dispatch_guards", "security_lead", "seclead1"),
    ("arrange_vehicle", "reception", "reception1"),
]
_TRAIL_TAIL = [
    ("escort_to_hospital", "guard", "guard1"),
    ("return_and_report", "guard", "guard1"),
    ("record_case", "reception", "reception1"),
    ("supervisor_confirm", "cs_supervisor", "supervisor1"),
]
EP_HOSPITAL_TRAIL = [*_TRAIL_HEAD, ("first_aid", "guard", "guard1"), *_TRAIL_TAIL]
EP_HOSPITAL_AFTER_AID_TRAIL = [*_TRAIL_HEAD, *_TRAIL_TAIL]


def send_victims_to_hospital(case, unit):
    """Play emergency_patient's send-to-hospital path (no more help, not major, not critical)."""
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
    if "first_aid" in [t.element_id for t in case.open_tasks()]:
        case.complete("first_aid", "guard1", illness_kind="other", aid_given=["cool_airy_place"], critical=False)
    case.complete(
        "escort_to_hospital", "guard1", hospital_name="南山医院", family_present=True, more_help_needed=False
    )
    case.complete("return_and_report", "guard1", returned_at=T, handling_report="中毒者已送医")
    case.complete("record_case", "reception1", handling_summary="中毒者已送南山医院", closed_at=T)
    case.complete("supervisor_confirm", "supervisor1", supervisor_confirmed=True)

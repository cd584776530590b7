"""Scenario tests of processes/acute_illness.bpmn (急症病人现场处理, 001/第5篇 2.4.3): one test per path.

First aid by kind (fainted, fall injury, abdominal pain, other); a critical case is reported
up, the next post and the team lead come to help, and the emergency_patient call activity
calls 120 or takes the patient to hospital; the family or employer is told at the end.
"""

import pytest
from emergency_path import (
    EP_HOSPITAL_AFTER_AID_ELEMENTS,
    EP_HOSPITAL_AFTER_AID_TRAIL,
    send_victims_to_hospital,
)

SEEN = dict(patient="3栋老人王伯", location="3栋楼下花园", symptoms="突然晕倒，呼吸正常")
FAMILY = dict(told="family", contact="王先生 13800000000")


@pytest.mark.parametrize(("kind", "aid", "flow"), [
    ("fainted", "aid_fainted", "Flow_fainted"),
    ("fall_injury", "aid_fall", "Flow_fall"),
    ("abdominal_pain", "aid_abdominal", "Flow_abdominal"),
    ("other", "aid_other", "Flow_other_kind"),
])
def test_first_aid_by_kind_then_the_family_is_told(start_case, kind, aid, flow):
    case = start_case("acute_illness", {}, as_user="guard1")
    assert case.reference.startswith("JZ-")
    case.complete("assess_patient", "guard1", **SEEN, illness_kind=kind, critical=False)
    assert [t.element_id for t in case.open_tasks()] == [aid]
    assert "{{ patient }}" in case.task_view(aid).instructions
    case.complete(aid, "guard1", aid_given=True)
    case.complete("notify_family", "guard1", **FAMILY)

    path = case.path()
    assert path.elements == ["start", "assess_patient", "gw_kind", aid, "gw_kind_merge", "gw_critical",
                             "gw_critical_merge", "notify_family", "end"]
    assert flow in path.flows and "Flow_not_critical" in path.flows
    assert case.human_trail() == [("assess_patient", "guard", "guard1"), (aid, "guard", "guard1"),
                                  ("notify_family", "guard", "guard1")]
    assert case.status == "completed"


def test_critical_is_reported_the_team_lead_helps_and_the_patient_goes_to_hospital(start_case):
    case = start_case("acute_illness", {}, as_user="guard1")
    case.complete("assess_patient", "guard1", **SEEN, illness_kind="fainted", critical=True)
    case.complete("aid_fainted", "guard1", aid_given=True)
    case.complete("report_critical", "guard1", superior_told=True, neighbour_post_told=True, team_lead_told=True,
                  cpr_given=True)
    case.complete("lead_assist", "seclead1", arrived=True, helpers="孙伟")
    send_victims_to_hospital(case, "3栋楼下花园")
    case.complete("notify_family", "guard1", **FAMILY)

    assert case.path("emergency_patient").elements == EP_HOSPITAL_AFTER_AID_ELEMENTS  # its first aid is not given twice
    assert case.path("acute_illness").elements == [
        "start", "assess_patient", "gw_kind", "aid_fainted", "gw_kind_merge", "gw_critical", "report_critical",
        "lead_assist", "treat_patient", "gw_critical_merge", "notify_family", "end",
    ]
    assert case.human_trail() == [
        ("assess_patient", "guard", "guard1"), ("aid_fainted", "guard", "guard1"),
        ("report_critical", "guard", "guard1"), ("lead_assist", "security_lead", "seclead1"),
        *EP_HOSPITAL_AFTER_AID_TRAIL, ("notify_family", "guard", "guard1"),
    ]
    assert case.status == "completed"

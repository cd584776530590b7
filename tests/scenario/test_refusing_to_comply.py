"""Scenario tests of processes/refusing_to_comply.bpmn (不执行规定不听劝阻处理, 001/第5篇 2.4.6): one per path."""

import pytest

from engine.errors import FormInvalid

CORRECT = dict(violation="illegal_parking", violation_detail="在消防通道停车", stayed_calm=True, saluted=True,
               rule_stated=True)
HEAD = ["start", "correct_politely", "gw_complied"]


def test_they_comply_and_are_thanked(start_case):
    case = start_case("refusing_to_comply", {}, as_user="guard1")
    assert case.reference.startswith("BT-")
    with pytest.raises(FormInvalid) as refused:  # salute first: the form does not take it otherwise
        case.complete("correct_politely", "guard1", **{**CORRECT, "saluted": False}, complied=True)
    assert [e.field for e in refused.value.errors] == ["saluted"]
    case.complete("correct_politely", "guard1", **CORRECT, complied=True)
    case.complete("thank", "guard1", thanked=True)
    assert case.path().elements == [*HEAD, "thank", "gw_outcome_merge", "end"]
    assert case.human_trail() == [("correct_politely", "guard", "guard1"), ("thank", "guard", "guard1")]
    assert case.status == "completed"


@pytest.mark.parametrize(("outcome", "step", "user", "role", "data"), [
    ("resolved", None, None, None, None),
    ("leadership", "leadership_negotiate", "manager1", "manager", dict(negotiation_result="对方道歉，赔偿医药费")),
    ("police", "report_police", "seclead1", "security_lead", dict(police_unit="南山派出所")),
])
def test_a_persistent_refuser_is_recorded_and_the_team_lead_comes(start_case, outcome, step, user, role, data):
    case = start_case("refusing_to_comply", {}, as_user="guard1")
    case.complete("correct_politely", "guard1", **CORRECT, complied=False)
    case.complete("record_refuser", "guard1", refuser="粤B12345 车主", refusal_record="拒不挪车并辱骂", team_lead_called=True)
    case.complete("lead_assist", "seclead1", outcome=outcome, assist_notes="班长到场")
    if step:
        case.complete(step, user, **data)
    assert case.path().elements == [*HEAD, "record_refuser", "lead_assist", "gw_outcome", *([step] if step else []),
                                    "gw_outcome_merge", "end"]
    assert case.human_trail() == [
        ("correct_politely", "guard", "guard1"), ("record_refuser", "guard", "guard1"),
        ("lead_assist", "security_lead", "seclead1"), *([(step, role, user)] if step else []),
    ]
    assert case.status == "completed"

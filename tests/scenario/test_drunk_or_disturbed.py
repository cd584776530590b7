"""Scenario tests of processes/drunk_or_disturbed.bpmn (醉酒滋事、精神病人处理, 001/第5篇 2.4.4): one per path."""

import pytest

SEEN = dict(person_kind="drunk", person="中年男子，穿灰色外套", location="2栋大堂", under_watch=True)


def test_the_family_fetches_them(start_case):
    case = start_case("drunk_or_disturbed", {}, as_user="guard1")
    assert case.reference.startswith("ZJ-")
    case.complete("control_and_watch", "guard1", **SEEN, endangers_public_order=False)
    case.complete("notify_family", "guard1", family_reached="fetched", family_contact="妻子 13800000002")
    assert case.path().elements == ["start", "control_and_watch", "notify_family", "gw_public_order",
                                    "gw_police_merge", "end"]
    assert case.human_trail() == [("control_and_watch", "guard", "guard1"), ("notify_family", "guard", "guard1")]
    assert case.status == "completed"


@pytest.mark.parametrize("to_police", [True, False])
def test_endangering_public_order_goes_to_the_supervisor_who_may_hand_them_to_the_police(start_case, to_police):
    case = start_case("drunk_or_disturbed", {}, as_user="guard1")
    case.complete("control_and_watch", "guard1", **{**SEEN, "person_kind": "mentally_ill"}, endangers_public_order=True)
    case.complete("notify_family", "guard1", family_reached="not_reached")
    case.complete("supervisor_decide", "seclead1", hand_to_police=to_police, decision_notes="砸玻璃，危害公共秩序")
    if to_police:
        case.complete("send_to_police", "guard1", police_station="南山派出所")
    elements = ["start", "control_and_watch", "notify_family", "gw_public_order", "supervisor_decide", "gw_police",
                *(["send_to_police"] if to_police else []), "gw_police_merge", "end"]
    assert case.path().elements == elements
    assert case.human_trail() == [
        ("control_and_watch", "guard", "guard1"), ("notify_family", "guard", "guard1"),
        ("supervisor_decide", "security_lead", "seclead1"), *([("send_to_police", "guard", "guard1")] * to_police),
    ]
    assert case.status == "completed"

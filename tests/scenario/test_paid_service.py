"""Scenario tests of processes/paid_service.bpmn (有偿便民服务, 003 4.2.2, 001/第4篇 4.2 2)): one per path.

The charge comes from prices.yaml (price() × quantity, or the agreed price of an unlisted
item) and goes to finance's management-fee bill; staff confirm no money was taken."""

from datetime import timedelta

REQUEST = {"caller": "林先生", "unit": "5栋3楼302", "phone": "13800000000", "description": "春节前全屋清洁"}
AGREED = dict(service="indoor_cleaning", quantity=2, service_scope="全屋清洁两次", resident_agrees=True)
DONE = dict(service_done=True, no_cash_taken=True)
CONFIRMED = dict(resident_confirmed=True, satisfaction="satisfied", no_cash_taken=True)


def serve(case):
    case.complete("arrange_service", "reception1", arranged_with="环境部郑洁")
    case.complete("provide_service", "env1", **DONE)
    case.complete("confirm_completion", "reception1", **CONFIRMED)


def test_a_listed_service_is_charged_by_the_price_list_and_billed_by_finance(start_case, library):
    case = start_case("paid_service", REQUEST)
    assert case.reference.startswith("YC-")
    labels = case.task_view("agree_scope_price").form_schema["properties"]["service"]["x-enum-labels"]
    assert labels["indoor_cleaning"] == "室内清洁（80元/次）"
    case.complete("agree_scope_price", "reception1", **AGREED)
    assert case.task_view("arrange_service").data["charge"] == 160  # 80 yuan × 2
    serve(case)
    assert "{{ charge }}" in case.task_view("bill_charge").instructions
    case.complete("bill_charge", "finance1", billed=True, bill_month="2026-12")
    assert case.path().elements == ["start", "agree_scope_price", "gw_agreed", "compute_charge", "arrange_service",
                                    "provide_service", "confirm_completion", "bill_charge", "end"]
    assert case.human_trail() == [
        ("agree_scope_price", "reception", "reception1"), ("arrange_service", "reception", "reception1"),
        ("provide_service", "environment", "env1"), ("confirm_completion", "reception", "reception1"),
        ("bill_charge", "finance", "finance1"),
    ]
    assert case.status == "completed"


def test_an_unlisted_service_is_charged_the_agreed_price(start_case):
    case = start_case("paid_service", REQUEST)
    case.complete("agree_scope_price", "reception1", **{**AGREED, "service": "unlisted", "quantity": 1},
                  agreed_price=150)
    assert case.task_view("arrange_service").data["charge"] == 150
    serve(case)
    case.complete("bill_charge", "finance1", billed=True)
    assert case.status == "completed"


def test_the_resident_declines_the_price(start_case):
    case = start_case("paid_service", REQUEST)
    case.complete("agree_scope_price", "reception1", **{**AGREED, "resident_agrees": False})
    assert case.path().elements == ["start", "agree_scope_price", "gw_agreed", "end_declined"]
    assert case.status == "completed"


def test_a_late_service_is_chased_and_still_finished(start_case, sla_limit):
    case = start_case("paid_service", REQUEST)
    case.complete("agree_scope_price", "reception1", **AGREED)
    case.complete("arrange_service", "reception1", arranged_with="环境部郑洁")
    assert sla_limit("paid_service.chase") == timedelta(days=1)
    assert case.wait(hours=23, minutes=59) == 0
    assert case.wait(minutes=2) == 1
    case.complete("chase_service", "reception1", chase_notes="已催环境部明早上门")
    case.complete("provide_service", "env1", **DONE)
    case.complete("confirm_completion", "reception1", **CONFIRMED)
    case.complete("bill_charge", "finance1", billed=True)
    path = case.path()
    assert ["timer_chase", "chase_service", "end_chased"] == [e for e in path.elements
                                                          if e in ("timer_chase", "chase_service", "end_chased")]
    assert path.elements[-2:] == ["bill_charge", "end"]
    assert case.status == "completed"

"""Cases over the API: opening a request with the new-request form's fields, reading a
case with its tasks and timeline, and delivering a message from outside."""

from __future__ import annotations

import pytest

from engine.definitions.rules import load_rules

INTAKE = {"category": "emergency_patient", "caller": "林先生", "unit": "3-2-1201", "phone": "13800000000",
          "description": "老人晕倒", "site": "nanshan"}


def test_open_case_starts_the_procedure_and_names_my_first_task(api, cases):
    response = api.post("/cases", "reception1", json=INTAKE)
    assert response.status_code == 201, response.json
    body = response.json
    case = body["case"]
    assert case["reference"].startswith("QZ-") and case["status"] == "running"
    assert (case["process_id"], case["category_label"], case["unit"], case["summary"]) == \
        ("help_request", "急救病人", "3-2-1201", "老人晕倒")
    assert case["started_by"] == "reception1"
    assert response.headers["Location"] == f"/api/v1/cases/{case['reference']}"
    assert [t["element_id"] for t in body["open_tasks"]] == ["register_request"]
    assert body["next_task_id"] == body["open_tasks"][0]["id"]
    started = cases.events(case["id"], "instance_started")
    assert started[0].actor == "reception1" and started[0].data["data"]["phone"] == "13800000000"


def test_open_case_defaults_the_site_to_the_callers(api):
    body = {k: v for k, v in INTAKE.items() if k != "site"}
    response = api.post("/cases", "reception2", json=body)
    assert response.status_code == 201
    assert response.json["case"]["site"] == "binhai"


def test_open_case_refuses_unknown_fields_rather_than_dropping_them(api):
    response = api.post("/cases", "reception1", json={**INTAKE, "adress": "3-2-1201", "sla": "PT0S"})
    assert response.status_code == 422
    assert response.json["fields"] == {"adress": "not a field of this form", "sla": "not a field of this form"}


def test_a_supervisor_opening_a_case_has_no_next_task(api):
    response = api.post("/cases", "supervisor1", json=INTAKE)
    assert response.status_code == 201 and response.json["next_task_id"] is None


@pytest.mark.parametrize(("change", "fields"), [
    ({"unit": "3栋1201"}, {"unit"}),
    ({"category": "lost_cat"}, {"category"}),
    ({"site": "moon"}, {"site"}),
    ({"phone": None, "unit": 3}, {"phone", "unit"}),
    ({"caller": "林\x00先生"}, {"caller"}),
])
def test_open_case_names_each_invalid_field_and_starts_nothing(api, cases, change, fields):
    response = api.post("/cases", "reception1", json={**INTAKE, **change})
    assert response.status_code == 422
    assert set(response.json["fields"]) == fields and response.json["error"]
    assert api.get("/tasks", "reception1").json["tasks"] == []


def test_open_case_without_required_fields_names_them(api):
    response = api.post("/cases", "reception1", json={"caller": "林先生"})
    assert response.status_code == 422
    assert {"category", "unit", "phone"} <= set(response.json["fields"])


@pytest.mark.parametrize(("raw", "message"), [
    ("", "JSON object"), ("[1, 2]", "JSON object"), ("{broken", "JSON object"), ('"text"', "JSON object"),
    ("[" * 100_000, "nested too deeply"), ('{"a":' * 5000 + "1" + "}" * 5000, "nested too deeply"),
], ids=["empty", "array", "broken", "string", "unclosed-deep", "deep"])
def test_open_case_needs_a_json_object(api, raw, message):
    response = api.client.post("/api/v1/cases", data=raw, headers={
        "Authorization": f"Bearer {api.token('reception1')}", "Content-Type": "application/json"})
    assert response.status_code == 400 and message in response.json["error"]


def test_the_document_lists_every_kind_of_request_of_the_catalogue_and_each_opens_a_case(api, library):
    listed = api.get("/openapi.json").json["components"]["schemas"]["Intake"]["properties"]["category"]["enum"]
    assert listed == list(load_rules(library.rules).categories)
    for category in listed:
        response = api.post("/cases", "reception1", json={**INTAKE, "category": category})
        assert response.status_code == 201, (category, response.json)
    refused = api.post("/cases", "reception1", json={**INTAKE, "category": "fireworks"})
    assert refused.status_code == 422 and set(refused.json["fields"]) == {"category"}


def test_case_shows_summary_open_tasks_and_timeline(api, cases):
    case = cases.start(description="老人晕倒")
    cases.complete(case.id, "choose_help", "reception1", help_type="hospital", condition="摔伤")
    response = api.get(f"/cases/{case.reference}", "guard1")
    assert response.status_code == 200
    body = response.json
    assert (body["reference"], body["summary"], body["phone"]) == (case.reference, "老人晕倒", "13800000000")
    assert [t["element_id"] for t in body["tasks"]] == ["notify_security_lead"]
    assert body["waiting_messages"] == []
    assert body["timeline"][0]["type"] == "instance_started" and body["timeline"][0]["label"] == "案件开始"
    completed = [row for row in body["timeline"] if row["type"] == "task_completed"]
    assert completed[0]["actor"] == "reception1"
    assert {"label": "病情", "value": "摔伤"} in completed[0]["details"]
    assert {"label": "求助方式", "value": "送医院"} in completed[0]["details"]
    assert "flow_taken" not in {row["type"] for row in body["timeline"]}
    assert api.get(f"/cases/{case.id}", "guard1").json["reference"] == case.reference


@pytest.mark.parametrize("ref", ["JJ-20000101-0001", "999999", "99999999999999999999999", "%E2%91%A0",
                                 "JJ%00"])
def test_unknown_case_is_404(api, ref):
    response = api.get(f"/cases/{ref}", "reception1")
    assert response.status_code == 404 and response.json["error"]


def ambulance_case(cases):
    """A case that has reached 'wait for the ambulance' (救护车已到达)."""
    case = cases.start()
    cases.complete(case.id, "choose_help", "reception1")
    cases.complete(case.id, "call_120", "reception1")
    cases.complete(case.id, "notify_lead_ambulance", "reception1")
    cases.complete(case.id, "prepare_gate", "seclead1")
    return case


def test_message_the_case_waits_for_is_delivered(api, cases):
    case = ambulance_case(cases)
    waiting = api.get(f"/cases/{case.reference}", "guard2").json["waiting_messages"]
    assert [m["message"] for m in waiting] == ["ambulance_arrived"] and waiting[0]["label"] == "救护车已到达"
    response = api.post(f"/cases/{case.reference}/messages/ambulance_arrived", "guard2")
    assert response.status_code == 200
    assert "guide_ambulance" in [t["element_id"] for t in response.json["open_tasks"]]
    received = cases.events(case.id, "message_received")
    assert received[0].actor == "guard2" and received[0].data["name"] == "ambulance_arrived"
    assert api.get(f"/cases/{case.reference}", "guard2").json["waiting_messages"] == []


def test_message_nobody_waits_for_is_409(api, cases):
    case = cases.start()
    response = api.post(f"/cases/{case.reference}/messages/ambulance_arrived", "reception1")
    assert response.status_code == 409 and "not waiting" in response.json["error"]
    assert cases.events(case.id, "message_received") == []


def test_a_comment_over_the_api_is_answered_and_shows_in_the_timeline(api, cases):
    case = cases.start()
    response = api.post(f"/cases/{case.reference}/comments", "reception1", json={"text": " 住户稍后回电 "})
    assert response.status_code == 201, response.json
    assert (response.json["case"], response.json["actor"], response.json["text"]) == \
        (case.reference, "reception1", "住户稍后回电")
    timeline = api.get(f"/cases/{case.reference}", "guard1").json["timeline"]
    comment = [row for row in timeline if row["type"] == "comment_added"]
    assert comment == [{"at": response.json["at"], "type": "comment_added", "label": "备注", "actor": "reception1",
                        "element": None, "details": [{"label": "备注内容", "value": "住户稍后回电"}]}]


@pytest.mark.parametrize(("body", "fields"), [
    ({"text": "   "}, {"text"}),
    ({}, {"text"}),
    ({"text": 5}, {"text"}),
    ({"text": "好", "urgent": True}, {"urgent"}),
    ({"text": "x" * 2001}, {"text"}),
])
def test_an_unusable_comment_is_refused_by_field(api, cases, body, fields):
    case = cases.start()
    response = api.post(f"/cases/{case.reference}/comments", "reception1", json=body)
    assert response.status_code == 422
    assert set(response.json["fields"]) == fields
    assert cases.events(case.id, "comment_added") == []


def test_a_comment_on_an_unknown_case_is_404(api):
    assert api.post("/cases/JJ-20260101-9999/comments", "reception1", json={"text": "x"}).status_code == 404


def test_invalid_fields_are_explained_in_words_not_patterns(api):
    response = api.post("/cases", "reception1", json={**INTAKE, "unit": "3栋1201", "description": "漏" * 2001})
    assert response.status_code == 422
    assert response.json["fields"] == {"unit": "Write it as building-entrance-room, e.g. 3-2-1201",
                                       "description": "at most 2000 characters"}


def test_a_blank_comment_says_so(api, cases):
    case = cases.start()
    response = api.post(f"/cases/{case.reference}/comments", "reception1", json={"text": " \n "})
    assert response.json["fields"] == {"text": "write the comment: it must not be blank"}

"""Who may call what over the API: every route checks roles, a token carries only its
user's roles, and a resident sees only the cases they opened (`started_by`)."""

from __future__ import annotations

import pytest

from web import api as api_package

INTAKE = {"category": "emergency_patient", "unit": "3-2-1201", "phone": "13800000000"}

# Checked in this order on one set of cases, so the few rows that change state say so.
MATRIX = [
    # user, method, path, status (for rows allowed past the role check, the case's state decides)
    ("designer1", "GET", "/me", 200),
    ("resident1", "GET", "/me", 200),
    ("reception1", "GET", "/tasks", 200),
    ("guard1", "GET", "/tasks", 200),
    ("auditor1", "GET", "/tasks", 200),
    ("resident1", "GET", "/tasks", 403),
    ("designer1", "GET", "/tasks", 403),
    ("reception1", "GET", "/tasks?role=guard", 403),
    ("reception1", "GET", "/tasks/{task}", 200),
    ("supervisor1", "GET", "/tasks/{task}", 200),
    ("auditor1", "GET", "/tasks/{task}", 200),
    ("guard1", "GET", "/tasks/{task}", 403),
    ("resident1", "GET", "/tasks/{task}", 403),
    ("designer1", "GET", "/tasks/{task}", 403),
    ("guard1", "POST", "/tasks/{task}/claim", 403),
    ("auditor1", "POST", "/tasks/{task}/claim", 403),
    ("resident1", "POST", "/tasks/{task}/claim", 403),
    ("reception1", "POST", "/tasks/{task}/unclaim", 409),  # allowed, but nobody holds it yet
    ("reception1", "POST", "/tasks/{task}/claim", 200),  # reception1 now holds the task
    ("guard1", "POST", "/tasks/{task}/unclaim", 403),
    ("reception3", "POST", "/tasks/{task}/unclaim", 403),  # a colleague at the same site
    ("reception3", "POST", "/tasks/{task}/complete", 409),  # held by reception1
    ("auditor1", "POST", "/tasks/{task}/complete", 403),
    ("resident1", "POST", "/tasks/{task}/complete", 403),
    ("reception1", "POST", "/tasks/{task}/unclaim", 200),  # and lets it go again
    ("guard1", "GET", "/tasks/{supervisor_task}", 403),
    ("guard1", "POST", "/tasks/{supervisor_task}/complete", 403),
    ("reception1", "POST", "/tasks/{supervisor_task}/complete", 403),
    ("supervisor1", "POST", "/tasks/{supervisor_task}/complete", 403),  # the guards' supervisor's, not the CS one's
    ("secsup1", "POST", "/tasks/{supervisor_task}/complete", 422),  # allowed; the form is empty
    ("reception1", "POST", "/cases", 201),
    ("supervisor1", "POST", "/cases", 201),
    ("manager1", "POST", "/cases", 201),
    ("resident1", "POST", "/cases", 201),
    ("guard1", "POST", "/cases", 403),
    ("auditor1", "POST", "/cases", 403),
    ("designer1", "POST", "/cases", 403),
    ("reception1", "GET", "/cases/{ref}", 200),
    ("guard1", "GET", "/cases/{ref}", 200),
    ("auditor1", "GET", "/cases/{ref}", 200),
    ("designer1", "GET", "/cases/{ref}", 403),
    ("resident1", "GET", "/cases/{ref}", 404),  # someone else's case: as if it did not exist
    ("resident1", "GET", "/cases/{resident_ref}", 200),
    ("reception1", "GET", "/cases/{resident_ref}", 200),
    ("reception1", "POST", "/cases/{ref}/messages/ambulance_arrived", 409),  # allowed; nothing waits
    ("guard1", "POST", "/cases/{ref}/messages/ambulance_arrived", 409),
    ("auditor1", "POST", "/cases/{ref}/messages/ambulance_arrived", 403),
    ("resident1", "POST", "/cases/{resident_ref}/messages/ambulance_arrived", 403),
    ("reception1", "POST", "/cases/{ref}/comments", 201),
    ("guard1", "POST", "/cases/{ref}/comments", 201),
    ("auditor1", "POST", "/cases/{ref}/comments", 403),
    ("designer1", "POST", "/cases/{ref}/comments", 403),
    ("resident1", "POST", "/cases/{ref}/comments", 404),  # someone else's case
    ("resident1", "POST", "/cases/{resident_ref}/comments", 201),  # the resident's own request
]
BODIES = {"/cases": INTAKE, "/cases/{ref}/comments": {"text": "已联系住户"},
          "/cases/{resident_ref}/comments": {"text": "漏水加重了"}}


@pytest.fixture
def target(api, cases) -> dict:
    """Reception's fresh case, a supervisor's task on another case, and a case a resident opened."""
    case = cases.start()
    other = cases.start()
    cases.complete(other.id, "choose_help", "reception1", help_type="hospital")
    for element, user in (("notify_security_lead", "reception1"), ("dispatch_guards", "seclead1"),
                          ("arrange_vehicle", "reception1"), ("first_aid", "guard1"),
                          ("escort_to_hospital", "guard1")):
        cases.complete(other.id, element, user)
    resident_case = api.post("/cases", "resident1", json=INTAKE).json["case"]
    return {"ref": case.reference, "task": cases.task(case.id, "choose_help").id,
            "supervisor_task": cases.task(other.id, "arrange_more_help").id,
            "resident_ref": resident_case["reference"]}


def test_role_matrix(api, target):
    """Every row, in order; all mismatches are reported together."""
    wrong = []
    for user, method, path, status in MATRIX:
        response = api.call(method, path.format(**target), user, json=BODIES.get(path))
        if response.status_code != status or not response.is_json:
            wrong.append(f"{user} {method} {path}: {response.status_code} {response.get_data(as_text=True)[:120]}")
        elif status >= 400 and not response.json.get("error"):
            wrong.append(f"{user} {method} {path}: no error message")
    assert wrong == []


def test_refused_completion_changes_nothing(api, cases, target):
    api.post(f"/tasks/{target['supervisor_task']}/complete", "guard1",
             json={"data": {"help_arrangement": "x", "help_assignee": "赵刚"}})
    with cases.runtime.db.session() as session:
        from engine.runtime.queries import get_task

        assert get_task(session, target["supervisor_task"]).status == "ready"


def test_a_resident_reads_the_case_they_opened_with_its_progress(api, target):
    response = api.get(f"/cases/{target['resident_ref']}", "resident1")
    body = response.json
    assert body["started_by"] == "resident1" and body["status"] == "running"
    assert [t["element_id"] for t in body["tasks"]] == ["register_request"]  # triage registers it first


def _api_endpoints(app):
    return sorted(rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api."))


def test_every_api_route_declares_who_may_call_it(app):
    public = api_package.access.PUBLIC_ENDPOINTS
    undeclared = [e for e in _api_endpoints(app) if e not in public
                  and not getattr(app.view_functions[e], "api_roles", None)]
    assert undeclared == []
    assert public == {"api.docs.openapi"}


def test_every_api_route_but_the_document_needs_credentials(app, api, target):
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint in api_package.access.PUBLIC_ENDPOINTS:
            continue
        path = rule.rule.replace("<task_id>", target["task"]).replace("<ref>", target["ref"])
        path = path.replace("<name>", "ambulance_arrived")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = api.client.open(path, method=method, json={})
            assert response.status_code == 401, (method, path)
            assert response.json["error"] and response.headers["WWW-Authenticate"].startswith("Bearer")

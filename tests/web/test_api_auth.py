"""Getting into the API: bearer tokens, the browser's session with its CSRF token, and
JSON errors for everything under /api/v1 — never a page, never a traceback."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from engine.accounts.tokens import revoke_token
from engine.store.models import User


def test_a_token_acts_as_its_user(api):
    response = api.get("/me", "guard1")
    assert response.status_code == 200
    assert response.json == {"username": "guard1", "name": "赵刚", "roles": ["guard"], "site": "nanshan"}


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer ", "Basic cmVjZXB0aW9uMTpkZW1v", "Token abc",
                                    "Bearer edk_not-a-real-token"])
def test_missing_or_bad_credentials_are_401(api, header):
    headers = {"Authorization": header} if header is not None else {}
    response = api.get("/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="EstateDesk API"'
    assert response.json["error"]


def test_a_revoked_token_stops_working(api, runtime):
    assert api.get("/me", "reception1").status_code == 200
    with runtime.transaction() as session:
        revoke_token(session, 1)
    response = api.get("/me", "reception1")
    assert response.status_code == 401 and "revoked" in response.json["error"]


def test_a_deactivated_users_token_stops_working(api, runtime):
    api.token("reception1")
    with runtime.transaction() as session:
        session.execute(update(User).where(User.username == "reception1").values(active=False))
    assert api.get("/me", "reception1").status_code == 401


def test_token_writes_need_no_csrf_token(api, cases):
    task = cases.task(cases.start().id, "choose_help")
    assert api.post(f"/tasks/{task.id}/claim", "reception1").status_code == 200


def test_the_logged_in_browser_may_read(web, api):
    web.login("reception1")
    response = api.get("/me")
    assert response.status_code == 200 and response.json["username"] == "reception1"


def test_the_logged_in_browser_must_send_its_csrf_token_to_write(web, api, cases):
    task = cases.task(cases.start().id, "choose_help")
    web.login("reception1")
    refused = api.post(f"/tasks/{task.id}/claim")
    assert refused.status_code == 400 and "CSRF" in refused.json["error"]
    assert cases.task(task.instance_id, "choose_help").status == "ready"
    response = api.post(f"/tasks/{task.id}/claim", headers={"X-CSRFToken": web.token("/")})
    assert response.status_code == 200 and response.json["assignee"] == "reception1"


def test_the_document_is_public_and_names_the_bearer_scheme(api):
    response = api.get("/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert document["security"] == [{"bearerAuth": []}]


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/api/v1/no/such/thing", 404),
    ("GET", "/api/v1", 404),
    ("DELETE", "/api/v1/cases", 405),
    ("PUT", "/api/v1/tasks", 405),
])
def test_routing_errors_are_json_too(api, method, path, status):
    response = api.client.open(path, method=method, headers={"Authorization": f"Bearer {api.token('guard1')}"})
    assert response.status_code == status
    assert response.is_json and response.json["error"]
    if status == 405:
        assert "Allow" in response.headers


def test_an_unexpected_failure_is_a_json_500_without_internals(api, runtime, monkeypatch):
    from web import create_app
    from web.api import tasks as api_tasks

    app = create_app({"RUNTIME": runtime, "TESTING": False, "SECRET_KEY": "t"})

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(api_tasks, "inbox_tasks", boom)
    response = app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {api.token('guard1')}"})
    assert response.status_code == 500
    assert response.json == {"error": "internal error"}
    assert "secret" not in response.get_data(as_text=True)

"""A client that did not hear the answer sends the POST again with the same Idempotency-Key
and gets the first answer, instead of a second case (issue #20, item D)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from engine.runtime.idempotency import Claim, claim_key, fingerprint
from engine.runtime.step import Runtime
from engine.store.models import Instance
from tests.web.conftest import STEPS, Api, make_app

NEW_CASE = {"category": "emergency_patient", "caller": "林先生", "unit": "3-2-1201", "phone": "13800000000"}


def key(value: str = "9b7e4d1c-retry-1") -> dict:
    return {"Idempotency-Key": value}


def case_count(runtime) -> int:
    with runtime.db.read_session() as session:
        return session.scalar(select(func.count()).select_from(Instance))


def test_a_retried_new_case_is_opened_once_and_answered_the_same(api, runtime):
    first = api.post("/cases", "reception1", json=NEW_CASE, headers=key())
    again = api.post("/cases", "reception1", json=NEW_CASE, headers=key())
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert again.headers["Content-Type"] == "application/json"
    assert case_count(runtime) == 1


def test_without_a_key_each_post_opens_a_case(api, runtime):
    api.post("/cases", "reception1", json=NEW_CASE)
    api.post("/cases", "reception1", json=NEW_CASE)
    assert case_count(runtime) == 2


def test_the_same_key_with_another_body_is_refused(api, runtime):
    api.post("/cases", "reception1", json=NEW_CASE, headers=key())
    other = api.post("/cases", "reception1", json={**NEW_CASE, "caller": "王女士"}, headers=key())
    assert other.status_code == 422
    assert other.get_json() == {"error": "this Idempotency-Key was first sent with another request; use a new key"}
    elsewhere = api.post("/cases/1/comments", "reception1", json={"text": "x"}, headers=key())
    assert elsewhere.status_code == 422
    assert case_count(runtime) == 1


def test_keys_belong_to_their_caller(api, runtime):
    api.post("/cases", "reception1", json=NEW_CASE, headers=key())
    theirs = api.post("/cases", "supervisor1", json=NEW_CASE, headers=key())
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert case_count(runtime) == 2


def test_a_retried_completion_gets_the_first_answer_not_a_conflict(api, cases):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    body = {"data": STEPS["choose_help"]}
    first = api.post(f"/tasks/{task.id}/complete", "reception1", json=body, headers=key("complete-1"))
    again = api.post(f"/tasks/{task.id}/complete", "reception1", json=body, headers=key("complete-1"))
    assert first.status_code == again.status_code == 200 and again.get_json() == first.get_json()
    fresh = api.post(f"/tasks/{task.id}/complete", "reception1", json=body, headers=key("complete-2"))
    assert fresh.status_code == 409  # a new key is a new request: the task is done


def test_the_first_answer_is_kept_in_the_database_for_every_server(runtime, clock):
    """Retried against another process than the one that answered first."""
    apis = [Api(make_app(Runtime(runtime.db, clock)).test_client(), runtime) for _ in range(2)]
    apis[1].tokens = apis[0].tokens
    first = apis[0].post("/cases", "reception1", json=NEW_CASE, headers=key())
    again = apis[1].post("/cases", "reception1", json=NEW_CASE, headers=key())
    assert again.get_json() == first.get_json() and case_count(runtime) == 1


def test_a_server_error_is_not_kept_so_the_retry_runs(api, runtime, monkeypatch):
    start = runtime.start_instance

    def fail_once(*args, **kwargs):
        monkeypatch.setattr(runtime, "start_instance", start)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(runtime, "start_instance", fail_once)
    assert api.post("/cases", "reception1", json=NEW_CASE, headers=key()).status_code == 500
    retry = api.post("/cases", "reception1", json=NEW_CASE, headers=key())
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
    assert case_count(runtime) == 1


def test_a_key_whose_first_request_is_still_running_is_busy(api, runtime):
    api.token("reception1")
    body = api.client.application.json.dumps(NEW_CASE).encode()
    assert claim_key(runtime, "reception1", "in-flight", fingerprint("POST", "/api/v1/cases?", body))[0] is Claim.NEW
    busy = api.post("/cases", "reception1", json=NEW_CASE, headers=key("in-flight"))
    assert busy.status_code == 409 and "has not been answered yet" in busy.get_json()["error"]
    assert case_count(runtime) == 0


def test_a_key_is_forgotten_after_a_day(api, runtime, clock):
    api.post("/cases", "reception1", json=NEW_CASE, headers=key())
    clock.advance(hours=24, seconds=1)
    later = api.post("/cases", "reception1", json=NEW_CASE, headers=key())
    assert later.status_code == 201 and "Idempotent-Replayed" not in later.headers
    assert case_count(runtime) == 2


@pytest.mark.parametrize("value", ["", "x" * 256, "has space", "tab\there", "密钥"])
def test_a_malformed_key_is_refused(api, runtime, value):
    response = api.post("/cases", "reception1", json=NEW_CASE, headers=key(value))
    assert response.status_code == 400 and "Idempotency-Key must be" in response.get_json()["error"]
    assert case_count(runtime) == 0


def test_copies_sent_at_the_same_moment_open_one_case(app, api, runtime):
    """Four copies of one request in four threads, as a client with an eager retry sends them."""
    token = api.token("reception1")
    barrier = threading.Barrier(4)

    def send(_):
        client = app.test_client()
        barrier.wait()
        return client.post("/api/v1/cases", json=NEW_CASE,
                           headers={"Authorization": f"Bearer {token}", **key("at-once")})

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, range(4)))
    statuses = sorted(a.status_code for a in answers)
    assert case_count(runtime) == 1
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}
    opened = [a for a in answers if a.status_code == 201]
    assert len({a.headers["Location"] for a in opened}) == 1

"""What operators rely on: `/healthz` for the load balancer, `/metrics` for monitoring, and one
request id from the HTTP answer to the log line and the audit events of the step."""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select, text, update

from cli import logs
from engine import correlation
from engine.audit import chain as audit
from engine.errors import ConflictError
from engine.runtime import health
from engine.runtime.queries import list_tasks
from engine.runtime.step import Runtime
from engine.runtime.timers import Wakeup, run_worker
from engine.store.db import Database
from engine.store.migrations import upgrade
from engine.store.models import Event, HumanTask
from engine.store.operations import WorkerHeartbeat
from tests.web.conftest import make_app


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# -- /healthz ------------------------------------------------------------------------


def test_healthz_reports_database_schema_and_worker_heartbeat_age(client, runtime):
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    assert body["database"] == "ok"
    assert body["migrations"]["at_head"] is True and body["migrations"]["current"] == body["migrations"]["head"]
    # No worker ever beat: the node serves, but says timers are not being fired.
    assert body["worker"] == {"alive": False, "heartbeat_age_seconds": None}
    assert body["status"] == "degraded"

    health.beat(runtime.db, runtime.clock.now() - timedelta(seconds=12))
    body = client.get("/healthz").get_json()
    assert body["worker"] == {"alive": True, "heartbeat_age_seconds": 12.0} and body["status"] == "ok"

    runtime.clock.advance(seconds=health.STALE_AFTER_SECONDS)
    body = client.get("/healthz").get_json()
    assert body["worker"]["alive"] is False and body["worker"]["heartbeat_age_seconds"] == 72.0
    assert body["status"] == "degraded"


def test_healthz_is_503_when_the_schema_is_behind_the_code(tmp_path, clock):
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(db.engine, "0010_site_scope")
    app = make_app(runtime_on(db, clock))
    answer = app.test_client().get("/healthz")
    assert answer.status_code == 503
    body = answer.get_json()
    assert body["status"] == "failing"
    assert body["migrations"]["current"] == "0010_site_scope" and body["migrations"]["at_head"] is False


def test_healthz_is_503_when_the_database_is_unreachable(clock):
    db = Database("postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2")
    answer = make_app(runtime_on(db, clock)).test_client().get("/healthz")
    assert answer.status_code == 503
    assert answer.get_json()["database"] == "unreachable"


def runtime_on(db, clock):
    return Runtime(db, clock)


def test_every_worker_pass_leaves_a_heartbeat(runtime):
    wakeup = Wakeup()
    worker = threading.Thread(target=run_worker, args=(runtime, wakeup), kwargs={"recheck": 0.05}, daemon=True)
    worker.start()
    try:
        for _ in range(200):
            with runtime.db.read_session() as session:
                beat = session.scalar(select(WorkerHeartbeat))
            if beat is not None:
                break
            wakeup.sleep(0.05)
    finally:
        wakeup.stop()
        worker.join(5)
    assert beat is not None and beat.name == health.worker_name()
    assert beat.beat_at == runtime.clock.now()


# -- /metrics ------------------------------------------------------------------------


def test_metrics_count_steps_conflicts_and_latency(client, cases, runtime):
    ok_before = sample("estatedesk_steps_total", step="complete_task", outcome="ok")
    conflicts_before = sample("estatedesk_conflicts_total", step="complete_task")
    timed_before = sample("estatedesk_step_seconds_count", step="complete_task")
    case = cases.start()
    stale = cases.lock_version(case.id)
    cases.complete(case.id, "choose_help", "reception1")
    with runtime.db.read_session() as session:
        following = list_tasks(session, instance_id=case.id)[0]
    with pytest.raises(ConflictError):  # a second session still holding the case as it was
        runtime.complete_task(following.id, {}, "reception1", expected_version=stale)
    assert sample("estatedesk_steps_total", step="complete_task", outcome="ok") == ok_before + 1
    assert sample("estatedesk_conflicts_total", step="complete_task") == conflicts_before + 1
    assert sample("estatedesk_step_seconds_count", step="complete_task") == timed_before + 2

    page = client.get("/metrics")
    assert page.status_code == 200 and page.mimetype == "text/plain"
    text_ = page.get_data(as_text=True)
    assert f'estatedesk_steps_total{{outcome="ok",step="complete_task"}} {ok_before + 1}' in text_
    assert 'estatedesk_conflicts_total{step="complete_task"}' in text_
    assert "estatedesk_step_seconds_bucket" in text_ and "estatedesk_timer_lateness_seconds_bucket" in text_


def test_metrics_gauges_count_overdue_tasks_from_the_database(client, cases, runtime):
    def gauge(name):
        line = next(x for x in client.get("/metrics").get_data(as_text=True).splitlines() if x.startswith(name + " "))
        return float(line.split()[1])

    assert gauge("estatedesk_overdue_tasks") == 0
    now = runtime.clock.now()
    open_tasks = []
    for _ in range(3):
        case = cases.start()
        with runtime.db.read_session() as session:
            open_tasks += list_tasks(session, instance_id=case.id)
    # Two tasks whose SLA due time has passed, one still in time.
    with runtime.db.session() as session, session.begin():
        for task, due in zip(open_tasks, (now - timedelta(minutes=1), now - timedelta(hours=3),
                                          now + timedelta(minutes=5)), strict=True):
            session.execute(update(HumanTask).where(HumanTask.id == task.id).values(due_at=due))
    assert gauge("estatedesk_overdue_tasks") == 2
    runtime.clock.advance(minutes=10)
    assert gauge("estatedesk_overdue_tasks") == 3


def test_metrics_can_ask_for_a_token(client, monkeypatch):
    monkeypatch.setenv("ESTATEDESK_METRICS_TOKEN", "s3cret-token")
    assert client.get("/metrics").status_code == 401
    answer = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert answer.status_code == 200 and b"estatedesk_steps_total" in answer.data


# -- request ids -----------------------------------------------------------------------


def test_a_request_id_reaches_the_answer_and_the_audit_events_of_its_step(web, runtime):
    web.login("reception1")
    form = web.client.get("/cases/new/emergency_patient")
    assert form.status_code == 200
    answer = web.post("/cases/new/emergency_patient", {"caller": "林先生", "unit": "3-2-1201", "phone": "13800000000"},
                      headers={"X-Request-ID": "nginx-0123456789abcdef"})
    assert answer.headers["X-Request-ID"] == "nginx-0123456789abcdef"
    with runtime.db.read_session() as session:
        events = session.scalars(select(Event).where(Event.request_id == "nginx-0123456789abcdef")).all()
        assert {e.type for e in events} >= {"instance_started"}
        assert audit.verify_chain(session).ok


def test_a_malformed_request_id_is_replaced(client):
    answer = client.get("/healthz", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert answer.headers["X-Request-ID"] != "<script>alert(1)</script>"
    assert len(answer.headers["X-Request-ID"]) == 32


def test_editing_an_events_request_id_breaks_the_chain(web, runtime):
    with correlation.bound("worker-pass-00000001"):
        case = runtime.start_instance("emergency_patient", {"caller": "林先生", "unit": "3-2-1201",
                                                            "phone": "13800000000"}, "reception1").instance
    with runtime.db.session() as session, session.begin():
        first = session.scalar(select(Event.id).where(Event.instance_id == case.id).order_by(Event.id).limit(1))
        session.execute(text("UPDATE event SET request_id = 'someone-else-0001' WHERE id = :id"), {"id": first})
    with runtime.db.read_session() as session:
        result = audit.verify_chain(session)
    assert not result.ok and result.first_broken_id == first


def test_json_logs_carry_the_request_id(capsys):
    logs.configure("json")  # the autouse fixture app_loggers_restored undoes it
    with correlation.bound("req-00000000000042"):
        logging.getLogger("engine.runtime").warning("firing the timers of case %s failed", 7)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["message"] == "firing the timers of case 7 failed"
    assert record["level"] == "WARNING" and record["logger"] == "engine.runtime"
    assert record["request_id"] == "req-00000000000042"


def test_each_request_writes_one_access_line_with_its_id(client, caplog):
    with caplog.at_level(logging.INFO, logger="estatedesk.access"):
        answer = client.get("/healthz")
    [record] = [r for r in caplog.records if r.name == "estatedesk.access"]
    assert record.request_id == answer.headers["X-Request-ID"]
    assert (record.method, record.path, record.status) == ("GET", "/healthz", 200)

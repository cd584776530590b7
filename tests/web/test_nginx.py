"""deploy/nginx.conf as a site runs it: Debian's nginx (`make nginx`) in front of two app
processes on loopback. Ports 8180-8182 replace the file's 8080/8001/8002."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PORTS = {"8080": 8180, "8001": 8181, "8002": 8182}

pytestmark = pytest.mark.skipif(not os.access(NGINX, os.X_OK), reason="nginx is missing (make nginx)")


def get(path: str, headers: dict | None = None):
    request = urllib.request.Request(f"http://127.0.0.1:{PORTS['8080']}{path}", headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers, response.read()


def wait_for(port: int, deadline: float = 30.0) -> None:
    """Until something answers on `port`: real processes, so real time, in short polls."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answered, if not healthy
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered on port {port}")


@pytest.fixture
def cluster(runtime, db_url, tmp_path):  # runtime: the library deployed, the demo staff loaded
    conf = (ROOT / "deploy/nginx.conf").read_text(encoding="utf-8")
    for old, new in PORTS.items():
        conf = conf.replace(f":{old}", f":{new}")
    conf = conf.replace("/tmp/estatedesk-nginx", str(tmp_path / "nginx"))
    (tmp_path / "nginx.conf").write_text(conf, encoding="utf-8")
    env = {**os.environ, "DATABASE_URL": db_url, "ESTATEDESK_SECRET_KEY": "ef" * 32,
           "ESTATEDESK_TRUSTED_PROXY": "127.0.0.1", "ESTATEDESK_LOG_FORMAT": "json"}
    apps = [subprocess.Popen([sys.executable, "-m", "cli", "serve", "--no-worker", "--port", str(PORTS[p])],
                             cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / f"app{p}.log").open("w"))
            for p in ("8001", "8002")]
    proxy = subprocess.Popen([NGINX, "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=(tmp_path / "nginx.log").open("w"))
    try:
        for port in (PORTS["8001"], PORTS["8002"], PORTS["8080"]):  # apps first: nginx benches a refusing one
            wait_for(port)
        yield apps
    finally:
        for process in (proxy, *apps):
            process.terminate()
        for process in (proxy, *apps):
            process.wait(timeout=20)


def test_nginx_serves_health_with_its_own_request_id_over_either_process(cluster):
    status, headers, body = get("/healthz", {"X-Request-ID": "forged", "X-Forwarded-For": "203.0.113.7"})
    health = json.loads(body)
    assert status == 200 and health["database"] == "ok" and health["migrations"]["at_head"] is True
    assert re.fullmatch(r"[0-9a-f]{32}", headers["X-Request-ID"])  # nginx's id, not the client's
    cluster[0].kill()  # one app process gone: nginx routes to the other
    cluster[0].wait(timeout=10)
    answers = [get("/healthz")[0] for _ in range(4)]
    assert answers == [200] * 4


def session_cookie(port: int, headers: dict) -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/login", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        [cookie] = [c for c in response.headers.get_all("Set-Cookie") or [] if c.startswith("session=")]
    return cookie


def test_the_session_cookie_is_secure_only_when_the_proxy_says_https(cluster):
    # nginx replaces the client's X-Forwarded-Proto with its own scheme (plain http here) ...
    assert "Secure" not in session_cookie(PORTS["8080"], {"X-Forwarded-Proto": "https"})
    # ... and from the trusted proxy's address an https one makes the cookie Secure.
    assert "Secure" in session_cookie(PORTS["8002"], {"X-Forwarded-Proto": "https"})


T = "2026-11-23T09:05:00+00:00"


def api(port: int, token: str, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.loads(response.read())


def test_a_case_stepped_on_the_other_process_continues_from_its_stored_state(cluster, runtime):
    """Process A keeps the started workflow; B registers the request; A's next step must not
    resume from its kept, one-step-behind workflow."""
    from engine.accounts.tokens import create_token
    from engine.audit.events import EventType
    from engine.store.models import Event

    with runtime.transaction() as session:
        _view, token = create_token(session, "reception1", "test")
    a, b = PORTS["8001"], PORTS["8002"]
    opened = api(a, token, "POST", "/cases", {"category": "other", "caller": "林先生", "unit": "3-2-1201",
                                              "phone": "13800000000", "description": "想借用打气筒", "site": "nanshan"})
    case_id = opened["case"]["id"]
    registered = api(b, token, "POST", f"/tasks/{opened['next_task_id']}/complete", {"data": {
        "caller": "林先生", "unit": "3-2-1201", "phone": "13800000000", "category": "other",
        "description": "想借用打气筒", "received_at": T}})
    handle = registered["open_tasks"]
    assert [t["element_id"] for t in handle] == ["handle_other"]
    done = api(a, token, "POST", f"/tasks/{handle[0]['id']}/complete", {"data": {
        "other_outcome": "replied", "reply": "可以，到前台借用", "replied_at": T}})
    assert [t["element_id"] for t in done["open_tasks"]] == ["record_result"]
    with runtime.db.read_session() as session:
        completed = session.scalars(select(Event.element_id).where(
            Event.instance_id == case_id, Event.type == EventType.TASK_COMPLETED).order_by(Event.id)).all()
    assert completed == ["register_request", "handle_other"]

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
def cluster(db_url, tmp_path):
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

"""`estatedesk serve --processes 2` for real on PostgreSQL: two app processes on one port and the
timer worker, supervised. A login made on one process holds on the other, a process killed with
SIGKILL is started again, and SIGTERM stops every one of them cleanly."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest

from tests.web.conftest import TOKEN

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.postgres_only


class Served:
    """The supervisor's process and what it and its children wrote on stderr (JSON lines)."""

    def __init__(self, db_url: str, log: Path):
        self.log = log
        env = {**os.environ, "DATABASE_URL": db_url, "ESTATEDESK_SECRET_KEY": "5e" * 32}
        self.process = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--processes", "2", "--port", "0",
                                         "--log-format", "json"], cwd=ROOT, env=env,
                                        stdout=subprocess.DEVNULL, stderr=log.open("w"))
        self.port = int(self.wait_for(r"EstateDesk on http://127\.0\.0\.1:(\d+)/ with 2 app processes").group(1))

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.text().splitlines() if line.startswith("{")]

    def wait_for(self, pattern: str, seconds: float = 60.0) -> re.Match:
        """Until the log has a line matching `pattern` (real processes, so real time)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            found = re.search(pattern, self.text())
            if found:
                return found
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited with {self.process.returncode}:\n{self.text()[-3000:]}")
            time.sleep(0.1)
        raise AssertionError(f"no {pattern!r} in the log:\n{self.text()[-3000:]}")

    def started(self) -> dict[str, int]:
        """Each child's name -> its newest pid, from the supervisor's lines."""
        return {r["message"].split(" started")[0]: r["child_pid"] for r in self.records()
                if r.get("logger") == "estatedesk.serve" and "child_pid" in r and " started" in r["message"]}

    def served_by(self, request_id: str) -> int:
        """The pid of the app process whose access line carries `request_id`."""
        for _ in range(50):
            for record in self.records():
                if record.get("logger") == "estatedesk.access" and record.get("request_id") == request_id:
                    return record["pid"]
            time.sleep(0.1)
        raise AssertionError(f"no access line for request {request_id}")

    def request(self, method: str, path: str, cookie: str = "", form: dict | None = None):
        """(status, headers, body, request id) over a new connection, as a new browser tab would."""
        request_id = uuid.uuid4().hex
        headers = {"Cookie": cookie, "X-Request-ID": request_id}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.headers, response.read().decode(), request_id
        finally:
            connection.close()


def session_of(headers) -> str:
    [cookie] = [c.split(";")[0] for c in headers.get_all("Set-Cookie") or [] if c.startswith("session=")]
    return cookie


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_two_processes_share_logins_a_killed_one_comes_back_and_sigterm_stops_all(runtime, db_url, tmp_path):
    served = Served(db_url, tmp_path / "serve.log")  # runtime: the demo staff (password "demo") loaded
    try:
        served.wait_for(r"timer worker running")
        first = served.started()
        assert set(first) == {"app 1", "app 2", "timer worker"} and len(set(first.values())) == 3

        status, headers, page, _rid = served.request("GET", "/login")
        cookie = session_of(headers)
        status, headers, _body, login_rid = served.request("POST", "/login", cookie, {
            "username": "reception1", "password": "demo", "csrf_token": TOKEN.search(page).group(1)})
        assert status == 302 and not headers["Location"].endswith("/login")
        cookie = session_of(headers)
        logged_in_on = served.served_by(login_rid)
        assert logged_in_on in (first["app 1"], first["app 2"])

        os.kill(logged_in_on, signal.SIGKILL)  # whatever answers next, it is not the process that made the login
        status, _headers, body, rid = served.request("GET", "/api/v1/me", cookie)
        assert status == 200 and json.loads(body)["username"] == "reception1"
        assert served.served_by(rid) != logged_in_on

        served.wait_for(r"exited with -9; starting it again")
        name = next(n for n, pid in first.items() if pid == logged_in_on)
        end = time.monotonic() + 30
        while served.started()[name] == logged_in_on and time.monotonic() < end:
            time.sleep(0.1)
        again = served.started()
        assert again[name] != logged_in_on and alive(again[name])
        served.wait_for(rf"EstateDesk app process {again[name]} serving")
    finally:
        served.process.send_signal(signal.SIGTERM)
        code = served.process.wait(timeout=60)

    assert code == 0
    children = served.started().values()
    assert not any(alive(pid) for pid in children)
    text = served.text()
    assert text.count("EstateDesk stopped") == 3  # the supervisor and both app processes
    assert "timer worker stopped (SIGTERM)" in text and "killing it" not in text

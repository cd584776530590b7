"""Two app processes and two timer workers on one PostgreSQL schema, one of each killed with
SIGKILL mid-load and started again: no step a client was answered 2xx for is lost, no timer
fires twice, and `estatedesk audit verify` still passes.

The app processes run either as two `serve` processes on ports of their own (started again by
the test, as systemd would), or as one `serve --processes 2` whose supervisor starts the killed
one again on the shared port.

The cases run benchmarks/bundle's `bench_timer`: five user tasks beside a timer waiting for the
site's help.reply limit (5 minutes). They are opened with clocks set so that their timers fall
due, on the wall clock the workers run on, one after another while the clients work."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.accounts.tokens import create_token
from engine.audit.events import EventType
from engine.clock import FakeClock
from engine.definitions.library import deploy_bundle, read_bundle
from engine.store.models import Event
from tests.web.test_nginx import wait_for

ROOT = Path(__file__).resolve().parents[2]
BENCH_BUNDLE = ROOT / "benchmarks" / "bundle"
PORTS = (8190, 8191)
SUPERVISED_PORT = 8189  # `serve --processes 2`
CASES, CLIENTS, TASKS_PER_CASE = 40, 4, 5
REPLY_LIMIT = timedelta(minutes=5)  # help.reply at the default site: when each case's timer falls due
CLOSED = ("completed", "cancelled")

pytestmark = pytest.mark.postgres_only


class Node:
    """One `estatedesk` process (app or worker) that can be killed and started again."""

    def __init__(self, args: list[str], env: dict, log: Path, port: int | None = None):
        self.args, self.env, self.log, self.port = args, env, log, port
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "cli", *self.args], cwd=ROOT, env=self.env,
                                        stdout=subprocess.DEVNULL, stderr=self.log.open("a"))
        if self.port is not None:
            wait_for(self.port)

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no clean shutdown, whatever it was doing
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


class Client:
    """A clerk's API client working cases to the end over whichever app process answers."""

    def __init__(self, token: str, acked: list, lock: threading.Lock, ports: tuple[int, ...]):
        self.token, self.acked, self.lock, self.ports = token, acked, lock, ports
        self.turn = 0
        self.failures = 0

    def call(self, method: str, path: str, body: dict | None = None, headers: dict | None = None):
        """(status, headers, body) from the next process in turn; (None, {}, {}) when none answered."""
        self.turn += 1
        port = self.ports[self.turn % len(self.ports)]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request(method, f"/api/v1{path}", body=json.dumps(body).encode() if body is not None else None,
                               headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json",
                                        **(headers or {})})
            response = connection.getresponse()
            return response.status, response.headers, json.loads(response.read() or b"{}")
        except (OSError, http.client.HTTPException, json.JSONDecodeError):
            self.failures += 1
            return None, {}, {}
        finally:
            connection.close()

    def open_task(self, case_id: int) -> str | None:
        """The case's open task as stored, after an answer that did not say what happened."""
        while True:
            status, _headers, case = self.call("GET", f"/cases/{case_id}")
            if status == 200:
                return next((t["id"] for t in case["tasks"] if t["status"] not in CLOSED), None)

    def work_all(self, cases: dict[int, str], mine: list[int]) -> None:
        for case_id in mine:
            self.work(case_id, cases[case_id])

    def work(self, case_id: int, task_id: str | None) -> None:
        while task_id is not None:
            status, headers, _task = self.call("GET", f"/tasks/{task_id}")
            if status != 200:
                task_id = self.open_task(case_id)
                continue
            request_id = uuid.uuid4().hex
            status, _headers, step = self.call("POST", f"/tasks/{task_id}/complete", {"data": {"note": "已处理"}},
                                               {"If-Match": headers["ETag"], "X-Request-ID": request_id})
            if status is not None and 200 <= status < 300:
                with self.lock:
                    self.acked.append((case_id, task_id, request_id))
                task_id = step["next_task_id"]
            else:  # a conflict with the timer, a process killed mid-step: look again at what is stored
                task_id = self.open_task(case_id)


def open_cases(runtime, first_due: datetime, gap: timedelta) -> dict[int, str]:
    """CASES bench_timer cases whose timers fall due `gap` apart from `first_due`: case -> first task."""
    bundle = read_bundle(BENCH_BUNDLE / "processes", BENCH_BUNDLE / "forms")
    bundle.rules = dict(read_bundle(ROOT / "processes", ROOT / "forms").rules)
    with runtime.transaction() as session:
        deploy_bundle(session, bundle, actor="designer1", note="cluster fault test")
    cases = {}
    for n in range(CASES):
        runtime.clock = FakeClock(first_due - REPLY_LIMIT + n * gap)
        result = runtime.start_instance("bench_timer", {"caller": "林先生", "unit": "3-2-1201"}, "reception1")
        cases[result.instance.id] = result.open_tasks[0].id
    return cases


def events(runtime, kind: str) -> list[Event]:
    with runtime.db.read_session() as session:
        return list(session.scalars(select(Event).where(Event.type == kind)))


def wait_until(condition, seconds: float, what: str) -> None:
    """Poll `condition` (real processes, so real time) until it holds."""
    done = threading.Event()
    end = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    while not condition():
        if datetime.now(timezone.utc) > end:
            raise AssertionError(f"timed out waiting for {what}")
        done.wait(0.2)


def supervised_apps(log: Path) -> list[int]:
    """The pids of the app processes `serve --processes` started, oldest first (its JSON log lines)."""
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
    return [r["child_pid"] for r in records if re.fullmatch(r"app \d+ started \(pid \d+\)", r.get("message", ""))]


@pytest.mark.parametrize("deployment", ["separate", "supervised"])
def test_killing_an_app_process_and_a_worker_mid_load_loses_no_step_and_fires_no_timer_twice(
        runtime, db_url, tmp_path, deployment):
    with runtime.transaction() as session:
        _view, token = create_token(session, "reception1", "cluster fault test")
    env = {**os.environ, "DATABASE_URL": db_url, "ESTATEDESK_SECRET_KEY": "cd" * 32, "ESTATEDESK_LOG_FORMAT": "json"}
    apps: list[Node] = []
    workers: list[Node] = []
    cases: dict[int, str] = {}
    threads: list[threading.Thread] = []
    acked: list[tuple[int, str, str]] = []
    lock = threading.Lock()
    ports = PORTS if deployment == "separate" else (SUPERVISED_PORT,)
    clients = [Client(token, acked, lock, ports) for _ in range(CLIENTS)]
    killed_app = None
    try:
        if deployment == "separate":
            apps += [Node(["serve", "--no-worker", "--port", str(port)], env, tmp_path / f"app{port}.log", port)
                     for port in PORTS]
        else:
            apps.append(Node(["serve", "--no-worker", "--processes", "2", "--port", str(SUPERVISED_PORT)], env,
                             tmp_path / "apps.log", SUPERVISED_PORT))
        workers += [Node(["worker"], env, tmp_path / f"worker{n}.log") for n in (1, 2)]
        # Opened once the processes are up, so the first timers fall due as the clients begin.
        cases.update(open_cases(runtime, datetime.now(timezone.utc) + timedelta(seconds=2),
                                timedelta(milliseconds=250)))
        ids = list(cases)
        for n, client in enumerate(clients):
            threads.append(threading.Thread(target=client.work_all, args=(cases, ids[n::CLIENTS])))
        for thread in threads:
            thread.start()
        total = CASES * TASKS_PER_CASE
        # Not also waiting for a timer: on a quiet machine the clients may be done before the first
        # one falls due, and the kill would then hit an idle process.
        wait_until(lambda: len(acked) >= total // 3, 60, "a third of the steps done")
        fired_before_kill = len(events(runtime, EventType.TIMER_FIRED))
        acked_before_kill = len(acked)
        if deployment == "separate":
            apps[0].kill()
            apps[0].start()
        else:
            killed_app = supervised_apps(apps[0].log)[0]
            os.kill(killed_app, signal.SIGKILL)  # its supervisor starts another
        workers[0].kill()
        workers[0].start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
        wait_until(lambda: len(events(runtime, EventType.TIMER_FIRED)) >= CASES, 60, "every timer to fire")
    finally:
        for node in (*apps, *workers):
            node.stop()

    # The kill fell mid-load: clients had work left and timers were still to fire.
    assert len({task for _case, task, _rid in acked}) == len(acked) <= total
    assert acked_before_kill < total and fired_before_kill < CASES  # steps and timers were left to do
    if deployment == "separate":
        assert sum(client.failures for client in clients) > 0
    else:  # the killed process had been serving steps, and another took its place
        served = [json.loads(line) for line in apps[0].log.read_text(encoding="utf-8").splitlines()
                  if line.startswith("{") and '"estatedesk.access"' in line]
        assert any(r["pid"] == killed_app and r["path"].endswith("/complete") for r in served)
        assert len(supervised_apps(apps[0].log)) == 3 and "exited with -9; starting it again" in apps[0].log.read_text()
    completed = {(e.instance_id, e.request_id): e for e in events(runtime, EventType.TASK_COMPLETED)}
    lost = [(case, task) for case, task, request_id in acked if (case, request_id) not in completed]
    assert lost == []
    per_case: dict[int, list[str]] = {}
    for event in events(runtime, EventType.TASK_COMPLETED):
        per_case.setdefault(event.instance_id, []).append(event.element_id)
    assert {case: sorted(steps) for case, steps in per_case.items()} == {
        case: [f"step_0{n}" for n in range(1, 6)] for case in cases}
    fired: dict[tuple[int, str], int] = {}
    for event in events(runtime, EventType.TIMER_FIRED):
        fired[event.instance_id, event.element_id] = fired.get((event.instance_id, event.element_id), 0) + 1
    assert fired == {(case, "reply_due"): 1 for case in cases}
    verify = subprocess.run([sys.executable, "-m", "cli", "audit", "verify"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr

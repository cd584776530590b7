"""Cluster benchmark: N PostgreSQL-backed app processes behind nginx, two timer workers.

The set-up is what docs/operations.md describes: `estatedesk serve --no-worker` on ports
8192.. (one per process; with --supervised, one `estatedesk serve --no-worker --processes N`
on 8192 instead), Debian's nginx with a copy of deploy/nginx.conf whose upstream lists those
ports, listening on 8290, and two `estatedesk worker` processes sharing the timer table. Everything runs in a temporary schema of the PostgreSQL database named by
--database-url (default $DATABASE_URL), dropped at the end.

Through the engine, 1,000 cases of benchmarks/bundle's `bench_timer` are opened (five user
tasks beside a timer waiting for the site's help.reply limit); their timers fall due
evenly over the measured run, a day ahead on the wall clock, and the workers run with
`--clock-offset` so that their clock reaches the first of them as measuring starts. The
app processes run on the wall clock, so they never see a timer due.

Then 1 client and then 16 concurrent clients (API token of reception1, HTTP keep-alive to
nginx) complete tasks: each completion takes the next case from one shared queue of all
open cases (so consecutive steps of a case seldom land on a process that still holds its
workflow), reads its task (GET, ETag) and completes it (POST with If-Match); it is timed
from the first GET to the 2xx, a 409 from a timer firing on the case meanwhile is retried.

At the end, once every timer has fired, every case is checked against its audit trail:
each acknowledged completion must be a `task_completed` event carrying nginx's request id
(lost otherwise), no task may be completed twice nor any timer fire twice (duplicated),
and `estatedesk audit verify` must exit 0. The last line is exactly

    CLUSTER processes=N clients=16 completions_per_s=X p50_ms=Y p99_ms=Z scaling_16_over_1=S lost=L duplicated=D

with the 16-client figures and S = completions/s at 16 clients over that at 1.
Targets (issue 21, printed, not asserted): lost=0 duplicated=0, S >= 1.8, p99 at 16 clients
<= 10 x p50 at 1 client.

    DATABASE_URL=postgresql+psycopg://… .venv/bin/python benchmarks/cluster_bench.py --quick
    .venv/bin/python benchmarks/cluster_bench.py --processes 1 --database-url postgresql+psycopg://…
    … cluster_bench.py --quick --supervised     # the N processes as one `serve --processes N`
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cpu_use import CpuMeter, descendants, postgres_backends
from engine_bench import bench_bundle, percentile, ready_runtime, temp_database
from sqlalchemy import select

from engine.accounts.tokens import create_token
from engine.clock import FakeClock
from engine.runtime.step import Runtime
from engine.store.models import Event

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
APP_PORT, NGINX_PORT = 8192, 8290  # app processes 8192.., nginx 8290
PROCESS_ID, ACTOR = "bench_timer", "reception1"
START_DATA, FORM_DATA = {"caller": "林先生", "unit": "3-2-1201"}, {"note": "已处理"}
TASKS_PER_CASE, CASES = 5, 1000
REPLY_LIMIT = timedelta(minutes=5)  # help.reply at the default site
DUE_AHEAD = timedelta(days=1)  # where the timers sit on the wall clock: the apps never see them due
TASK_COMPLETED, TIMER_FIRED = "task_completed", "timer_fired"
TARGET_SCALING, TARGET_P99_OVER_P50 = 1.8, 10.0
PG_NAME = "estatedesk_cluster_bench"  # application_name of the apps' and workers' connections
# Completions in the 1-client and the 16-client phase; and the seconds over which the timers fall due.
PLAN = {"quick": (150, 600, 20.0), "full": (400, 2400, 60.0)}


# -- the processes ------------------------------------------------------------------------------

def nginx_conf(ports: list[int], folder: Path) -> Path:
    """deploy/nginx.conf with its upstream listing `ports`, its listener on NGINX_PORT, its files in `folder`."""
    conf = (ROOT / "deploy/nginx.conf").read_text(encoding="utf-8")
    servers = "".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;\n" for p in ports)
    conf = re.sub(r"(        server 127\.0\.0\.1:\d+ [^\n]*\n)+", servers, conf, count=1)
    conf = conf.replace("127.0.0.1:8080", f"127.0.0.1:{NGINX_PORT}").replace("/tmp/estatedesk-nginx", str(folder / "nginx"))
    conf = conf.replace("access_log /dev/stdout estatedesk;", f"access_log {folder / 'access.log'} estatedesk;")
    path = folder / "nginx.conf"
    path.write_text(conf, encoding="utf-8")
    return path


def wait_for(port: int, seconds: float = 60.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered on port {port}")


@contextlib.contextmanager
def cluster(db_url: str, processes: int, folder: Path, supervised: bool = False):
    """The app processes and nginx, running until the block ends."""
    env = app_env(db_url)
    ports = [APP_PORT] if supervised else [APP_PORT + n for n in range(processes)]
    each = ["--processes", str(processes)] if supervised else []
    started = [subprocess.Popen([sys.executable, "-m", "cli", "serve", "--no-worker", *each, "--port", str(port)],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=(folder / f"app{port}.log").open("w")) for port in ports]
    try:
        for port in ports:  # apps first: nginx benches one that refuses
            wait_for(port)
        started.append(subprocess.Popen([NGINX, "-c", str(nginx_conf(ports, folder)), "-g", "daemon off;"],
                                        stdout=subprocess.DEVNULL, stderr=(folder / "nginx.log").open("w")))
        wait_for(NGINX_PORT)
        yield started[:-1], started[-1]  # the app processes, nginx
    finally:
        stop(started)


@contextlib.contextmanager
def workers(db_url: str, offset: float, folder: Path, count: int = 2):
    """`estatedesk worker --clock-offset` processes sharing the timers."""
    started = [subprocess.Popen([sys.executable, "-m", "cli", "worker", "--clock-offset", f"{offset:.6f}"],
                                cwd=ROOT, env=app_env(db_url), stdout=subprocess.DEVNULL,
                                stderr=(folder / f"worker{n}.log").open("w")) for n in range(count)]
    try:
        # Up before measuring: their start-up would otherwise take CPU from the first clients.
        end = time.monotonic() + 60
        while not all("timer worker running" in (folder / f"worker{n}.log").read_text() for n in range(count)):
            if time.monotonic() > end or any(p.poll() is not None for p in started):
                raise RuntimeError(f"the workers did not start: see {folder}")
            time.sleep(0.1)
        yield started
    finally:
        stop(started)


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def app_env(db_url: str) -> dict:
    named = f"{db_url}{'&' if '?' in db_url else '?'}application_name={PG_NAME}"  # its server processes' name
    return {**os.environ, "DATABASE_URL": named, "ESTATEDESK_SECRET_KEY": "be" * 32,
            "ESTATEDESK_TRUSTED_PROXY": "127.0.0.1", "ESTATEDESK_LOG_FORMAT": "json"}


# -- the cases ----------------------------------------------------------------------------------

def open_cases(runtime: Runtime, first_due: datetime, window: float) -> dict[int, str]:
    """CASES cases, their timers due in a shuffled order evenly over `window` s: case -> first task."""
    offsets = [window * n / CASES for n in range(CASES)]
    random.Random(21).shuffle(offsets)
    opened: dict[int, str] = {}
    lock = threading.Lock()

    def open_some(share: list[float]) -> None:
        mine = Runtime(runtime.db, FakeClock())
        for offset in share:
            mine.clock = FakeClock(first_due - REPLY_LIMIT + timedelta(seconds=offset))
            result = mine.start_instance(PROCESS_ID, dict(START_DATA), ACTOR)
            with lock:
                opened[result.instance.id] = result.open_tasks[0].id

    threads = [threading.Thread(target=open_some, args=(offsets[n::4],)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return opened


class Work:
    """The shared queue of open cases and what the clients were acknowledged."""

    def __init__(self, cases: dict[int, str]):
        self.lock = threading.Lock()
        self.next_task = dict(cases)
        self.queue = collections.deque(cases)
        self.acked: list[tuple[int, str, str]] = []  # (case, task, nginx's request id)
        self.conflicts = 0

    def take(self) -> int | None:
        with self.lock:
            return self.queue.popleft() if self.queue else None

    def done(self, case_id: int, task_id: str, request_id: str, next_task: str | None) -> None:
        with self.lock:
            self.acked.append((case_id, task_id, request_id))
            if next_task is not None:
                self.next_task[case_id] = next_task
                self.queue.append(case_id)


class Client:
    """One keep-alive connection to nginx carrying the bearer token."""

    def __init__(self, token: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", NGINX_PORT, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None, **headers):
        payload = json.dumps(body).encode() if body is not None else None
        extra = {"Content-Type": "application/json"} if payload is not None else {}
        self.connection.request(method, f"/api/v1{path}", body=payload, headers={**self.headers, **extra, **headers})
        response = self.connection.getresponse()
        return response.status, response.headers, json.loads(response.read() or b"{}")

    def complete(self, work: Work, case_id: int) -> float:
        """Complete the case's next task, again after each 409; the seconds it took."""
        task_id = work.next_task[case_id]
        began = time.perf_counter()
        while True:
            status, headers, _task = self.call("GET", f"/tasks/{task_id}")
            if status != 200:
                raise RuntimeError(f"GET task {task_id}: {status}")
            status, headers, step = self.call("POST", f"/tasks/{task_id}/complete", {"data": FORM_DATA},
                                              **{"If-Match": headers["ETag"]})
            if 200 <= status < 300:
                work.done(case_id, task_id, headers["X-Request-ID"], step["next_task_id"])
                return time.perf_counter() - began
            if status != 409:
                raise RuntimeError(f"completing {task_id}: {status} {step}")
            with work.lock:
                work.conflicts += 1


def drive(work: Work, token: str, clients: int, completions: int) -> tuple[list[float], float]:
    """`completions` completions by `clients` concurrent clients; their latencies and the wall time."""
    latencies: list[float] = []
    left = [completions]
    lock = threading.Lock()
    failures: list[BaseException] = []

    def run() -> None:
        client = Client(token)
        try:
            while True:
                with lock:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                case_id = work.take()
                if case_id is None:
                    return
                seconds = client.complete(work, case_id)
                with lock:
                    latencies.append(seconds)
        except BaseException as failure:  # reported after the others finish
            failures.append(failure)

    threads = [threading.Thread(target=run) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return latencies, time.perf_counter() - began


# -- the check ----------------------------------------------------------------------------------

def cpu_meter(db, apps: list, proxy, timer_workers: list) -> CpuMeter:
    """Where a completion's CPU goes: the app processes (and a supervisor's children), PostgreSQL's
    server processes for them and the workers, nginx's, the workers', and the clients'."""
    return CpuMeter({"apps": lambda: [pid for p in apps for pid in descendants(p.pid)],
                     "PostgreSQL": lambda: postgres_backends(db.engine, PG_NAME),
                     "nginx": lambda: descendants(proxy.pid), "workers": lambda: [p.pid for p in timer_workers]})


def wait_for_timers(db, cases: dict[int, str], seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with db.read_session() as session:
            fired = set(session.scalars(select(Event.instance_id).where(Event.type == TIMER_FIRED)))
        if len(fired & set(cases)) == len(cases):
            return
        time.sleep(0.5)
    print(f"  (not every timer fired within {seconds:.0f} s: the missing ones count as lost)")


def check_trails(db, cases: dict[int, str], work: Work) -> tuple[int, int]:
    """(lost, duplicated) against each case's audit trail."""
    with db.read_session() as session:
        rows = session.execute(select(Event.instance_id, Event.type, Event.element_id, Event.request_id)
                               .where(Event.type.in_((TASK_COMPLETED, TIMER_FIRED)))).all()
    completed = {(case, request_id) for case, kind, _element, request_id in rows if kind == TASK_COMPLETED}
    lost = sum((case, request_id) not in completed for case, _task, request_id in work.acked)
    per_element = collections.Counter((case, kind, element) for case, kind, element, _rid in rows if case in cases)
    duplicated = sum(count - 1 for count in per_element.values() if count > 1)
    fired = {case for case, kind, _element in per_element if kind == TIMER_FIRED}
    lost += len(set(cases) - fired)  # a timer that never fired
    acked_per_case = collections.Counter(case for case, _task, _rid in work.acked)
    done_per_case = collections.Counter(case for case, kind, _element in per_element if kind == TASK_COMPLETED)
    # A completion in the trail that no client was acknowledged for would be a step nobody asked for.
    duplicated += sum(max(0, done_per_case[case] - acked_per_case[case]) for case in cases)
    return lost, duplicated


def audit_verify(db_url: str) -> int:
    verify = subprocess.run([sys.executable, "-m", "cli", "audit", "verify"], cwd=ROOT, env=app_env(db_url),
                            capture_output=True, text=True, timeout=600)
    if verify.returncode != 0:
        print(f"  audit verify exited {verify.returncode}: {(verify.stdout + verify.stderr)[-2000:]}")
    return verify.returncode


# -- the run ------------------------------------------------------------------------------------

def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer completions: a couple of minutes")
    parser.add_argument("--processes", type=int, default=2, help="app processes behind nginx (default 2)")
    parser.add_argument("--supervised", action="store_true",
                        help="run them as one `serve --processes N` on one port, not N `serve` on N ports")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""),
                        help="the PostgreSQL database (default: $DATABASE_URL)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not args.database_url.startswith("postgresql"):
        sys.exit("cluster_bench.py needs PostgreSQL: --database-url or DATABASE_URL")
    if not os.access(NGINX, os.X_OK):
        sys.exit("nginx is missing (make nginx)")
    os.environ["DATABASE_URL"] = args.database_url  # engine_bench.temp_database reads it
    os.environ.setdefault("ESTATEDESK_AUDIT_KEY", "cluster-bench-audit-key")
    solo, many, window = PLAN["quick" if args.quick else "full"]
    print(f"EstateDesk cluster benchmark: {args.processes} app process(es)"
          f"{' (one serve --processes)' if args.supervised else ''} behind nginx, 2 workers, "
          f"{CASES:,} open cases of {PROCESS_ID}{' [--quick]' if args.quick else ''}")
    print(f"  {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start"
          " (other work on the machine skews the figures)")
    with contextlib.ExitStack() as stack:
        db = stack.enter_context(temp_database("postgresql"))
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="estatedesk-cluster-")))
        runtime = ready_runtime(db, bench_bundle())
        first_due = datetime.now(timezone.utc) + DUE_AHEAD
        began = time.perf_counter()
        cases = open_cases(runtime, first_due, window)
        print(f"  opened {len(cases):,} cases in {time.perf_counter() - began:.1f} s")
        with runtime.transaction() as session:
            _view, token = create_token(session, ACTOR, "cluster benchmark")
        apps, proxy = stack.enter_context(cluster(db.url_with_schema, args.processes, folder, args.supervised))
        work = Work(cases)
        drive(work, token, 4, 20)  # warm-up: each process compiles the version once
        # The workers' clock reaches the first timer as measuring starts, once they are up.
        with workers(db.url_with_schema, (first_due - datetime.now(timezone.utc)).total_seconds() - 5.0,
                     folder) as timer_workers:
            meter = cpu_meter(db, apps, proxy, timer_workers)
            results, cpu = {}, {}
            for clients, completions in ((1, solo), (16, many)):
                before = meter.sample()
                latencies, seconds = drive(work, token, clients, completions)
                cpu[clients] = meter.per_completion(before, meter.sample(), len(latencies))
                ms = [value * 1000 for value in latencies]
                results[clients] = (len(ms) / seconds, percentile(ms, 50), percentile(ms, 99))
                print(f"  {clients:2d} client(s): {len(ms):5d} completions in {seconds:5.1f} s = "
                      f"{results[clients][0]:6.1f}/s  p50 {results[clients][1]:6.1f} ms  p99 {results[clients][2]:6.1f} ms")
            for clients in cpu:
                print(f"  CPU at {clients:2d} client(s): {cpu[clients]}")
            wait_for_timers(db, cases, window + 60)
        lost, duplicated = check_trails(db, cases, work)
        verified = audit_verify(db.url_with_schema)
        print(f"  {len(work.acked):,} completions acknowledged, {work.conflicts} conflicts with timers retried; "
              f"audit verify {'passed' if verified == 0 else 'FAILED'}")
    rate, p50, p99 = results[16]
    scaling = rate / results[1][0]
    print(f"  targets: scaling >= {TARGET_SCALING} ({'met' if scaling >= TARGET_SCALING else 'NOT met'}), "
          f"p99 at 16 <= {TARGET_P99_OVER_P50:.0f} x p50 at 1 = {TARGET_P99_OVER_P50 * results[1][1]:.1f} ms "
          f"({'met' if p99 <= TARGET_P99_OVER_P50 * results[1][1] else 'NOT met'})")
    print(f"  load average {os.getloadavg()[0]:.2f} at the end")
    print(f"CLUSTER processes={args.processes} clients=16 completions_per_s={rate:.1f} p50_ms={p50:.1f} "
          f"p99_ms={p99:.1f} scaling_16_over_1={scaling:.2f} lost={lost} duplicated={duplicated}")
    if verified != 0:
        sys.exit(1)


if __name__ == "__main__":
    main()

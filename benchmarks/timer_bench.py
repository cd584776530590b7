"""How late do timers fire, and what do 10,000 waiting timers cost every other step?

The benchmark process `benchmarks/bundle/processes/bench_timer.bpmn` splits at the
start into five sequential user tasks in the 接待员 lane (form `bench/step`) and,
beside them, a timer waiting for the site's `help.reply` limit (5 minutes), so every
step is taken while the case's timer waits, and rewrites its row in the `timer` table.
It is deployed with `bench_ten_tasks` and the project's rules (see engine_bench.py).

Two stores are prepared on temporary SQLite files (and, when DATABASE_URL names
PostgreSQL, in temporary schemas), each holding 10,000 copies of a case waiting on its
timer (rows bulk-copied as in engine_bench.py). In the "10,000 waiting" store the copies'
timers are due at random times 1 to 24 hours ahead; the "none waiting" store is the same
with its timer rows deleted (on SQLite, a copy of the first file). Every step below runs
on a fake clock or a clock offset chosen so that nothing else falls due.

Part 1, step cost: fresh cases are driven on both stores in alternating rounds (start,
    then five `complete_task` calls, each timed with `time.perf_counter()`); the measured
    cases' own timers (at most one a case) wait in both stores alike.
Part 2, lateness: on the 10,000-waiting store, cases are started whose timers fall due
    one after another, ten a second (--quick: 60 over 6 s, full: 300 over 30 s). Then
    the real worker runs as its own process, `python -m cli worker --clock-offset
    S`, on the system clock shifted so that the first of these timers falls due a few
    seconds after it starts (start-up is not counted). Lateness of a timer = the time of
    its `timer_fired` audit event (the worker's clock when its step wrote back) minus
    its due time. When all have fired, the worker is stopped with SIGTERM and must exit 0.

Figures: p50 and p99 per-step latency in ms (completions only); p50, p99 and maximum
lateness in ms. The last line is machine-readable:

    TIMERS lateness_p99_ms=X step_cost_ratio_10k_over_0=Y.YY

where lateness_p99_ms is the p99 lateness (SQLite) and step_cost_ratio_10k_over_0 =
p50 per-step latency with 10,000 timers waiting ÷ p50 with none waiting (SQLite).
Targets (printed, not asserted): lateness p99 ≤ 1,000 ms, step-cost ratio ≤ 1.2.

Run from the project root:

    .venv/bin/python benchmarks/timer_bench.py            # full run, a few minutes
    .venv/bin/python benchmarks/timer_bench.py --quick    # under a minute
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from engine_bench import (
    ROUND,
    WARMUP_CASES,
    Stats,
    bench_bundle,
    bulk_fill,
    describe,
    percentile,
    postgres_url,
    ready_runtime,
    rounds,
    temp_database,
)
from sqlalchemy import bindparam, delete, func, select, update

from engine.clock import FakeClock
from engine.runtime.step import Runtime
from engine.store.db import Database
from engine.store.models import Event, Timer

ROOT = Path(__file__).resolve().parent.parent
PROCESS_ID = "bench_timer"
TASK_COUNT = 5
ACTOR = "reception1"
START_DATA = {"caller": "林先生", "unit": "3-2-1201"}
FORM_DATA = {"note": "已处理"}
WAITING = 10_000
TIMER_FIRED = "timer_fired"

TARGET_LATENESS_MS = 1000.0
TARGET_STEP_RATIO = 1.2
WORKER_START_ALLOWANCE = timedelta(seconds=8)  # the worker process's start-up, not counted
FILL_START = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)  # the waiting copies' case started then
MEASURE_START = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # fresh cases start here, due 5 min on
LATE_START = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)  # part 2's cases: due long before either


# -- the stores ---------------------------------------------------------------------------------

def fill_store(db: Database, bundle) -> Runtime:
    """Deploy, then hold WAITING cases, each waiting on its timer; return a runtime for fresh cases."""
    runtime = ready_runtime(db, bundle)
    runtime.clock = FakeClock(FILL_START)
    template = runtime.start_instance(PROCESS_ID, START_DATA, ACTOR).instance.id
    bulk_fill(db, [template], WAITING)
    with db.engine.begin() as conn:
        spread_due_times(conn)
    runtime.clock = FakeClock(MEASURE_START)
    return runtime


@contextlib.contextmanager
def sqlite_copy(db: Database):
    """A copy of the SQLite database `db` in a temporary file, by SQLite's online backup."""
    with tempfile.TemporaryDirectory(prefix="estatedesk-bench-") as folder:
        copy = Database(f"sqlite:///{folder}/copy.db")
        with db.engine.connect() as source, copy.engine.connect() as target:
            source.connection.driver_connection.backup(target.connection.driver_connection)
        try:
            yield copy
        finally:
            copy.dispose()


def two_stores(kind: str, bundle, stack: contextlib.ExitStack) -> dict[str, Runtime]:
    """The store with WAITING timers waiting, and the same store with its timer rows deleted."""
    waiting = fill_store(stack.enter_context(temp_database(kind)), bundle)
    if kind == "sqlite":  # copying the file is much quicker than filling a second one
        none = Runtime(stack.enter_context(sqlite_copy(waiting.db)), FakeClock(MEASURE_START))
    else:
        none = fill_store(stack.enter_context(temp_database(kind)), bundle)
    with none.db.engine.begin() as conn:
        conn.execute(delete(Timer))
    return {"none waiting": none, f"{WAITING:,} waiting": waiting}


def spread_due_times(conn) -> None:
    """Make the copies' timers fall due at random times 1 to 24 hours after they started."""
    rng = random.Random(42)
    ids = conn.scalars(select(Timer.id)).all()
    moments = [{"timer_id": i, "due": FILL_START + timedelta(seconds=rng.uniform(3600, 86400))} for i in ids]
    statement = update(Timer.__table__).where(Timer.__table__.c.id == bindparam("timer_id"))
    conn.execute(statement.values(due_at=bindparam("due")), moments)


def count_timers(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Timer))


# -- part 1: step cost --------------------------------------------------------------------------

def drive_case(runtime: Runtime) -> list[float]:
    """Start a case and complete its five tasks; return each completion's latency."""
    result = runtime.start_instance(PROCESS_ID, START_DATA, ACTOR)
    latencies = []
    for _ in range(TASK_COUNT):
        task_id = result.open_tasks[0].id
        began = time.perf_counter()
        result = runtime.complete_task(task_id, FORM_DATA, ACTOR)
        latencies.append(time.perf_counter() - began)
    if result.open_tasks or result.instance.status != "running":  # the timer branch still waits
        raise RuntimeError(f"case {result.instance.reference} ended in an unexpected state")
    return latencies


def drive_cases(runtime: Runtime, count: int) -> Stats:
    latencies = []
    began = time.perf_counter()
    for _ in range(count):
        latencies += drive_case(runtime)
    return Stats(latencies, time.perf_counter() - began)


def step_costs(stores: dict[str, Runtime], count: int) -> dict[str, Stats]:
    """Per-step latencies on each store, measured in alternating rounds."""
    for runtime in stores.values():
        drive_cases(runtime, WARMUP_CASES)
    stats = {name: Stats([], 0.0) for name in stores}
    for size in rounds(count):
        for name, runtime in stores.items():
            stats[name] += drive_cases(runtime, size)
    return stats


# -- part 2: lateness ---------------------------------------------------------------------------

def start_timed_cases(runtime: Runtime, count: int, window: float) -> dict[int, datetime]:
    """Start `count` cases whose timers fall due evenly over `window` seconds; return case -> due."""
    gap = window / count
    cases = []
    for n in range(count):
        runtime.clock = FakeClock(LATE_START + timedelta(seconds=n * gap))
        cases.append(runtime.start_instance(PROCESS_ID, START_DATA, ACTOR).instance.id)
    with runtime.db.session() as session:
        return dict(session.execute(select(Timer.instance_id, Timer.due_at).where(Timer.instance_id.in_(cases))).all())


def fired_at(db: Database, cases) -> dict[int, datetime]:
    with db.session() as session:
        rows = session.execute(select(Event.instance_id, Event.at)
                               .where(Event.type == TIMER_FIRED, Event.instance_id.in_(list(cases)))).all()
    return dict(rows)


@contextlib.contextmanager
def worker_process(db: Database, offset: float):
    """Run `estatedesk worker --clock-offset` on `db`; stop it with SIGTERM and check it exits 0."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "cli", "worker", "--clock-offset", f"{offset:.6f}"], cwd=ROOT, text=True,
        env={**os.environ, "DATABASE_URL": db.url_with_schema}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        banner = worker.stderr.readline()
        if not banner.startswith("timer worker running"):
            raise RuntimeError(f"the worker did not start: {banner}{worker.stderr.read()}")
        yield worker
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=60)
        if worker.returncode != 0 or "timer worker stopped" not in err:
            raise RuntimeError(f"the worker did not stop cleanly (exit {worker.returncode}): {err}")
    finally:
        worker.kill()


def lateness(runtime: Runtime, count: int, window: float) -> tuple[list[float], float]:
    """Lateness in seconds of `count` timers fired by a worker process; and the worker's start-up margin."""
    due = start_timed_cases(runtime, count, window)
    first, last = min(due.values()), max(due.values())
    # The worker's clock: the system clock shifted so that the first timer falls due
    # WORKER_START_ALLOWANCE after launch.
    launched = datetime.now(timezone.utc)
    offset = (first - WORKER_START_ALLOWANCE - launched).total_seconds()
    with worker_process(runtime.db, offset):
        margin = (first - (datetime.now(timezone.utc) + timedelta(seconds=offset))).total_seconds()
        deadline = time.monotonic() + WORKER_START_ALLOWANCE.total_seconds() + window + 120
        while len(fired := fired_at(runtime.db, due)) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(fired)} of {count} timers fired; the last was due at {last}")
            time.sleep(0.2)
    return [(fired[case] - due[case]).total_seconds() for case in due], margin


# -- the run ------------------------------------------------------------------------------------

def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="20 cases a store, 60 timers over 6 s: under a minute")
    return parser.parse_args()


def run_kind(kind: str, bundle, cases: int, timed: int, window: float) -> tuple[dict[str, Stats], list[float]]:
    with contextlib.ExitStack() as stack:
        began = time.perf_counter()
        stores = two_stores(kind, bundle, stack)
        sizes = ", ".join(f"{name} ({count_timers(rt.db):,} timer rows)" for name, rt in stores.items())
        print(f"  {kind}: filled two stores of {WAITING:,} cases in {time.perf_counter() - began:.1f} s: {sizes}")
        stats = step_costs(stores, cases)
        late, margin = lateness(stores[f"{WAITING:,} waiting"], timed, window)
        print(f"  {kind}: the worker was up {margin:.1f} s before the first timer fell due")
        return stats, late


def main() -> None:
    args = parse_args()
    cases = 20 if args.quick else 100
    timed, window = (60, 6.0) if args.quick else (300, 30.0)  # ten timers a second
    kinds = ["sqlite"] + (["postgresql"] if postgres_url() else [])
    bundle = bench_bundle()
    began = time.perf_counter()
    print(f"EstateDesk timer benchmark: {PROCESS_ID} (a timer waiting beside {TASK_COUNT} user tasks), "
          f"{WAITING:,} waiting timers{' [--quick]' if args.quick else ''}")
    print(f"  {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start"
          " (other work on the machine skews the figures)")

    results = {kind: run_kind(kind, bundle, cases, timed, window) for kind in kinds}

    print(f"\nPart 1 - step cost: {cases} fresh cases x {TASK_COUNT} completions on each store "
          f"({WARMUP_CASES} warm-up cases not counted; rounds of {ROUND} cases alternating)")
    ratios = {}
    for kind, (stats, _) in results.items():
        for name, store_stats in stats.items():
            print(describe(f"{kind}, {name}", store_stats))
        none, waiting = stats.values()
        ratios[kind] = waiting.p50 / none.p50
        print(f"  p50 ratio {kind} {WAITING:,} waiting / none: {ratios[kind]:.2f}"
              f"  (target <= {TARGET_STEP_RATIO:.1f})")

    print(f"\nPart 2 - lateness: {timed} timers falling due over {window:.0f} s, {WAITING:,} more waiting, "
          "fired by `estatedesk worker` on the system clock")
    p99s = {}
    for kind, (_, late) in results.items():
        ms = [value * 1000 for value in late]
        p99s[kind] = percentile(ms, 99)
        print(f"  {kind:<28} {len(ms):6d} timers  p50 {percentile(ms, 50):7.1f} ms  p99 {p99s[kind]:7.1f} ms"
              f"  max {max(ms):7.1f} ms  (target p99 <= {TARGET_LATENESS_MS:.0f} ms)")

    print(f"\nSummary (SQLite): lateness p99 {p99s['sqlite']:.1f} ms "
          f"({'met' if p99s['sqlite'] <= TARGET_LATENESS_MS else 'NOT met'}), step-cost ratio "
          f"{ratios['sqlite']:.2f} ({'met' if ratios['sqlite'] <= TARGET_STEP_RATIO else 'NOT met'})")
    print(f"  total time {time.perf_counter() - began:.1f} s, load average {os.getloadavg()[0]:.2f} at the end")
    print(f"TIMERS lateness_p99_ms={p99s['sqlite']:.1f} step_cost_ratio_10k_over_0={ratios['sqlite']:.2f}")


if __name__ == "__main__":
    main()

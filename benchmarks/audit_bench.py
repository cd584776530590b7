"""The audit trail's lock, measured: completions/s with 1 and with 4 concurrent writers on
distinct cases on PostgreSQL, with the chain per case (now) and with one global row every
step locks until commit (before migration 0009_audit_chains), side by side in one run.

"Before" is the old serialization point played on today's code: each append first locks one
row (the `global` chain's head) for the rest of the step, as every step once locked the single
`audit_head` row. Each writer is a process of its own with its own runtime and connections,
driving its own cases of `bench_ten_tasks` (a start and ten completions each). Modes run in
alternating rounds, so drift on a busy machine hits both alike. After the run every chain
must verify. The last line is machine-readable:

    AUDIT writers=4 before_1=X before_4=Y after_1=X after_4=Y before_scaling=S after_scaling=S
          before_waiting=W after_waiting=W

(on one line), where *_waiting is how many of the 4 writers' sessions were waiting for a row
lock on average (sampled every 20 ms): the serialization point itself, which on a machine
with few cores shows more clearly than throughput, since the steps' own CPU work saturates it.

    DATABASE_URL=postgresql+psycopg://... python benchmarks/audit_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import threading
import time

from engine_bench import (
    ACTOR,
    FORM_DATA,
    PROCESS_ID,
    START_DATA,
    TASK_COUNT,
    bench_bundle,
    postgres_url,
    ready_runtime,
    temp_database,
)
from sqlalchemy import text

from engine.audit import chain
from engine.audit.verify import verify_chain
from engine.runtime.step import Runtime
from engine.stats import projection
from engine.store.db import Database

WRITERS = (1, 4)
MODES = ("before", "after")
_GLOBAL_LOCK = text("SELECT 1 FROM audit_chain WHERE chain = 'global' FOR UPDATE")
_WAITING = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")


def serialize_appends() -> None:
    """Make every append lock one row until commit first, as the single `audit_head` did."""
    real = chain.append_events

    def append_events(session, events, at):
        session.connection().execute(_GLOBAL_LOCK)
        return real(session, events, at)

    chain.append_events = projection.append_events = append_events


def writer(url: str, schema: str, mode: str, cases: int, barrier, results) -> None:
    if mode == "before":
        serialize_appends()
    db = Database(url, schema=schema)
    runtime = Runtime(db)
    runtime.start_instance(PROCESS_ID, START_DATA, ACTOR)  # warm: spec cached, connections open
    barrier.wait()
    steps = 0
    for _ in range(cases):
        result = runtime.start_instance(PROCESS_ID, START_DATA, ACTOR)
        for _ in range(TASK_COUNT):
            result = runtime.complete_task(result.open_tasks[0].id, FORM_DATA, ACTOR)
            steps += 1
    results.put(steps)
    db.dispose()


class LockWaits(threading.Thread):
    """Samples, every 20 ms, how many of the database's sessions are waiting for a lock."""

    def __init__(self, db: Database):
        super().__init__(daemon=True)
        self.db, self.samples, self.done = db, [], threading.Event()

    def run(self) -> None:
        with self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            while not self.done.wait(0.02):
                self.samples.append(conn.execute(_WAITING).scalar())

    def mean(self) -> float:
        self.done.set()
        self.join()
        return statistics.fmean(self.samples) if self.samples else 0.0


def measure(db: Database, mode: str, writers: int, cases: int) -> tuple[float, float]:
    """Completions per second of `writers` processes driving `cases` cases each, and how many
    of them were waiting for a lock on average."""
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(writers + 1), ctx.Queue()
    processes = [ctx.Process(target=writer, args=(db.url, db.schema, mode, cases, barrier, results))
                 for _ in range(writers)]
    for process in processes:
        process.start()
    barrier.wait()
    began, waits = time.perf_counter(), LockWaits(db)
    waits.start()
    steps = sum(results.get(timeout=600) for _ in processes)
    elapsed = time.perf_counter() - began
    waiting = waits.mean()
    for process in processes:
        process.join(timeout=60)
        if process.exitcode != 0:
            raise RuntimeError(f"a {mode} writer failed (exit {process.exitcode})")
    return steps / elapsed, waiting


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cases", type=int, default=12, help="cases per writer per round")
    parser.add_argument("--quick", action="store_true", help="a short run: 1 round of 4 cases per writer")
    args = parser.parse_args()
    if postgres_url() is None:
        print("audit_bench measures row locks: set DATABASE_URL to a PostgreSQL database", file=sys.stderr)
        return 2
    rounds, cases = (1, 4) if args.quick else (args.rounds, args.cases)
    figures: dict[tuple[str, int], list[tuple[float, float]]] = {}
    with temp_database("postgresql") as db:
        ready_runtime(db, bench_bundle())
        for number in range(rounds):
            for mode in (MODES if number % 2 == 0 else MODES[::-1]):
                for writers in WRITERS:
                    figures.setdefault((mode, writers), []).append(measure(db, mode, writers, cases))
        with db.read_session() as session:
            verified = verify_chain(session)
    rate = {key: statistics.median(v[0] for v in values) for key, values in figures.items()}
    waiting = {key: statistics.fmean(v[1] for v in values) for key, values in figures.items()}
    print(f"{rounds} rounds, {cases} cases of {TASK_COUNT} completions per writer per round; median completions/s,"
          " and how many writers waited for a lock on average")
    print(f"{'':8}{'1 writer':>12}{'4 writers':>12}{'4 over 1':>10}{'waiting (4)':>13}")
    for mode in MODES:
        print(f"{mode:8}{rate[mode, 1]:12.1f}{rate[mode, 4]:12.1f}{rate[mode, 4] / rate[mode, 1]:10.2f}"
              f"{waiting[mode, 4]:13.2f}")
    print(verified)
    print(f"AUDIT writers=4 before_1={rate['before', 1]:.1f} before_4={rate['before', 4]:.1f} "
          f"after_1={rate['after', 1]:.1f} after_4={rate['after', 4]:.1f} "
          f"before_scaling={rate['before', 4] / rate['before', 1]:.2f} after_scaling={rate['after', 4] / rate['after', 1]:.2f} "
          f"before_waiting={waiting['before', 4]:.2f} after_waiting={waiting['after', 4]:.2f}")
    return 0 if verified.ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""How fast is a step, and what does persistence cost over bare SpiffWorkflow?

The benchmark process `benchmarks/bundle/processes/bench_ten_tasks.bpmn` is a start
event, ten sequential user tasks in the 接待员 lane (each with the one-field form
`bench/step`) and an end event, so every case takes 11 steps: the start, then ten task
completions. It is deployed with the project's own rules from `processes/rules/`.

Part 1, persisted: drive N cases through `engine.runtime.Runtime` on a temporary
    SQLite file (and, when DATABASE_URL names PostgreSQL, in a temporary schema
    `bench_<random>` that is dropped afterwards). Every step is one transaction: load,
    run, write back state, human tasks, timers and audit events. Each step (the start
    and each `complete_task`, with the task id taken from the previous `StepResult`)
    is timed with `time.perf_counter()`.
Part 2, bare: the same process in plain in-memory SpiffWorkflow (default
    `BpmnWorkflowSerializer` with `SPIFF_CONFIG`), with `deserialize_json` /
    `serialize_json` around every step: the cheapest way to keep state between steps.
    Parts 1 and 2 run in alternating rounds of a few cases each, so drift on a busy
    machine hits both sides of the ratio alike.
Part 3, growth: the per-step p50 of the persisted runtime on a database holding about
    1,000 stored cases and on one holding about 20,000 (`--quick`: 200 and 4,000). The
    stores are filled by driving 11 real cases (one stopped after each number of
    completed tasks, 0..10) and bulk-inserting copies of their `instance`,
    `human_task`, `event` and `timer` rows with fresh ids and references; each copy's
    events are put in the copy's own chain, which has no head (the copies' hash chains
    are not valid, which does not matter here). Fresh cases are
    then measured on both stores in alternating rounds, so drift on a busy machine
    hits both sizes alike.

Figures: steps/s (steps ÷ wall time of the measured loop), p50 and p99 per-step
latency in ms. The last line is machine-readable:

    RATIO persisted_over_bare=X.XX growth_1k_to_20k=Y.YY

where persisted_over_bare = persisted p50 ÷ bare p50 (a p50 ratio, SQLite) and
growth_1k_to_20k = p50 at the large store ÷ p50 at the small store (SQLite).
Targets (printed, not asserted): persisted_over_bare ≤ 3.0, growth ≤ 1.2.

Run from the project root:

    .venv/bin/python benchmarks/engine_bench.py            # full run, a few minutes
    .venv/bin/python benchmarks/engine_bench.py --quick    # under a minute
    .venv/bin/python benchmarks/engine_bench.py --instances 500
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

# Measure the checkout this file is in, not whichever copy of `engine` is installed in
# the venv (a second work tree would otherwise time the first one's code).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Benchmark databases are thrown away, so a throwaway audit key does (docs/audit.md).
os.environ.setdefault("ESTATEDESK_AUDIT_KEY", "benchmark-only-key")

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import create_engine, func, insert, select, text

from engine.accounts.users import load_demo_staff
from engine.clock import FakeClock
from engine.definitions.library import Bundle, deploy_bundle, read_bundle
from engine.definitions.rules import load_rules
from engine.runtime.step import Runtime
from engine.store.db import Database
from engine.store.models import Event, HumanTask, Instance, Timer

ROOT = Path(__file__).resolve().parent.parent
BUNDLE_DIR = Path(__file__).resolve().parent / "bundle"
BPMN_FILE = BUNDLE_DIR / "processes" / "bench_ten_tasks.bpmn"
PROCESS_ID = "bench_ten_tasks"
TASK_COUNT = 10
STEPS_PER_CASE = TASK_COUNT + 1
ACTOR = "reception1"  # a demo receptionist: holds the role of the 接待员 lane
START_DATA = {"caller": "林先生", "unit": "3-2-1201"}
FORM_DATA = {"note": "已处理"}

TARGET_RATIO = 3.0
TARGET_GROWTH = 1.2
WARMUP_CASES = 3
ROUND = 5  # cases per alternating round (parts 1+2, and part 3)
INSERT_BATCH = 5000  # rows per executemany in the bulk fill


# -- statistics ---------------------------------------------------------------------------

@dataclass
class Stats:
    """Per-step latencies (seconds) and the wall time of the loop that produced them."""

    latencies: list[float]
    wall: float

    @property
    def steps(self) -> int:
        return len(self.latencies)

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.wall

    def __add__(self, other: Stats) -> Stats:
        return Stats(self.latencies + other.latencies, self.wall + other.wall)

    def percentile_ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000

    @property
    def p50(self) -> float:
        return self.percentile_ms(50)

    @property
    def p99(self) -> float:
        return self.percentile_ms(99)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile with linear interpolation between closest ranks."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def describe(label: str, stats: Stats) -> str:
    return (f"  {label:<28} {stats.steps:6d} steps  {stats.steps_per_s:8.1f} steps/s  "
            f"p50 {stats.p50:7.2f} ms  p99 {stats.p99:7.2f} ms")


# -- databases ----------------------------------------------------------------------------

def postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


@contextlib.contextmanager
def temp_database(kind: str):
    """A fresh, migrated database: a temporary SQLite file, or a temporary PostgreSQL schema."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="estatedesk-bench-") as folder:
            db = Database(f"sqlite:///{folder}/bench.db")
            db.migrate()
            try:
                yield db
            finally:
                db.dispose()
        return
    url = postgres_url()
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(url, schema=schema)
    try:
        db.migrate()
        yield db
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def bench_bundle() -> Bundle:
    """The benchmark process and its form, with the project's rules."""
    bundle = read_bundle(BUNDLE_DIR / "processes", BUNDLE_DIR / "forms")
    bundle.rules = dict(read_bundle(ROOT / "processes", ROOT / "forms").rules)
    return bundle


def ready_runtime(db: Database, bundle: Bundle) -> Runtime:
    """A runtime on `db` with a fixed fake clock, the demo staff and the bundle deployed."""
    runtime = Runtime(db, FakeClock())
    with runtime.transaction() as session:
        load_demo_staff(session, load_rules(bundle.rules))
        deploy_bundle(session, bundle, actor="designer1", note="benchmark")
    return runtime


# -- part 1: the persisted runtime ----------------------------------------------------------

def drive_case(runtime: Runtime, stop_after: int = TASK_COUNT) -> tuple[list[float], int]:
    """Start a case and complete `stop_after` tasks; return each step's latency and the case id."""
    latencies = []
    began = time.perf_counter()
    result = runtime.start_instance(PROCESS_ID, START_DATA, ACTOR)
    latencies.append(time.perf_counter() - began)
    for _ in range(stop_after):
        task_id = result.open_tasks[0].id
        began = time.perf_counter()
        result = runtime.complete_task(task_id, FORM_DATA, ACTOR)
        latencies.append(time.perf_counter() - began)
    if stop_after == TASK_COUNT and (result.instance.status != "completed" or result.open_tasks):
        raise RuntimeError(f"case {result.instance.reference} did not finish: {result.instance.status}")
    return latencies, result.instance.id


def drive_cases(runtime: Runtime, count: int) -> Stats:
    latencies = []
    began = time.perf_counter()
    for _ in range(count):
        latencies += drive_case(runtime)[0]
    return Stats(latencies, time.perf_counter() - began)


def rounds(count: int):
    """Split `count` cases into alternating rounds of at most ROUND cases."""
    for start in range(0, count, ROUND):
        yield min(ROUND, count - start)


# -- part 2: bare SpiffWorkflow ---------------------------------------------------------------

def bare_specs():
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(BPMN_FILE))
    return parser.get_spec(PROCESS_ID), parser.get_subprocess_specs(PROCESS_ID)


def bare_start(serializer, spec, subprocess_specs) -> str:
    workflow = BpmnWorkflow(spec, subprocess_specs)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(START_DATA)
    workflow.do_engine_steps()
    return serializer.serialize_json(workflow)


def bare_complete(serializer, state: str) -> str:
    workflow = serializer.deserialize_json(state)
    task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
    task.set_data(**FORM_DATA)
    task.run()
    workflow.do_engine_steps()
    return serializer.serialize_json(workflow)


def bare_case(serializer, spec, subprocess_specs) -> list[float]:
    latencies = []
    began = time.perf_counter()
    state = bare_start(serializer, spec, subprocess_specs)
    latencies.append(time.perf_counter() - began)
    for _ in range(TASK_COUNT):
        began = time.perf_counter()
        state = bare_complete(serializer, state)
        latencies.append(time.perf_counter() - began)
    if not serializer.deserialize_json(state).completed:
        raise RuntimeError("bare case did not finish")
    return latencies


class BareRunner:
    """Bare SpiffWorkflow with the default serializer configured for the spiff extensions."""

    def __init__(self):
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
        self.spec, self.subprocess_specs = bare_specs()

    def drive_cases(self, count: int) -> Stats:
        latencies = []
        began = time.perf_counter()
        for _ in range(count):
            latencies += bare_case(self.serializer, self.spec, self.subprocess_specs)
        return Stats(latencies, time.perf_counter() - began)


# -- parts 1 and 2, run together ----------------------------------------------------------------

def persisted_and_bare(kinds: list[str], bundle: Bundle, count: int) -> tuple[dict[str, Stats], Stats]:
    """Drive `count` cases on each persisted runtime and bare, in alternating rounds."""
    with contextlib.ExitStack() as stack:
        runtimes = {kind: ready_runtime(stack.enter_context(temp_database(kind)), bundle) for kind in kinds}
        bare = BareRunner()
        for runtime in runtimes.values():
            drive_cases(runtime, WARMUP_CASES)  # parse/compile caches, SQL statement caches
        bare.drive_cases(WARMUP_CASES)
        persisted = {kind: Stats([], 0.0) for kind in kinds}
        bare_stats = Stats([], 0.0)
        for size in rounds(count):
            for kind, runtime in runtimes.items():
                persisted[kind] += drive_cases(runtime, size)
            bare_stats += bare.drive_cases(size)
        return persisted, bare_stats


# -- part 3: growth ---------------------------------------------------------------------------

def template_cases(runtime: Runtime) -> list[int]:
    """Drive one real case stopped after each number of completed tasks (0..10)."""
    return [drive_case(runtime, stop_after)[1] for stop_after in range(TASK_COUNT + 1)]


def _rows(conn, table, column, ids) -> list[dict]:
    return [dict(r._mapping) for r in conn.execute(select(table).where(column.in_(ids)).order_by(table.c.id))]


def _insert_batches(conn, table, rows: list[dict]) -> None:
    for start in range(0, len(rows), INSERT_BATCH):
        conn.execute(insert(table), rows[start:start + INSERT_BATCH])


def bulk_fill(db: Database, template_ids: list[int], target: int) -> None:
    """Copy the template cases' rows until the database holds `target` cases."""
    instance_t, task_t, event_t, timer_t = (m.__table__ for m in (Instance, HumanTask, Event, Timer))
    with db.engine.begin() as conn:
        templates = {r["id"]: r for r in _rows(conn, instance_t, instance_t.c.id, template_ids)}
        tasks = _rows(conn, task_t, task_t.c.instance_id, template_ids)
        events = _rows(conn, event_t, event_t.c.instance_id, template_ids)
        timers = _rows(conn, timer_t, timer_t.c.instance_id, template_ids)
        stored = conn.scalar(select(func.count()).select_from(instance_t))
        next_ids = {t.name: (conn.scalar(select(func.max(t.c.id)).select_from(t)) or 0) + 1
                    for t in (instance_t, event_t, timer_t)}
    by_case = {tid: tuple([r for r in rows if r["instance_id"] == tid] for rows in (tasks, events, timers))
               for tid in template_ids}
    remaining = target - stored
    while remaining > 0:
        chunk = min(remaining, 2000)
        rows = {"instance": [], "human_task": [], "event": [], "timer": []}
        for _ in range(chunk):
            template_id = template_ids[next_ids["instance"] % len(template_ids)]
            _copy_case(templates[template_id], *by_case[template_id], next_ids, rows)
        with db.engine.begin() as conn:
            for table in (instance_t, task_t, event_t, timer_t):
                _insert_batches(conn, table, rows[table.name])
        remaining -= chunk
    _after_fill(db)


def _copy_case(case: dict, tasks: list[dict], events: list[dict], timers: list[dict],
               next_ids: dict, rows: dict) -> None:
    """Append one copy of a case, with fresh ids and a unique reference, to `rows`."""
    case_id = next_ids["instance"]
    next_ids["instance"] += 1
    rows["instance"].append({**case, "id": case_id, "reference": f"CP-{case_id:09d}"})
    for task in tasks:
        rows["human_task"].append({**task, "id": str(uuid.uuid4()), "instance_id": case_id})
    for kind, source in (("event", events), ("timer", timers)):
        for row in source:
            copied = {**row, "id": next_ids[kind], "instance_id": case_id}
            if kind == "event":
                copied["chain"] = f"case:{case_id}"
            rows[kind].append(copied)
            next_ids[kind] += 1


def _after_fill(db: Database) -> None:
    """On PostgreSQL, move the id sequences past the copies."""
    with db.engine.begin() as conn:
        if db.is_postgres:
            for table in ("instance", "event", "timer"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"))
    if db.is_postgres:  # as autovacuum would after such a load; SQLite gets no ANALYZE in production either
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")


def count_cases(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Instance))


def growth_benchmark(kind: str, bundle: Bundle, sizes: tuple[int, int],
                     measured: int) -> list[tuple[int, Stats]]:
    """Per-step latency on a small and a large store, measured in alternating rounds.

    Returns (cases stored when measuring began, stats) for each size.
    """
    with contextlib.ExitStack() as stack:
        stores = []  # (runtime, cases stored when measuring began, stats so far)
        for size in sizes:
            db = stack.enter_context(temp_database(kind))
            runtime = ready_runtime(db, bundle)
            began = time.perf_counter()
            bulk_fill(db, template_cases(runtime), size)
            took = time.perf_counter() - began
            print(f"  filled {kind} store to {count_cases(db):,} cases in {took:.1f} s")
            drive_cases(runtime, WARMUP_CASES)
            stores.append((runtime, count_cases(db), Stats([], 0.0)))
        for size in rounds(measured):
            for index, (runtime, stored, stats) in enumerate(stores):
                stores[index] = (runtime, stored, stats + drive_cases(runtime, size))
        return [(stored, stats) for _, stored, stats in stores]


# -- the run ------------------------------------------------------------------------------------

def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="30 cases, stores of 200 and 4,000 cases: under a minute")
    parser.add_argument("--instances", type=int, default=None,
                        help="cases to drive in parts 1 and 2 (default 200, --quick 30)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    count = args.instances or (30 if args.quick else 200)
    sizes = (200, 4000) if args.quick else (1000, 20000)
    growth_cases = 30 if args.quick else 60
    kinds = ["sqlite"] + (["postgresql"] if postgres_url() else [])
    bundle = bench_bundle()
    began = time.perf_counter()
    print(f"EstateDesk engine benchmark: {PROCESS_ID} ({STEPS_PER_CASE} steps a case), "
          f"{count} cases a run{' [--quick]' if args.quick else ''}")
    print(f"  {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start"
          " (other work on the machine skews the figures)")

    persisted, bare = persisted_and_bare(kinds, bundle, count)
    print(f"\nPart 1 - persisted runtime (one transaction a step; {WARMUP_CASES} warm-up cases not counted;"
          f" run in rounds of {ROUND} cases alternating with part 2)")
    for kind in kinds:
        print(describe(f"persisted {kind}", persisted[kind]))

    print("\nPart 2 - bare SpiffWorkflow (in memory, serialize_json/deserialize_json around every step)")
    print(describe("bare spiffworkflow", bare))
    for kind in kinds:
        print(f"  p50 ratio persisted {kind} / bare: {persisted[kind].p50 / bare.p50:.2f}"
              f"  (target <= {TARGET_RATIO:.1f} on SQLite)")

    small, large = sizes
    note = " (--quick: smaller stores than the full run's 1,000 and 20,000)" if args.quick else ""
    print(f"\nPart 3 - growth: {growth_cases} fresh cases x {STEPS_PER_CASE} steps on stores of "
          f"{small:,} and {large:,} cases{note}")
    growth = {}
    for kind in kinds:
        (n_small, at_small), (n_large, at_large) = growth_benchmark(kind, bundle, sizes, growth_cases)
        print(describe(f"{kind} at {n_small:,} stored", at_small))
        print(describe(f"{kind} at {n_large:,} stored", at_large))
        growth[kind] = at_large.p50 / at_small.p50
        print(f"  p50 growth {kind} {small:,} -> {large:,}: {growth[kind]:.2f}"
              f"  (target <= {TARGET_GROWTH:.1f})")

    ratio = persisted["sqlite"].p50 / bare.p50
    print(f"\nSummary (SQLite; persisted_over_bare is the ratio of p50 per-step latencies, "
          f"growth the ratio of p50 at {large:,} over {small:,} cases):")
    print(f"  persisted_over_bare {ratio:.2f} (target <= {TARGET_RATIO:.1f}: "
          f"{'met' if ratio <= TARGET_RATIO else 'NOT met'})")
    print(f"  growth {growth['sqlite']:.2f} (target <= {TARGET_GROWTH:.1f}: "
          f"{'met' if growth['sqlite'] <= TARGET_GROWTH else 'NOT met'})")
    print(f"  total time {time.perf_counter() - began:.1f} s,"
          f" load average {os.getloadavg()[0]:.2f} at the end")
    print(f"RATIO persisted_over_bare={ratio:.2f} growth_1k_to_20k={growth['sqlite']:.2f}")


if __name__ == "__main__":
    main()

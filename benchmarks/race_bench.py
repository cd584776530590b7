"""Races on one task, measured: several processes claim, release, reassign and complete the
same task at once, then a supervisor completes a review while a timer on it fires.

Every round starts one case of the test process `mini` (tests/unit/bundle) and lets
eight worker processes, each with its own runtime and connections, act on its first
task together (two claims, a release, a reassignment and four completions); then one
completes the review task while another fires its boundary timer. Afterwards every
case is checked against its audit trail: each task's row must be what its events say,
no closed task may change again, exactly one completion per task, and exactly one of
"review completed" and "timer fired". The last line is exactly

    RACE attempts=N ok=N conflicts=N errors=E corrupt=C

where conflicts are clean refusals (409/403 in the web app) and E and C must be 0.

    python benchmarks/race_bench.py [--database URL] [--rounds N] [--quick]

With a PostgreSQL URL the benchmark works in a schema of its own and drops it at the end.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import os
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Benchmark databases are thrown away, so a throwaway audit key does (docs/audit.md).
os.environ.setdefault("ESTATEDESK_AUDIT_KEY", "benchmark-only-key")

from sqlalchemy import create_engine, select, text  # noqa: E402

from engine.accounts.users import demo_password_hash, load_demo_staff, upsert_user  # noqa: E402
from engine.audit.chain import verify_chain  # noqa: E402
from engine.audit.events import EventType  # noqa: E402
from engine.clock import SystemClock  # noqa: E402
from engine.definitions.library import deploy_bundle, read_bundle  # noqa: E402
from engine.definitions.rules import load_rules  # noqa: E402
from engine.errors import EngineError  # noqa: E402
from engine.runtime.step import Runtime  # noqa: E402
from engine.store.db import Database  # noqa: E402
from engine.store.models import Event, HumanTask, Instance, TaskStatus  # noqa: E402

BUNDLE = ROOT / "tests" / "unit" / "bundle"
WORKERS = 8
CLERKS = ["race_clerk1", "race_clerk2", "race_clerk3", "race_clerk4"]
SUPERVISOR = "race_supervisor"
REGISTER = {"divisor": 5, "wait_for_ambulance": False}
# What each worker does to the first task of a round's case (worker index → action).
FIRST_TASK_ACTIONS = [("claim", CLERKS[0]), ("claim", CLERKS[1]), ("unclaim", SUPERVISOR),
                      ("reassign", SUPERVISOR), ("complete", CLERKS[0]), ("complete", CLERKS[1]),
                      ("complete", CLERKS[2]), ("complete", CLERKS[3])]


class ErrorCount(logging.Handler):
    """Counts errors the runtime logs instead of raising (the timer loop logs and goes on)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record):
        self.count += 1


def set_up(url: str, schema: str | None) -> Database:
    db = Database(url, schema=schema)
    db.migrate()
    bundle = read_bundle(BUNDLE / "processes", BUNDLE / "forms")
    library = read_bundle(ROOT / "processes", ROOT / "forms")
    bundle.rules = dict(library.rules)
    runtime = Runtime(db)
    with runtime.transaction() as session:
        load_demo_staff(session, load_rules(bundle.rules))
        password = demo_password_hash()
        for clerk in CLERKS:
            upsert_user(session, clerk, clerk, ["reception"], "nanshan", password)
        upsert_user(session, SUPERVISOR, SUPERVISOR, ["cs_supervisor"], "nanshan", password)
        deploy_bundle(session, bundle, actor="designer1")
    return db


def act(runtime: Runtime, action: str, who: str, task_id: str) -> None:
    if action == "claim":
        runtime.claim_task(task_id, who)
    elif action == "unclaim":
        runtime.unclaim_task(task_id, who)
    elif action == "reassign":
        runtime.reassign_task(task_id, CLERKS[2], who)
    elif action == "complete":
        runtime.complete_task(task_id, REGISTER, who)
    elif action == "approve":
        runtime.complete_task(task_id, {"approved": True}, who)
    elif action == "fire":  # on a clock an hour ahead, by which the review's timer is due
        Runtime(runtime.db, SystemClock(offset=3600)).fire_due_timers()


def worker(index: int, url: str, schema: str | None, rounds: int, barrier, plan, results) -> None:
    """One process: its own runtime; at each barrier, its action on this round's task."""
    errors = ErrorCount()
    logging.getLogger().addHandler(errors)
    runtime = Runtime(Database(url, schema=schema))
    tally = {"attempts": 0, "ok": 0, "conflicts": 0, "errors": 0}
    for _round in range(rounds):
        for phase in ("first", "review"):
            barrier.wait()  # the main process has put this phase's task in `plan`
            action = (FIRST_TASK_ACTIONS[index] if phase == "first"
                      else [("approve", SUPERVISOR), ("fire", None)][index] if index < 2 else None)
            if action is not None and plan.get("task_id"):
                tally["attempts"] += 1
                try:
                    act(runtime, action[0], action[1], plan["task_id"])
                    tally["ok"] += 1
                except EngineError:
                    tally["conflicts"] += 1
                except Exception as exc:  # noqa: BLE001 - anything else is what the benchmark counts
                    print(f"worker {index}: {type(exc).__name__}: {exc}", file=sys.stderr)
                    tally["errors"] += 1
            barrier.wait()  # everyone acted: the main process looks at the result
    tally["errors"] += errors.count
    results.put(tally)


def open_task(db: Database, instance_id: int, element_id: str) -> str | None:
    with db.read_session() as session:
        return session.scalar(select(HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.element_id == element_id,
            HumanTask.status.in_((TaskStatus.READY, TaskStatus.CLAIMED))))


def finish_first_task(runtime: Runtime, task_id: str | None) -> None:
    """When no completion won (they all met a claim by someone else), complete it as its holder."""
    if task_id is None:
        return
    with runtime.db.read_session() as session:
        holder = session.get(HumanTask, task_id).assignee
    runtime.complete_task(task_id, REGISTER, holder or CLERKS[0])


def replay(events: list[Event], rows: dict[str, HumanTask]) -> list[str]:
    """What is wrong with the tasks of one case, judged by its audit trail alone."""
    problems, state, task_of_element = [], {}, {}
    for event in events:
        # A completion names its element; the task is the one that element last made ready.
        task_id = (event.data or {}).get("task_id") or task_of_element.get(event.element_id)
        if event.type == EventType.TASK_READY:
            state[task_id] = ("ready", None)
            task_of_element[event.element_id] = task_id
            continue
        if task_id is None or event.type not in (EventType.TASK_CLAIMED, EventType.TASK_UNCLAIMED,
                                                 EventType.TASK_REASSIGNED, EventType.TASK_COMPLETED):
            continue
        status, holder = state.get(task_id, (None, None))
        if status not in ("ready", "claimed"):
            problems.append(f"{event.type} on task {task_id} that was {status}")
        if event.type == EventType.TASK_CLAIMED:
            if status != "ready":
                problems.append(f"task {task_id} claimed while {status} by {holder}")
            state[task_id] = ("claimed", event.actor)
        elif event.type == EventType.TASK_UNCLAIMED:
            state[task_id] = ("ready", None)
        elif event.type == EventType.TASK_REASSIGNED:
            state[task_id] = ("claimed", event.data["to"])
        else:
            state[task_id] = ("completed", holder)
    for task_id, row in rows.items():
        expected = state.get(task_id)
        if expected is None:
            problems.append(f"task {task_id} has no task_ready event")
            continue
        status = TaskStatus(row.status).value
        if status == "cancelled" and expected[0] in ("ready", "claimed"):
            continue  # withdrawn by the step that moved the case on (a timer, a cancellation)
        if status != expected[0] or (status == "claimed" and row.assignee != expected[1]):
            problems.append(f"task {task_id} is {status}/{row.assignee}, its trail says {expected}")
    return problems


def check_case(db: Database, instance_id: int) -> list[str]:
    with db.read_session() as session:
        events = list(session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.id)))
        rows = {t.id: t for t in session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id))}
        case = session.get(Instance, instance_id)
    problems = replay(events, rows)
    completions = [e.element_id for e in events if e.type == EventType.TASK_COMPLETED]
    if len(completions) != len(set(completions)):  # each element of `mini` runs once per case
        problems.append(f"case {case.reference}: a task completed twice")
    reviewed = [e for e in events if e.type == EventType.TASK_COMPLETED and e.element_id == "review"]
    fired = [e for e in events if e.type == EventType.TIMER_FIRED and e.element_id == "review_overdue"]
    if len(reviewed) + len(fired) != 1:
        problems.append(f"case {case.reference}: review completed {len(reviewed)}x, timer fired {len(fired)}x")
    by_element = {row.element_id: TaskStatus(row.status).value for row in rows.values()}
    if fired and (by_element.get("review") != "cancelled" or "escalate" not in by_element):
        problems.append(f"case {case.reference}: timer fired but tasks are {by_element}")
    if reviewed and (by_element.get("review") != "completed" or "escalate" in by_element):
        problems.append(f"case {case.reference}: review completed but tasks are {by_element}")
    return [f"case {case.reference}: {p}" for p in problems]


def run(url: str, rounds: int, schema: str | None = None) -> dict:
    """Run the races; return the tallies and the problems found in the audit check."""
    db = set_up(url, schema)
    runtime = Runtime(db)
    context = mp.get_context("spawn")  # each worker opens its own connections
    barrier = context.Barrier(WORKERS + 1)
    manager = context.Manager()
    plan, results = manager.dict(), context.Queue()
    processes = [context.Process(target=worker, args=(i, url, schema, rounds, barrier, plan, results))
                 for i in range(WORKERS)]
    for process in processes:
        process.start()
    cases = []
    for _round in range(rounds):
        started = runtime.start_instance("mini", {"caller": "林先生", "unit": "3-2-1201"}, CLERKS[0])
        instance_id = started.instance.id
        cases.append(instance_id)
        plan.update(task_id=started.open_tasks[0].id)
        barrier.wait()
        barrier.wait()
        finish_first_task(runtime, open_task(db, instance_id, "register"))
        plan.update(task_id=open_task(db, instance_id, "review"))
        barrier.wait()
        barrier.wait()
    totals = {"attempts": 0, "ok": 0, "conflicts": 0, "errors": 0}
    for _ in processes:
        for key, value in results.get(timeout=60).items():
            totals[key] += value
    for process in processes:
        process.join(timeout=60)
    problems = [p for instance_id in cases for p in check_case(db, instance_id)]
    with db.read_session() as session:
        chain = verify_chain(session)
    if not chain.ok:
        problems.append(str(chain))
    db.dispose()
    manager.shutdown()
    return {**totals, "corrupt": len(problems), "problems": problems}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL"),
                        help="SQLAlchemy URL (default: DATABASE_URL, else a temporary SQLite file)")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="a short run: 5 rounds")
    args = parser.parse_args()
    rounds = 5 if args.quick else args.rounds
    schema, admin = None, None
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{tmp}/race.db"
        if url.startswith("postgresql"):
            schema = f"race_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            admin = create_engine(url)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            result = run(url, rounds, schema)
        finally:
            if admin is not None:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    for problem in result["problems"]:
        print(problem)
    print(f"{rounds} rounds of {WORKERS} processes on {url.split(':')[0]}")
    print(f"RACE attempts={result['attempts']} ok={result['ok']} conflicts={result['conflicts']} "
          f"errors={result['errors']} corrupt={result['corrupt']}")
    return 0 if result["errors"] == 0 and result["corrupt"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

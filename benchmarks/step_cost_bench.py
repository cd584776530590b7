"""Step-cost micro benchmark: the CPU one API completion costs the app process, on PostgreSQL.

In one process, over a temporary PostgreSQL schema (DATABASE_URL): 300 cases of
benchmarks/bundle's `bench_timer` are opened (their timers a day ahead, never due), then the
app (Flask's test client, API token of reception1) reads each case's task (GET, ETag) and
completes it (POST with If-Match), one case after another, so that, as in the cluster
benchmark, every step restores its case from the database. It reports the CPU milliseconds
per completion of the app process and, read from /proc, of the PostgreSQL server processes
serving it (the server must run on this machine), and the wall milliseconds.

    DATABASE_URL=postgresql+psycopg://… .venv/bin/python benchmarks/step_cost_bench.py
    … step_cost_bench.py --profile /tmp/step.prof           # cProfile of the measured part
    … step_cost_bench.py --against /path/to/other/checkout    # side by side, rounds interleaved

With --against, each round runs this file once on the other checkout's code and once on this one
(fresh processes, alternating, so a busy machine skews both alike) and the last line is

    STEPCOST this_cpu_ms=X other_cpu_ms=Y ratio=R

with the medians over the rounds of the app's CPU and R = X / Y (below 1: this checkout is
cheaper); the line before it compares PostgreSQL's CPU the same way.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES, ROUNDS_OF_CASES = 300, int(os.environ.get("STEP_COST_ROUNDS", "2"))  # completions measured: CASES * ROUNDS_OF_CASES
PROCESS_ID, ACTOR = "bench_timer", "reception1"
CHECKOUT_VARIABLE = "STEP_COST_CHECKOUT"  # which checkout's code a run measures
START_DATA, FORM_DATA = {"caller": "林先生", "unit": "3-2-1201"}, {"note": "已处理"}


def measure(profile: str | None) -> dict:
    """Open the cases, warm up, then time the completions; CPU and wall ms per completion."""
    checkout = Path(os.environ.get(CHECKOUT_VARIABLE) or ROOT)
    sys.path.insert(0, str(checkout / "benchmarks"))  # its engine_bench puts its checkout first on the path
    from engine_bench import bench_bundle, ready_runtime, temp_database

    from engine.accounts.tokens import create_token
    from engine.clock import FakeClock
    from web import create_app

    os.environ.setdefault("ESTATEDESK_AUDIT_KEY", "step-cost-bench-audit-key")
    name = f"step_cost_{os.getpid()}"  # names this run's server processes in pg_stat_activity
    url = os.environ["DATABASE_URL"]
    os.environ["DATABASE_URL"] = f"{url}{'&' if '?' in url else '?'}application_name={name}"
    with temp_database("postgresql") as db:
        runtime = ready_runtime(db, bench_bundle())
        start = datetime.now(timezone.utc) + timedelta(days=1)
        tasks = {}
        for n in range(CASES + 10):
            runtime.clock = FakeClock(start + timedelta(seconds=n))
            result = runtime.start_instance(PROCESS_ID, dict(START_DATA), ACTOR)
            tasks[result.instance.id] = result.open_tasks[0].id
        with runtime.transaction() as session:
            _view, token = create_token(session, ACTOR, "step cost benchmark")
        app = create_app({"DATABASE": db, "PROCESSES_DIR": str(checkout / "processes"),
                          "FORMS_DIR": str(checkout / "forms")})
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

        def complete(case_id: int) -> None:
            task_id = tasks[case_id]
            got = client.get(f"/api/v1/tasks/{task_id}", headers=headers)
            assert got.status_code == 200, got.data
            done = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": FORM_DATA},
                               headers={**headers, "If-Match": got.headers["ETag"]})
            assert 200 <= done.status_code < 300, done.data
            tasks[case_id] = done.get_json()["next_task_id"]

        ids = list(tasks)
        for case_id in ids[CASES:]:  # warm-up: the version compiled, the connections open
            complete(case_id)
        measured = ids[:CASES] * ROUNDS_OF_CASES
        profiler = cProfile.Profile(time.process_time) if profile else None
        server = server_cpu(db, name)
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        for case_id in measured:
            complete(case_id)
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        server = server_cpu(db, name) - server
    import engine

    return {"cpu_ms": cpu * 1000 / len(measured), "wall_ms": wall * 1000 / len(measured),
            "db_cpu_ms": server * 1000 / len(measured), "engine": engine.__file__}


def server_cpu(db, name: str) -> float:
    """CPU seconds used so far by the PostgreSQL server processes serving this run (same machine)."""
    from sqlalchemy import text

    with db.engine.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"), {"n": name}).scalars()
        total = 0
        for pid in pids:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def side_by_side(other: Path, rounds: int) -> None:
    """Alternate runs of this file in `other` and here; print both medians and their ratio."""
    figures: dict[str, list[float]] = {"this": [], "other": [], "this db": [], "other db": []}
    for n in range(rounds):
        for label, checkout in (("other", other), ("this", ROOT)):
            # This file, importing the engine and the app from `checkout`.
            run = subprocess.run([sys.executable, __file__, "--json"], cwd=checkout, env={**os.environ, CHECKOUT_VARIABLE: str(checkout)},
                                 capture_output=True, text=True, timeout=900)
            if run.returncode != 0:
                sys.exit(f"{label} ({checkout}) failed:\n{run.stderr[-3000:]}")
            result = json.loads(run.stdout.strip().splitlines()[-1])
            if not result["engine"].startswith(str(checkout)):
                sys.exit(f"{label} imported the engine from {result['engine']}, not from {checkout}")
            figures[label].append(result["cpu_ms"])
            figures[f"{label} db"].append(result["db_cpu_ms"])
            print(f"  round {n + 1} {label:5s}: {result['cpu_ms']:6.2f} ms CPU in the app, {result['db_cpu_ms']:5.2f} ms"
                  f" in PostgreSQL, {result['wall_ms']:6.2f} ms wall per completion", flush=True)
    this, theirs = statistics.median(figures["this"]), statistics.median(figures["other"])
    this_db, their_db = statistics.median(figures["this db"]), statistics.median(figures["other db"])
    print(f"  PostgreSQL's CPU per completion: this {this_db:.2f} ms, other {their_db:.2f} ms, "
          f"ratio {this_db / their_db:.2f}" if their_db else "  PostgreSQL's CPU per completion: not measured")
    print(f"STEPCOST this_cpu_ms={this:.2f} other_cpu_ms={theirs:.2f} ratio={this / theirs:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the measured completions to FILE")
    parser.add_argument("--against", type=Path, metavar="CHECKOUT", help="compare with another checkout")
    parser.add_argument("--rounds", type=int, default=3, help="with --against: rounds (default 3)")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        sys.exit("step_cost_bench.py needs PostgreSQL: DATABASE_URL")
    if args.against:
        side_by_side(args.against.resolve(), args.rounds)
        return
    result = measure(args.profile)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"STEPCOST cpu_ms={result['cpu_ms']:.2f} db_cpu_ms={result['db_cpu_ms']:.2f} "
              f"wall_ms={result['wall_ms']:.2f} per completion")


if __name__ == "__main__":
    main()

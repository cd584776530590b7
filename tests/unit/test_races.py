"""Races on one task across processes: claims, releases, reassignments and completions at
once, and a timer firing while the task it guards is completed (benchmarks/race_bench.py).

Every attempt either wins or is refused cleanly (what the web app answers with 409 or
403); no process sees a database error, and afterwards every task is in the state its
audit trail explains, with one winner per transition.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAST_LINE = re.compile(r"^RACE attempts=(\d+) ok=(\d+) conflicts=(\d+) errors=(\d+) corrupt=(\d+)$")


def test_racing_processes_leave_every_task_as_its_audit_trail_says(tmp_path):
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", f"sqlite:///{tmp_path}/race.db")  # PostgreSQL when the suite runs on it
    result = subprocess.run([sys.executable, "benchmarks/race_bench.py", "--quick"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    last = result.stdout.strip().splitlines()[-1]
    attempts, ok, conflicts, errors, corrupt = map(int, LAST_LINE.match(last).groups())
    assert (errors, corrupt) == (0, 0), result.stdout + result.stderr
    assert result.returncode == 0
    assert attempts == ok + conflicts == 5 * 10  # five rounds: eight actions on the task, two on its review
    assert ok >= 5 * 2  # at least the first task's completion and one side of the review race, each round

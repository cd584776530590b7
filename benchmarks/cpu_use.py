"""CPU seconds used by groups of processes on this machine, read from /proc (Linux).

The cluster benchmark divides what each group used during a phase by the completions of that
phase: the CPU one completion costs, wherever it is spent (app processes, PostgreSQL's server
processes, nginx, the workers, the clients), which bounds the throughput two cores allow.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(p) for p in (task / "children").read_text().split()]
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU of `pids` so far (a process gone meanwhile counts nothing)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def postgres_backends(engine, application_name: str) -> list[int]:
    """The pids of PostgreSQL's server processes for connections of that application_name."""
    from sqlalchemy import text

    with engine.connect() as conn:
        return list(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"),
                                 {"n": application_name}).scalars())


class CpuMeter:
    """Samples of each group's CPU seconds; a group is a function naming its pids now."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]):
        self.groups = groups

    def sample(self) -> dict[str, float]:
        taken = {name: cpu_seconds(pids()) for name, pids in self.groups.items()}
        taken["clients"] = time.process_time()  # this process: the client threads
        return taken

    @staticmethod
    def per_completion(before: dict[str, float], after: dict[str, float], completions: int) -> str:
        """'apps 4.1 ms, … = 9.0 ms CPU per completion: at most N/s on C cores'."""
        used = {name: (after[name] - before[name]) * 1000 / completions for name in before}
        total = sum(used.values())
        cores = os.cpu_count() or 1
        parts = ", ".join(f"{name} {ms:.1f} ms" for name, ms in used.items())
        return (f"{parts} = {total:.1f} ms CPU per completion: at most {cores * 1000 / total:.0f}/s"
                f" on {cores} cores, were nothing else running")

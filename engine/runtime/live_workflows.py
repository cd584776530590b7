"""Workflows of recently stepped cases, kept alive in this process between their steps.

After the engine's own work, restoring a workflow from its stored state is the
largest part of a step. So a step that commits leaves its workflow here, with the
state text it stored and the case's lock version after it. The next step on that case
takes the workflow instead of restoring one, but only when the row it has just read
holds that very version, process version and state text: a step by another process,
a migration or any edit of the row falls back to the stored state.

A taken workflow leaves the cache, so two steps never share one, and a step that
fails never puts back a workflow it changed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from SpiffWorkflow.bpmn import BpmnWorkflow

from engine.definitions.task_kinds import all_tasks

DEFAULT_SIZE = 256  # cases; a workflow of a finished case is never taken again and ages out


@dataclass(frozen=True)
class _Kept:
    lock_version: int
    version_id: int
    state_json: str
    workflow: BpmnWorkflow


class LiveWorkflows:
    """A small LRU of live workflows by case id, checked against the case's row on the way out."""

    def __init__(self, size: int = DEFAULT_SIZE):
        self._size = size
        self._kept: OrderedDict[int, _Kept] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, row) -> BpmnWorkflow | None:
        """The workflow the last step on `row`'s case left, if `row` is exactly what it stored."""
        with self._lock:
            kept = self._kept.pop(row.id, None)
        if kept is None or (kept.lock_version, kept.version_id) != (row.lock_version, row.version_id):
            return None
        return kept.workflow if kept.state_json == row.state_json else None

    def keep(self, row, workflow: BpmnWorkflow) -> None:
        """Remember the workflow a committed step stored as `row`."""
        with self._lock:
            self._kept[row.id] = _Kept(row.lock_version, row.version_id, row.state_json, workflow)
            self._kept.move_to_end(row.id)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)

    def __len__(self) -> int:
        return len(self._kept)


def differences(live: BpmnWorkflow, restored: BpmnWorkflow) -> list[str]:
    """Where a kept workflow differs from the one its stored state restores (tests run every step through this).

    Data must match in type too: a tuple a script left would come back from the stored
    state as a list, and a later gateway could then decide otherwise.
    """
    found = []
    if not _same(live.data, restored.data):
        found.append("workflow data")
    if live.subprocesses.keys() != restored.subprocesses.keys():
        found.append("subprocesses")
    restored_tasks = {task.id: task for task in all_tasks(restored)}
    for task in all_tasks(live):
        twin = restored_tasks.pop(task.id, None)
        if twin is None:
            found.append(f"task {task.task_spec.name} is not in the stored state")
        elif task.state != twin.state or task.task_spec.name != twin.task_spec.name:
            found.append(f"task {task.task_spec.name}: state {task.state} but stored {twin.state}")
        elif not (_same(task.data, twin.data) and _same(task.internal_data, twin.internal_data)):
            found.append(f"task {task.task_spec.name}: data differs from the stored state's")
    found += [f"stored task {task.task_spec.name} is not in the kept workflow" for task in restored_tasks.values()]
    return found


def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(value, b[key]) for key, value in a.items())
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b

"""The rows a step reads and writes: plain copies, moved with one Core statement each.

A step loads its instance (and task) row as a plain mutable copy, changes it in
memory and writes it back itself: one versioned UPDATE for the instance, one
statement (or executemany) per table for human tasks and timers. The ORM's unit of
work would run the same SQL with more bookkeeping than the SQL costs, and a plain copy
cannot be flushed twice by accident. The instance is written first, with the
optimistic lock check, so a stale step stops before it touches anything else. Nothing
here commits.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from engine.audit.chain import NewEvent
from engine.audit.events import EventType
from engine.definitions.compiled import CompiledVersion
from engine.definitions.task_kinds import all_tasks, is_human, is_timer
from engine.errors import ConflictError, NotFound
from engine.policy.sla import handed_target
from engine.runtime.queries import is_instance_id, task_and_case_columns
from engine.scheduling.sla_clocks import clock_start, initial_due
from engine.store.models import OPEN_TASK_STATUSES, HumanTask, Instance, InstanceStatus, TaskStatus, Timer

# Session flag: this transaction wrote timer rows (Core statements bypass the ORM's `session.new`).
TIMERS_WRITTEN = "wrote_timer"

CONFLICT_MESSAGE = "this case was changed by someone else meanwhile; reload and try again"

# What a step may change on its instance row (only those that changed are written).
STEP_COLUMNS = ("state_json", "status", "updated_at", "error_element", "error_line", "error_message",
                "cancel_reason", "category", "unit", "caller", "phone", "summary",
                "version_id")  # a migration to a newer version is a step too


class RowCopy(SimpleNamespace):
    """A plain, mutable copy of one table row: its columns as attributes, typed as the model types them.

    It remembers the values it was read with, so that writing it back sets only the
    columns that changed: an indexed column (status, unit, phone) set to its old value
    would still cost an index update.
    """

    def __init__(self, **columns):
        super().__init__(**columns)
        self._as_read = columns

    def changes(self, names) -> dict:
        """The columns among `names` whose values differ from those read (or last written)."""
        return {name: getattr(self, name) for name in names if getattr(self, name) != self._as_read[name]}

    def written(self, values: dict) -> None:
        self._as_read = {**self._as_read, **values}

    def as_read(self, name: str):
        """The column's value as read (or last written), whatever the step has set since."""
        return self._as_read[name]


# Built once: every step runs these, and building a statement costs more than running it.
_instance, _task, _timer = Instance.__table__, HumanTask.__table__, Timer.__table__
_INSTANCE_BY_ID = select(_instance).where(_instance.c.id == bindparam("key"))
_INSTANCE_BY_REFERENCE = select(_instance).where(_instance.c.reference == bindparam("key"))
_TASKS_BY_ID = select(_task).where(_task.c.id.in_(bindparam("ids", expanding=True)))
_INSTANCE_INSERT = insert(_instance).returning(_instance.c.id)
_INSTANCE_UPDATE = (update(_instance)
                    .where(_instance.c.id == bindparam("row_id"),
                           _instance.c.lock_version == bindparam("seen_version"))
                    .values(lock_version=_instance.c.lock_version + 1))
# Open statuses spelled out with "or": an IN list would be expanded into the SQL on every execution.
_TASK_CLOSE = (update(_task)
               .where(_task.c.id == bindparam("task_id"), or_(*(_task.c.status == s for s in OPEN_TASK_STATUSES)))
               .values(status=bindparam("new_status"), completed_at=bindparam("at"),
                       completed_by=bindparam("by")))
_TASK_INSERT = insert(_task)
_TIMERS_DELETE = delete(_timer).where(_timer.c.instance_id == bindparam("instance_id"))
_TIMER_INSERT = insert(_timer)
_INSTANCE_KEYS = tuple(_instance.c.keys())
# The case's row, locked for this transaction unless someone holds it (then: no row).
LOCK_INSTANCE = (select(_instance.c.id).where(_instance.c.id == bindparam("instance_id"))
                 .with_for_update(skip_locked=True))


def load_instance(session: Session, instance_id: int | str) -> RowCopy:
    """An instance by id or reference number, or `NotFound`."""
    by_id = is_instance_id(instance_id)
    stmt, key = (_INSTANCE_BY_ID, int(instance_id)) if by_id else (_INSTANCE_BY_REFERENCE, instance_id)
    found = session.connection().execute(stmt, {"key": key}).first()
    if found is None:
        raise NotFound(f"case {instance_id} does not exist")
    return RowCopy(**found._mapping)


def load_task_and_instance(session: Session, task_id: str) -> tuple[RowCopy, RowCopy]:
    """A human task and its instance, in one query, or `NotFound`."""
    task, instance = task_and_case_columns(session, task_id)
    return RowCopy(**task), RowCopy(**instance)


def insert_instance(session: Session, **values) -> RowCopy:
    """Insert a new instance row (at `lock_version` 1) and return its copy, with its id."""
    values = {key: None for key in _INSTANCE_KEYS if key != "id"} | values | {"lock_version": 1}
    new_id = session.connection().execute(_INSTANCE_INSERT, values).scalar_one()
    return RowCopy(id=new_id, **values)


def save_instance(session: Session, row: RowCopy) -> None:
    """Write the step's changes to `row` unless someone wrote it since it was read;
    move its `lock_version` on to the version now stored."""
    values = row.changes(STEP_COLUMNS)
    written = session.connection().execute(
        _INSTANCE_UPDATE, {"row_id": row.id, "seen_version": row.lock_version, **values})
    if written.rowcount != 1:
        raise ConflictError(CONFLICT_MESSAGE)
    row.lock_version += 1
    row.written({**values, "lock_version": row.lock_version})


def sync_human_tasks(session: Session, row: RowCopy, compiled: CompiledVersion, workflow,
                     open_before: frozenset[str], now: datetime, actor: str) -> tuple[list[NewEvent], list]:
    """Close and open task rows to match the workflow's ready human tasks.

    The rows open before the step are exactly the human tasks ready then
    (`open_before`: every step leaves them so), so finding the rows to close needs no
    query. Returns the `task_ready` events and copies of the rows now open (those
    kept open are read back, when there are any).
    """
    conn = session.connection()
    ready = {str(t.id): t for t in all_tasks(workflow) if t.state == TaskState.READY and is_human(t)}
    closing = []
    for task_id in open_before - ready.keys():
        spiff_task = workflow.get_task_from_id(UUID(task_id))
        done = spiff_task is not None and spiff_task.state == TaskState.COMPLETED
        closing.append({"task_id": task_id, "at": now, "by": actor if done else None,
                        "new_status": TaskStatus.COMPLETED if done else TaskStatus.CANCELLED})
    if closing:
        conn.execute(_TASK_CLOSE, closing)
    kept = open_before & ready.keys()
    open_rows = [RowCopy(**r._mapping) for r in conn.execute(_TASKS_BY_ID, {"ids": sorted(kept)})] if kept else []
    events, new_rows = [], []
    for task_id, task in ready.items():
        if task_id in open_before:
            continue
        process_id = task.workflow.spec.name
        element = compiled.element(process_id, task.task_spec.bpmn_id)
        new = _new_task_row(row, compiled, task, element, now)
        new_rows.append(new)
        events.append(NewEvent(EventType.TASK_READY, row.id, "system", new["element_id"],
                               {"task_id": task_id, "process": process_id, "role": new["role"],
                                "name": element.get("name"),
                                "due_at": new["due_at"].isoformat() if new["due_at"] else None,
                                **({"assignee": new["assignee"]} if new["assignee"] else {})}))
    if new_rows:
        conn.execute(_TASK_INSERT, new_rows)
    return events, open_rows + [RowCopy(**new) for new in new_rows]


def _new_task_row(row: RowCopy, compiled: CompiledVersion, task, element: dict, now: datetime) -> dict:
    """The `human_task` row for a task that just became ready: its role, form and due time."""
    sla_key = handed_target(element.get("sla"), task.data)  # the opener's limit, if it handed one
    since = clock_start(element, task.data, now) if sla_key else now
    due_at = initial_due(compiled.rules, sla_key, row.site, since)  # working time on a calendar target
    # An element with `assignee` opens held by the person its case field names (the technician
    # the supervisor chose, engine/definitions/staff_lists.py); without one, ready for its role.
    holder = task.data.get(element["assignee"]) if element.get("assignee") else None
    holder = holder if isinstance(holder, str) and holder else None
    return {"id": str(task.id), "instance_id": row.id, "element_id": task.task_spec.bpmn_id,
            "name": element.get("name") or task.task_spec.bpmn_name or task.task_spec.bpmn_id,
            "role": compiled.rules.role_for_lane(task.task_spec.lane), "form_id": element.get("form"),
            "sla_key": sla_key, "status": TaskStatus.CLAIMED if holder else TaskStatus.READY,
            "assignee": holder, "created_at": now,
            "due_at": due_at, "completed_at": None, "completed_by": None}


def waiting_timers(row: RowCopy, workflow, status: InstanceStatus | None = None) -> list[dict]:
    """The timer rows `workflow` calls for, the case being in `status` (default: the row's): one
    per waiting timer event, with its due time; none unless the case is running."""
    if (status or row.status) != InstanceStatus.RUNNING:
        return []
    due = []
    for task in all_tasks(workflow):
        if task.state == TaskState.WAITING and is_timer(task):
            value = task._get_internal_data("event_value")
            if isinstance(value, dict):  # cycle timers keep their next occurrence
                value = value.get("next")
            if value:
                due.append({"instance_id": row.id, "element_id": task.task_spec.bpmn_id,
                            "due_at": TimerEventDefinition.get_datetime(value)})
    return due


def sync_timers(session: Session, row: RowCopy, workflow, stored: list[dict] | None = None) -> None:
    """Replace the instance's timer rows with the due times of its waiting timer events.

    `stored`: the rows as they are, when the step knows them (every step writes them from the
    state it stores, so they are `waiting_timers` of the state it restored). Unchanged, as in
    most steps beside a waiting timer, they are left alone: no DELETE and INSERT of the same.
    """
    due = waiting_timers(row, workflow)
    if stored is not None and due == stored:
        return
    conn = session.connection()
    conn.execute(_TIMERS_DELETE, {"instance_id": row.id})
    if due:
        conn.execute(_TIMER_INSERT, due)
        session.info[TIMERS_WRITTEN] = True  # lets a timer worker in this process wake at commit

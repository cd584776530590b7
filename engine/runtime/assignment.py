"""Who holds a human task: claim, release and reassign, each one guarded write.

Lock order, the same as every step's, so two steps never wait on each other in a
circle: the case's instance row first (its versioned UPDATE), then the task row. The
task and its case are read in one statement, so the version checked is the one the
task's status was read with; the task UPDATE is conditional on that status and holder
too. Of two people claiming one task exactly one wins; a task completed meanwhile can
never come back as claimed: the loser's step stops with `StepRaced` and is retried or
answered as a conflict.
"""

from __future__ import annotations

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from engine import clock
from engine.audit.chain import NewEvent
from engine.audit.events import EventType
from engine.definitions.compiled import VERSIONS
from engine.errors import StepRaced
from engine.runtime import steprows
from engine.runtime.preconditions import check_running
from engine.runtime.queries import task_view
from engine.runtime.steprows import RowCopy
from engine.runtime.views import TaskView
from engine.scheduling import announcements
from engine.stats.projection import record_events
from engine.store.models import HumanTask, TaskStatus

MAX_REASON = 500  # why a task was reassigned, kept in the audit trail
_task = HumanTask.__table__
_TASK_ASSIGN = (update(_task)
                .where(_task.c.id == bindparam("task_id"), _task.c.status == bindparam("seen_status"),
                       _task.c.assignee.is_not_distinct_from(bindparam("seen_assignee")))
                .values(status=bindparam("new_status"), assignee=bindparam("new_assignee")))


def assign(session: Session, row: RowCopy, task: RowCopy, assignee: str | None, status: TaskStatus,
           event_type: EventType, actor: str, data: dict) -> TaskView:
    """Give `task` to `assignee` (None: back to its role) with `status`, in the caller's step."""
    check_running(row)
    TaskStatus(task.status).check_transition(status)
    row.updated_at = clock.now()  # a new version: forms open on this case are now stale
    steprows.save_instance(session, row)  # first, and versioned: a case changed since the read stops here
    written = session.connection().execute(_TASK_ASSIGN, {
        "task_id": task.id, "seen_status": task.status, "seen_assignee": task.assignee,
        "new_status": status, "new_assignee": assignee})
    if written.rowcount != 1:
        raise StepRaced(steprows.CONFLICT_MESSAGE)
    task.status, task.assignee = status, assignee
    if event_type == EventType.TASK_REASSIGNED and assignee:
        announcements.announce_assigned(session, row, VERSIONS.get(session, row.version_id), task, assignee,
                                        row.updated_at)
    record_events(session, [NewEvent(event_type, row.id, actor, task.element_id, {"task_id": task.id, **data})],
                  row.updated_at)
    return task_view(task, row)

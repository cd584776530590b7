"""The step transaction: every change to a case is one step, and every step one transaction.

A step loads the instance, rebuilds the workflow around the cached spec (or takes
the one its last step in this process left, when the row is still what that stored), acts
(start, complete a task, deliver a message, fire timers, cancel, retry), runs the
engine, and writes back state, human tasks, timers and audit events together — or
nothing. This module is the only place that commits.

Concurrency is optimistic: the instance row carries `lock_version`; a write that finds
another version raises `StepRaced` (the step runs again, engine/runtime/retry.py), and a
caller who saw an older version than the stored one gets `ConflictError`. Locks are
taken in one order by every step: the instance row, then its tasks, timers and clocks.
A diagram expression that fails leaves the instance in the `error` status with element,
line and message, its state saved, ready for `retry`.
"""

from __future__ import annotations

import contextlib
from typing import Callable

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import clock
from engine.audit.chain import NewEvent
from engine.audit.events import EventType
from engine.definitions.compiled import VERSIONS, CompiledVersion
from engine.definitions.scripting import running_case
from engine.definitions.state import dump_state, load_state
from engine.errors import ConflictError, StepRaced
from engine.runtime import steprows
from engine.runtime.live_workflows import LiveWorkflows, differences
from engine.runtime.queries import instance_view, task_view
from engine.runtime.retry import is_retryable
from engine.runtime.steprows import RowCopy
from engine.runtime.tracking import StepTracker
from engine.runtime.views import StepResult
from engine.scheduling import announcements, sla_clocks
from engine.scheduling.outbox import LoggingSender, Sender
from engine.scheduling.recipients import RecipientResolver, RoleHolders
from engine.stats.projection import record_events
from engine.store.db import Database
from engine.store.models import InstanceStatus

# Session key: the (row, workflow) a step stored, to keep alive once it has committed.
STORED_WORKFLOW = "stored_workflow"

Action = Callable[[BpmnWorkflow], list[NewEvent]]


class StepTransactions:
    """The step transaction on one database, under one (injectable) clock; `Runtime` adds the steps."""

    # Tests turn this on: every kept workflow a step takes is compared with its stored state.
    check_live_workflows = False

    def __init__(self, db: Database, clock_=None, sender: Sender | None = None,
                 recipients: RecipientResolver | None = None):
        self.db = db
        self.clock = clock_ or clock.SystemClock()
        # The outbox's deliveries go through `sender` (engine/channels for real ones) to the
        # people `recipients` names for a role (engine/scheduling/recipients.py).
        self.sender = sender or LoggingSender()
        self.recipients = recipients or RoleHolders()
        self.live = LiveWorkflows()  # saves the next step on a case restoring its workflow

    # -- the step transaction -------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self):
        """Open the one transaction a step runs in; map a stale write to `ConflictError`."""
        with clock.using_clock(self.clock), self.db.session() as session:
            try:
                with session.begin():
                    yield session
            except StaleDataError:
                raise ConflictError(steprows.CONFLICT_MESSAGE) from None
            except DBAPIError as exc:  # a deadlock victim or serialization failure runs again
                if is_retryable(exc):
                    raise StepRaced(steprows.CONFLICT_MESSAGE) from None
                raise
            stored = session.info.pop(STORED_WORKFLOW, None)
            if stored is not None:  # only now: a step rolled back must not leave its workflow
                self.live.keep(*stored)

    def _advance(self, session: Session, row: RowCopy, compiled: CompiledVersion, act: Action, actor: str,
                 completions: dict | None = None, workflow: BpmnWorkflow | None = None) -> list[RowCopy]:
        """Run one step on a loaded instance; return the task rows left open."""
        if workflow is None:
            workflow = self._workflow_of(row, compiled)
        tracker = StepTracker.snapshot(compiled, row.id, workflow)
        error = None
        with running_case(row.reference):  # helpers such as followup_decision() read it
            events = act(workflow)
            try:
                workflow.do_engine_steps()
            except WorkflowException as exc:
                error = exc
        events += tracker.events_after(workflow, actor, completions)
        return self._write_back(session, row, compiled, workflow, tracker, events, error, actor)

    def _workflow_of(self, row: RowCopy, compiled: CompiledVersion) -> BpmnWorkflow:
        """The case's workflow: the one its last step here left, if the row is still what that step stored."""
        live = self.live.take(row)
        if live is None or live.spec is not compiled.spec:
            return restore_workflow(row, compiled)
        if self.check_live_workflows:
            found = differences(live, restore_workflow(row, compiled))
            if found:
                raise RuntimeError(f"case {row.reference}: the kept workflow is not its stored state: {found}")
        return live

    def _write_back(self, session, row, compiled, workflow, tracker, events, error, actor) -> list[RowCopy]:
        now = clock.now()
        row.state_json = dump_state(workflow)
        row.updated_at = now
        if error is not None:
            row.status = row.status.becomes(InstanceStatus.ERROR)
            task = getattr(error, "task", None)
            row.error_element = task.task_spec.bpmn_id if task is not None else None
            row.error_line = getattr(error, "line_number", None) or None
            row.error_message = str(error)
            events.append(NewEvent(EventType.ERROR, row.id, "system", row.error_element,
                                   {"line": row.error_line, "message": row.error_message}))
        elif workflow.completed and row.status != InstanceStatus.CANCELLED:
            row.status = row.status.becomes(InstanceStatus.COMPLETED)
            events.append(NewEvent(EventType.INSTANCE_FINISHED, row.id, "system", compiled.process_id, {}))
        elif row.status == InstanceStatus.ERROR or row.status == InstanceStatus.RUNNING:
            row.status = row.status.becomes(InstanceStatus.RUNNING)
            row.error_element = row.error_line = row.error_message = None
        steprows.save_instance(session, row)  # first: a stale step stops here
        task_events, open_rows = steprows.sync_human_tasks(session, row, compiled, workflow,
                                                            tracker.open_before, now, actor)
        events += task_events
        events += sla_clocks.sync_clocks(session, row, compiled, workflow, open_rows, now)  # SLA clocks
        if compiled.has_timers:
            steprows.sync_timers(session, row, workflow)
        announcements.announce_step(session, row, compiled, events, now)  # tasks given, people sent out
        record_events(session, events, now)
        session.info[STORED_WORKFLOW] = (row, workflow)
        return open_rows

    def _result(self, session, row: RowCopy, open_rows: list[RowCopy]) -> StepResult:
        """The step's outcome, from the rows the step just wrote (no second query)."""
        compiled = VERSIONS.get(session, row.version_id)
        open_rows = sorted(open_rows, key=lambda t: t.created_at)  # stable: ties keep workflow order
        return StepResult(instance_view(session, row), [task_view(t, row, compiled) for t in open_rows])


def restore_workflow(row: RowCopy, compiled: CompiledVersion) -> BpmnWorkflow:
    """The case's workflow rebuilt from its stored state around the version's cached spec."""
    return load_state(row.state_json, compiled.spec, compiled.subprocess_specs, compiled.script_engine)

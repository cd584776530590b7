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
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import clock
from engine.audit.chain import NewEvent
from engine.audit.events import EventType
from engine.definitions.compiled import VERSIONS, CompiledVersion
from engine.definitions.scripting import running_case
from engine.definitions.state import dump_state, load_state
from engine.errors import BadInput, ConflictError, ScriptError, StepRaced
from engine.runtime import steprows
from engine.runtime.live_workflows import LiveWorkflows, differences
from engine.runtime.preconditions import find_version
from engine.runtime.queries import instance_view, task_view
from engine.runtime.references import next_reference
from engine.runtime.retry import is_retryable
from engine.runtime.steprows import RowCopy
from engine.runtime.tracking import StepTracker
from engine.runtime.views import StepResult
from engine.scheduling import announcements, outbox, sla_clocks
from engine.scheduling.outbox import LoggingSender, Sender
from engine.scheduling.recipients import RecipientResolver, RoleHolders
from engine.stats.projection import record_events
from engine.store.db import Database
from engine.store.followup_tally import SessionTally
from engine.store.models import InstanceStatus

# Session key: the (row, workflow) a step stored, to keep alive once it has committed.
STORED_WORKFLOW = "stored_workflow"
# Columns of the instance row a case's start data fills, for lists and search.
SUMMARY_FIELDS = ("site", "category", "unit", "caller", "phone")
# Session key and bound: cases opened by hand-over may hand over again, but not without end.
HAND_OVER_DEPTH = "hand_over_depth"
MAX_HAND_OVERS = 3

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
            session.info[outbox.RECIPIENTS] = self.recipients  # notify() asks it who is rostered
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
        stored_timers = None  # unknown for a new workflow or a migrated one: rewritten
        if workflow is None:
            workflow = self._workflow_of(row, compiled)
            if compiled.has_timers:  # what the step that stored this state wrote (steprows.sync_timers)
                stored_timers = steprows.waiting_timers(row, workflow, row.as_read("status"))
        tracker = StepTracker.snapshot(compiled, row.id, workflow)
        error = None
        with running_case(row.reference, SessionTally(session),  # helpers such as followup_decision() read it
                          reserve=lambda process_id: self._reserve_reference(session, process_id)) as handed_over:
            events = act(workflow)
            try:
                workflow.do_engine_steps()
            except WorkflowException as exc:
                error = exc
        events += tracker.events_after(workflow, actor, completions)
        open_rows = self._write_back(session, row, compiled, workflow, tracker, events, error, actor, stored_timers)
        if handed_over and error is None:
            self._hand_over(session, row, handed_over, actor)
        return open_rows

    def _start_case(self, session: Session, version_row, compiled: CompiledVersion, data: dict, actor: str,
                    handed_over_from: str | None = None, reference: str | None = None) -> tuple[RowCopy, list[RowCopy]]:
        """Insert a new case of `compiled` with its start data and run it to its first wait."""
        site = data.setdefault("site", compiled.rules.default_site)
        if site not in compiled.rules.sites:
            raise BadInput(f"unknown site {site!r}; known sites: {', '.join(compiled.rules.sites)}")
        now = clock.now()
        row = steprows.insert_instance(
            session, reference=reference or next_reference(session, compiled.reference_prefix, now),
            process_id=compiled.process_id, version_id=version_row.id, status=InstanceStatus.RUNNING,
            summary=data.get("description"), state_json="{}", started_by=actor,
            created_at=now, updated_at=now, **{f: text_or_none(data.get(f)) for f in SUMMARY_FIELDS},
        )
        workflow = BpmnWorkflow(compiled.spec, compiled.subprocess_specs, script_engine=compiled.script_engine)
        started = NewEvent(EventType.INSTANCE_STARTED, row.id, actor, compiled.process_id,
                           {"reference": row.reference, "version": version_row.version, "data": data,
                            "department": compiled.outline.get("department"),
                            **({"handed_over_from": handed_over_from} if handed_over_from else {})})

        def act(wf):
            for task in wf.get_tasks(state=TaskState.READY):
                task.data.update(data)
            return [started]

        return row, self._advance(session, row, compiled, act, actor, workflow=workflow)

    @staticmethod
    def _reserve_reference(session: Session, process_id: str) -> str:
        """The reference a case of `process_id` opened by this step will have (open_case returns it)."""
        compiled = VERSIONS.get(session, find_version(session, process_id, None).id)
        return next_reference(session, compiled.reference_prefix, clock.now())

    def _hand_over(self, session: Session, row: RowCopy, requested: list[tuple[str, dict, str | None]],
                   actor: str) -> None:
        """Open the cases a step's scripts asked for (open_case), each citing the case it came from."""
        if session.info.get(HAND_OVER_DEPTH, 0) >= MAX_HAND_OVERS:
            raise ScriptError(f"case {row.reference} hands over more than {MAX_HAND_OVERS} cases deep")
        session.info[HAND_OVER_DEPTH] = session.info.get(HAND_OVER_DEPTH, 0) + 1
        for process_id, data, reference in requested:
            version_row = find_version(session, process_id, None)
            compiled = VERSIONS.get(session, version_row.id)
            child, _open = self._start_case(session, version_row, compiled, dict(data), actor,
                                            handed_over_from=row.reference, reference=reference)
            record_events(session, [NewEvent(EventType.CASE_HANDED_OVER, row.id, actor, process_id,
                                             {"process": process_id, "reference": child.reference})], clock.now())
        session.info[HAND_OVER_DEPTH] -= 1

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

    def _write_back(self, session, row, compiled, workflow, tracker, events, error, actor,
                    stored_timers=None) -> list[RowCopy]:
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
            steprows.sync_timers(session, row, workflow, stored_timers)
        announcements.announce_step(session, row, compiled, events, now)  # tasks given, people sent out
        record_events(session, events, now)
        session.info[STORED_WORKFLOW] = (row, workflow)
        return open_rows

    def _result(self, session, row: RowCopy, open_rows: list[RowCopy]) -> StepResult:
        """The step's outcome, from the rows the step just wrote (no second query)."""
        compiled = VERSIONS.get(session, row.version_id)
        open_rows = sorted(open_rows, key=lambda t: t.created_at)  # stable: ties keep workflow order
        return StepResult(instance_view(session, row), [task_view(t, row, compiled) for t in open_rows])


def text_or_none(value) -> str | None:
    return None if value is None else str(value)


def restore_workflow(row: RowCopy, compiled: CompiledVersion) -> BpmnWorkflow:
    """The case's workflow rebuilt from its stored state around the version's cached spec."""
    return load_state(row.state_json, compiled.spec, compiled.subprocess_specs, compiled.script_engine)

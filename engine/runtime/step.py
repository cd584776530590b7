"""The runtime: every change to a case is one step, and every step one transaction.

A step loads the instance, rebuilds the workflow around the cached spec (or takes
the one its last step in this process left, when the row is still what that stored), acts
(start, complete a task, deliver a message, fire timers, cancel, retry), runs the
engine, and writes back state, human tasks, timers and audit events together — or
nothing. This module is the only place that commits.

Concurrency is optimistic: the instance row carries `lock_version`; a stale write
raises `ConflictError`. A diagram expression that fails leaves the instance in the
`error` status with element, line and message, its state saved, ready for `retry`.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from typing import Callable
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition, SignalEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from engine import clock
from engine.accounts.users import SUPERVISOR_ROLES, Actor, load_actor
from engine.audit import chain as audit
from engine.audit.chain import NewEvent
from engine.definitions.compiled import VERSIONS, CompiledVersion
from engine.definitions.forms import validate_form_data
from engine.definitions.scripting import running_case
from engine.definitions.state import dump_state, load_state
from engine.errors import (
    BadInput,
    ConflictError,
    FieldError,
    FormInvalid,
    InstanceNotRunning,
    NotFound,
    NothingWaiting,
    PermissionDenied,
    TaskNotReady,
)
from engine.policy.followup import DATA_NAME as FOLLOWUP_DATA
from engine.policy.moments import HELPERS as MOMENT_HELPERS
from engine.runtime import comments, steprows
from engine.runtime.live_workflows import LiveWorkflows, differences
from engine.runtime.migration import apply_migration, plan_migration
from engine.runtime.queries import OPEN_TASK_STATUSES, get_task_row, instance_view, task_view
from engine.runtime.references import next_reference
from engine.runtime.steprows import RowCopy
from engine.runtime.tracking import StepTracker, all_tasks
from engine.runtime.views import StepResult, TaskView
from engine.scheduling import escalation, sla_clocks
from engine.scheduling.outbox import LoggingSender, Sender
from engine.store.db import Database
from engine.store.models import HumanTask, Instance, InstanceStatus, ProcessVersion, TaskStatus, Timer

SUMMARY_FIELDS = ("site", "category", "unit", "caller", "phone")
# Diagram helpers, which data must not shadow, and the follow-up decision, which only a draw may set.
RESERVED_NAMES = frozenset({"sla", "now", "price", "followup_decision", FOLLOWUP_DATA, *MOMENT_HELPERS})

log = logging.getLogger(__name__)
# Session key: the (row, workflow) a step stored, to keep alive once it has committed.
STORED_WORKFLOW = "stored_workflow"

Action = Callable[[BpmnWorkflow], list[NewEvent]]


class Runtime:
    """Start and advance cases on one database, under one (injectable) clock."""

    # Tests turn this on: every kept workflow a step takes is compared with its stored state.
    check_live_workflows = False

    def __init__(self, db: Database, clock_=None, sender: Sender | None = None):
        self.db = db
        self.clock = clock_ or clock.SystemClock()
        self.sender = sender or LoggingSender()  # delivers the notification outbox (engine/outbox.py)
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
            return _restore(row, compiled)
        if self.check_live_workflows:
            found = differences(live, _restore(row, compiled))
            if found:
                raise RuntimeError(f"case {row.reference}: the kept workflow is not its stored state: {found}")
        return live

    def _write_back(self, session, row, compiled, workflow, tracker, events, error, actor) -> list[RowCopy]:
        now = clock.now()
        row.state_json = dump_state(workflow)
        row.updated_at = now
        if error is not None:
            row.status = InstanceStatus.ERROR
            task = getattr(error, "task", None)
            row.error_element = task.task_spec.bpmn_id if task is not None else None
            row.error_line = getattr(error, "line_number", None) or None
            row.error_message = str(error)
            events.append(NewEvent(audit.ERROR, row.id, "system", row.error_element,
                                   {"line": row.error_line, "message": row.error_message}))
        elif workflow.completed and row.status != InstanceStatus.CANCELLED:
            row.status = InstanceStatus.COMPLETED
            events.append(NewEvent(audit.INSTANCE_FINISHED, row.id, "system", compiled.process_id, {}))
        elif row.status == InstanceStatus.ERROR or row.status == InstanceStatus.RUNNING:
            row.status = InstanceStatus.RUNNING
            row.error_element = row.error_line = row.error_message = None
        steprows.save_instance(session, row)  # first: a stale step stops here
        task_events, open_rows = steprows.sync_human_tasks(session, row, compiled, workflow,
                                                            tracker.open_before, now, actor)
        events += task_events
        events += sla_clocks.sync_clocks(session, row, compiled, workflow, open_rows, now)  # SLA clocks
        if compiled.has_timers:
            steprows.sync_timers(session, row, workflow)
        audit.append_events(session, events, now)
        session.info[STORED_WORKFLOW] = (row, workflow)
        return open_rows

    def _result(self, session, row: RowCopy, open_rows: list[RowCopy]) -> StepResult:
        """The step's outcome, from the rows the step just wrote (no second query)."""
        compiled = VERSIONS.get(session, row.version_id)
        open_rows = sorted(open_rows, key=lambda t: t.created_at)  # stable: ties keep workflow order
        return StepResult(instance_view(session, row), [task_view(t, row, compiled) for t in open_rows])

    # -- starting a case ------------------------------------------------------------

    def start_instance(self, process_id: str, data: dict | None, actor: str, version: int | None = None) -> StepResult:
        """Start a case of the latest (or the given) version with initial data."""
        data = dict(data or {})
        _check_reserved(data)
        with self.transaction() as session:
            load_actor(session, actor)
            version_row = _find_version(session, process_id, version)
            compiled = VERSIONS.get(session, version_row.id)
            site = data.setdefault("site", compiled.rules.default_site)
            if site not in compiled.rules.sites:
                raise BadInput(f"unknown site {site!r}; known sites: {', '.join(compiled.rules.sites)}")
            now = clock.now()
            row = steprows.insert_instance(
                session, reference=next_reference(session, compiled.reference_prefix, now),
                process_id=process_id, version_id=version_row.id, status=InstanceStatus.RUNNING,
                summary=data.get("description"), state_json="{}", started_by=actor,
                created_at=now, updated_at=now, **{f: _text(data.get(f)) for f in SUMMARY_FIELDS},
            )
            workflow = BpmnWorkflow(compiled.spec, compiled.subprocess_specs, script_engine=compiled.script_engine)
            started = NewEvent(audit.INSTANCE_STARTED, row.id, actor, process_id,
                               {"reference": row.reference, "version": version_row.version, "data": data})

            def act(wf):
                for task in wf.get_tasks(state=TaskState.READY):
                    task.data.update(data)
                return [started]

            open_rows = self._advance(session, row, compiled, act, actor, workflow=workflow)
            return self._result(session, row, open_rows)

    # -- human tasks ----------------------------------------------------------------

    def complete_task(self, task_id: str, data: dict | None, actor: str | Actor,
                      expected_version: int | None = None) -> StepResult:
        """Complete a ready task with form data, validated against its form first.

        `actor` is a username, or the `Actor` the caller loaded for this very request
        (the web app's), which saves reading the account again on the busiest step.
        """
        data = dict(data or {})
        with self.transaction() as session:
            who = actor if isinstance(actor, Actor) else load_actor(session, actor)
            task_row, row = steprows.load_task_and_instance(session, task_id)
            _check_running(row, expected_version)
            _check_can_work_on(task_row, who)
            compiled = VERSIONS.get(session, row.version_id)
            data = _validated_form_data(compiled, task_row, data)

            def act(wf):
                task = wf.get_task_from_id(UUID(task_row.id))
                if task is None or task.state != TaskState.READY:
                    raise TaskNotReady(f"task {task_row.name} is not ready")
                task.set_data(**data)
                task.run()
                return []

            _update_summary(row, data)
            open_rows = self._advance(session, row, compiled, act, who.username,
                                      completions={UUID(task_row.id): data})
            return self._result(session, row, open_rows)

    def claim_task(self, task_id: str, actor: str) -> TaskView:
        """Take a ready task so that nobody else works on it."""
        with self.transaction() as session:
            who = load_actor(session, actor)
            task_row = get_task_row(session, task_id)
            if task_row.status != TaskStatus.READY:
                raise TaskNotReady(_not_ready_message(task_row))
            if task_row.role not in who.roles:
                raise PermissionDenied(f"{actor} does not hold role {task_row.role!r} needed for this task")
            return self._assign(session, task_row, actor, TaskStatus.CLAIMED, audit.TASK_CLAIMED, actor, {})

    def unclaim_task(self, task_id: str, actor: str) -> TaskView:
        """Give a claimed task back to its role (the holder or a supervisor)."""
        with self.transaction() as session:
            who = load_actor(session, actor)
            task_row = get_task_row(session, task_id)
            if task_row.status != TaskStatus.CLAIMED:
                raise TaskNotReady("task is not claimed")
            if task_row.assignee != actor and not (who.roles & SUPERVISOR_ROLES):
                raise PermissionDenied(f"only {task_row.assignee} or a supervisor can release this task")
            return self._assign(session, task_row, None, TaskStatus.READY, audit.TASK_UNCLAIMED, actor,
                                {"previous": task_row.assignee})

    def reassign_task(self, task_id: str, to_user: str, actor: str) -> TaskView:
        """Give an open task to `to_user` (supervisors only); they must hold its role."""
        with self.transaction() as session:
            who = load_actor(session, actor)
            if not who.roles & SUPERVISOR_ROLES:
                raise PermissionDenied("only a supervisor or manager can reassign tasks")
            target = load_actor(session, to_user)
            task_row = get_task_row(session, task_id)
            if task_row.status not in OPEN_TASK_STATUSES:
                raise TaskNotReady(_not_ready_message(task_row))
            if task_row.role not in target.roles:
                raise BadInput(f"{to_user} does not hold role {task_row.role!r}")
            return self._assign(session, task_row, to_user, TaskStatus.CLAIMED, audit.TASK_REASSIGNED, actor,
                                {"previous": task_row.assignee, "to": to_user})

    def _assign(self, session, task_row, assignee, status, event_type, actor, data) -> TaskView:
        row = session.get(Instance, task_row.instance_id)
        if row.status != InstanceStatus.RUNNING:
            raise InstanceNotRunning(f"case {row.reference} is {row.status.value}")
        task_row.assignee, task_row.status = assignee, status
        row.updated_at = clock.now()
        flag_modified(row, "updated_at")  # always bump lock_version: open forms on this case are now stale
        session.flush()
        audit.append_events(session, [NewEvent(event_type, row.id, actor, task_row.element_id,
                                               {"task_id": task_row.id, **data})], clock.now())
        return task_view(task_row, row)

    def add_comment(self, instance_id, data: dict, actor: str) -> comments.Comment:
        """Write a comment (`{"text": ...}`, 备注) into a case's record; the workflow and the
        case's version stay as they are."""
        data = comments.comment_data(data)
        with self.transaction() as session:
            who = load_actor(session, actor)
            row = steprows.load_instance(session, instance_id)
            comments.check_may_comment(who, row.started_by)
            at = clock.now()
            audit.append_events(session, [NewEvent(audit.COMMENT_ADDED, row.id, actor, None, data)], at)
        return comments.Comment(row.reference, at, actor, data["text"])

    # -- events from outside --------------------------------------------------------

    def send_message(self, instance_id, name: str, payload: dict | None = None, actor: str = "system") -> StepResult:
        """Deliver a message or signal (e.g. `ambulance_arrived`) to a case waiting for it."""
        with self.transaction() as session:
            load_actor(session, actor)
            row = steprows.load_instance(session, instance_id)
            _check_running(row)
            compiled = VERSIONS.get(session, row.version_id)

            def act(wf):
                catcher = _waiting_catcher(wf, name)
                if catcher is None:
                    raise NothingWaiting(f"case {row.reference} is not waiting for {name!r}")
                is_signal = isinstance(catcher.task_spec.event_definition, SignalEventDefinition)
                definition = SignalEventDefinition(name) if is_signal else MessageEventDefinition(name)
                wf.send_event(BpmnEvent(definition, payload or {}))
                kind = audit.SIGNAL_RECEIVED if is_signal else audit.MESSAGE_RECEIVED
                return [NewEvent(kind, row.id, actor, catcher.task_spec.bpmn_id, {"name": name, "payload": payload})]

            open_rows = self._advance(session, row, compiled, act, actor)
            return self._result(session, row, open_rows)

    def cancel_instance(self, instance_id, reason: str, actor: str) -> StepResult:
        """Cancel a case with a reason (supervisors, managers, or whoever started it)."""
        if not (reason or "").strip():
            raise BadInput("a reason is required to cancel a case")
        with self.transaction() as session:
            who = load_actor(session, actor)
            row = steprows.load_instance(session, instance_id)
            if row.status in (InstanceStatus.COMPLETED, InstanceStatus.CANCELLED):
                raise InstanceNotRunning(f"case {row.reference} is already {row.status.value}")
            if not (who.roles & SUPERVISOR_ROLES) and row.started_by != actor:
                raise PermissionDenied("only a supervisor, a manager or the person who opened it can cancel a case")
            compiled = VERSIONS.get(session, row.version_id)
            row.status, row.cancel_reason = InstanceStatus.CANCELLED, reason

            def act(wf):
                wf.cancel()
                return [NewEvent(audit.CANCELLED, row.id, actor, compiled.process_id, {"reason": reason})]

            open_rows = self._advance(session, row, compiled, act, actor)
            return self._result(session, row, open_rows)

    def retry_instance(self, instance_id, data: dict | None, actor: str) -> StepResult:
        """Correct the data of the failed element and run it again."""
        data = dict(data or {})
        _check_reserved(data)
        with self.transaction() as session:
            load_actor(session, actor)
            row = steprows.load_instance(session, instance_id)
            if row.status != InstanceStatus.ERROR:
                raise InstanceNotRunning(f"case {row.reference} is not in error")
            compiled = VERSIONS.get(session, row.version_id)

            def act(wf):
                failed = [t for t in all_tasks(wf) if t.state == TaskState.ERROR]
                for task in failed:
                    # SpiffWorkflow's reset: the task is reached again (its pre-script runs again)
                    # and re-inherits its parent's data, so the corrections go on again after it.
                    task.reset_branch({**task.data, **data})
                    task.data.update(data)
                return [NewEvent(audit.RETRIED, row.id, actor, row.error_element,
                                 {"data": data, "previous_error": row.error_message})]

            row.status = InstanceStatus.RUNNING
            open_rows = self._advance(session, row, compiled, act, actor)
            return self._result(session, row, open_rows)

    # -- moving a case to a newer version -------------------------------------------

    def migrate_instance(self, instance_id, to_version: int, actor: str) -> StepResult:
        """Move a running case onto `to_version` of its process when SpiffWorkflow's diff says it is safe."""
        with self.transaction() as session:
            load_actor(session, actor)
            row = steprows.load_instance(session, instance_id)
            _check_running(row)
            old = VERSIONS.get(session, row.version_id)
            target = _find_version(session, old.process_id, to_version)
            if target.version <= old.version:
                raise BadInput(f"case {row.reference} is on v{old.version}; it can only move to a newer version")
            new = VERSIONS.get(session, target.id)
            workflow = _restore(row, old)
            plan = plan_migration(workflow, new.spec, new.subprocess_specs)
            if not plan.safe:
                raise BadInput(f"case {row.reference} cannot move to v{new.version}: " + "; ".join(plan.problems))
            apply_migration(workflow, plan, new.spec, new.subprocess_specs)
            workflow.script_engine = new.script_engine
            row.version_id = target.id

            def act(wf):
                return [NewEvent(audit.MIGRATED, row.id, actor, old.process_id,
                                 {"from_version": old.version, "to_version": new.version,
                                  "changed_steps": plan.changed})]

            open_rows = self._advance(session, row, new, act, actor, workflow=workflow)
            return self._result(session, row, open_rows)

    # -- timers ---------------------------------------------------------------------

    def fire_due_timers(self, limit: int = 200) -> int:
        """Advance every instance with a timer due by this runtime's clock, each in its own transaction."""
        moment = self.clock.now()
        with self.db.read_session() as session:
            due_ids = session.scalars(
                select(Timer.instance_id).where(Timer.due_at < moment).group_by(Timer.instance_id)
                .order_by(func.min(Timer.due_at)).limit(limit)).all()
        fired = 0
        for instance_id in due_ids:
            try:
                fired += self._fire_instance_timers(instance_id, moment)
            except ConflictError:
                continue  # another step advanced this case first; its timers were rewritten
            except Exception:  # one case's unexpected failure must not hold up the others' timers
                log.exception("firing the timers of case %s failed; they stay due", instance_id)
        escalation.run_due(self, moment)  # SLA escalation levels that fell due, then the outbox
        return fired

    def _fire_instance_timers(self, instance_id: int, moment: datetime) -> int:
        with self.transaction() as session:
            # SKIP LOCKED lets several workers share the table without firing a timer twice.
            claimed = session.scalars(select(Timer.id).where(
                Timer.instance_id == instance_id, Timer.due_at < moment).with_for_update(skip_locked=True)).all()
            if not claimed:
                return 0
            row = steprows.load_instance(session, instance_id)
            if row.status != InstanceStatus.RUNNING:
                return 0
            compiled = VERSIONS.get(session, row.version_id)

            def act(wf):
                wf.refresh_timers()
                return []

            self._advance(session, row, compiled, act, "system")
            return 1




def _restore(row: RowCopy, compiled: CompiledVersion) -> BpmnWorkflow:
    """The case's workflow rebuilt from its stored state around the version's cached spec."""
    return load_state(row.state_json, compiled.spec, compiled.subprocess_specs, compiled.script_engine)


def _find_version(session: Session, process_id: str, version: int | None) -> ProcessVersion:
    stmt = select(ProcessVersion).where(ProcessVersion.process_id == process_id, ProcessVersion.executable.is_(True))
    stmt = stmt.where(ProcessVersion.version == version) if version else stmt.order_by(ProcessVersion.version.desc())
    found = session.scalars(stmt.limit(1)).first()
    if found is None:
        what = f"version {version} of process {process_id!r}" if version else f"process {process_id!r}"
        raise NotFound(f"{what} is not deployed")
    return found


def _check_running(row: RowCopy, expected_version: int | None = None) -> None:
    if expected_version is not None and row.lock_version != expected_version:
        raise ConflictError(f"case {row.reference} was changed by someone else meanwhile; reload and try again")
    if row.status != InstanceStatus.RUNNING:
        raise InstanceNotRunning(f"case {row.reference} is {row.status.value}")


def _check_can_work_on(task_row: RowCopy, who: Actor) -> None:
    if task_row.status not in OPEN_TASK_STATUSES:
        raise TaskNotReady(_not_ready_message(task_row))
    if task_row.status == TaskStatus.CLAIMED and task_row.assignee != who.username:
        raise TaskNotReady(f"task is claimed by {task_row.assignee}")
    if task_row.status == TaskStatus.READY and task_row.role not in who.roles:
        raise PermissionDenied(f"{who.username} does not hold role {task_row.role!r} needed for this task")


def _not_ready_message(task_row: HumanTask | RowCopy) -> str:
    if task_row.status == TaskStatus.COMPLETED:
        return f"task {task_row.name} was already completed by {task_row.completed_by}"
    return f"task {task_row.name} is {task_row.status.value}"


def _validated_form_data(compiled: CompiledVersion, task_row: RowCopy, data: dict) -> dict:
    """Validate against the task's form and keep only the fields the form declares."""
    schema = compiled.forms.get(task_row.form_id) if task_row.form_id else None
    if schema is None:
        if data:
            raise FormInvalid([FieldError("", "this task has no form; submit no data")])
        return {}
    validate_form_data(schema, data)
    declared = schema.get("properties", {})
    return {k: v for k, v in data.items() if k in declared and k not in RESERVED_NAMES}


def _check_reserved(data: dict) -> None:
    clash = sorted(RESERVED_NAMES & set(data))
    if clash:
        raise FormInvalid([FieldError(name, "this name is reserved for diagram helpers and the follow-up draw") for name in clash])


def _waiting_catcher(workflow, name: str):
    for task in all_tasks(workflow):
        definition = getattr(task.task_spec, "event_definition", None)
        # Only message and signal catchers take what is sent in; a timer bears its element's name too.
        if (task.state == TaskState.WAITING and isinstance(definition, (MessageEventDefinition, SignalEventDefinition))
                and definition.name == name):
            return task
    return None


def _update_summary(row: RowCopy, data: dict) -> None:
    for field in SUMMARY_FIELDS:
        if field in data and field != "site":
            setattr(row, field, _text(data[field]))
    if "description" in data:
        row.summary = _text(data["description"])


def _text(value) -> str | None:
    return None if value is None else str(value)

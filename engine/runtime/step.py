"""The runtime's steps: start a case, complete, claim, release and reassign its tasks,
comment, deliver messages, cancel, retry, migrate, and fire due timers.

Each public method is one step in one transaction (engine/runtime/transaction.py), run
again when it lost a race with another step (engine/runtime/retry.py).
"""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition, SignalEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

from engine import clock
from engine.accounts import permissions, sites
from engine.accounts.users import Actor, load_actor
from engine.audit.chain import NewEvent
from engine.audit.events import EventType
from engine.definitions.catalogue import start_form_of
from engine.definitions.compiled import VERSIONS
from engine.definitions.form_people import check_staff
from engine.definitions.forms import (
    check_times,
    check_with_case_values,
    prepared_form_data,
    validate_form_data,
)
from engine.definitions.task_kinds import all_tasks
from engine.errors import (
    BadInput,
    ConflictError,
    InstanceNotRunning,
    NothingWaiting,
    PermissionDenied,
    TaskNotReady,
)
from engine.runtime import assignment, comments, metrics, steprows
from engine.runtime.migration import apply_migration, plan_migration
from engine.runtime.preconditions import (
    check_reserved,
    check_running,
    find_version,
    sla_due_at,
    validated_form_data,
    waiting_catcher,
)
from engine.runtime.retry import step
from engine.runtime.steprows import RowCopy
from engine.runtime.transaction import SUMMARY_FIELDS, StepTransactions, restore_workflow, text_or_none
from engine.runtime.views import StepResult, TaskView
from engine.scheduling import escalation
from engine.stats.projection import record_events
from engine.store.models import InstanceStatus, TaskStatus, Timer

log = logging.getLogger(__name__)


class Runtime(StepTransactions):
    """Start and advance cases on one database, under one (injectable) clock: every public
    method is one step (see engine/runtime/transaction.py), run again when it lost a race."""

    # -- starting a case ------------------------------------------------------------

    @step
    def start_instance(self, process_id: str, data: dict | None, actor: str, version: int | None = None) -> StepResult:
        """Start a case of the latest (or the given) version with initial data."""
        data = dict(data or {})
        check_reserved(data)
        with self.transaction() as session:
            who = load_actor(session, actor)
            version_row = find_version(session, process_id, version)
            compiled = VERSIONS.get(session, version_row.id)
            permissions.check_may_start(who, process_id, compiled.outline.get("start_roles"))
            data.setdefault("site", sites.home_site(who, compiled.rules.sites, compiled.rules.default_site))
            start_form = start_form_of(compiled)
            if start_form is not None:  # the one check of a start form, for the web, the API and the CLI
                data = prepared_form_data(start_form, data, who.name)
                validate_form_data(start_form, data)
                check_times(start_form, data, clock.now(), sla_due_at(compiled, data["site"]))
                check_staff(start_form, data, data["site"])
            sites.check_site(who, data["site"])  # a clerk opens cases for their own site only
            row, open_rows = self._start_case(session, version_row, compiled, data, actor)
            return self._result(session, row, open_rows)

    # -- human tasks ----------------------------------------------------------------

    @step
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
            sites.check_task_site(who, row.site, task_id)
            check_running(row, expected_version)
            permissions.check_may_work_on(who, task_row)
            permissions.check_case_is_theirs(who, row.started_by)
            compiled = VERSIONS.get(session, row.version_id)
            data = validated_form_data(compiled, task_row, data, who.name, row.site)

            def act(wf):
                task = wf.get_task_from_id(UUID(task_row.id))
                if task is None or task.state != TaskState.READY:
                    raise TaskNotReady(f"task {task_row.name} is not ready")
                check_with_case_values(compiled.forms.get(task_row.form_id), data, task.data)
                task.set_data(**data)
                task.run()
                return []

            _update_summary(row, data)
            open_rows = self._advance(session, row, compiled, act, who.username,
                                      completions={UUID(task_row.id): data})
            return self._result(session, row, open_rows)

    @step
    def claim_task(self, task_id: str, actor: str) -> TaskView:
        """Take a ready task so that nobody else works on it."""
        with self.transaction() as session:
            who = load_actor(session, actor)
            task_row, row = steprows.load_task_and_instance(session, task_id)
            sites.check_task_site(who, row.site, task_id)
            permissions.check_may_claim(who, task_row)
            permissions.check_case_is_theirs(who, row.started_by)
            return assignment.assign(session, row, task_row, actor, TaskStatus.CLAIMED, EventType.TASK_CLAIMED,
                                     actor, {})

    @step
    def unclaim_task(self, task_id: str, actor: str) -> TaskView:
        """Give a claimed task back to its role (the holder or a supervisor)."""
        with self.transaction() as session:
            who = load_actor(session, actor)
            task_row, row = steprows.load_task_and_instance(session, task_id)
            sites.check_task_site(who, row.site, task_id)
            permissions.check_may_release(who, task_row)
            return assignment.assign(session, row, task_row, None, TaskStatus.READY, EventType.TASK_UNCLAIMED,
                                     actor, {"previous": task_row.assignee})

    @step
    def reassign_task(self, task_id: str, to_user: str, actor: str, reason: str | None = None) -> TaskView:
        """Give an open task to `to_user` (supervisors only); they must hold its role. The
        reason, if given, goes into the audit trail."""
        if reason is not None and len(reason) > assignment.MAX_REASON:
            raise BadInput(f"the reason may have at most {assignment.MAX_REASON} characters")
        with self.transaction() as session:
            who = load_actor(session, actor)
            if not permissions.may_reassign(who):  # before saying whether the other person exists
                raise PermissionDenied("only a supervisor, a manager or a department head can reassign tasks")
            task_row, row = steprows.load_task_and_instance(session, task_id)
            sites.check_task_site(who, row.site, task_id)
            target = load_actor(session, to_user)
            permissions.check_may_reassign(who, task_row, target, VERSIONS.get(session, row.version_id).rules)
            sites.check_colleague(target, row.site)
            return assignment.assign(session, row, task_row, to_user, TaskStatus.CLAIMED,
                                     EventType.TASK_REASSIGNED, actor,
                                     {"previous": task_row.assignee, "to": to_user, **({"reason": reason} if reason else {})})

    @step
    def add_comment(self, instance_id, data: dict, actor: str) -> comments.Comment:
        """Write a comment (`{"text": ...}`, 备注) into a case's record; the workflow and the
        case's version stay as they are."""
        data = comments.comment_data(data)
        with self.transaction() as session:
            who = load_actor(session, actor)
            row = steprows.load_instance(session, instance_id)
            sites.check_case_site(who, row.site, instance_id)
            comments.check_may_comment(who, row.started_by)
            at = clock.now()
            record_events(session, [NewEvent(EventType.COMMENT_ADDED, row.id, actor, None, data)], at)
        return comments.Comment(row.reference, at, actor, data["text"])

    # -- events from outside --------------------------------------------------------

    @step
    def send_message(self, instance_id, name: str, payload: dict | None = None, actor: str = "system") -> StepResult:
        """Deliver a message or signal (e.g. `ambulance_arrived`) to a case waiting for it."""
        with self.transaction() as session:
            who = load_actor(session, actor)
            row = steprows.load_instance(session, instance_id)
            sites.check_case_site(who, row.site, instance_id)
            check_running(row)
            compiled = VERSIONS.get(session, row.version_id)

            def act(wf):
                catcher = waiting_catcher(wf, name)
                if catcher is None:
                    raise NothingWaiting(f"case {row.reference} is not waiting for {name!r}")
                is_signal = isinstance(catcher.task_spec.event_definition, SignalEventDefinition)
                definition = SignalEventDefinition(name) if is_signal else MessageEventDefinition(name)
                wf.send_event(BpmnEvent(definition, payload or {}))
                kind = EventType.SIGNAL_RECEIVED if is_signal else EventType.MESSAGE_RECEIVED
                return [NewEvent(kind, row.id, actor, catcher.task_spec.bpmn_id, {"name": name, "payload": payload})]

            open_rows = self._advance(session, row, compiled, act, actor)
            return self._result(session, row, open_rows)

    @step
    def cancel_instance(self, instance_id, reason: str, actor: str) -> StepResult:
        """Cancel a case with a reason (supervisors, managers, or whoever started it)."""
        if not (reason or "").strip():
            raise BadInput("a reason is required to cancel a case")
        with self.transaction() as session:
            who = load_actor(session, actor)
            row = steprows.load_instance(session, instance_id)
            sites.check_case_site(who, row.site, instance_id)
            if row.status in (InstanceStatus.COMPLETED, InstanceStatus.CANCELLED):
                raise InstanceNotRunning(f"case {row.reference} is already {row.status.value}")
            permissions.check_may_cancel(who, row.started_by)
            compiled = VERSIONS.get(session, row.version_id)
            row.status, row.cancel_reason = row.status.becomes(InstanceStatus.CANCELLED), reason

            def act(wf):
                wf.cancel()
                return [NewEvent(EventType.CANCELLED, row.id, actor, compiled.process_id, {"reason": reason})]

            open_rows = self._advance(session, row, compiled, act, actor)
            return self._result(session, row, open_rows)

    @step
    def retry_instance(self, instance_id, data: dict | None, actor: str) -> StepResult:
        """Correct the data of the failed element and run it again."""
        data = dict(data or {})
        check_reserved(data)
        with self.transaction() as session:
            who = load_actor(session, actor)
            row = steprows.load_instance(session, instance_id)
            sites.check_case_site(who, row.site, instance_id)
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
                return [NewEvent(EventType.RETRIED, row.id, actor, row.error_element,
                                 {"data": data, "previous_error": row.error_message})]

            row.status = row.status.becomes(InstanceStatus.RUNNING)
            open_rows = self._advance(session, row, compiled, act, actor)
            return self._result(session, row, open_rows)

    # -- moving a case to a newer version -------------------------------------------

    @step
    def migrate_instance(self, instance_id, to_version: int, actor: str) -> StepResult:
        """Move a running case onto `to_version` of its process when SpiffWorkflow's diff says it is safe."""
        with self.transaction() as session:
            who = load_actor(session, actor)
            row = steprows.load_instance(session, instance_id)
            sites.check_case_site(who, row.site, instance_id)
            check_running(row)
            old = VERSIONS.get(session, row.version_id)
            target = find_version(session, old.process_id, to_version)
            if target.version <= old.version:
                raise BadInput(f"case {row.reference} is on v{old.version}; it can only move to a newer version")
            new = VERSIONS.get(session, target.id)
            workflow = restore_workflow(row, old)
            plan = plan_migration(workflow, new.spec, new.subprocess_specs)
            if not plan.safe:
                raise BadInput(f"case {row.reference} cannot move to v{new.version}: " + "; ".join(plan.problems))
            apply_migration(workflow, plan, new.spec, new.subprocess_specs)
            workflow.script_engine = new.script_engine
            row.version_id = target.id

            def act(wf):
                return [NewEvent(EventType.MIGRATED, row.id, actor, old.process_id,
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

    @step
    def _fire_instance_timers(self, instance_id: int, moment: datetime) -> int:
        with self.transaction() as session:
            # The case first, as every step locks it, so a worker and a step never wait on each
            # other in a circle; SKIP LOCKED leaves a case someone is stepping to the next round,
            # and lets several workers share the table without firing a timer twice.
            if session.scalar(steprows.LOCK_INSTANCE, {"instance_id": instance_id}) is None:
                return 0
            earliest = session.scalar(select(func.min(Timer.due_at)).where(
                Timer.instance_id == instance_id, Timer.due_at < moment))
            if earliest is None:
                return 0  # another worker fired them while this one waited for its turn
            row = steprows.load_instance(session, instance_id)
            if row.status != InstanceStatus.RUNNING:
                return 0
            compiled = VERSIONS.get(session, row.version_id)

            def act(wf):
                wf.refresh_timers()
                return []

            self._advance(session, row, compiled, act, "system")
        metrics.timer_fired((moment - earliest).total_seconds())
        return 1




def _update_summary(row: RowCopy, data: dict) -> None:
    for field in SUMMARY_FIELDS:
        if field in data and field != "site":
            setattr(row, field, text_or_none(data[field]))
    if "description" in data:
        row.summary = text_or_none(data["description"])

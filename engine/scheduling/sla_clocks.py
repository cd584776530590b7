"""SLA clocks of human tasks, kept in step with the case inside each step transaction.

A task whose element names an SLA target gets a clock when it opens: a snapshot of
the target's policy at the case's site, the working time it allows (the budget), its
due time, and one escalation row per level (see `engine/escalation.py`). After every
step the clock pauses or resumes as the policy's pause rule says, and stops when the
task closes, recording whether the target was met. The snapshot is what counts from
then on: a later change to sla.yaml does not move this task's due time or outcome.

A clock usually starts when its task opens. An element whose `sla_from` names a moment in
the case data (`received_at`) starts it then instead: the time already gone counts as
worked, so a reply limit runs from when the request came in, not from when the desk
chose to ask (000 四.1(2)).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from engine.audit.chain import NewEvent
from engine.audit.events import EventType
from engine.definitions.rules import Rules
from engine.definitions.task_kinds import all_tasks
from engine.policy.moments import as_moment
from engine.policy.sla import PauseRule, SlaPolicy, snapshot_policy
from engine.scheduling.escalation import BREACH_LEVEL, fire
from engine.store.models import HumanTask, SlaClock, SlaEscalation, SlaOutcome, TaskStatus

_OPEN_CLOCKS = select(SlaClock).where(SlaClock.instance_id == bindparam("instance_id"),
                                      SlaClock.stopped_at.is_(None)).with_for_update()
_LEVELS = select(SlaEscalation).where(SlaEscalation.clock_id == bindparam("clock_id")).order_by(SlaEscalation.level)
_TASK_DUE = (update(HumanTask.__table__).where(HumanTask.__table__.c.id == bindparam("task_id"))
             .values(due_at=bindparam("due_at")))
_OPEN_STATES = TaskState.READY | TaskState.WAITING | TaskState.STARTED


SLA_FROM = "sla_from"  # the element property naming the case-data moment a clock counts from


def clock_start(element: dict, data: dict, now: datetime) -> datetime:
    """When the clock of a task of `element` opening now starts: the moment its `sla_from`
    names in the case data, or now when there is none (missing, unreadable or still to come)."""
    field = element.get(SLA_FROM)
    value = data.get(field) if field and isinstance(data, dict) else None
    if not value:
        return now
    try:
        return min(as_moment(value), now)
    except (TypeError, ValueError):
        return now


def initial_due(rules: Rules, key: str | None, site: str | None, start: datetime) -> datetime | None:
    """When a task with SLA target `key` whose clock starts at `start` falls due, or None without a known target."""
    if not key or key not in rules.sla_targets:
        return None
    return rules.sla_policy(key, site).due(start)


def sync_clocks(session: Session, row, compiled, workflow, open_rows: list,
                now: datetime) -> list[NewEvent]:
    """Start, pause, resume and stop the clocks of a case's tasks after a step; return the events.

    `open_rows` are the step's plain copies of the open task rows (`engine/steprows.py`):
    a due time the clock moved is written back here and set on the copy.
    """
    if not compiled.has_sla:
        return []
    clocks = {c.task_id: c for c in session.scalars(_OPEN_CLOCKS, {"instance_id": row.id})}
    open_ids = {task.id for task in open_rows}
    events: list[NewEvent] = []
    for task_id, clock in clocks.items():
        if task_id not in open_ids:
            # the step closed the row with a Core UPDATE: read its status, not a stale copy
            events += _stop(session, clock, session.get(HumanTask, task_id, populate_existing=True), now)
    case = _CaseState(workflow, compiled.script_engine)
    moved: dict[str, datetime | None] = {}
    for task in open_rows:
        if not task.sla_key or task.sla_key not in compiled.rules.sla_targets:
            continue
        clock = clocks.get(task.id)
        if clock is None:
            if task.created_at != now:
                continue  # opened before clocks existed (an older database): it keeps its due time
            since = _opened_since(compiled, workflow, task, now)
            clock = _start(session, row.id, task, compiled.rules.sla_policy(task.sla_key, row.site), since, now)
        policy = snapshot_policy(clock.policy)
        if policy.pause is not None:
            events += _pause_or_resume(session, clock, task, policy, case.pauses(policy.pause), now)
        moved.update({task.id: clock.due_at} if task.due_at != clock.due_at else {})
        task.due_at = clock.due_at
    if moved:
        session.connection().execute(_TASK_DUE, [{"task_id": k, "due_at": v} for k, v in moved.items()])
    return events


def _opened_since(compiled, workflow, task, now: datetime) -> datetime:
    """When the clock of `task` (a row that opened now) starts, from its element and its case data."""
    if not any(compiled.element(pid, task.element_id).get(SLA_FROM) for pid in compiled.processes):
        return now  # the usual case: no need to look the task up in the workflow
    spiff_task = workflow.get_task_from_id(UUID(task.id))
    element = compiled.element(spiff_task.workflow.spec.name, task.element_id)
    return clock_start(element, spiff_task.data, now)


def _start(session: Session, instance_id: int, task: HumanTask, policy: SlaPolicy, since: datetime,
           now: datetime) -> SlaClock:
    budget = policy.budget(since)
    worked = policy.clock.working_time(since, now) if since < now else timedelta(0)
    left = budget - worked
    clock = SlaClock(task_id=task.id, instance_id=instance_id, target=policy.key, policy=policy.snapshot(),
                     started_at=since, budget_seconds=budget.total_seconds(), worked_seconds=worked.total_seconds(),
                     running_since=now, due_at=policy.clock.add(now, left) if left > timedelta(0) else policy.due(since))
    session.add(clock)
    session.flush()  # the levels need the clock's id (and the clock its task's row)
    levels = [SlaEscalation(clock_id=clock.id, level=n) for n in range(len(policy.escalation) + 1)]
    session.add_all(levels)
    _schedule(clock, levels, policy)
    return clock


def _schedule(clock: SlaClock, levels: list[SlaEscalation], policy: SlaPolicy) -> None:
    """Set when each level not yet fired falls due: only while the clock runs."""
    budget, worked = timedelta(seconds=clock.budget_seconds), timedelta(seconds=clock.worked_seconds)
    for level in levels:
        if level.fired_at is not None:
            continue
        if clock.running_since is None:
            level.fire_at = None
            continue
        offset = budget if level.level == BREACH_LEVEL else policy.escalation[level.level - 1].offset(budget)
        level.fire_at = policy.clock.add(clock.running_since, max(offset - worked, timedelta(0)))


def _levels(session: Session, clock: SlaClock) -> list[SlaEscalation]:
    return list(session.scalars(_LEVELS, {"clock_id": clock.id}))


def _run_until(clock: SlaClock, policy: SlaPolicy, now: datetime) -> None:
    """Move the working time since the clock last started into `worked_seconds`."""
    if clock.running_since is not None:
        clock.worked_seconds += policy.clock.working_time(clock.running_since, now).total_seconds()
        clock.running_since = None


def _pause_or_resume(session, clock, task, policy, paused: bool, now) -> list[NewEvent]:
    running = clock.running_since is not None
    if paused == (not running):
        return []
    data = {"task_id": task.id, "target": clock.target}
    if paused:
        _run_until(clock, policy, now)
        if clock.worked_seconds < clock.budget_seconds:
            clock.due_at = None  # unknown until the clock runs again
        _schedule(clock, _levels(session, clock), policy)
        return [NewEvent(EventType.SLA_PAUSED, clock.instance_id, "system", task.element_id,
                         {**data, "worked_seconds": round(clock.worked_seconds, 3)})]
    clock.running_since = now
    left = timedelta(seconds=clock.budget_seconds - clock.worked_seconds)
    if left > timedelta(0):
        clock.due_at = policy.clock.add(now, left)
    _schedule(clock, _levels(session, clock), policy)
    return [NewEvent(EventType.SLA_RESUMED, clock.instance_id, "system", task.element_id,
                     {**data, "due_at": clock.due_at.isoformat() if clock.due_at else None})]


def _stop(session: Session, clock: SlaClock, task: HumanTask, now: datetime) -> list[NewEvent]:
    """Close the clock of a task that closed; a breach not yet recorded is recorded now, once."""
    policy = snapshot_policy(clock.policy)
    events = []
    levels = _levels(session, clock)
    breach = next(level for level in levels if level.level == BREACH_LEVEL)
    if breach.fired_at is None and breach.fire_at is not None and breach.fire_at < now:
        events += fire(session, breach, clock, policy, now)
    _run_until(clock, policy, now)
    clock.stopped_at = now
    if clock.breached_at is not None:
        clock.outcome = SlaOutcome.BREACHED
    else:
        clock.outcome = SlaOutcome.MET if task.status == TaskStatus.COMPLETED else SlaOutcome.CANCELLED
    _schedule(clock, levels, policy)  # stopped: no level falls due any more
    return events


class _CaseState:
    """What pause rules look at, computed only when a clock has one."""

    def __init__(self, workflow, script_engine):
        self.workflow, self.script_engine = workflow, script_engine
        self._open, self._data = None, None

    def pauses(self, rule: PauseRule) -> bool:
        if rule.while_open and self.open_elements & set(rule.while_open):
            return True
        return bool(rule.when) and self._holds(rule.when)

    @property
    def open_elements(self) -> set[str]:
        if self._open is None:
            self._open = {t.task_spec.bpmn_id for t in all_tasks(self.workflow)
                          if t.state & _OPEN_STATES and t.task_spec.bpmn_id}
        return self._open

    def _holds(self, condition: str) -> bool:
        """The condition over the case data as the last completed step left it; unknown names are false."""
        if self._data is None:
            done = [t for t in all_tasks(self.workflow) if t.state == TaskState.COMPLETED]
            self._data = max(done, key=lambda t: t.last_state_change).data if done else {}
        try:
            return bool(self.script_engine.environment.evaluate(condition, dict(self._data)))
        except Exception:  # noqa: BLE001 - a condition that cannot be evaluated yet does not pause
            return False

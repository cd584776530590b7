"""Escalation: what happens when an SLA clock reaches a level, each level exactly once.

Every clock has one `sla_escalation` row per level: level 0 is the breach itself
(`sla_breached`), levels 1… are the policy's chain (notify, reassign; `sla_escalated`).
A row falls due at its `fire_at`; firing it sets `fired_at` and clears `fire_at` in the
same transaction that writes its audit event and notifications, with the row locked,
so a second worker (or a second run) finds nothing left to fire.

The timer worker calls `run_due` after firing timers: due levels, then the outbox.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from engine.audit.chain import NewEvent
from engine.audit.events import EventType
from engine.definitions.compiled import VERSIONS
from engine.errors import ConflictError
from engine.policy.sla import ASSIGNEE, EscalationLevel, SlaPolicy, snapshot_policy
from engine.scheduling import announcements, delivery, outbox
from engine.scheduling.messages import compose
from engine.stats.projection import record_events
from engine.store.models import OPEN_TASK_STATUSES, HumanTask, Instance, SlaClock, SlaEscalation, TaskStatus

BREACH_LEVEL = 0


def run_due(runtime, moment: datetime, limit: int = 200) -> int:
    """Fire the escalation levels due before `moment`, then send the outbox; return levels fired."""
    fired = fire_due_levels(runtime, moment, limit)
    delivery.send_pending(runtime, moment)
    return fired


def fire_due_levels(runtime, moment: datetime, limit: int = 200) -> int:
    """Fire every level due before `moment`, each in its own transaction."""
    with runtime.db.read_session() as session:
        due = session.scalars(select(SlaEscalation.id).where(SlaEscalation.fire_at < moment)
                              .order_by(SlaEscalation.fire_at, SlaEscalation.id).limit(limit)).all()
    fired = 0
    for level_id in due:
        try:
            fired += _fire_one(runtime, level_id, moment)
        except ConflictError:
            continue  # a step changed the case meanwhile; the level is still due next round
    return fired


def _fire_one(runtime, level_id: int, moment: datetime) -> int:
    with runtime.transaction() as session:
        found = session.execute(select(SlaClock.id, SlaClock.instance_id)
                                .join(SlaEscalation, SlaEscalation.clock_id == SlaClock.id)
                                .where(SlaEscalation.id == level_id)).first()
        if found is None:
            return 0
        # Lock in the order a step does (case, clock, level), skipping any row someone holds:
        # this worker never waits for a lock, so it is never half of a deadlock. A skipped
        # level is still due and fires next round.
        for stmt in (select(Instance.id).where(Instance.id == found.instance_id),
                     select(SlaClock.id).where(SlaClock.id == found.id, SlaClock.stopped_at.is_(None)),
                     select(SlaEscalation.id).where(SlaEscalation.id == level_id, SlaEscalation.fire_at < moment)):
            if session.scalar(stmt.with_for_update(skip_locked=True)) is None:
                return 0
        clock, level = session.get(SlaClock, found.id), session.get(SlaEscalation, level_id)
        events = fire(session, level, clock, snapshot_policy(clock.policy), moment)
        record_events(session, events, moment)
        return 1


def fire(session: Session, level: SlaEscalation, clock: SlaClock, policy: SlaPolicy, now: datetime) -> list[NewEvent]:
    """Fire one level of a locked clock: mark it fired and return its audit events."""
    level.fired_at, level.fire_at = now, None
    task = session.get(HumanTask, clock.task_id)
    base = {"task_id": task.id, "target": clock.target}
    if level.level == BREACH_LEVEL:
        clock.breached_at = clock.due_at or now
        if task.status in OPEN_TASK_STATUSES:
            instance = session.get(Instance, clock.instance_id)
            announcements.announce_overdue(session, instance, VERSIONS.get(session, instance.version_id), task, now)
        return [NewEvent(EventType.SLA_BREACHED, clock.instance_id, "system", task.element_id,
                         {**base, "due_at": _iso(clock.due_at), "duration": policy.limit})]
    step = policy.escalation[level.level - 1]
    instance = session.get(Instance, clock.instance_id)
    previous = {"role": task.role, "assignee": task.assignee}
    if step.reassign and task.status in OPEN_TASK_STATUSES:
        _reassign(task, instance, step.reassign, now)
    recipients = _recipients(step, task, previous)
    _write_messages(session, step, task, instance, clock, recipients, now)
    return [NewEvent(EventType.SLA_ESCALATED, clock.instance_id, "system", task.element_id,
                     {**base, "level": level.level, "at": step.label, "due_at": _iso(clock.due_at),
                      "notify": [f"{kind}:{name}" for kind, name in recipients], "channel": step.channel,
                      "reassign": step.reassign, "previous": previous if step.reassign else None})]


def _reassign(task: HumanTask, instance: Instance, role: str, now: datetime) -> None:
    """Give the task to everyone holding `role`; open forms on the case become stale."""
    task.role, task.assignee, task.status = role, None, TaskStatus.READY
    instance.updated_at = now
    flag_modified(instance, "updated_at")  # bump lock_version, as a supervisor's reassignment does


def _recipients(step: EscalationLevel, task: HumanTask, previous: dict) -> list[tuple[str, str]]:
    """("role"|"user", name) pairs, once each; `assignee` is whoever held the task, else its role."""
    found = []
    for entry in step.notify:
        if entry == ASSIGNEE:
            found.append(("user", previous["assignee"]) if previous["assignee"] else ("role", previous["role"]))
        else:
            found.append(("role", entry))
    if step.reassign:
        found.append(("role", step.reassign))  # the role that now has the task hears of it
    return [r for r in dict.fromkeys(found) if r[1]]


def _write_messages(session, step, task, instance, clock, recipients, now) -> None:
    rules = VERSIONS.get(session, instance.version_id).rules
    if step.percent == 0 and not step.plus:
        # A level at 0 % fires as the task opens (立即: sla.yaml `at_once`): nothing is used up yet.
        zh, en, ask_zh, ask_en = "请立即处理", "needs you now", "", ""
    elif step.percent < 100:
        zh, en = f"已用去时限的 {step.label}", f"{step.label} of its time limit used"
        ask_zh, ask_en = "，请跟进", ": please follow up"
    else:
        zh, en = f"已超过时限（{step.label}）", f"past its time limit ({step.label})"
        ask_zh, ask_en = "，请跟进", ": please follow up"
    if step.reassign:
        role = rules.roles.get(step.reassign)
        zh += f"，已转给{role.zh if role else step.reassign}"
        en += f", reassigned to {role.en if role else step.reassign}"
    emergency = announcements.is_emergency(rules.notifications, instance.process_id)
    text, text_en = compose(instance.reference, instance.unit, (f"「{task.name}」{zh}{ask_zh}",
                                                                f"“{task.name}” {en}{ask_en}"),
                            clock.due_at, emergency)
    for kind, name in recipients:
        outbox.notify(session, now, text=text, text_en=text_en, channel=step.channel, site=instance.site,
                      instance_id=instance.id, task_id=task.id, emergency=emergency, due_at=clock.due_at,
                      link=announcements.task_link(task.id),
                      **({"to_user": name} if kind == "user" else {"to_role": name}))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None

"""Messages a step writes on its own when it gives someone work: a task ready for their role
(or, in a handover procedure, a handover due), a task given to them, a task they hold gone
overdue, and people named in a dispatch form sent out (notifications.yaml `dispatch`).

Each is written only when notifications.yaml routes its kind for the role somewhere, so
a library without routes keeps the bell for escalations alone. A case of a procedure
listed under `emergencies` makes emergency messages. The policy is the case's version's.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.audit.chain import NewEvent
from engine.audit.events import EventType
from engine.policy.notifications import DispatchRule, NotificationKind, NotificationPolicy, fill_template
from engine.scheduling import outbox
from engine.scheduling.messages import compose
from engine.store.models import User

log = logging.getLogger("estatedesk.notifications")


def task_link(task_id: str) -> str:
    return f"/tasks/{task_id}"


def case_link(reference: str) -> str:
    return f"/cases/{reference}"


def is_emergency(policy: NotificationPolicy, *process_ids: str | None) -> bool:
    return any(p in policy.emergencies for p in process_ids if p)


def announce_step(session: Session, row, compiled, events: list[NewEvent], now: datetime) -> None:
    """Write the messages a step's events call for (inside the step, before its events are recorded)."""
    policy = compiled.rules.notifications
    if not policy.routes and not policy.dispatch:
        return
    for event in events:
        process_id = (event.data or {}).get("process")
        emergency = is_emergency(policy, row.process_id, process_id)
        if event.type == EventType.TASK_READY:
            kind = NotificationKind.HANDOVER_DUE if process_id in policy.handover else NotificationKind.TASK_ASSIGNED
            role, name = event.data.get("role"), event.data.get("name") or event.element_id
            if role and policy.is_routed(kind, role):
                due = datetime.fromisoformat(event.data["due_at"]) if event.data.get("due_at") else None
                # a task that opens held by someone (the technician sent) is theirs, not the whole role's
                to = {"to_user": event.data["assignee"]} if event.data.get("assignee") else {"to_role": role}
                _write(session, row, now, (f"请处理「{name}」", f"please handle “{name}”"), due, emergency,
                       kind=kind, task_id=event.data["task_id"], link=task_link(event.data["task_id"]), **to)
        elif event.type == EventType.TASK_COMPLETED:
            rule = policy.dispatch_rule(process_id, event.element_id)
            if rule is not None:
                _dispatch(session, row, compiled, rule, event, emergency, now)


def announce_assigned(session: Session, row, compiled, task, to_user: str, now: datetime) -> None:
    """Tell `to_user` a supervisor gave them `task` (when task_assigned is routed for its role)."""
    policy = compiled.rules.notifications
    if not policy.is_routed(NotificationKind.TASK_ASSIGNED, task.role):
        return
    _write(session, row, now, (f"「{task.name}」已转给您，请处理", f"“{task.name}” was given to you: please handle it"),
           task.due_at, is_emergency(policy, row.process_id), kind=NotificationKind.TASK_ASSIGNED,
           to_user=to_user, task_id=task.id, link=task_link(task.id))


def announce_overdue(session: Session, instance, compiled, task, now: datetime) -> None:
    """Tell whoever holds `task` (its role when nobody does) that it passed its time limit."""
    policy = compiled.rules.notifications
    if not policy.is_routed(NotificationKind.OVERDUE, task.role):
        return
    to = {"to_user": task.assignee} if task.assignee else {"to_role": task.role}
    _write(session, instance, now, (f"「{task.name}」已超时，请尽快处理", f"“{task.name}” is overdue: please finish it now"),
           task.due_at, is_emergency(policy, instance.process_id), kind=NotificationKind.OVERDUE, task_id=task.id,
           link=task_link(task.id), **to)


def _dispatch(session: Session, row, compiled, rule: DispatchRule, event: NewEvent, emergency: bool,
              now: datetime) -> None:
    """Each person the completed form names (by name or username) is told they were sent out."""
    submitted = event.data.get("submitted") or {}
    named = submitted.get(rule.people)
    named = [named] if isinstance(named, str) else [n for n in named or () if isinstance(n, str)]
    if not named:
        return
    schema = compiled.forms.get(compiled.find_element(event.element_id).get("form") or "", {})
    task_name = event.data.get("name") or event.element_id
    zh = fill_template(rule.zh, _shown(schema, submitted, "zh")) if rule.zh else f"您已被派出：「{task_name}」"
    en = fill_template(rule.en, _shown(schema, submitted, "en")) if rule.en else f"you were sent out: “{task_name}”"
    for username in _accounts(session, named, row.site):
        _write(session, row, now, (zh, en), None, emergency, kind=NotificationKind.TASK_ASSIGNED,
               to_user=username, link=case_link(row.reference))


def _accounts(session: Session, named: list[str], site: str | None) -> list[str]:
    """The active accounts the names stand for, at the case's site first; a name nobody has is logged."""
    rows = session.execute(select(User.username, User.name, User.site).where(
        User.active.is_(True), or_(User.name.in_(named), User.username.in_(named)))).all()
    found = []
    for value in named:
        matches = [r for r in rows if value in (r.name, r.username)]
        here = [r for r in matches if r.site in (site, None)] or matches
        if not here:
            log.warning("dispatch names %r, who has no account: not notified", value)
        found += [r.username for r in sorted(here, key=lambda r: r.username)]
    return list(dict.fromkeys(found))


def _shown(schema: dict, submitted: dict, language: str) -> dict[str, str]:
    """Submitted values as people read them: enum labels in `language`, lists joined."""
    props = schema.get("properties") or {}
    key = "x-enum-labels-en" if language == "en" else "x-enum-labels"

    def one(prop: dict, value) -> str:
        return str((prop.get(key) or {}).get(value, value)) if isinstance(value, str) else str(value)

    shown = {}
    for name, value in submitted.items():
        prop = props.get(name) or {}
        if isinstance(value, list):
            shown[name] = ("、" if language == "zh" else ", ").join(one(prop.get("items") or {}, v) for v in value)
        elif value is not None:
            shown[name] = one(prop, value)
    return shown


def _write(session: Session, row, now: datetime, action: tuple[str, str], due_at, emergency: bool, **fields) -> None:
    text, text_en = compose(row.reference, row.unit, action, due_at, emergency)
    outbox.notify(session, now, text=text, text_en=text_en, site=row.site, instance_id=row.id,
                  emergency=emergency, due_at=due_at, **fields)

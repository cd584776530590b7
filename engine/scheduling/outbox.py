"""The notification outbox: messages to a role or a person, read in the app, sent by the worker.

Anything that should tell someone something writes a row with `notify` inside its
own step transaction, so a message exists exactly when the step that caused it
committed. The worker hands unsent rows to the runtime's `Sender` (the default one
logs), so nothing external is needed to run; a real SMS or WeChat sender plugs in the same way.
A role's message is shown to everyone holding the role at the case's site; each
person marks it read for themselves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from engine.accounts.users import Actor, load_actor
from engine.store.models import Instance, Notification, NotificationRead

log = logging.getLogger("estatedesk.notifications")

MAX_ATTEMPTS = 5  # a message the sender refused this often stays unsent, with its last error


@dataclass(frozen=True)
class NotificationView:
    id: int
    created_at: datetime
    to_role: str | None
    to_user: str | None
    site: str | None
    channel: str
    text: str
    text_en: str
    instance_id: int | None
    task_id: str | None
    sent_at: datetime | None
    read: bool = False
    reference: str | None = None  # the case's reference number, when listed for people


class Sender(Protocol):
    """Delivers one message on its channel; raising leaves it in the outbox to try again."""

    def send(self, message: NotificationView) -> None: ...


class LoggingSender:
    """The default sender: writes each message to the `estatedesk.notifications` log.

    When the application configured no logging at all (the CLI, `serve`), the log goes
    to stderr, so the messages a worker sends are seen.
    """

    def __init__(self):
        if not logging.getLogger().handlers and not log.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
            log.addHandler(handler)
            log.setLevel(logging.INFO)

    def send(self, message: NotificationView) -> None:
        to = f"user {message.to_user}" if message.to_user else f"role {message.to_role}@{message.site or '*'}"
        log.info("notification %s via %s to %s: %s", message.id, message.channel, to, message.text)


def notify(session: Session, now: datetime, *, text: str, text_en: str, to_role: str | None = None,
           to_user: str | None = None, site: str | None = None, channel: str = "web",
           instance_id: int | None = None, task_id: str | None = None) -> Notification:
    """Put a message in the outbox inside the caller's transaction (never commits)."""
    if (to_role is None) == (to_user is None):
        raise ValueError("a notification goes to a role or to a user")
    if not session.in_transaction():
        raise RuntimeError("notify must run inside a step transaction")
    row = Notification(created_at=now, to_role=to_role, to_user=to_user, site=site, channel=channel, text=text,
                       text_en=text_en, instance_id=instance_id, task_id=task_id, attempts=0)
    session.add(row)
    return row


def _addressed_to(actor: Actor):
    """Messages to this person, or to one of their roles at their site (or at no site)."""
    by_role = Notification.to_role.in_(sorted(actor.roles))
    if actor.site is not None:
        by_role = and_(by_role, or_(Notification.site.is_(None), Notification.site == actor.site))
    return or_(Notification.to_user == actor.username, by_role)


def _read_by(username: str):
    return exists().where(NotificationRead.notification_id == Notification.id,
                          NotificationRead.username == username)


def unread_count(session: Session, actor: Actor) -> int:
    """How many messages for this person they have not marked read (the bell's number)."""
    stmt = select(func.count(Notification.id)).where(_addressed_to(actor), ~_read_by(actor.username))
    return session.scalar(stmt) or 0


def list_notifications(session: Session, actor: Actor, limit: int = 100) -> list[NotificationView]:
    """This person's messages, newest first, each with whether they read it."""
    stmt = (select(Notification, _read_by(actor.username).label("read"), Instance.reference)
            .outerjoin(Instance, Instance.id == Notification.instance_id)
            .where(_addressed_to(actor)).order_by(Notification.id.desc()).limit(limit))
    return [_view(row, read, reference) for row, read, reference in session.execute(stmt)]


def mark_read(runtime, username: str, ids: list[int] | None = None) -> int:
    """Mark the given messages (all of this person's when None) read; return how many changed."""
    with runtime.transaction() as session:
        actor = load_actor(session, username)
        stmt = select(Notification.id).where(_addressed_to(actor), ~_read_by(actor.username))
        if ids is not None:
            stmt = stmt.where(Notification.id.in_(ids))
        unread = session.scalars(stmt).all()
        now = runtime.clock.now()
        session.add_all(NotificationRead(notification_id=i, username=username, read_at=now) for i in unread)
        return len(unread)


def send_pending(runtime, now: datetime, limit: int = 100) -> int:
    """Hand unsent messages to the runtime's sender; return how many went out.

    Rows are taken with SKIP LOCKED, so several workers never send one message twice;
    a quick read first keeps an idle worker from taking SQLite's write lock.
    """
    with runtime.db.read_session() as session:
        unsent = select(Notification.id).where(Notification.sent_at.is_(None), Notification.attempts < MAX_ATTEMPTS)
        if session.scalar(unsent.limit(1)) is None:
            return 0
    stmt = (select(Notification).where(Notification.sent_at.is_(None), Notification.attempts < MAX_ATTEMPTS)
            .order_by(Notification.id).limit(limit).with_for_update(skip_locked=True))
    sent = 0
    with runtime.transaction() as session:
        for row in session.scalars(stmt).all():
            row.attempts += 1
            try:
                runtime.sender.send(_view(row))
            except Exception as exc:  # noqa: BLE001 - any sender failure is kept on the row and retried
                row.last_error = f"{type(exc).__name__}: {exc}"[:1000]
                log.warning("notification %s not sent (attempt %s): %s", row.id, row.attempts, row.last_error)
                continue
            row.sent_at, row.last_error = now, None
            sent += 1
    return sent


def _view(row: Notification, read: bool = False, reference: str | None = None) -> NotificationView:
    return NotificationView(row.id, row.created_at, row.to_role, row.to_user, row.site, row.channel, row.text,
                            row.text_en, row.instance_id, row.task_id, row.sent_at, bool(read), reference)

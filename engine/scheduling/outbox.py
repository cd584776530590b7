"""The notification outbox: messages to a role or a person, read in the app, delivered by the worker.

Anything that should tell someone something writes a row with `notify` inside its
own step transaction, so a message exists exactly when the step that caused it
committed. The worker fans each row out into deliveries, one per channel and person
(or group robot), and hands each to the runtime's `Sender` (engine/scheduling/delivery.py);
the default sender logs, so nothing external is needed to run, and the channels of
engine/channels plug in the same way. A role's message is shown to everyone holding the
role at the case's site; each person marks it read for themselves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from engine.accounts import sites
from engine.accounts.users import Actor, load_actor
from engine.policy.notifications import LOG_CHANNEL, NotificationKind
from engine.policy.sla import DEFAULT_CHANNEL
from engine.store.models import DeliveryState, Instance, Notification, NotificationDelivery, NotificationRead

log = logging.getLogger("estatedesk.notifications")
# session.info key: the runtime's recipient resolver (engine/scheduling/recipients.py), set by
# the step transaction so a message written in it can ask who is rostered.
RECIPIENTS = "estatedesk.recipients"

# A message on DEFAULT_CHANNEL ("web") takes the channels notifications.yaml routes its kind to;
# one naming a channel (an escalation level's `channel: sms`) takes that channel alone.


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
    kind: str = NotificationKind.ESCALATION
    emergency: bool = False
    due_at: datetime | None = None
    link: str | None = None
    read: bool = False
    reference: str | None = None  # the case's reference number, when listed for people
    unit: str | None = None  # the case's unit, when handed to a sender


@dataclass(frozen=True)
class Recipient:
    """A person a delivery reaches, with what staff.yaml says about reaching them."""

    username: str
    name: str
    language: str = "zh"
    contacts: dict[str, str] | None = None

    def contact(self, kind: str) -> str | None:
        return (self.contacts or {}).get(kind)


@dataclass(frozen=True)
class Outgoing:
    """One delivery as a sender gets it: the message, the channel's settings and who it reaches."""

    delivery_id: int
    message: NotificationView
    channel: str  # the channel's name at the site ("log" for the log)
    channel_type: str  # email, sms, wecom, dingtalk, feishu, log
    settings: dict  # as notifications.yaml writes them: credentials are references
    recipients: tuple[Recipient, ...]
    base_url: str | None = None  # the web app's address at the site, for links
    secrets_file: str | None = None
    attempt: int = 1


class Sender(Protocol):
    """Delivers one `Outgoing`; raising leaves it to be tried again (engine.errors.DeliveryFailed
    with `permanent` dead-letters it at once).

    A sender may also offer `unavailable(channel_type, settings, secrets_file) -> str | None`:
    why a configured channel cannot be used here (a credential not set); such channels are skipped.
    """

    def send(self, outgoing: Outgoing) -> None: ...


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

    def send(self, outgoing: Outgoing) -> None:
        message = outgoing.message
        to = f"user {message.to_user}" if message.to_user else f"role {message.to_role}@{message.site or '*'}"
        log.info("notification %s via %s to %s: %s", message.id, outgoing.channel, to, message.text)


def notify(session: Session, now: datetime, *, text: str, text_en: str, to_role: str | None = None,
           to_user: str | None = None, site: str | None = None, channel: str = DEFAULT_CHANNEL,
           instance_id: int | None = None, task_id: str | None = None,
           kind: str = NotificationKind.ESCALATION, emergency: bool = False, due_at: datetime | None = None,
           link: str | None = None) -> Notification:
    """Put a message in the outbox inside the caller's transaction (never commits).

    A message to a role goes to the person the roster names for it when the transaction's
    resolver (session.info[RECIPIENTS]) has one for the moment, else to every holder.
    """
    if (to_role is None) == (to_user is None):
        raise ValueError("a notification goes to a role or to a user")
    if not session.in_transaction():
        raise RuntimeError("notify must run inside a step transaction")
    if to_role is not None:
        to_user = _rostered(session, to_role, site, now)
    row = Notification(created_at=now, kind=str(kind), emergency=emergency, to_role=to_role, to_user=to_user,
                       site=site, channel=channel, text=text, text_en=text_en, due_at=due_at, link=link,
                       instance_id=instance_id, task_id=task_id)
    session.add(row)
    return row


def _rostered(session: Session, role: str, site: str | None, now: datetime) -> str | None:
    """Who the runtime's resolver says the roster names for `role` now (after hours), if it can say.

    Kept on the row beside the role (to_user), so the bell and the deliveries reach that
    person alone while the message still says which role it was for (004 4.1.7).
    """
    rostered = getattr(session.info.get(RECIPIENTS), "rostered", None)
    return rostered(session, role, site, now) if rostered is not None else None


def _addressed_to(actor: Actor):
    """Messages to this person, or to one of their roles at a site they work at (or at no site)
    unless the roster gave the message to one person."""
    by_role = and_(Notification.to_role.in_(sorted(actor.roles)), Notification.to_user.is_(None))
    at_sites = sites.site_condition(actor, Notification.site)
    if at_sites is not None:
        by_role = and_(by_role, or_(Notification.site.is_(None), at_sites))
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
    return [view_of(row, read, reference) for row, read, reference in session.execute(stmt)]


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


@dataclass(frozen=True)
class DeliveryView:
    """How one notification fared on one channel, for the case page."""

    notification_id: int
    created_at: datetime
    kind: str
    emergency: bool
    text: str
    text_en: str
    channel: str
    channel_type: str
    recipients: tuple[str, ...]
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None
    held_until: datetime | None
    sent_at: datetime | None
    last_error: str | None


def case_deliveries(session: Session, instance_id: int) -> list[DeliveryView]:
    """The deliveries of a case's notifications on real channels (not the log), oldest first."""
    stmt = (select(Notification, NotificationDelivery)
            .join(NotificationDelivery, NotificationDelivery.notification_id == Notification.id)
            .where(Notification.instance_id == instance_id, NotificationDelivery.channel_type != LOG_CHANNEL)
            .order_by(Notification.id, NotificationDelivery.id))
    return [DeliveryView(n.id, n.created_at, n.kind, n.emergency, n.text, n.text_en, d.channel, d.channel_type,
                         tuple(d.recipients), d.state, d.attempts, d.next_attempt_at, d.held_until, d.sent_at,
                         d.last_error)
            for n, d in session.execute(stmt)]


def view_of(row: Notification, read: bool = False, reference: str | None = None,
            unit: str | None = None) -> NotificationView:
    """The row as senders and pages see it."""
    return NotificationView(row.id, row.created_at, row.to_role, row.to_user, row.site, row.channel, row.text,
                            row.text_en, row.instance_id, row.task_id, row.kind, row.emergency, row.due_at,
                            row.link, bool(read), reference, unit)

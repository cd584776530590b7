"""Delivering the outbox: fan out, claim, send, record — each delivery sent at most once.

The worker's pass (`send_pending`, after the timers and escalations):

1. a delivery a worker claimed more than the lease ago with no outcome recorded is
   marked *unconfirmed*: that worker died mid-send, the message may well have arrived,
   and sending it again could make it arrive twice, so it is never sent again;
2. notifications not yet fanned out get their deliveries (engine/scheduling/recipients.py);
3. each delivery due is claimed in a transaction of its own (`sending`, attempt counted,
   committed) *before* the network call, sent outside any transaction, and its outcome
   recorded in another transaction, only if the claim is still the one it made. So a
   delivery whose success was recorded is never sent again, and no lock is held while a
   slow peer answers.

A failure is tried again after an exponential backoff with a cap (notifications.yaml
`retry`, `emergency_retry` for emergencies); after the last try, or at once when it
cannot succeed, the delivery is dead-lettered. An emergency delivery that is dead or
unconfirmed raises an alert to the site's supervisors (`alert_role`), itself an
emergency notification. Every outcome is an audit event on the case and a counter.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from engine import clock
from engine.audit.chain import NewEvent
from engine.audit.events import EventType
from engine.definitions.compiled import current_rules
from engine.definitions.rules import Rules
from engine.errors import DeliveryFailed
from engine.policy.notifications import LOG_CHANNEL, NO_NOTIFICATIONS, NotificationKind
from engine.scheduling import metrics, outbox, recipients
from engine.scheduling.messages import compose
from engine.scheduling.outbox import Outgoing
from engine.stats.projection import record_events
from engine.store.models import DeliveryState, Instance, Notification, NotificationDelivery

log = logging.getLogger("estatedesk.notifications")

ROUNDS = 3  # alerts written in a pass are fanned out and sent in the same pass
UNCONFIRMED_ERROR = "the worker stopped while sending; not sent again, so that it never arrives twice"


def send_pending(runtime, now: datetime, limit: int = 100) -> int:
    """Recover, fan out and send what is due; return how many deliveries went out."""
    sent = 0
    for _ in range(ROUNDS):
        if not _anything_to_do(runtime):
            break
        _recover_abandoned(runtime)
        _fan_out_new(runtime)
        done, alerted = _send_due(runtime, limit)
        sent += done
        if not alerted:
            break
    return sent


def _anything_to_do(runtime) -> bool:
    """A quick read first, so an idle worker does not take SQLite's write lock."""
    now = runtime.clock.now()
    with runtime.db.read_session() as session:
        return bool(session.scalar(select(or_(
            exists().where(Notification.fanned_out_at.is_(None)),
            exists().where(NotificationDelivery.state == DeliveryState.PENDING,
                           NotificationDelivery.next_attempt_at <= now),
            exists().where(NotificationDelivery.state == DeliveryState.SENDING)))))


def _rules(session: Session) -> Rules | None:
    return current_rules(session)


def _policy(rules: Rules | None):
    return rules.notifications if rules is not None else NO_NOTIFICATIONS


def _recover_abandoned(runtime) -> None:
    with runtime.transaction() as session:
        now = clock.now()
        cutoff = now - _policy(_rules(session)).lease
        stmt = (select(NotificationDelivery).where(NotificationDelivery.state == DeliveryState.SENDING,
                                                   NotificationDelivery.claimed_at < cutoff)
                .order_by(NotificationDelivery.id).with_for_update(skip_locked=True))
        for delivery in session.scalars(stmt).all():
            delivery.state = delivery.state.becomes(DeliveryState.UNCONFIRMED)
            delivery.last_error = UNCONFIRMED_ERROR
            log.warning("delivery %s (notification %s via %s) unconfirmed: %s", delivery.id,
                        delivery.notification_id, delivery.channel, UNCONFIRMED_ERROR)
            _settled(session, delivery, EventType.NOTIFICATION_UNCONFIRMED, "unconfirmed", now)


def _fan_out_new(runtime, limit: int = 100) -> int:
    with runtime.transaction() as session:
        rows = session.scalars(select(Notification).where(Notification.fanned_out_at.is_(None))
                               .order_by(Notification.id).limit(limit).with_for_update(skip_locked=True)).all()
        if not rows:
            return 0
        rules, now = _rules(session), clock.now()
        for row in rows:
            if rules is not None:
                recipients.fan_out(session, row, rules, runtime.recipients, runtime.sender, now)
            row.fanned_out_at = now
        return len(rows)


def _send_due(runtime, limit: int) -> tuple[int, bool]:
    """Send due deliveries one by one; return (sent, whether an alert was written)."""
    sent, alerted = 0, False
    for _ in range(limit):
        claimed = _claim_next(runtime)
        if claimed is None:
            break
        error, permanent = None, False
        try:
            runtime.sender.send(claimed)
        except DeliveryFailed as exc:
            error, permanent = str(exc), exc.permanent
        except Exception as exc:  # noqa: BLE001 - any sender failure is recorded and tried again
            error = f"{type(exc).__name__}: {exc}"
        outcome = _record(runtime, claimed, error, permanent)
        sent += outcome == "sent"
        alerted |= outcome == "alerted"
    return sent, alerted


def _claim_next(runtime) -> Outgoing | None:
    """Mark the next due delivery `sending` and commit, before anything goes out."""
    with runtime.transaction() as session:
        now = clock.now()
        delivery = session.scalars(
            select(NotificationDelivery).where(NotificationDelivery.state == DeliveryState.PENDING,
                                               NotificationDelivery.next_attempt_at <= now)
            .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id).limit(1)
            .with_for_update(skip_locked=True)).first()
        if delivery is None:
            return None
        delivery.state = delivery.state.becomes(DeliveryState.SENDING)
        delivery.attempts += 1
        delivery.claimed_at = now
        return _outgoing(session, delivery, _rules(session))


def _outgoing(session: Session, delivery: NotificationDelivery, rules: Rules | None) -> Outgoing:
    row = session.get(Notification, delivery.notification_id)
    case = session.execute(select(Instance.reference, Instance.unit).where(Instance.id == row.instance_id)).first() \
        if row.instance_id is not None else None
    found = recipients.people(session, delivery.recipients, rules) if rules is not None else {}
    members = tuple(found[u].recipient if u in found else outbox.Recipient(u, u) for u in delivery.recipients)
    policy = _policy(rules)
    site = row.site or next((found[u].site for u in delivery.recipients if u in found), None)
    settings = {"type": LOG_CHANNEL} if delivery.channel == LOG_CHANNEL else policy.channel(site, delivery.channel)
    view = outbox.view_of(row, reference=case.reference if case else None, unit=case.unit if case else None)
    return Outgoing(delivery.id, view, delivery.channel,
                    delivery.channel_type, settings or {}, members, policy.base_url(site), policy.secrets_file,
                    delivery.attempts)


def _record(runtime, claimed: Outgoing, error: str | None, permanent: bool) -> str:
    """Write the outcome of one send, if the claim is still ours; return what happened."""
    with runtime.transaction() as session:
        delivery = session.scalars(
            select(NotificationDelivery).where(NotificationDelivery.id == claimed.delivery_id,
                                               NotificationDelivery.state == DeliveryState.SENDING,
                                               NotificationDelivery.attempts == claimed.attempt)
            .with_for_update()).first()
        if delivery is None:
            return "lost"  # recovered as unconfirmed meanwhile: what it says stands
        now = clock.now()
        if error is None:
            delivery.state = delivery.state.becomes(DeliveryState.SENT)
            delivery.sent_at, delivery.last_error = now, None
            return _settled(session, delivery, EventType.NOTIFICATION_SENT, "sent", now) or "sent"
        delivery.last_error = error[:1000]
        row = session.get(Notification, delivery.notification_id)
        retry = _policy(_rules(session)).retry_for(row.emergency)
        if permanent or not claimed.settings or delivery.attempts >= retry.attempts:
            delivery.state = delivery.state.becomes(DeliveryState.DEAD)
            log.warning("delivery %s (notification %s via %s) dead after %s attempt(s): %s", delivery.id,
                        row.id, delivery.channel, delivery.attempts, error)
            return _settled(session, delivery, EventType.NOTIFICATION_DEAD, "dead", now) or "dead"
        delivery.state = delivery.state.becomes(DeliveryState.PENDING)
        delivery.next_attempt_at = now + retry.delay(delivery.attempts)
        log.info("delivery %s via %s failed (attempt %s), trying again at %s: %s", delivery.id,
                 delivery.channel, delivery.attempts, delivery.next_attempt_at.isoformat(), error)
        _event(session, row, delivery, EventType.NOTIFICATION_FAILED, now,
               retry_at=delivery.next_attempt_at.isoformat())
        metrics.count(delivery.channel_type, "failed")
        return "failed"


def _settled(session: Session, delivery: NotificationDelivery, event_type: EventType, outcome: str,
             now: datetime) -> str | None:
    """Record a final outcome (event, counter) and alert on an emergency not delivered; "alerted" if so."""
    row = session.get(Notification, delivery.notification_id)
    metrics.count(delivery.channel_type, outcome)
    alert = outcome != "sent" and row.emergency and row.kind != NotificationKind.DELIVERY_FAILED
    rules = _rules(session)
    alert_role = _policy(rules).alert_role
    _event(session, row, delivery, event_type, now, alerted=alert_role if alert else None)
    if not alert:
        return None
    _alert(session, row, delivery, alert_role, rules, now)
    metrics.ALERTS.inc()
    return "alerted"


def _event(session: Session, row: Notification, delivery: NotificationDelivery, event_type: EventType,
           now: datetime, **extra) -> None:
    if delivery.channel_type == LOG_CHANNEL:
        return  # the log is not a delivery to anyone: the trail tells only of real channels
    data = {"notification_id": row.id, "kind": row.kind, "channel": delivery.channel,
            "channel_type": delivery.channel_type, "to": list(delivery.recipients), "attempt": delivery.attempts,
            "error": delivery.last_error, **{k: v for k, v in extra.items() if v is not None}}
    record_events(session, [NewEvent(event_type, row.instance_id, "system", None, data)], now)


def _alert(session: Session, row: Notification, delivery: NotificationDelivery, role: str,
           rules: Rules | None, now: datetime) -> None:
    """Tell the site's supervisors that an emergency message did not (surely) reach someone."""
    instance = session.get(Instance, row.instance_id) if row.instance_id is not None else None
    names = recipients.people(session, delivery.recipients, rules) if rules is not None else {}
    who = "、".join(names[u].recipient.name if u in names else u for u in delivery.recipients) or delivery.channel
    who_en = ", ".join(delivery.recipients) or delivery.channel
    unsure = delivery.state == DeliveryState.UNCONFIRMED
    zh = (f"发给{who}的紧急通知（{delivery.channel}）{'可能未送达' if unsure else '未能送达'}，请立即电话联系")
    en = (f"the urgent message to {who_en} ({delivery.channel}) {'may not have' if unsure else 'was not'} "
          "delivered: phone them now")
    text, text_en = compose(instance.reference if instance else None, instance.unit if instance else None,
                            (zh, en), None, emergency=True)
    outbox.notify(session, now, text=text, text_en=text_en, to_role=role, site=row.site,
                  instance_id=row.instance_id, task_id=row.task_id, kind=NotificationKind.DELIVERY_FAILED,
                  emergency=True, link=row.link)

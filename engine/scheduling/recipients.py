"""Who a notification reaches outside the app, and on which channels: its fan-out into deliveries.

A message to a person reaches that person; a message to a role reaches whoever the
runtime's `RecipientResolver` names. The default one (`RoleHolders`) names everyone
active holding the role at the case's site, as the bell does. After hours the duty roster
(issue #19) is meant to answer instead: it plugs in as another resolver, and is told
whether the moment is after hours by the calendar notifications.yaml names.

Each person's channels are the routes of the message's kind for their role (or, for a
message to a person, their roles), less those they do not take (staff.yaml `channels`)
and those the site does not have. A group robot gets one post @-mentioning everyone it
is for; email and SMS one delivery per person. Quiet hours hold a non-emergency delivery
until they end. A message that reaches nobody outside the app goes to the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounts import sites
from engine.definitions.rules import Rules
from engine.policy.notifications import LOG_CHANNEL, ROBOT_TYPES
from engine.scheduling.outbox import DEFAULT_CHANNEL, Recipient
from engine.store.models import DeliveryState, Notification, NotificationDelivery, User, UserRole

log = logging.getLogger("estatedesk.notifications")


@dataclass(frozen=True)
class RecipientQuery:
    """Who should hear of a message to `role` at `site`, sent at `moment`."""

    role: str
    site: str | None
    moment: datetime
    after_hours: bool  # outside notifications.yaml's `after_hours_calendar` (False without one)
    emergency: bool


class RecipientResolver(Protocol):
    """Names the people (usernames) a role's message reaches outside the app."""

    def recipients(self, session: Session, query: RecipientQuery) -> list[str]: ...


class RoleHolders:
    """Everyone active holding the role who works at the site (or company-wide): the people the bell shows it to."""

    def recipients(self, session: Session, query: RecipientQuery) -> list[str]:
        stmt = (select(User.username).join(UserRole, UserRole.user_id == User.id)
                .where(UserRole.role == query.role, User.active.is_(True)).order_by(User.username))
        if query.site is not None:
            stmt = stmt.where(sites.works_at(query.site))
        return list(session.scalars(stmt))


@dataclass(frozen=True)
class Person:
    recipient: Recipient
    site: str | None
    roles: frozenset[str]
    channels: tuple[str, ...] | None  # channel types they take; None: every one
    quiet_hours: object  # QuietHours, None, or "default"


def people(session: Session, usernames, rules: Rules) -> dict[str, Person]:
    """The active accounts named, with their contacts from staff.yaml (none if it lists them not)."""
    rows = session.execute(select(User.username, User.name, User.site, UserRole.role)
                           .outerjoin(UserRole, UserRole.user_id == User.id)
                           .where(User.username.in_(sorted(set(usernames))), User.active.is_(True))).all()
    found: dict[str, Person] = {}
    for username in dict.fromkeys(r.username for r in rows):
        mine = [r for r in rows if r.username == username]
        staff = rules.staff_by_username.get(username)
        recipient = Recipient(username, mine[0].name, staff.language if staff else "zh",
                              dict(staff.contacts) if staff else {})
        found[username] = Person(recipient, mine[0].site, frozenset(r.role for r in mine if r.role),
                                 staff.channels if staff else None, staff.quiet_hours if staff else "default")
    return found


def fan_out(session: Session, row: Notification, rules: Rules, resolver: RecipientResolver, sender,
            now: datetime) -> list[NotificationDelivery]:
    """Write the deliveries of one notification (in the caller's transaction) and return them."""
    policy = rules.notifications
    if row.to_user is not None:
        usernames = [row.to_user]
    else:
        usernames = resolver.recipients(session, RecipientQuery(
            row.to_role, row.site, row.created_at, _after_hours(rules, row.created_at), row.emergency))
    found = people(session, usernames, rules)
    personal: list[tuple[str, str, Person]] = []  # (channel name, type, person)
    groups: dict[str, tuple[str, list[Person]]] = {}
    for username in usernames:
        person = found.get(username)
        if person is None:
            continue
        roles = [row.to_role] if row.to_role else person.roles
        names = policy.routes_for(row.kind, roles) if row.channel == DEFAULT_CHANNEL else (row.channel,)
        site = row.site or person.site
        for name in names:
            settings = policy.channel(site, name)
            if settings is None or (person.channels is not None and settings["type"] not in person.channels):
                continue
            reason = _unavailable(sender, settings, policy.secrets_file)
            if reason:
                log.warning("channel %s at %s is not used: %s; notification %s stays in the app",
                            name, site, reason, row.id)
                continue
            if settings["type"] in ROBOT_TYPES:
                groups.setdefault(name, (settings["type"], []))[1].append(person)
            else:
                personal.append((name, settings["type"], person))
    deliveries = [_delivery(row, name, kind, person.recipient.username, [person], policy, now)
                  for name, kind, person in personal]
    deliveries += [_delivery(row, name, kind, "", members, policy, now) for name, (kind, members) in groups.items()]
    if not deliveries:
        deliveries = [_delivery(row, LOG_CHANNEL, LOG_CHANNEL, "", [found[u] for u in usernames if u in found],
                                policy, now)]
    session.add_all(deliveries)
    return deliveries


def _delivery(row: Notification, channel: str, kind: str, key: str, members: list[Person], policy,
              now: datetime) -> NotificationDelivery:
    held = None if row.emergency or kind == LOG_CHANNEL else _held_until(members, policy, now)
    return NotificationDelivery(notification_id=row.id, channel=channel, channel_type=kind, recipient_key=key,
                                recipients=[m.recipient.username for m in members], state=DeliveryState.PENDING,
                                attempts=0, next_attempt_at=held or now, held_until=held)


def _held_until(members: list[Person], policy, now: datetime) -> datetime | None:
    """The end of quiet hours when every person reached is in them (the earliest end); else None."""
    ends = []
    for member in members:
        quiet = policy.quiet_hours if member.quiet_hours == "default" else member.quiet_hours
        end = quiet.until(now) if quiet is not None else None
        if end is None:
            return None
        ends.append(end)
    return min(ends) if ends else None


def _after_hours(rules: Rules, moment: datetime) -> bool:
    name = rules.notifications.after_hours_calendar
    calendar = rules.sla.calendars.get(name) if name else None
    return calendar is not None and calendar.next_working_moment(moment) != moment


def _unavailable(sender, settings: dict, secrets_file: str | None) -> str | None:
    check = getattr(sender, "unavailable", None)
    return check(settings["type"], settings, secrets_file) if check is not None else None

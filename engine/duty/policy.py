"""The duty policy in force: duty.yaml of the newest deployed library."""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.definitions import compiled
from engine.definitions.rules import Rules
from engine.errors import NotFound
from engine.policy.duty_hours import DutyPolicy


def current_rules(session: Session) -> Rules:
    """The rules of the bundle now in force; NotFound before anything is deployed."""
    rules = compiled.current_rules(session)
    if rules is None:
        raise NotFound("no process is deployed")
    return rules


def duty_policy(session: Session, site: str | None) -> DutyPolicy:
    """duty.yaml as deployed, for `site`; NotFound when the library has none."""
    book = current_rules(session).duty
    if book is None:
        raise NotFound("the deployed library has no duty desk (processes/rules/duty.yaml)")
    return book.policy(site)

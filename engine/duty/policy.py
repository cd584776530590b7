"""The duty policy in force: duty.yaml of the newest deployed library."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.definitions.compiled import VERSIONS
from engine.errors import NotFound
from engine.policy.duty_hours import DutyPolicy
from engine.store.models import ProcessVersion


def current_rules(session: Session):
    """The rules of the newest executable version deployed: the bundle now in force."""
    newest = session.scalars(select(ProcessVersion.id).where(ProcessVersion.executable.is_(True))
                             .order_by(ProcessVersion.id.desc()).limit(1)).first()
    if newest is None:
        raise NotFound("no process is deployed")
    return VERSIONS.get(session, newest).rules


def duty_policy(session: Session) -> DutyPolicy:
    """duty.yaml as deployed; NotFound when the library has none."""
    policy = current_rules(session).duty
    if policy is None:
        raise NotFound("the deployed library has no duty desk (processes/rules/duty.yaml)")
    return policy

"""Who is on duty and who is on call (004 4.1.7), as the roster says.

`RosterRecipients` plugs into the runtime as its recipient resolver: within duty hours a
message to the desk or to an on-call role reaches the person the roster names for that
moment — in the bell and on every channel; otherwise (or with no roster) it reaches every
holder of the role, as before.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.duty.policy import duty_policy
from engine.errors import NotFound
from engine.policy.duty_hours import DESK_DAY, DESK_DUTY
from engine.scheduling.recipients import RecipientQuery, RoleHolders
from engine.store.models import DutyRoster, DutyShift, RosterStatus


def on_duty(session: Session, site: str, moment: datetime) -> dict[str, DutyShift]:
    """The published shifts covering `moment` at `site`: post -> shift."""
    rows = session.scalars(select(DutyShift).join(DutyRoster, DutyRoster.id == DutyShift.roster_id).where(
        DutyShift.site == site, DutyShift.starts_at <= moment, DutyShift.ends_at > moment,
        DutyRoster.status == RosterStatus.PUBLISHED))
    return {shift.post: shift for shift in rows}


def desk_shift(session: Session, site: str, moment: datetime) -> DutyShift | None:
    """The desk clerk's shift at `moment` (the day desk or the duty shift)."""
    shifts = on_duty(session, site, moment)
    return shifts.get(DESK_DUTY) or shifts.get(DESK_DAY)


class RosterRecipients:
    """Within duty hours, the rostered person for a role; else whoever `fallback` names."""

    def __init__(self, fallback=None):
        self.fallback = fallback or RoleHolders()

    def recipients(self, session: Session, query: RecipientQuery) -> list[str]:
        person = self.rostered(session, query.role, query.site, query.moment)
        return [person] if person is not None else self.fallback.recipients(session, query)

    def rostered(self, session: Session, role: str, site: str | None, moment: datetime) -> str | None:
        """Within duty hours, the person the published roster names for `role` at `site`; else None.

        The outbox asks this when a message to a role is written, so the bell (not only the
        channels) reaches the rostered person after hours (engine/scheduling/outbox.py).
        """
        if site is None:
            return None
        try:
            policy = duty_policy(session, site)
        except NotFound:
            return None
        if not policy.after_hours(moment):
            return None
        shift = on_duty(session, site, moment).get(DESK_DUTY if role == policy.desk_role else role)
        return shift.username if shift is not None else None

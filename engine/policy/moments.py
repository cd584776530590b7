"""Timer helpers over case data: a moment shifted by an ISO-8601 duration.

SOP limits such as "on site 5 minutes before the appointment" or "a reminder 3 days
before the move-in deadline" are relative to a date-time in the case, not to the
moment a timer starts. Diagrams write them as
`before(appointment_at, sla("repair.arrive_before_appointment"))`, a `timeDate` whose
value is ISO-8601 text, so the policy stays in `sla.yaml`.
"""

from __future__ import annotations

from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.clock import LOCAL_TZ
from engine.policy.sla import policy_of


def as_moment(value) -> datetime:
    """A case value (aware datetime or ISO-8601 text) as an aware datetime; naive means local time."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)


def before(moment, duration: str) -> str:
    """ISO-8601 text of `moment` minus `duration` (e.g. P3D before a deadline).

    A duration from `sla()` of a target with a business calendar counts back working days.
    """
    end, policy = as_moment(moment), policy_of(duration)
    if policy is not None and policy.calendar is not None:
        return policy.calendar.subtract_duration(end, policy.duration).isoformat()
    # Counted back from the moment, so a month is the length of the month before it.
    parsed = TimerEventDefinition.parse_iso_duration(duration)
    return (end - TimerEventDefinition.get_timedelta_from_end(parsed, end)).isoformat()


def after(moment, duration: str) -> str:
    """ISO-8601 text of `moment` plus `duration` (working time for a calendar target's `sla()`)."""
    start, policy = as_moment(moment), policy_of(duration)
    if policy is not None and policy.calendar is not None:
        return policy.calendar.add_duration(start, policy.duration).isoformat()
    parsed = TimerEventDefinition.parse_iso_duration(duration)
    return (start + TimerEventDefinition.get_timedelta_from_start(parsed, start)).isoformat()


HELPERS = {"before": before, "after": after}

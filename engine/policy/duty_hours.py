"""Duty hours as site policy (004 4.1.2): the shifts of a month on the site's business calendar.

On a working day the day desk works `day_starts`–`night_starts` and the duty shift runs from
`night_starts` to the next morning's `day_starts` (17:30–08:30); on a day off (a public
holiday or weekend of the calendar) the duty shift lasts 24 hours from `day_starts`. The
on-call posts (4.1.7) span the duty shift of their day. Nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from engine.policy.calendars import BusinessCalendar, split_duration

DESK_DAY, DESK_DUTY = "day", "duty"  # the two desk posts; on-call posts are role ids
KIND_DAY, KIND_NIGHT, KIND_HOLIDAY = "day", "night", "holiday"


@dataclass(frozen=True)
class ShiftSlot:
    """One post of one day's roster, before anyone is named for it."""

    day: date
    post: str
    kind: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class DutyPolicy:
    """duty.yaml, validated by its schema; the calendar resolved from sla.yaml."""

    calendar: BusinessCalendar
    day_starts: time
    night_starts: time
    desk_role: str
    on_call: tuple[str, ...]
    handover_process: str
    outgoing_prepares: timedelta
    incoming_arrives: timedelta
    outgoing_tasks: tuple[str, ...]
    incoming_tasks: tuple[str, ...]
    check_process: str
    check_at: time
    remind_at: time
    escalate_at: time
    remind_role: str
    escalate_role: str
    retention_years: int
    three_rings: int

    @classmethod
    def from_config(cls, data: dict, calendar: BusinessCalendar) -> DutyPolicy:
        handover, roster = data["handover"], data["roster"]
        return cls(calendar, _clock(data["day_starts"]), _clock(data["night_starts"]), data["desk_role"],
                   tuple(data["on_call"]), handover["process"], _minutes(handover["outgoing_prepares"]),
                   _minutes(handover["incoming_arrives"]), tuple(handover["outgoing_tasks"]),
                   tuple(handover["incoming_tasks"]), data["daily_check"]["process"],
                   _clock(data["daily_check"]["at"]), _clock(roster["remind_at"]), _clock(roster["escalate_at"]),
                   roster["remind"], roster["escalate_to"], data["retention_years"], data.get("three_rings", 3))

    @property
    def posts(self) -> tuple[str, ...]:
        """Every post a roster fills, desk first."""
        return (DESK_DAY, DESK_DUTY, *self.on_call)

    def at(self, day: date, moment: time) -> datetime:
        """A local wall-clock time of `day` at the site, as aware UTC."""
        return datetime.combine(day, moment, self.calendar.tz).astimezone(timezone.utc)

    def slots(self, day: date) -> list[ShiftSlot]:
        """The posts of one day: day desk (working days only), duty desk, and the on-call posts."""
        morning, tomorrow = self.at(day, self.day_starts), self.at(day + timedelta(days=1), self.day_starts)
        if self.calendar.is_working_day(day):
            evening = self.at(day, self.night_starts)
            found = [ShiftSlot(day, DESK_DAY, KIND_DAY, morning, evening)]
            duty = (KIND_NIGHT, evening)
        else:
            found, duty = [], (KIND_HOLIDAY, morning)
        for post in (DESK_DUTY, *self.on_call):
            found.append(ShiftSlot(day, post, duty[0], duty[1], tomorrow))
        return found

    def month_slots(self, month: str) -> list[ShiftSlot]:
        return [slot for day in month_days(month) for slot in self.slots(day)]

    def after_hours(self, moment: datetime) -> bool:
        """Within duty hours: outside the day desk's working-day span (4.1.2)."""
        day = self.calendar.local_date(moment)
        if not self.calendar.is_working_day(day):
            return True
        return not (self.at(day, self.day_starts) <= moment < self.at(day, self.night_starts))

    def last_working_day(self, month: str) -> date:
        """The last working day of `month`: next month's roster is due by its end (4.1.1)."""
        return next(d for d in reversed(month_days(month)) if self.calendar.is_working_day(d))

    def keeps(self, written_at: datetime, now: datetime) -> bool:
        """Whether a duty-log entry is still within the retention (4.1.8): then nothing may remove it."""
        try:
            until = written_at.replace(year=written_at.year + self.retention_years)
        except ValueError:  # 29 February
            until = written_at.replace(year=written_at.year + self.retention_years, day=28)
        return now < until


@dataclass(frozen=True)
class DutyBook:
    """duty.yaml resolved per site: the file's policy, with each site's overrides applied."""

    default: DutyPolicy
    sites: dict[str, DutyPolicy]

    def policy(self, site: str | None) -> DutyPolicy:
        return self.sites.get(site, self.default)


def month_days(month: str) -> list[date]:
    """Every date of "YYYY-MM"; ValueError on anything else."""
    first = date.fromisoformat(f"{month}-01")
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return [first + timedelta(days=n) for n in range((following - first).days)]


def next_month(month: str) -> str:
    first = date.fromisoformat(f"{month}-01")
    return f"{first.year + first.month // 12:04d}-{first.month % 12 + 1:02d}"


def _clock(text: str) -> time:
    return time.fromisoformat(text)


def _minutes(iso: str) -> timedelta:
    days, rest = split_duration(iso)
    return timedelta(days=days) + rest

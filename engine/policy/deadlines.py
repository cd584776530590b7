"""Deadlines by the clock or the page of the month: "by 17:00 the same day", "by the 25th".

Some SOP limits are a moment, not an amount of time: 001/第8篇 4.1 7) has the technician
hand the day's repair orders in by 17:00 (每天下午17:00时前) and the desk send copy 3 to
finance before the 25th of the month (每月25日前). An sla.yaml target says so with
`by: {time: "17:00"}` or `by: {day: 25}` instead of a duration; its due time is the first
such moment after the clock starts, in the site's time zone:

- `time` alone: today at that time, or tomorrow's if it has passed;
- `day` (1–31; a month shorter than that ends on its last day): the end of that day (23:59:59) of
  this month, or of next month's if it has passed; with `time`, that time of the day.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine.clock import LOCAL_TZ

END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True)
class Deadline:
    """The next moment at a time of day, or on a day of the month, in `timezone`."""

    at: time | None = None
    day: int | None = None
    timezone: str = str(LOCAL_TZ)

    @classmethod
    def from_config(cls, config: dict) -> Deadline:
        at = config.get("time")
        return cls(time.fromisoformat(at) if at else None, config.get("day"),
                   config.get("timezone") or str(LOCAL_TZ))

    def to_config(self) -> dict:
        config: dict = {"timezone": self.timezone}
        if self.at is not None:
            config["time"] = self.at.strftime("%H:%M")
        if self.day is not None:
            config["day"] = self.day
        return config

    @property
    def label(self) -> str:
        """As a person reads it: `by 17:00`, `by day 25`, `by day 25 17:00`."""
        parts = ([f"day {self.day}"] if self.day else []) + ([self.at.strftime("%H:%M")] if self.at else [])
        return "by " + " ".join(parts)

    def next_after(self, start: datetime) -> datetime:
        """The first deadline after `start` (an aware datetime): a task opening at 17:00 sharp has
        missed the day's hand-in, so it is due at tomorrow's, not at once."""
        zone = ZoneInfo(self.timezone)
        local = start.astimezone(zone)
        if self.day is None:
            today = datetime.combine(local.date(), self.at, zone)
            return today if today > local else datetime.combine(local.date() + timedelta(days=1), self.at, zone)
        year, month = local.year, local.month
        this_month = self._in_month(year, month, zone)
        if this_month > local:
            return this_month
        return self._in_month(*((year + 1, 1) if month == 12 else (year, month + 1)), zone)

    def _in_month(self, year: int, month: int, zone: ZoneInfo) -> datetime:
        date = datetime(year, month, min(self.day, monthrange(year, month)[1])).date()
        # the end of the day is its last second, so it reads 25日 23:59 in the inbox, not 26日 00:00
        return datetime.combine(date, self.at or END_OF_DAY, zone)

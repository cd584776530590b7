"""Business calendars: working hours per weekday, holidays, and time counted only in them.

A calendar may name a country: its public holidays and 调休 make-up working days come
from the `holidays` package (`engine/policy/public_holidays.py`), and the calendar's
own `holidays` and `workdays` add this site's closures and extra working days.

A calendar turns a wall-clock span into working time and back. An SLA target with a
calendar counts its duration in working time: hours, minutes and seconds are working
time; a day is a working day (the same time of day on the n-th working day after,
or the end of that day's hours when the day is shorter). Everything here is pure
arithmetic on aware datetimes; nothing reads the clock or the database.

`CONTINUOUS` is the calendar of targets without one: every moment is working time.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.policy.public_holidays import is_known_country, national_year

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_TIMEZONE = "Asia/Shanghai"
# A search for working time gives up after this many days: a calendar whose hours are
# all holidays would otherwise loop for ever.
MAX_SEARCH_DAYS = 3 * 366

_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_ZERO = timedelta(0)

Interval = tuple[datetime, datetime]


class CalendarError(ValueError):
    """A calendar definition that cannot work; `path` says where in its YAML mapping."""

    def __init__(self, path: tuple, message: str):
        super().__init__(message)
        self.path = path
        self.message = message


def parse_hours(ranges, path: tuple = ()) -> tuple[tuple[time, time | None], ...]:
    """Parse ["08:30-12:00", "13:30-18:00"] into ordered (start, end) pairs; 24:00 ends a day."""
    parsed = []
    for index, text in enumerate(ranges or ()):
        match = _RANGE.match(str(text))
        if not match:
            raise CalendarError((*path, index), f"{text!r} is not a range such as 08:30-12:00")
        h1, m1, h2, m2 = map(int, match.groups())
        if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
            raise CalendarError((*path, index), f"{text!r} is not a time of day")
        start, end = time(h1, m1), (None if h2 == 24 else time(h2, m2))  # None: midnight at the end
        if end is not None and end <= start:
            raise CalendarError((*path, index), f"{text!r} ends before it starts")
        if parsed and (parsed[-1][1] is None or start < parsed[-1][1]):
            raise CalendarError((*path, index), f"{text!r} overlaps or precedes the range before it")
        parsed.append((start, end))
    return tuple(parsed)


def _parse_day(text, path: tuple) -> date:
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise CalendarError(path, f"{text!r} is not a date such as 2026-10-01") from None


def _parse_holidays(entries, path: tuple) -> frozenset[date]:
    """Dates, or ranges written 2026-10-01..2026-10-07 (both ends included)."""
    days = set()
    for index, entry in enumerate(entries or ()):
        first, _, last = str(entry).partition("..")
        start = _parse_day(first, (*path, index))
        end = _parse_day(last, (*path, index)) if last else start
        if end < start:
            raise CalendarError((*path, index), f"{entry!r} ends before it starts")
        days.update(start + timedelta(days=n) for n in range((end - start).days + 1))
    return frozenset(days)


@dataclass(frozen=True, eq=False, repr=False)
class BusinessCalendar:
    """Working hours per weekday (Monday first), a country's holidays and make-up days, and the
    site's own holidays and extra working days (which win over the country's)."""

    week: tuple[tuple[tuple[time, time | None], ...], ...]
    holidays: frozenset[date] = frozenset()
    extra_days: tuple[tuple[date, tuple], ...] = ()
    tz_name: str = DEFAULT_TIMEZONE
    country: str | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_config(cls, config: dict) -> BusinessCalendar:
        """Build a calendar from its sla.yaml mapping; raise `CalendarError` naming the bad entry."""
        tz_name = config.get("timezone") or DEFAULT_TIMEZONE
        try:
            ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise CalendarError(("timezone",), f"unknown time zone {tz_name!r}") from None
        hours = config.get("hours") or {}
        week = tuple(parse_hours(hours.get(day), ("hours", day)) for day in WEEKDAYS)
        if not any(week):
            raise CalendarError(("hours",), "a calendar needs working hours on at least one weekday")
        extra = tuple(sorted((_parse_day(day, ("workdays", day)), parse_hours(ranges, ("workdays", day)))
                             for day, ranges in (config.get("workdays") or {}).items()))
        country = config.get("country")
        if country is not None and not is_known_country(country):
            raise CalendarError(("country",), f"the holidays package knows no country {country!r}")
        return cls(week, _parse_holidays(config.get("holidays"), ("holidays",)), extra, tz_name, country)

    def to_config(self) -> dict:
        """The mapping `from_config` reads, normalised (holidays one date each)."""
        def ranges(pairs):
            return [f"{s:%H:%M}-{'24:00' if e is None else format(e, '%H:%M')}" for s, e in pairs]

        return {
            "timezone": self.tz_name,
            **({"country": self.country} if self.country else {}),
            "hours": {day: ranges(pairs) for day, pairs in zip(WEEKDAYS, self.week, strict=True) if pairs},
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "workdays": {d.isoformat(): ranges(pairs) for d, pairs in self.extra_days},
        }

    def __repr__(self) -> str:
        days = ",".join(day for day, pairs in zip(WEEKDAYS, self.week, strict=True) if pairs)
        country = self.country or "no country"
        return f"BusinessCalendar({self.tz_name}, {country}, {days}, {len(self.holidays)} holidays)"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.tz_name)

    # -- days and their working intervals ------------------------------------------------

    def hours_on(self, day: date) -> tuple:
        extra = dict(self.extra_days)
        if day in extra:
            return extra[day]
        if day in self.holidays:
            return ()
        if self.country:
            national = national_year(self.country, day.year)
            if day in national.makeup:
                return self.makeup_hours
            if day in national.closed:
                return ()
        return self.week[day.weekday()]

    @property
    def makeup_hours(self) -> tuple:
        """A make-up working day's hours: a full weekday's, the first of Monday to Friday that has hours."""
        return next((pairs for pairs in self.week[:5] if pairs), ())

    def is_working_day(self, day: date) -> bool:
        return bool(self.hours_on(day))

    def intervals(self, day: date) -> list[Interval]:
        """The working intervals of a local date, as aware UTC datetimes."""
        found = self._cache.get(day)
        if found is None:
            tz = self.tz
            found = [(datetime.combine(day, start, tz).astimezone(timezone.utc),
                      datetime.combine(day + timedelta(days=1) if end is None else day, end or time(0), tz)
                      .astimezone(timezone.utc))
                     for start, end in self.hours_on(day)]
            self._cache[day] = found
        return found

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def _days_from(self, moment: datetime, step: int):
        day = self.local_date(moment)
        for _ in range(MAX_SEARCH_DAYS):
            yield day
            day += timedelta(days=step)
        raise ValueError(f"no working time within {MAX_SEARCH_DAYS} days of {moment.isoformat()}")

    # -- working time ------------------------------------------------------------------

    def working_time(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two moments (zero when `end` is not after `start`)."""
        total = _ZERO
        if end <= start:
            return total
        last_day = self.local_date(end)
        for day in self._days_from(start, 1):
            if day > last_day:
                return total
            for opens, closes in self.intervals(day):
                overlap = min(closes, end) - max(opens, start)
                if overlap > _ZERO:
                    total += overlap
        return total  # pragma: no cover - _days_from raises first

    def add(self, start: datetime, work: timedelta) -> datetime:
        """The earliest moment with `work` working time after `start` (`start` for zero)."""
        if work <= _ZERO:
            return start
        for day in self._days_from(start, 1):
            for opens, closes in self.intervals(day):
                if closes <= start:
                    continue
                begin = max(opens, start)
                if work <= closes - begin:
                    return begin + work
                work -= closes - begin
        raise AssertionError("unreachable")  # pragma: no cover

    def subtract(self, end: datetime, work: timedelta) -> datetime:
        """The latest moment with `work` working time before `end` (`end` for zero)."""
        if work <= _ZERO:
            return end
        for day in self._days_from(end, -1):
            for opens, closes in reversed(self.intervals(day)):
                if opens >= end:
                    continue
                finish = min(closes, end)
                if work <= finish - opens:
                    return finish - work
                work -= finish - opens
        raise AssertionError("unreachable")  # pragma: no cover

    def next_working_moment(self, moment: datetime) -> datetime:
        """`moment` if it is working time, else the next opening."""
        for day in self._days_from(moment, 1):
            for opens, closes in self.intervals(day):
                if closes > moment:
                    return max(opens, moment)
        raise AssertionError("unreachable")  # pragma: no cover

    def previous_working_moment(self, moment: datetime) -> datetime:
        """`moment` if it is working time (or a closing time), else the last closing before it."""
        for day in self._days_from(moment, -1):
            for opens, closes in reversed(self.intervals(day)):
                if opens < moment:
                    return min(closes, moment)
        raise AssertionError("unreachable")  # pragma: no cover

    def _nth_working_day(self, day: date, n: int) -> date:
        step = 1 if n > 0 else -1
        for _ in range(MAX_SEARCH_DAYS):
            day += timedelta(days=step)
            if self.is_working_day(day):
                n -= step
                if n == 0:
                    return day
        raise ValueError(f"no working day within {MAX_SEARCH_DAYS} days of {day.isoformat()}")

    def shift_days(self, moment: datetime, days: int) -> datetime:
        """The same point of the working day `days` working days later (earlier when negative).

        The point is the working time since the day's first opening: 17:00 on a weekday
        open 08:30-12:00 and 13:30-18:00 is 7 hours in, and so is 17:00 the next weekday.
        A shorter day is capped at its end. A moment outside working hours first moves
        to the next (previous) working moment.
        """
        if days == 0:
            return moment
        forward = days > 0
        anchor = self.next_working_moment(moment) if forward else self.previous_working_moment(moment)
        day = self.local_date(anchor)
        # Going forward a moment belongs to the interval it opens, going back to the one
        # it closes (a closing at midnight belongs to the day before).
        inside = (lambda o, c: o <= anchor < c) if forward else (lambda o, c: o < anchor <= c)
        if not any(inside(opens, closes) for opens, closes in self.intervals(day)):
            day -= timedelta(days=1)
        into_day = self.working_time(self.intervals(day)[0][0], anchor)
        target = self.intervals(self._nth_working_day(day, days))
        opens, closes = target[0][0], target[-1][1]
        into_day = min(into_day, self.working_time(opens, closes))
        if forward:
            return self.add(opens, into_day)
        return self.subtract(closes, self.working_time(opens, closes) - into_day)

    # -- ISO-8601 durations ------------------------------------------------------------

    def add_duration(self, start: datetime, iso: str) -> datetime:
        """`start` plus an ISO-8601 duration of working days and working time.

        The result is the earliest moment with that much working time after `start`
        (Friday 18:00 plus P1D is Monday 18:00, not Tuesday's opening).
        """
        days, work = split_duration(iso)
        reached = self.add(self.shift_days(start, days), work)
        return self.add(start, self.working_time(start, reached))

    def subtract_duration(self, end: datetime, iso: str) -> datetime:
        """`end` minus an ISO-8601 duration of working days and working time (the latest such moment)."""
        days, work = split_duration(iso)
        reached = self.shift_days(self.subtract(end, work), -days)
        return self.subtract(end, self.working_time(reached, end))


class ContinuousCalendar:
    """Every moment is working time: plain wall-clock arithmetic, months as in SpiffWorkflow."""

    def working_time(self, start: datetime, end: datetime) -> timedelta:
        return max(end - start, _ZERO)

    def add(self, start: datetime, work: timedelta) -> datetime:
        return start + max(work, _ZERO)

    def subtract(self, end: datetime, work: timedelta) -> datetime:
        return end - max(work, _ZERO)

    def add_duration(self, start: datetime, iso: str) -> datetime:
        parsed = TimerEventDefinition.parse_iso_duration(iso)
        return start + TimerEventDefinition.get_timedelta_from_start(parsed, start)

    def subtract_duration(self, end: datetime, iso: str) -> datetime:
        parsed = TimerEventDefinition.parse_iso_duration(iso)
        return end - TimerEventDefinition.get_timedelta_from_end(parsed, end)


CONTINUOUS = ContinuousCalendar()


def split_duration(iso: str) -> tuple[int, timedelta]:
    """Split an ISO-8601 duration into whole days and time; years, months and weeks are refused."""
    parsed = TimerEventDefinition.parse_iso_duration(iso)
    refused = [unit for unit in ("years", "months", "weeks") if parsed.get(unit)]
    if refused:
        raise ValueError(f"{iso}: {refused[0]} cannot be counted in working days; write days (P5D) instead")
    days = parsed.get("days", 0)
    if days != int(days):
        raise ValueError(f"{iso}: days must be whole with a business calendar")
    return int(days), timedelta(hours=parsed.get("hours", 0), minutes=parsed.get("minutes", 0),
                                seconds=parsed.get("seconds", 0))


def iso_seconds(delta: timedelta) -> str:
    """A wall-clock span as an ISO-8601 duration in whole seconds, rounded up (PT65H10M)."""
    total = max(0, math.ceil(delta.total_seconds()))
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    text = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    return f"PT{text or '0S'}"

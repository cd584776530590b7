"""The engine's clock: one place that says what time it is, replaceable in tests.

SpiffWorkflow's timer events call `datetime.now(timezone.utc)` directly, so the
timer module's `datetime` name is pointed at a subclass that asks this clock. Tests
set a `FakeClock` and advance it; nothing in the engine sleeps.
"""

from __future__ import annotations

import contextlib
import contextvars
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

# The service centres keep their registers, and staff type times, in China Standard Time.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


class SystemClock:
    """The wall clock, in UTC, optionally `offset` seconds ahead: real pace, but "later".

    `estatedesk worker --clock-offset` runs on a shifted one so tests and benchmarks can
    make timers fall due without waiting for them.
    """

    def __init__(self, offset: float = 0.0):
        self.offset = timedelta(seconds=offset)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset


class FakeClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta) -> datetime:
        """Move the clock forward by `timedelta(**delta)` and return the new time."""
        self._now += timedelta(**delta)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment


_SYSTEM_CLOCK = SystemClock()
_current = contextvars.ContextVar("estatedesk_clock", default=None)


def now() -> datetime:
    """Return the current time of the active clock (aware, UTC)."""
    return (_current.get() or _SYSTEM_CLOCK).now()


def set_clock(clock) -> None:
    """Make `clock` the active clock for this context (tests, benchmarks)."""
    _current.set(clock)


@contextlib.contextmanager
def using_clock(clock):
    """Run a block with `clock` active, restoring the previous clock afterwards."""
    token = _current.set(clock)
    try:
        yield clock
    finally:
        _current.reset(token)


class _ClockedDatetime(datetime):
    """`datetime` whose `now()` reads the engine clock; used only inside SpiffWorkflow's timers."""

    @classmethod
    def now(cls, tz=None):
        moment = now()
        return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)


_spiff_timer.datetime = _ClockedDatetime

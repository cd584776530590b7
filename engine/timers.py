"""The timer worker: fire due timers, then sleep until the next one falls due."""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import func, select

from .models import Timer
from .runtime import Runtime


def next_due(runtime: Runtime) -> datetime | None:
    """The earliest due time in the timer table, or None when nothing waits."""
    with runtime.db.session() as session:
        return session.scalar(select(func.min(Timer.due_at)))


def run_worker(runtime: Runtime, stop: threading.Event, max_sleep: float = 1.0, on_fired=None) -> None:
    """Fire due timers until `stop` is set; timers overdue at start-up fire at once."""
    while not stop.is_set():
        fired = runtime.fire_due_timers()
        if fired and on_fired is not None:
            on_fired(fired)
        due = next_due(runtime)
        wait = max_sleep
        if due is not None:
            # Spiff fires a timer strictly after its due time, hence the millisecond.
            wait = min(max_sleep, max(0.0, (due - runtime.clock.now()).total_seconds() + 0.001))
        stop.wait(wait)

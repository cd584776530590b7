"""The timer worker: fire what fell due, sleep until the next timer falls due, repeat.

A sleeping worker learns of a new timer in one of two ways:

- a timer (or a notification to deliver) written by this process (the web app beside the
  worker in `estatedesk serve`) rings the worker's `Wakeup` when its transaction commits,
  so it is seen at once (the worker reads the table after its own steps anyway);
- a timer written by another process or server is seen at the next look at the table:
  the worker never sleeps longer than `RECHECK_SECONDS` (one indexed `min(due_at)` a
  look). SOP limits are minutes long, so such a timer still fires within a second of
  falling due; only one due sooner than `RECHECK_SECONDS` after it was written can be late.

Several workers may share a PostgreSQL database: `Runtime.fire_due_timers` claims due
rows with `FOR UPDATE SKIP LOCKED`, so each timer fires once. A case whose step fails
goes to the `error` status in that step (the runtime's doing); the worker carries on.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import event, func, select

from engine import correlation
from engine.runtime import health
from engine.runtime.step import Runtime
from engine.runtime.steprows import TIMERS_WRITTEN
from engine.store.db import Database
from engine.store.models import Notification, Timer

log = logging.getLogger(__name__)

RECHECK_SECONDS = 10.0
FIRE_MARGIN_SECONDS = 0.001  # SpiffWorkflow fires a timer strictly after its due time


class Wakeup:
    """What an idle worker sleeps on: rung by a stop request or by a timer committed beside it."""

    def __init__(self):
        self._stopping = threading.Event()
        self._bell = threading.Event()

    def stop(self) -> None:
        """Ask the worker to finish the step it is in and return."""
        self._stopping.set()
        self._bell.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def ring(self) -> None:
        """Wake the worker to look at the timer table again."""
        self._bell.set()

    def sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds`; return True if woken early by a ring or a stop."""
        rung = self._bell.wait(seconds)
        # Cleared after waking and before the worker reads the table, so no ring is lost.
        self._bell.clear()
        return rung


@contextlib.contextmanager
def ringing_on_new_timers(db: Database, wakeup: Wakeup):
    """Ring `wakeup` after every commit on `db` in this process, from another thread, that wrote a timer
    or notification row (an emergency message should not wait for the next look at the tables).

    The calling thread's own commits do not ring: they are the worker's steps, and the
    worker reads the table after them anyway.
    """
    worker_thread = threading.get_ident()

    def note_timer(session, _flush_context):
        if any(isinstance(obj, (Timer, Notification)) for obj in session.new):  # rows added through the ORM
            session.info[TIMERS_WRITTEN] = True

    def ring_if_timer(session):
        # Steps write timer rows with Core statements and set the flag themselves (steprows).
        if session.info.pop(TIMERS_WRITTEN, False) and threading.get_ident() != worker_thread:
            wakeup.ring()

    def forget(session):
        session.info.pop(TIMERS_WRITTEN, None)

    listeners = [("after_flush", note_timer), ("after_commit", ring_if_timer), ("after_rollback", forget)]
    for name, listener in listeners:
        event.listen(db.sessions, name, listener)
    try:
        yield wakeup
    finally:
        for name, listener in listeners:
            event.remove(db.sessions, name, listener)


def fire_all_due(runtime: Runtime, wakeup: Wakeup | None = None) -> int:
    """Fire every due timer no other worker holds, batch after batch; return the cases advanced."""
    total = 0
    while not (wakeup and wakeup.stopping):
        fired = runtime.fire_due_timers()
        if not fired:  # nothing left, or only what other workers hold or what keeps failing
            break
        total += fired
    return total


def seconds_to_sleep(runtime: Runtime, since: datetime, recheck: float) -> float:
    """Seconds until the earliest timer due from `since` on falls due, at most `recheck`.

    Timers due before `since` that are still there are held by another worker or keep
    failing; they are tried again at the next look rather than in a busy loop.
    """
    with runtime.db.read_session() as session:
        due = session.scalar(select(func.min(Timer.due_at)).where(Timer.due_at >= since))
    if due is None:
        return recheck
    return min(recheck, max(0.0, (due - runtime.clock.now()).total_seconds() + FIRE_MARGIN_SECONDS))


@dataclass
class Chore:
    """Work the worker does every `every` seconds besides the timers (e.g. audit checkpoints):
    `run(now)`, first at start-up."""

    every: float
    run: Callable[[datetime], object]
    next_at: datetime | None = None

    def run_if_due(self, now: datetime) -> float:
        """Run it if due; return the seconds until it is due again."""
        if self.next_at is None or now >= self.next_at:
            try:
                self.run(now)
            except Exception:  # as a failed firing: logged, tried again next time
                log.exception("timer worker: %s failed", getattr(self.run, "__name__", "a chore"))
            self.next_at = now + timedelta(seconds=self.every)
        return (self.next_at - now).total_seconds()


def run_worker(runtime: Runtime, wakeup: Wakeup, on_fired=None, recheck: float = RECHECK_SECONDS,
               chores: tuple[Chore, ...] = (), passes=()) -> None:
    """Fire due timers until `wakeup.stop()`: those overdue at start-up at once, then each as it falls
    due; run each chore when it is due, and say it is alive (`health.beat`) every few seconds.

    After each round's timers, each of `passes` runs with the runtime: work that layers above the
    runtime make due by the clock (the duty desk's roster, engine/duty/desk.py), at most `recheck` late.
    """
    # Beats ride on the passes the worker makes anyway (at least every `recheck`): they never wake it.
    heartbeat = Chore(health.HEARTBEAT_SECONDS, lambda now: health.beat(runtime.db, now))
    with ringing_on_new_timers(runtime.db, wakeup):
        while not wakeup.stopping:
            began = runtime.clock.now()
            try:
                with correlation.bound():  # one request id for the steps of this pass
                    fired = fire_all_due(runtime, wakeup)
                    for extra in passes:
                        extra(runtime)
                wait = seconds_to_sleep(runtime, began, recheck)
            except Exception:  # the database may be away for a while: say so and try again later
                log.exception("timer worker: firing due timers failed; trying again in %.0f s", recheck)
                fired, wait = 0, recheck
            if fired and on_fired is not None:
                on_fired(fired)
            heartbeat.run_if_due(runtime.clock.now())
            for chore in chores:
                wait = min(wait, chore.run_if_due(runtime.clock.now()))
            wakeup.sleep(wait)

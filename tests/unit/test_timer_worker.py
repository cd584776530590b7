"""The timer worker's promises: it sleeps until the earliest timer and fires it within a
second, fires what fell due while it was down once at start-up, sees timers other
processes write, keeps going when one case fails, and stops cleanly. Time is a fake
clock the worker's sleep moves forward; nothing here really waits for a timer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import OperationalError

from engine.accounts.users import load_demo_staff
from engine.audit.events import EventType
from engine.clock import SystemClock
from engine.definitions.library import deploy_bundle, read_bundle
from engine.definitions.rules import load_rules
from engine.runtime.step import Runtime
from engine.runtime.timers import RECHECK_SECONDS, Wakeup, ringing_on_new_timers, run_worker
from engine.store.db import Database
from engine.store.models import Event, Instance, Timer

ROOT = Path(__file__).resolve().parents[2]
BUNDLE_DIR = Path(__file__).parent / "worker_bundle"
REPLY_SECONDS = 5 * 60  # help.reply at the default site: the test process's timer


class FakeWakeup(Wakeup):
    """Sleeps by moving the fake clock, and stops the worker after `naps` sleeps.

    `during_nap(n)` runs while the worker sleeps its n-th sleep: what other people and
    processes do meanwhile.
    """

    def __init__(self, clock, naps: int, during_nap=None):
        super().__init__()
        self.clock, self.naps, self.during_nap = clock, naps, during_nap
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> bool:
        self.slept.append(seconds)
        if self.during_nap is not None:
            self.during_nap(len(self.slept))
        self.clock.advance(seconds=seconds)
        if len(self.slept) >= self.naps:
            self.stop()
        return False


@pytest.fixture
def rt(db, library, clock) -> Runtime:
    """A runtime with the worker's test process (timer, then `100 // divisor`) deployed."""
    bundle = read_bundle(BUNDLE_DIR / "processes", BUNDLE_DIR / "forms")
    bundle.rules = dict(library.rules)
    runtime = Runtime(db, clock)
    with runtime.transaction() as session:
        load_demo_staff(session, load_rules(bundle.rules))
        deploy_bundle(session, bundle, actor="designer1")
    return runtime


def start(rt, divisor: int = 5) -> int:
    return rt.start_instance("after_timer", {"caller": "林先生", "divisor": divisor}, "reception1").instance.id


def fired_at(rt) -> dict[int, list[datetime]]:
    """When each case's `timer_fired` events were written, by case id."""
    with rt.db.session() as session:
        rows = session.execute(select(Event.instance_id, Event.at).where(Event.type == EventType.TIMER_FIRED)).all()
    fired: dict[int, list[datetime]] = {}
    for instance_id, at in rows:
        fired.setdefault(instance_id, []).append(at)
    return fired


def statuses(rt) -> dict[int, str]:
    with rt.db.session() as session:
        return {row.id: row.status.value for row in session.scalars(select(Instance))}


def timers_left(rt) -> int:
    with rt.db.session() as session:
        return session.scalar(select(func.count()).select_from(Timer))


# -- sleeping and firing -------------------------------------------------------------------------

def test_timers_that_fell_due_while_down_fire_once_at_start_up(rt, clock):
    cases = [start(rt) for _ in range(3)]
    clock.advance(hours=2)  # the worker was down meanwhile
    wakeup = FakeWakeup(clock, naps=2)
    run_worker(rt, wakeup)
    assert wakeup.slept == [RECHECK_SECONDS] * 2  # nothing waits any more: it only looks again
    assert {case: len(times) for case, times in fired_at(rt).items()} == {case: 1 for case in cases}
    assert set(statuses(rt).values()) == {"completed"}
    assert timers_left(rt) == 0


def test_worker_sleeps_until_the_earliest_timer_and_fires_it_within_a_second(rt, clock):
    first = start(rt)
    clock.advance(minutes=2)
    second = start(rt)
    began = clock.now()
    wakeup = FakeWakeup(clock, naps=3)
    run_worker(rt, wakeup, recheck=3600)  # no other process writes timers here
    assert wakeup.slept == pytest.approx([REPLY_SECONDS - 120 + 0.001, 120, 3600])
    fired = fired_at(rt)
    for case, due in ((first, began.replace(minute=5)), (second, began.replace(minute=7))):
        [at] = fired[case]
        assert 0 < (at - due).total_seconds() < 1


def test_timer_written_by_another_process_is_seen_at_the_next_look(rt, db, clock):
    other_process = Runtime(Database(db.url, schema=db.schema), clock)  # its commits cannot ring us
    written = []

    def meanwhile(nap):
        if nap == 1:
            written.append((start(other_process), clock.now()))

    wakeup = FakeWakeup(clock, naps=40, during_nap=meanwhile)
    run_worker(rt, wakeup)
    [(case, written_at)] = written
    [at] = fired_at(rt)[case]
    assert max(wakeup.slept) <= RECHECK_SECONDS
    assert 0 < (at - written_at).total_seconds() - REPLY_SECONDS < 1
    other_process.db.dispose()


def in_thread(action) -> None:
    """Run `action` in another thread, as the web app's request threads do, and wait for it."""
    thread = threading.Thread(target=action)
    thread.start()
    thread.join()


def test_a_timer_committed_in_this_process_rings_the_worker(rt, db, clock):
    wakeup = Wakeup()
    web_app = Runtime(db, clock)  # as in `estatedesk serve`: another runtime on the same Database
    other_process = Runtime(Database(db.url, schema=db.schema), clock)
    with ringing_on_new_timers(db, wakeup):
        assert wakeup.sleep(0) is False
        in_thread(lambda: start(web_app))
        assert wakeup.sleep(0) is True
        assert wakeup.sleep(0) is False  # one ring, one early wake
        start(rt)
        assert wakeup.sleep(0) is False  # the worker's own steps: it reads the table after them anyway
        in_thread(lambda: start(other_process))
        assert wakeup.sleep(0) is False  # other processes are seen at the next look instead
    in_thread(lambda: start(web_app))
    assert wakeup.sleep(0) is False  # a stopped worker listens no more
    other_process.db.dispose()


# -- failures ------------------------------------------------------------------------------------

def test_failing_script_after_a_timer_puts_that_case_in_error_and_the_worker_goes_on(rt, clock):
    failing, fine = start(rt, divisor=0), start(rt)
    clock.advance(minutes=1)
    later = start(rt)
    run_worker(rt, FakeWakeup(clock, naps=3), recheck=3600)
    assert statuses(rt) == {failing: "error", fine: "completed", later: "completed"}
    with rt.db.session() as session:
        row = session.get(Instance, failing)
    assert (row.error_element, row.error_line) == ("compute", 1)
    assert {case: len(times) for case, times in fired_at(rt).items()} == {failing: 1, fine: 1, later: 1}


def test_unexpected_failure_in_one_case_holds_up_no_other_and_is_retried(rt, clock, monkeypatch, caplog):
    broken, fine = start(rt), start(rt)
    fire_instance = Runtime._fire_instance_timers
    healed = []

    def fire_or_break(self, instance_id, moment):
        if instance_id == broken and not healed:
            raise RuntimeError("disk full")
        return fire_instance(self, instance_id, moment)

    monkeypatch.setattr(Runtime, "_fire_instance_timers", fire_or_break)
    wakeup = FakeWakeup(clock, naps=3, during_nap=lambda nap: nap == 2 and healed.append(True))
    run_worker(rt, wakeup, recheck=3600)
    assert wakeup.slept == pytest.approx([REPLY_SECONDS + 0.001, 3600, 3600])  # no busy loop meanwhile
    assert statuses(rt) == {broken: "completed", fine: "completed"}
    assert {case: len(times) for case, times in fired_at(rt).items()} == {broken: 1, fine: 1}
    assert f"firing the timers of case {broken} failed" in caplog.text


def test_worker_outlives_the_database_going_away(rt, clock, monkeypatch, caplog):
    case = start(rt)
    clock.advance(hours=1)
    fire_due_timers = Runtime.fire_due_timers

    def database_away(self, *args, **kwargs):
        if len(wakeup.slept) < 2:
            raise OperationalError("SELECT", {}, Exception("server closed the connection unexpectedly"))
        return fire_due_timers(self, *args, **kwargs)

    monkeypatch.setattr(Runtime, "fire_due_timers", database_away)
    wakeup = FakeWakeup(clock, naps=3)
    run_worker(rt, wakeup)
    assert wakeup.slept == [RECHECK_SECONDS] * 3
    assert statuses(rt) == {case: "completed"}
    assert caplog.text.count("firing due timers failed") == 2


# -- the command ---------------------------------------------------------------------------------

@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_worker_command_stops_cleanly_on_a_signal(db_url, signum):
    worker = subprocess.Popen([sys.executable, "-m", "cli", "worker"], cwd=ROOT, text=True,
                              env={**os.environ, "DATABASE_URL": db_url},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert worker.stderr.readline().startswith("timer worker running")
    worker.send_signal(signum)
    out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0
    assert err.splitlines() == [f"timer worker stopped ({signum.name})"]


def _run_once(db_url: str, offset: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cli", "worker", "--once", "--clock-offset", str(offset)],
                            cwd=ROOT, text=True, env={**os.environ, "DATABASE_URL": db_url},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _offset_to(moment: datetime) -> float:
    """The --clock-offset that makes a worker started now believe it is `moment`."""
    return (moment - datetime.now(timezone.utc)).total_seconds()


def test_the_clock_offset_runs_at_the_wall_clock_pace_but_later():
    ahead = SystemClock(offset=3600)
    before = datetime.now(timezone.utc)
    moment = ahead.now()
    after = datetime.now(timezone.utc)
    assert before + timedelta(hours=1) <= moment <= after + timedelta(hours=1)
    assert moment.tzinfo is not None


def test_worker_once_fires_what_is_due_by_its_clock(rt, db_url, clock):
    case = start(rt)
    early = _run_once(db_url, _offset_to(clock.now()))
    assert early.communicate(timeout=60) == ("fired timers on 0 case(s)\n", "")
    late = _run_once(db_url, _offset_to(clock.advance(minutes=6)))
    assert late.communicate(timeout=60) == ("fired timers on 1 case(s)\n", "")
    assert list(fired_at(rt)) == [case]


def copy_case(db, instance_id: int, copies: int) -> list[int]:
    """Insert `copies` copies of a waiting case's instance and timer rows; return the new case ids.

    Starting 1,000 cases one by one would take longer than what is under test.
    """
    instance_t, timer_t = Instance.__table__, Timer.__table__
    with db.engine.begin() as conn:
        case = dict(conn.execute(select(instance_t).where(instance_t.c.id == instance_id)).mappings().one())
        timers = [dict(t) for t in conn.execute(select(timer_t).where(timer_t.c.instance_id == instance_id)).mappings()]
        del case["id"]
        ids = []
        for n in range(copies):
            copy = {**case, "reference": f"{case['reference']}-{n:04d}"}
            ids.append(conn.execute(insert(instance_t).values(copy).returning(instance_t.c.id)).scalar_one())
        conn.execute(insert(timer_t), [{**{k: v for k, v in t.items() if k != "id"}, "instance_id": copy_id}
                                       for copy_id in ids for t in timers])
    return ids


@pytest.mark.postgres_only
def test_two_worker_processes_fire_each_of_1000_timers_exactly_once(rt, db_url, clock):
    template = start(rt)
    cases = [template, *copy_case(rt.db, template, 999)]
    offset = _offset_to(clock.advance(hours=1))
    workers = [_run_once(db_url, offset) for _ in range(2)]
    try:  # about 30 s on a busy 2-core machine; the timeout only stops a hung worker
        outputs = [worker.communicate(timeout=600) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    counts = [int(out.split()[3]) for out, _ in outputs]
    assert sum(counts) == 1000 and min(counts) > 0, counts  # both took part, neither fired a case twice
    fired = fired_at(rt)
    assert sorted(fired) == sorted(cases)
    assert {len(times) for times in fired.values()} == {1}
    assert set(statuses(rt).values()) == {"completed"}
    assert timers_left(rt) == 0

"""SLA clocks on tasks: calendar-aware due dates, pauses, breaches and escalation levels
that fire exactly once, a snapshot that later policy changes do not rewrite, and the
notification outbox they write to. All on the fake clock; nothing sleeps."""

from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.accounts.users import load_actor, load_demo_staff
from engine.audit import chain as audit
from engine.audit.events import EventType
from engine.clock import LOCAL_TZ
from engine.definitions.library import Bundle, deploy_bundle, read_bundle
from engine.definitions.rules import load_rules
from engine.runtime.queries import list_events, list_tasks
from engine.runtime.step import Runtime
from engine.scheduling.delivery import send_pending
from engine.scheduling.escalation import fire_due_levels
from engine.scheduling.outbox import list_notifications, mark_read, unread_count
from engine.scheduling.sla_clocks import clock_start
from engine.store.models import (
    DeliveryState,
    HumanTask,
    Instance,
    Notification,
    NotificationDelivery,
    SlaClock,
    SlaEscalation,
    SlaOutcome,
    User,
    UserRole,
)

HERE = Path(__file__).parent
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgresql")
WEEKDAY = '["08:30-12:00", "13:30-18:00"]'


def sla_yaml(duration="PT10M", calendar=False, pause="", chain=True, holidays="[]") -> str:
    """An sla.yaml with one target, help.reply, as the test wants it."""
    target = [f"    duration: {duration}", "    clause: 000 四.1(2)"]
    if calendar:
        target.append("    calendar: office")
    if "D" in duration.split("T")[0]:  # a duration in days says which days it counts
        target.append(f"    days: {'working' if calendar else 'calendar'}")
    if chain:
        target.append("    escalation: chain")
    if pause:
        target.append(f"    pause: {pause}")
    return "\n".join([
        "calendars:",
        "  office:",
        "    hours: {" + ", ".join(f"{d}: {WEEKDAY}" for d in ("mon", "tue", "wed", "thu", "fri")) + "}",
        f"    holidays: {holidays}",
        "escalations:",
        "  chain:",
        "    - at: 80%",
        "      notify: [cs_supervisor]",
        "    - at: 100%",
        "      plus: PT10M",
        "      notify: [manager, assignee]",
        "      reassign: cs_supervisor",
        "targets:",
        "  help.reply:",
        *target,
    ]) + "\n"


class RecordingSender:
    def __init__(self, fail: bool = False):
        self.sent, self.fail = [], fail

    def send(self, message) -> None:
        if self.fail:
            raise ConnectionError("SMS gateway unreachable")
        self.sent.append(message)


@pytest.fixture(scope="module")
def processes(library) -> Bundle:
    mini = read_bundle(HERE / "bundle" / "processes", HERE / "bundle" / "forms")
    demo = read_bundle(HERE / "sla_bundle" / "processes", HERE / "sla_bundle" / "forms")
    # Without notifications.yaml: these messages reach the sender on the log channel alone.
    rules = {name: text for name, text in library.rules.items() if name != "notifications.yaml"}
    return Bundle({"mini.bpmn": mini.bpmn["mini.bpmn"], **demo.bpmn}, {}, {**mini.forms, **demo.forms}, rules)


def with_policy(processes: Bundle, sla_text: str) -> Bundle:
    return Bundle(processes.bpmn, processes.dmn, processes.forms, {**processes.rules, "sla.yaml": sla_text})


@pytest.fixture
def make_rt(db, clock, processes):
    """A runtime with the test processes deployed under the given sla.yaml."""

    def make(sla_text: str = sla_yaml(), sender=None) -> Runtime:
        rt = Runtime(db, clock, sender=sender or RecordingSender())
        with rt.transaction() as session:
            bundle = with_policy(processes, sla_text)
            load_demo_staff(session, load_rules(bundle.rules))
            deploy_bundle(session, bundle, actor="designer1")
        return rt

    return make


def local(*args) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ).astimezone(timezone.utc)


def start(rt, process="mini", as_user="reception1"):
    return rt.start_instance(process, {"caller": "林先生", "unit": "3-2-1201"}, as_user)


def open_task(rt, instance_id, element_id):
    with rt.db.session() as session:
        found = [t for t in list_tasks(session, instance_id=instance_id) if t.element_id == element_id]
    assert found, f"{element_id} is not open"
    return found[0]


def events(rt, instance_id, type_):
    with rt.db.session() as session:
        return [e for e in list_events(session, instance_id) if e.type == type_]


def clock_row(rt, task_id) -> SlaClock:
    with rt.db.session() as session:
        return session.scalar(select(SlaClock).where(SlaClock.task_id == task_id))


def work_twice(rt):
    """The worker's pass, run twice over the same moment, as a restarted or second worker would."""
    rt.fire_due_timers()
    rt.fire_due_timers()


REGISTER = {"divisor": 1, "wait_for_ambulance": False}


# -- due dates on a business calendar ---------------------------------------------------

def test_due_date_counts_only_working_hours_across_a_weekend(make_rt, clock):
    rt = make_rt(sla_yaml("PT2H", calendar=True))
    clock.set(local(2026, 11, 27, 17, 0))  # a Friday, an hour before closing
    task = open_task(rt, start(rt).instance.id, "register")
    assert task.due_at == local(2026, 11, 30, 9, 30)  # 1 h on Friday, 1 h from Monday's opening


def test_due_date_skips_a_holiday(make_rt, clock):
    rt = make_rt(sla_yaml("PT2H", calendar=True, holidays="[2026-11-30]"))
    clock.set(local(2026, 11, 27, 17, 0))
    task = open_task(rt, start(rt).instance.id, "register")
    assert task.due_at == local(2026, 12, 1, 9, 30)  # Monday is a holiday: Tuesday


def test_a_working_day_limit_lands_on_the_next_working_day(make_rt, clock):
    rt = make_rt(sla_yaml("P1D", calendar=True, chain=False))
    clock.set(local(2026, 11, 27, 17, 0))
    task = open_task(rt, start(rt).instance.id, "register")
    assert task.due_at == local(2026, 11, 30, 17, 0)


def test_diagram_timer_from_sla_counts_working_hours(make_rt, clock):
    """mini's review has a boundary timer sla("help.reply"): it waits out the weekend."""
    rt = make_rt(sla_yaml("PT2H", calendar=True, chain=False))
    clock.set(local(2026, 11, 27, 17, 30))
    case = start(rt).instance
    rt.complete_task(open_task(rt, case.id, "register").id, REGISTER, "reception1")
    clock.set(local(2026, 11, 30, 9, 59))  # Monday: only 1 h 59 min of working time so far
    assert rt.fire_due_timers() == 0
    clock.set(local(2026, 11, 30, 10, 0, 1))
    assert rt.fire_due_timers() == 1
    assert open_task(rt, case.id, "escalate")


def test_editing_the_policy_changes_due_dates_without_a_diagram_change(make_rt, processes, clock):
    rt = make_rt(sla_yaml("PT10M"))
    first = open_task(rt, start(rt).instance.id, "register")
    with rt.transaction() as session:
        deployed = deploy_bundle(session, with_policy(processes, sla_yaml("PT2H", calendar=True)), "designer1")
    assert {r.process_id: r.created for r in deployed}["mini"] is True
    second = open_task(rt, start(rt).instance.id, "register")
    assert first.due_at - clock.now() == timedelta(minutes=10)
    assert second.due_at == local(2026, 11, 24, 9, 30)  # Monday 17:00: 1 h today, 1 h tomorrow


# -- breach and escalation --------------------------------------------------------------

def test_each_escalation_level_fires_once_even_when_the_worker_runs_twice(make_rt, clock):
    rt = make_rt(sla_yaml("PT10M"))
    case = start(rt).instance
    task = open_task(rt, case.id, "register")
    rt.claim_task(task.id, "reception1")

    clock.advance(minutes=7)
    work_twice(rt)
    assert events(rt, case.id, EventType.SLA_ESCALATED) == []
    clock.advance(minutes=1, seconds=1)  # past 80 %
    work_twice(rt)
    (first,) = events(rt, case.id, EventType.SLA_ESCALATED)
    assert (first.data["level"], first.data["at"], first.data["notify"]) == (1, "80%", ["role:cs_supervisor"])
    assert events(rt, case.id, EventType.SLA_BREACHED) == []

    clock.advance(minutes=2)  # past 100 %
    work_twice(rt)
    (breach,) = events(rt, case.id, EventType.SLA_BREACHED)
    assert breach.data["target"] == "help.reply" and breach.element_id == "register"
    assert len(events(rt, case.id, EventType.SLA_ESCALATED)) == 1

    clock.advance(minutes=10)  # past 100 % + 10 minutes
    work_twice(rt)
    second = events(rt, case.id, EventType.SLA_ESCALATED)[1]
    assert second.data["notify"] == ["role:manager", "user:reception1", "role:cs_supervisor"]
    assert second.data["reassign"] == "cs_supervisor"
    assert second.data["previous"] == {"role": "reception", "assignee": "reception1"}
    reassigned = open_task(rt, case.id, "register")
    assert (reassigned.role, reassigned.assignee, reassigned.status) == ("cs_supervisor", None, "ready")

    clock.advance(hours=5)
    work_twice(rt)
    assert len(events(rt, case.id, EventType.SLA_ESCALATED)) == 2 and len(events(rt, case.id, EventType.SLA_BREACHED)) == 1
    with rt.db.session() as session:
        assert audit.verify_chain(session).ok
        messages = session.scalars(select(Notification).order_by(Notification.id)).all()
    assert [(m.to_role, m.to_user) for m in messages] == [
        ("cs_supervisor", None), ("manager", None), (None, "reception1"), ("cs_supervisor", None)]
    assert "已用去时限的 80%" in messages[0].text and "CS-20261123-0001" in messages[0].text
    assert "已转给客服部主管" in messages[1].text and "reassigned to CS supervisor" in messages[1].text_en


def test_the_supervisor_finishes_a_reassigned_task(make_rt, clock):
    rt = make_rt(sla_yaml("PT10M"))
    case = start(rt).instance
    clock.advance(minutes=21)
    rt.fire_due_timers()
    task = open_task(rt, case.id, "register")
    rt.complete_task(task.id, REGISTER, "supervisor1")
    assert clock_row(rt, task.id).outcome == SlaOutcome.BREACHED


def test_two_workers_at_once_fire_each_level_once(make_rt, clock):
    rt = make_rt(sla_yaml("PT10M"))
    cases = [start(rt).instance for _ in range(4)]
    clock.advance(minutes=30)
    barrier = threading.Barrier(2)

    def worker():
        barrier.wait()
        fire_due_levels(rt, clock.now())

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for case in cases:
        assert len(events(rt, case.id, EventType.SLA_BREACHED)) == 1
        assert len(events(rt, case.id, EventType.SLA_ESCALATED)) == 2


def test_finishing_late_before_the_worker_ran_records_the_breach_once(make_rt, clock):
    rt = make_rt(sla_yaml("PT10M"))
    case = start(rt).instance
    task = open_task(rt, case.id, "register")
    clock.advance(minutes=10, seconds=30)
    rt.complete_task(task.id, REGISTER, "reception1")
    work_twice(rt)
    assert len(events(rt, case.id, EventType.SLA_BREACHED)) == 1
    assert events(rt, case.id, EventType.SLA_ESCALATED) == []  # the task is done: nobody is chased
    row = clock_row(rt, task.id)
    assert (row.outcome, row.breached_at) == (SlaOutcome.BREACHED, task.due_at)


def test_finishing_in_time_is_met_and_nothing_fires_later(make_rt, clock):
    rt = make_rt(sla_yaml("PT10M"))
    case = start(rt).instance
    task = open_task(rt, case.id, "register")
    clock.advance(minutes=8, seconds=1)
    work_twice(rt)  # the supervisor hears at 80 %
    clock.advance(seconds=59)
    rt.complete_task(task.id, REGISTER, "reception1")
    clock.advance(hours=3)
    work_twice(rt)
    assert events(rt, case.id, EventType.SLA_BREACHED) == [] and len(events(rt, case.id, EventType.SLA_ESCALATED)) == 1
    row = clock_row(rt, task.id)
    assert (row.outcome, row.breached_at, row.stopped_at) == (SlaOutcome.MET, None, clock.now() - timedelta(hours=3))
    with rt.db.session() as session:
        pending = session.scalars(select(SlaEscalation).where(SlaEscalation.fire_at.is_not(None))).all()
    assert pending == []


def test_cancelling_the_case_cancels_its_clocks(make_rt, clock):
    rt = make_rt(sla_yaml("PT10M"))
    case = start(rt).instance
    task = open_task(rt, case.id, "register")
    rt.cancel_instance(case.id, "住户撤回", "supervisor1")
    clock.advance(hours=1)
    work_twice(rt)
    assert clock_row(rt, task.id).outcome == SlaOutcome.CANCELLED
    assert events(rt, case.id, EventType.SLA_BREACHED) == []


def test_a_policy_change_after_the_fact_does_not_rewrite_met_or_breached(make_rt, processes, clock):
    rt = make_rt(sla_yaml("PT5M", chain=False))
    met_case, breached_case, running_case = (start(rt).instance for _ in range(3))
    met, breached, running = (open_task(rt, c.id, "register") for c in (met_case, breached_case, running_case))
    clock.advance(minutes=4)
    rt.complete_task(met.id, REGISTER, "reception1")
    clock.advance(minutes=2)
    work_twice(rt)  # breached_case and running_case breach at 5 minutes
    rt.complete_task(breached.id, REGISTER, "reception1")

    with rt.transaction() as session:  # stricter for some, looser for others: 2 minutes, then a day
        deploy_bundle(session, with_policy(processes, sla_yaml("PT2M", chain=False)), "designer1")
        deploy_bundle(session, with_policy(processes, sla_yaml("P1D", chain=False)), "designer1")
    clock.advance(minutes=1)
    rt.complete_task(running.id, REGISTER, "reception1")
    work_twice(rt)

    outcomes = {t.id: clock_row(rt, t.id) for t in (met, breached, running)}
    assert outcomes[met.id].outcome == SlaOutcome.MET  # 4 minutes, met under its 5
    assert outcomes[breached.id].outcome == SlaOutcome.BREACHED  # 6 minutes, breached under its 5
    assert outcomes[running.id].outcome == SlaOutcome.BREACHED  # still its 5, not the new day
    assert all(row.policy["duration"] == "PT5M" for row in outcomes.values())
    assert [len(events(rt, c.id, EventType.SLA_BREACHED)) for c in (met_case, breached_case, running_case)] == [0, 1, 1]


# -- pauses ----------------------------------------------------------------------------

def test_clock_pauses_while_the_resident_has_a_task_open(make_rt, clock):
    rt = make_rt(sla_yaml("PT10M", chain=False, pause="{while_open: [resident_reply]}"))
    case = start(rt, "sla_demo", as_user="resident1").instance  # their own request: only then may they reply
    handle = open_task(rt, case.id, "handle")
    clock.advance(minutes=2)
    rt.complete_task(open_task(rt, case.id, "ask_resident").id, {"awaiting_resident": True}, "reception1")
    assert open_task(rt, case.id, "handle").due_at is None  # paused: no due time while we wait
    assert len(events(rt, case.id, EventType.SLA_PAUSED)) == 1

    clock.advance(hours=3)
    work_twice(rt)
    assert events(rt, case.id, EventType.SLA_BREACHED) == []
    rt.complete_task(open_task(rt, case.id, "resident_reply").id, {"awaiting_resident": False}, "resident1")
    resumed = open_task(rt, case.id, "handle")
    assert resumed.due_at == clock.now() + timedelta(minutes=8)  # 2 of its 10 minutes were used
    (event,) = events(rt, case.id, EventType.SLA_RESUMED)
    assert event.data["due_at"] == resumed.due_at.isoformat()

    clock.advance(minutes=8, seconds=1)
    work_twice(rt)
    assert len(events(rt, case.id, EventType.SLA_BREACHED)) == 1
    assert clock_row(rt, handle.id).worked_seconds == 120


def test_clock_pauses_while_a_case_data_condition_holds(make_rt, clock):
    rt = make_rt(sla_yaml("PT10M", chain=False, pause="{when: awaiting_resident}"))
    case = start(rt, "sla_demo", as_user="resident1").instance  # their own request: only then may they reply
    clock.advance(minutes=3)
    rt.complete_task(open_task(rt, case.id, "ask_resident").id, {"awaiting_resident": True}, "reception1")
    assert open_task(rt, case.id, "handle").due_at is None
    clock.advance(hours=1)
    rt.complete_task(open_task(rt, case.id, "resident_reply").id, {"awaiting_resident": False}, "resident1")
    assert open_task(rt, case.id, "handle").due_at == clock.now() + timedelta(minutes=7)


def test_a_condition_on_data_not_yet_there_does_not_pause(make_rt, clock):
    rt = make_rt(sla_yaml("PT10M", chain=False, pause="{when: awaiting_resident}"))
    case = start(rt, "sla_demo").instance
    assert open_task(rt, case.id, "handle").due_at == clock.now() + timedelta(minutes=10)
    assert events(rt, case.id, EventType.SLA_PAUSED) == []


# -- the outbox ------------------------------------------------------------------------

def escalate_once(rt, clock):
    case = start(rt).instance
    clock.advance(minutes=8, seconds=1)
    rt.fire_due_timers()
    return case


def test_the_worker_sends_each_message_once_through_the_sender(make_rt, clock):
    sender = RecordingSender()
    rt = make_rt(sla_yaml("PT10M"), sender=sender)
    escalate_once(rt, clock)
    work_twice(rt)
    assert [(m.message.to_role, m.channel) for m in sender.sent] == [("cs_supervisor", "log")]
    assert sender.sent[0].recipients[0].username == "supervisor1"
    with rt.db.session() as session:
        (row,) = session.scalars(select(NotificationDelivery)).all()
    assert row.state == DeliveryState.SENT and row.sent_at == clock.now() and row.attempts == 1


def test_a_failing_sender_leaves_the_message_to_try_again(make_rt, clock):
    sender = RecordingSender(fail=True)
    rt = make_rt(sla_yaml("PT10M"), sender=sender)
    escalate_once(rt, clock)
    with rt.db.session() as session:
        row = session.scalars(select(NotificationDelivery)).one()
    assert row.state == DeliveryState.PENDING and row.attempts == 1 and "SMS gateway unreachable" in row.last_error
    assert row.next_attempt_at == clock.now() + timedelta(seconds=30)  # the default backoff's first wait
    sender.fail = False
    assert send_pending(rt, clock.now()) == 0  # not before its time
    clock.advance(seconds=30)
    assert send_pending(rt, clock.now()) == 1 and len(sender.sent) == 1


def test_the_default_sender_logs(db, clock, processes, caplog):
    rt = Runtime(db, clock)
    with rt.transaction() as session:
        bundle = with_policy(processes, sla_yaml("PT10M"))
        load_demo_staff(session, load_rules(bundle.rules))
        deploy_bundle(session, bundle, actor="designer1")
    with caplog.at_level("INFO", logger="estatedesk.notifications"):
        escalate_once(rt, clock)
    assert "via log to role cs_supervisor@nanshan" in caplog.text and "80%" in caplog.text


def test_role_messages_reach_the_role_at_the_site_and_are_read_per_person(make_rt, clock):
    rt = make_rt(sla_yaml("PT10M"))
    escalate_once(rt, clock)
    with rt.transaction() as session:  # two more supervisors, one at each site
        for username, site in (("supervisor2", "nanshan"), ("supervisor3", "binhai")):
            user = User(username=username, name=username, password_hash="x", site=site, active=True)
            session.add(user)
            session.flush()
            session.add(UserRole(user_id=user.id, role="cs_supervisor"))
    with rt.db.session() as session:
        supervisor1, supervisor2, supervisor3, reception1 = (
            load_actor(session, u) for u in ("supervisor1", "supervisor2", "supervisor3", "reception1"))
        assert [unread_count(session, a) for a in (supervisor1, supervisor2, supervisor3, reception1)] == [1, 1, 0, 0]
    assert mark_read(rt, "supervisor1") == 1
    assert mark_read(rt, "supervisor1") == 0
    with rt.db.session() as session:
        assert unread_count(session, load_actor(session, "supervisor1")) == 0
        assert unread_count(session, load_actor(session, "supervisor2")) == 1
        (mine,) = list_notifications(session, load_actor(session, "supervisor1"))
        assert mine.read and "80%" in mine.text


def test_task_rows_carry_the_clock_due_time(make_rt, clock):
    rt = make_rt(sla_yaml("PT10M"))
    case = start(rt).instance
    with rt.db.session() as session:
        row = session.scalar(select(HumanTask).where(HumanTask.instance_id == case.id))
        clock_ = session.scalar(select(SlaClock).where(SlaClock.task_id == row.id))
    assert row.due_at == clock_.due_at == clock.now() + timedelta(minutes=10)
    assert clock_.budget_seconds == 600 and clock_.policy["escalation_name"] == "chain"


@pytest.mark.skipif(not ON_POSTGRES, reason="row locks are PostgreSQL's; SQLite runs one writer at a time")
def test_the_worker_skips_a_case_a_step_is_writing_instead_of_waiting(make_rt, clock):
    rt = make_rt(sla_yaml("PT10M"))
    case = start(rt).instance
    clock.advance(minutes=30)
    with rt.db.session() as step, step.begin():  # a step holding the case's row, as at its flush
        step.execute(select(Instance.id).where(Instance.id == case.id).with_for_update())
        assert fire_due_levels(rt, clock.now()) == 0  # returns at once: nothing waits, nothing fires
    assert fire_due_levels(rt, clock.now()) == 3
    assert len(events(rt, case.id, EventType.SLA_BREACHED)) == 1


NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("element", "data", "starts"), [
    ({"sla": "help.reply"}, {"received_at": "2026-11-23T08:57:00+00:00"}, NOW),  # no sla_from: when it opens
    ({"sla_from": "received_at"}, {"received_at": "2026-11-23T16:57:00+08:00"}, NOW - timedelta(minutes=3)),
    ({"sla_from": "received_at"}, {"received_at": "2026-11-23T16:57:00"}, NOW - timedelta(minutes=3)),  # local
    ({"sla_from": "received_at"}, {}, NOW),  # not recorded
    ({"sla_from": "received_at"}, {"received_at": "soon"}, NOW),  # unreadable
    ({"sla_from": "received_at"}, {"received_at": "2026-11-23T09:04:00+00:00"}, NOW),  # a clock ahead of ours
])
def test_a_clock_counts_from_the_moment_its_element_names(element, data, starts):
    assert clock_start(element, data, NOW) == starts

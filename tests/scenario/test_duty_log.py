"""《值班记录》 (004 4.1.8): one log per shift, written during it, cases and calls shown on their
own, corrections as new entries, read-only once the shift closes, tamper-evident in the chain."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from engine.accounts.users import load_actor
from engine.audit.chain import verify_chain
from engine.audit.events import EventType
from engine.duty import logbook
from engine.duty.desk import run_duty_pass
from engine.duty.oncall import RosterRecipients, desk_shift
from engine.errors import FormInvalid, NotFound, PermissionDenied
from engine.runtime.step import Runtime
from engine.scheduling.delivery import send_pending
from engine.scheduling.outbox import list_notifications, notify, unread_count
from engine.scheduling.recipients import RecipientQuery
from engine.store.models import Event, Notification, NotificationDelivery
from tests.scenario.conftest import Case
from tests.scenario.duty_month import ON_CALL, SITE, at, desk_clerk, local, publish_month, shift_id

CALLER = {"caller": "林先生", "unit": "3-2-1201", "phone": "13800000000"}


@pytest.fixture
def night(runtime):
    """The roster of December published; the clock at 20:00 on 1 December, the night duty on."""
    at(runtime, "2026-11-20 10:00")
    view = publish_month(runtime)
    at(runtime, "2026-12-01 20:00")
    return shift_id(view, "2026-12-01", "duty"), desk_clerk(view, "2026-12-01", "duty")


def test_the_clerk_writes_entries_and_a_correction_cites_the_entry(runtime, night):
    shift, clerk = night
    first = logbook.write_entry(runtime, shift, clerk, "21:10 5栋电梯困人", "已通知工程部，21:25解困", "照片2张")
    fix = logbook.write_entry(runtime, shift, clerk, "21:10 5栋电梯困人（更正：应为6栋）", "同上", corrects=first)
    with runtime.db.read_session() as session:
        log = logbook.shift_log(session, shift)
    assert [(e.id, e.happened, e.corrects, e.corrected_by) for e in log.entries] == [
        (first, "21:10 5栋电梯困人", None, [fix]), (fix, "21:10 5栋电梯困人（更正：应为6栋）", first, [])]
    with pytest.raises(FormInvalid):
        logbook.write_entry(runtime, shift, clerk, "", "")
    with pytest.raises(PermissionDenied):  # only the clerk on this shift
        logbook.write_entry(runtime, shift, "reception4", "代写", "")


def test_cases_worked_in_the_shift_and_calls_appear_on_their_own(runtime, night):
    shift, clerk = night
    case = runtime.start_instance("help_request", {"caller": "林先生", "unit": "3-2-1201", "phone": "13800000000",
                                                   "category": "repair", "description": "厨房水龙头漏水"}, clerk)
    logbook.record_call(runtime, SITE, 2, "13800000000", "phone_system", "system")
    logbook.record_call(runtime, SITE, 5, "13900000000", "phone_system", "system")
    with runtime.db.read_session() as session:
        log = logbook.shift_log(session, shift)
    assert [c[0] for c in log.cases] == [case.instance.reference]
    assert [(c.rings, c.late) for c in log.calls] == [(2, False), (5, True)]
    assert log.report() == {"entries": 0, "corrections": 0, "calls": 2, "late_calls": 1,
                            "cases": [case.instance.reference]}
    with pytest.raises(FormInvalid):
        logbook.record_call(runtime, SITE, 0, "", "phone_system", "system")


def test_a_closed_shift_is_read_only_and_has_its_duty_report(runtime, night):
    shift, clerk = night
    logbook.write_entry(runtime, shift, clerk, "巡查大堂", "正常")
    at(runtime, "2026-12-02 08:30")
    run_duty_pass(runtime)
    with pytest.raises(PermissionDenied, match="read-only"):
        logbook.write_entry(runtime, shift, clerk, "补记", "")
    with runtime.db.read_session() as session:
        closed = [e for e in session.scalars(select(Event).where(Event.element_id == f"shift:{shift}"))
                  if e.type == EventType.SHIFT_CLOSED]
    assert [e.data["entries"] for e in closed] == [1]


def test_an_entry_altered_in_sql_is_named_by_the_chain(runtime, night):
    shift, clerk = night
    entry = logbook.write_entry(runtime, shift, clerk, "23:00 巡查", "正常")
    with runtime.transaction() as session:
        session.execute(update(Event).where(Event.id == entry).values(
            data={"happened": "23:00 巡查（已改）", "done": "正常", "evidence": ""}))
    with runtime.db.read_session() as session:
        result = verify_chain(session)
    assert (result.ok, result.first_broken_id) == (False, entry)


def test_after_hours_messages_reach_the_rostered_on_call_manager(runtime, night):
    shift, clerk = night
    resolver = RosterRecipients()
    with runtime.db.read_session() as session:
        def who(role, when):
            return resolver.recipients(session, RecipientQuery(role, SITE, when, True, False))

        assert who("manager", local("2026-12-01 20:00")) == [ON_CALL["manager"]]  # not manager1 as well
        assert who("reception", local("2026-12-01 20:00")) == [clerk]
        assert "manager1" in who("manager", local("2026-12-01 10:00"))  # office hours: every manager
        assert desk_shift(session, SITE, local("2026-12-01 20:00")).id == shift
    with pytest.raises(NotFound):  # no roster for January
        at(runtime, "2027-01-05 20:00")
        logbook.record_call(runtime, SITE, 1, "", "phone_system", "system")


def test_an_after_hours_escalation_reaches_the_rostered_on_call_manager(runtime, night):
    desk = Runtime(runtime.db, runtime.clock, recipients=RosterRecipients())  # as the worker is built
    shift, clerk = night
    started = desk.start_instance("help_request", {**CALLER, "category": "other", "description": "老人被反锁"},
                                  clerk)
    case = Case(desk, started.instance.id, started.instance.reference)
    case.complete("register_request", clerk, **CALLER, category="other", description="老人被反锁在门外",
                  received_at="2026-12-01T12:00:00+00:00")
    case.complete("handle_other", clerk, other_outcome="ask_supervisor")  # the reply's limit starts
    runtime.clock.advance(hours=1)  # its escalations pass, still within the night
    desk.fire_due_timers()
    send_pending(desk, runtime.clock.now())
    with runtime.db.read_session() as session:
        reached = session.execute(select(NotificationDelivery.recipients).join(
            Notification, Notification.id == NotificationDelivery.notification_id).where(
            Notification.instance_id == case.instance_id, Notification.to_role == "manager")).scalars().all()
    assert reached and all(people == [ON_CALL["manager"]] for people in reached)  # not manager1


def test_the_after_hours_bell_rings_for_the_rostered_people_only(runtime, night):
    """4.1.7: the in-app bell follows the roster after hours as the outbox channels do; in office
    hours a role's message is every holder's."""
    desk = Runtime(runtime.db, runtime.clock, recipients=RosterRecipients())  # as the web app and worker are built
    shift, clerk = night
    started = desk.start_instance("help_request", {**CALLER, "category": "other", "description": "老人被反锁"},
                                  clerk)
    case = Case(desk, started.instance.id, started.instance.reference)
    case.complete("register_request", clerk, **CALLER, category="other", description="老人被反锁在门外",
                  received_at="2026-12-01T12:00:00+00:00")
    case.complete("handle_other", clerk, other_outcome="ask_supervisor")
    runtime.clock.advance(hours=1)
    desk.fire_due_timers()

    def bell(username):
        with runtime.db.read_session() as session:
            actor = load_actor(session, username)
            return ([n.to_role for n in list_notifications(session, actor) if n.instance_id == case.instance_id],
                    unread_count(session, actor))

    on_call_roles, on_call_unread = bell(ON_CALL["manager"])
    assert "manager" in on_call_roles and on_call_unread >= on_call_roles.count("manager")
    assert "manager" not in bell("manager1")[0]  # the manager not on call is not woken
    assert "cs_supervisor" in bell(ON_CALL["cs_supervisor"])[0]
    with runtime.db.read_session() as session:
        rows = session.scalars(select(Notification).where(Notification.instance_id == case.instance_id,
                                                          Notification.to_role == "manager")).all()
    assert rows and {(n.to_role, n.to_user) for n in rows} == {("manager", ON_CALL["manager"])}  # the role kept

    at(runtime, "2026-12-02 10:00")  # office hours: a role's message is every holder's again
    with desk.transaction() as session:
        notify(session, runtime.clock.now(), text="白天通知", text_en="Daytime", to_role="manager", site=SITE,
               instance_id=case.instance_id)
    assert "manager" in bell("manager1")[0] and "manager" in bell(ON_CALL["manager"])[0]

"""The duty desk over a month on the fake clock (004 4.1–4.3): the roster and its deadline,
handovers the roster opens, leave and substitutes, holidays, the daily check, on-call people."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.audit.events import EventType
from engine.duty import logbook, requests, roster
from engine.duty.desk import run_duty_pass
from engine.duty.figures import month_figures
from engine.duty.journal import events_of, roster_element, shift_element
from engine.errors import FormInvalid, PermissionDenied
from engine.store.models import Event, HumanTask, Instance, Notification
from tests.scenario.duty_month import (
    CHINA,
    MONTH,
    SITE,
    A,
    B,
    add_people,
    at,
    desk_clerk,
    full_assignments,
    local,
    publish_month,
    shift_id,
)


def notifications(runtime, role, site=SITE):
    with runtime.db.read_session() as session:
        return [n.text for n in session.scalars(select(Notification).where(
            Notification.to_role == role, Notification.site == site).order_by(Notification.id))]


def open_tasks(runtime, process_id):
    with runtime.db.read_session() as session:
        return session.execute(select(HumanTask.element_id, HumanTask.assignee, HumanTask.due_at, Instance.id)
                               .join(Instance, Instance.id == HumanTask.instance_id)
                               .where(Instance.process_id == process_id, Instance.site == SITE,
                                      HumanTask.status.in_(("ready", "claimed")))
                               .order_by(HumanTask.created_at)).all()


def test_late_roster_gets_a_reminder_then_an_escalation(runtime):
    at(runtime, "2026-12-30 18:00")  # the day before the last working day: not late yet
    run_duty_pass(runtime)
    assert notifications(runtime, "cs_supervisor") == []
    at(runtime, "2026-12-31 09:00")
    run_duty_pass(runtime)
    assert notifications(runtime, "cs_supervisor") == ["2027-01 值班安排表尚未发布，请于本月最后一个工作日（2026-12-31）前发布"]
    assert notifications(runtime, "manager") == []
    at(runtime, "2026-12-31 17:30")
    run_duty_pass(runtime)
    run_duty_pass(runtime)  # each once
    assert notifications(runtime, "manager") == ["2027-01 值班安排表尚未发布，请于本月最后一个工作日（2026-12-31）前发布"]
    with runtime.db.read_session() as session:
        trail = [(e.type, e.data["level"], e.data["notified"])
                 for e in events_of(session, roster_element(SITE, "2027-01"))]
        assert len(events_of(session, roster_element("binhai", "2027-01"))) == 2  # each site's own
    assert trail == [(EventType.ROSTER_OVERDUE, "roster_reminder", "cs_supervisor"),
                     (EventType.ROSTER_OVERDUE, "roster_escalation", "manager")]


def test_a_roster_published_in_time_sends_no_reminder(runtime):
    at(runtime, "2026-11-20 10:00")
    publish_month(runtime, "2026-12")
    at(runtime, "2026-11-30 18:00")
    run_duty_pass(runtime)
    assert not [t for t in notifications(runtime, "manager") if "值班安排表" in t]


def test_publishing_needs_every_shift_filled_and_different_people_at_each_change(runtime):
    at(runtime, "2026-11-20 10:00")
    add_people(runtime)
    slots = full_assignments(runtime)
    first = min(slots)
    with pytest.raises(FormInvalid) as raised:
        roster.save_roster(runtime, SITE, MONTH, {**slots, first: "guard1"}, "supervisor1")
    assert [e.field for e in raised.value.errors] == [f"{first[0]}/{first[1]}"]
    blank = {**slots, first: ""}
    roster.save_roster(runtime, SITE, MONTH, blank, "supervisor1")
    with pytest.raises(FormInvalid) as raised:
        roster.publish_roster(runtime, SITE, MONTH, "supervisor1")
    assert [e.zh for e in raised.value.errors] == ["此班次尚未安排值班人"]
    same = {**slots, (first[0], "duty"): slots[(first[0], "day")]} if (first[0], "day") in slots else None
    if same:
        roster.save_roster(runtime, SITE, MONTH, same, "supervisor1")
        with pytest.raises(FormInvalid) as raised:
            roster.publish_roster(runtime, SITE, MONTH, "supervisor1")
        assert "交班人与接班人不能是同一人" in [e.zh for e in raised.value.errors]
    with pytest.raises(PermissionDenied):
        roster.save_roster(runtime, SITE, MONTH, slots, "reception1")


def test_handover_opens_at_17_30_for_the_rostered_clerks(runtime):
    at(runtime, "2026-11-20 10:00")
    view = publish_month(runtime)
    day_clerk, night_clerk = desk_clerk(view, "2026-12-01", "day"), desk_clerk(view, "2026-12-01", "duty")
    assert day_clerk != night_clerk
    at(runtime, "2026-12-01 17:14")
    run_duty_pass(runtime)
    assert open_tasks(runtime, "shift_handover") == []
    at(runtime, "2026-12-01 17:15")  # the outgoing clerk prepares 15 minutes before (4.2.2)
    run_duty_pass(runtime)
    [(element, assignee, due, case)] = open_tasks(runtime, "shift_handover")
    assert (element, assignee) == ("prepare_handover", day_clerk)
    assert due == local("2026-12-01 17:25")  # ready when the incoming clerk arrives, 5 minutes early
    runtime.complete_task(_task_id(runtime, case, "prepare_handover"), PREPARED, day_clerk)
    run_duty_pass(runtime)
    [(element, assignee, due, _)] = open_tasks(runtime, "shift_handover")
    assert (element, assignee, due) == ("count_equipment", night_clerk, local("2026-12-01 17:30"))
    with runtime.db.read_session() as session:
        events = [(e.type, e.actor, e.data.get("duty")) for e in session.scalars(
            select(Event).where(Event.instance_id == case).order_by(Event.id))
            if e.type in (EventType.INSTANCE_STARTED, EventType.TASK_REASSIGNED)]
    assert events == [(EventType.INSTANCE_STARTED, day_clerk, None), (EventType.TASK_REASSIGNED, "system", "outgoing"),
                      (EventType.TASK_REASSIGNED, "system", "incoming")]
    assert run_duty_pass(runtime) == 0  # opened once


def test_a_late_handover_step_is_told_to_the_supervisor_once(runtime):
    at(runtime, "2026-11-20 10:00")
    view = publish_month(runtime)
    at(runtime, "2026-12-01 17:15")
    run_duty_pass(runtime)
    at(runtime, "2026-12-01 17:25")  # the outgoing clerk's limit: ready when the incoming one arrives
    run_duty_pass(runtime)
    assert not [t for t in notifications(runtime, "cs_supervisor") if "交接班" in t]
    at(runtime, "2026-12-01 17:26")
    run_duty_pass(runtime)
    run_duty_pass(runtime)
    [late] = [t for t in notifications(runtime, "cs_supervisor") if "交接班" in t]
    assert "交班人整理公物、完成值班记录" in late and desk_clerk(view, "2026-12-01", "day") in late


def test_handover_opens_at_08_30_and_the_holiday_has_24_hour_duty(runtime):
    at(runtime, "2026-11-20 10:00")
    view = publish_month(runtime)
    sat = next(cells for d, _, cells in view.days if d.isoformat() == "2026-12-05")
    assert "day" not in sat and sat["duty"].slot.kind == "holiday"
    assert sat["duty"].slot.ends_at - sat["duty"].slot.starts_at == timedelta(hours=24)
    at(runtime, "2026-12-05 08:15")  # Friday's night clerk hands over to Saturday's 24-hour duty
    run_duty_pass(runtime)
    [(element, assignee, _, _)] = open_tasks(runtime, "shift_handover")
    assert (element, assignee) == ("prepare_handover", desk_clerk(view, "2026-12-04", "duty"))
    at(runtime, "2026-12-05 17:15")  # no change of the desk on a holiday evening
    run_duty_pass(runtime)
    assert len(open_tasks(runtime, "shift_handover")) == 1


def test_important_unfinished_work_blocks_the_rostered_handover(runtime):
    view, out, incoming, case = counted_handover(runtime)
    runtime.complete_task(_task_id(runtime, case, "review_log"), dict(log_read=True, open_items=[
        dict(item="3栋电梯困人", owner="陈静", important=True)]), incoming)
    run_duty_pass(runtime)
    [(element, assignee, _, _)] = open_tasks(runtime, "shift_handover")
    assert (element, assignee) == ("resolve_important_work", out)  # nobody can sign yet


def test_leave_approved_then_a_substitute_and_no_private_swap(runtime):
    at(runtime, "2026-11-20 10:00")
    view = publish_month(runtime)
    shift = shift_id(view, "2026-12-10", "duty")
    clerk = desk_clerk(view, "2026-12-10", "duty")
    other = B if clerk == A else A
    # a private swap: the roster itself cannot be rewritten once published
    with pytest.raises(PermissionDenied):
        roster.save_roster(runtime, SITE, MONTH, full_assignments(runtime), "supervisor1")
    with pytest.raises(PermissionDenied):  # nor can someone else ask for the clerk
        requests.request_leave(runtime, shift, "换班", other)
    request = requests.request_leave(runtime, shift, "家中有事", clerk)
    with pytest.raises(PermissionDenied):  # not before the supervisor approves (4.1.5)
        requests.assign_substitute(runtime, request, "reception4", "supervisor1")
    with pytest.raises(PermissionDenied):
        requests.decide_request(runtime, request, True, clerk)
    requests.decide_request(runtime, request, True, "supervisor1")
    with pytest.raises(FormInvalid):  # the neighbouring shifts are the other clerk's: no handover to oneself
        requests.assign_substitute(runtime, request, other, "supervisor1")
    requests.assign_substitute(runtime, request, "reception4", "supervisor1")
    with runtime.db.read_session() as session:
        assert roster.roster_view(session, SITE, MONTH).days[9][2]["duty"].username == "reception4"
        trail = [(e.type, e.actor) for e in events_of(session, shift_element(shift))]
    assert trail == [(EventType.DUTY_REQUESTED, clerk), (EventType.DUTY_REQUEST_DECIDED, "supervisor1"),
                     (EventType.SHIFT_REASSIGNED, "supervisor1")]


def test_a_refused_request_leaves_the_roster_alone(runtime):
    at(runtime, "2026-11-20 10:00")
    view = publish_month(runtime)
    shift, clerk = shift_id(view, "2026-12-10", "duty"), desk_clerk(view, "2026-12-10", "duty")
    request = requests.request_leave(runtime, shift, "想换班", clerk)
    requests.decide_request(runtime, request, False, "supervisor1")
    with pytest.raises(PermissionDenied):
        requests.assign_substitute(runtime, request, "reception4", "supervisor1")
    with runtime.db.read_session() as session:
        assert roster.roster_view(session, SITE, MONTH).days[9][2]["duty"].username == clerk


def counted_handover(runtime):
    """December's roster published; on 1 December at 17:15 the handover opens, the outgoing clerk
    prepares and the incoming one counts the equipment. Returns (roster, outgoing, incoming, case)."""
    at(runtime, "2026-11-20 10:00")
    view = publish_month(runtime)
    out, incoming = desk_clerk(view, "2026-12-01", "day"), desk_clerk(view, "2026-12-01", "duty")
    at(runtime, "2026-12-01 17:15")
    run_duty_pass(runtime)
    case = open_tasks(runtime, "shift_handover")[0][3]
    runtime.complete_task(_task_id(runtime, case, "prepare_handover"), PREPARED, out)
    run_duty_pass(runtime)
    runtime.complete_task(_task_id(runtime, case, "count_equipment"), dict(
        incoming_staff="周丽", arrived_at="2026-12-01T09:25:00+00:00",
        equipment=[dict(name="对讲机", count=2, damaged=0, lost=0)]), incoming)
    run_duty_pass(runtime)
    return view, out, incoming, case


PREPARED = dict(outgoing_staff="王敏", items_tidied=True, desk_clean=True, log_completed=True,
                evidence_collected=True, shift_summary="受理咨询2宗", unfinished_work="无")


def _task_id(runtime, case, element):
    with runtime.db.read_session() as session:
        return session.scalar(select(HumanTask.id).where(HumanTask.instance_id == case, HumanTask.element_id == element,
                                                         HumanTask.status.in_(("ready", "claimed"))))


def test_the_months_figures_count_shifts_handovers_on_time_entries_and_late_answers(runtime):
    view, out, incoming, case = counted_handover(runtime)
    runtime.complete_task(_task_id(runtime, case, "review_log"), dict(log_read=True, open_items=[]), incoming)
    run_duty_pass(runtime)
    runtime.complete_task(_task_id(runtime, case, "check_area"), dict(area_normal=True), incoming)
    run_duty_pass(runtime)
    at(runtime, "2026-12-01 17:28")  # a signature's time is when it is given, never ahead of the clock
    runtime.complete_task(_task_id(runtime, case, "sign_outgoing"), dict(
        outgoing_signature="王敏", outgoing_confirmed=True, outgoing_signed_at="2026-12-01T09:28:00+00:00"), out)
    run_duty_pass(runtime)
    at(runtime, "2026-12-01 17:29")
    runtime.complete_task(_task_id(runtime, case, "sign_incoming"), dict(
        incoming_signature="周丽", incoming_confirmed=True, incoming_signed_at="2026-12-01T09:29:00+00:00"), incoming)
    at(runtime, "2026-12-01 18:00")
    night = shift_id(view, "2026-12-01", "duty")
    logbook.write_entry(runtime, night, incoming, "18:00 交接完毕", "")
    logbook.record_call(runtime, SITE, 5, "", "phone_system", "system")
    with runtime.db.read_session() as session:
        figures = {f.username: f for f in month_figures(session, SITE, MONTH)}
    mine = figures[incoming]
    assert (mine.handovers, mine.handovers_on_time, mine.log_entries, mine.calls, mine.late_calls) == (1, 1, 1, 1, 1)
    assert figures[out].shifts + mine.shifts == len([1 for _, _, cells in view.days for p in ("day", "duty")
                                                     if p in cells])


def test_a_month_of_changes_opens_one_handover_each_for_the_rostered_pair(runtime):
    at(runtime, "2026-11-20 10:00")
    view = publish_month(runtime)
    desk = sorted((cells[p] for _, _, cells in view.days for p in ("day", "duty") if p in cells),
                  key=lambda cell: cell.slot.starts_at)
    changes = [(a, b) for a, b in zip(desk, desk[1:], strict=False) if a.slot.ends_at == b.slot.starts_at]
    for _, incoming in changes:
        runtime.clock.set(incoming.slot.starts_at - timedelta(minutes=15))
        run_duty_pass(runtime)
    with runtime.db.read_session() as session:
        opened = session.execute(select(Instance.id, Event.actor, Event.data).join(
            Event, Event.instance_id == Instance.id).where(
            Instance.process_id == "shift_handover", Instance.site == SITE,
            Event.type == EventType.INSTANCE_STARTED).order_by(Instance.id)).all()
    assert [(actor, data["data"]["shift_change_at"]) for _, actor, data in opened] == [
        (a.username, b.slot.starts_at.isoformat()) for a, b in changes]
    assert {b.slot.starts_at.astimezone(CHINA).strftime("%H:%M") for _, b in changes} == {"08:30", "17:30"}
    holidays = [day for day, kind, _ in view.days if kind == "holiday"]
    assert not [b for _, b in changes if b.slot.day in holidays and b.slot.starts_at.astimezone(CHINA).hour == 17]

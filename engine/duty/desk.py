"""The duty desk's pass of the timer worker: what the roster makes happen on its own.

Each pass (`run_duty_pass`, run by `estatedesk worker` after the timers) at the runtime's
clock: opens the handover case at each change of the desk for the two rostered clerks
(004 4.2), gives its tasks to them, tells the supervisor of a step past its limit, closes ended shifts with their duty report, starts the
supervisor's daily check on working mornings (4.3), and reminds, then escalates, when next
month's roster is not published by the last working day of the month (4.1.1).
Each of these is done once: a `duty_job` row with a unique key is the claim.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from engine.audit.events import EventType
from engine.duty import journal
from engine.duty.logbook import close_shift
from engine.duty.policy import current_rules
from engine.duty.roster import DESK_POSTS
from engine.errors import EngineError, NotFound
from engine.policy.duty_hours import DutyPolicy, next_month
from engine.policy.notifications import NotificationKind
from engine.runtime import steprows
from engine.runtime.assignment import assign
from engine.scheduling.outbox import notify
from engine.store.models import (
    DutyJob,
    DutyRoster,
    DutyShift,
    HumanTask,
    Instance,
    InstanceStatus,
    ProcessVersion,
    RosterStatus,
    TaskStatus,
    User,
)

log = logging.getLogger(__name__)
# A worker that was down opens a missed handover up to this long after the change, not later.
LATE_OPENING = timedelta(hours=1)
HANDOVER, DAILY_CHECK, REMINDER, ESCALATION = "handover", "daily_check", "roster_reminder", "roster_escalation"
LATE = "handover_late"  # key: the late task's id


def run_duty_pass(runtime) -> int:
    """Do whatever the roster makes due by the runtime's clock; return how many things were done."""
    now = runtime.clock.now()
    with runtime.db.read_session() as session:
        try:
            rules = current_rules(session)
        except NotFound:
            return 0
    if rules.duty is None:
        return 0
    done = 0
    for site in rules.sites:
        policy = rules.duty.policy(site)
        done += open_handovers(runtime, policy, site, now)
        done += assign_handover_tasks(runtime, policy, site)
        done += chase_late_handovers(runtime, policy, site, now)
        done += close_ended_shifts(runtime, policy, site, now)
        done += start_daily_check(runtime, policy, site, now)
        done += check_roster_deadline(runtime, policy, site, now)
    return done


# -- handovers (004 4.2) --------------------------------------------------------------------

def open_handovers(runtime, policy: DutyPolicy, site: str, now: datetime) -> int:
    """Open the handover of each change of the desk whose outgoing clerk should now be preparing."""
    with runtime.db.read_session() as session:
        changes = _changes(session, site, now - LATE_OPENING, now + policy.outgoing_prepares)
        opened = set(session.scalars(select(DutyJob.key).where(DutyJob.kind == HANDOVER, DutyJob.site == site)))
    done = 0
    for outgoing, incoming, outgoing_name, incoming_name in changes:
        if str(incoming.id) in opened or now < incoming.starts_at - policy.outgoing_prepares:
            continue
        data = {"site": site, "outgoing_staff": outgoing_name, "incoming_staff": incoming_name,
                "description": f"交接班 {outgoing_name} → {incoming_name}",
                "shift_change_at": incoming.starts_at.isoformat(),
                "incoming_arrive_by": (incoming.starts_at - policy.incoming_arrives).isoformat()}
        # The outgoing clerk opens it: they start preparing 15 minutes before the change (4.2.2).
        if not _start_once(runtime, HANDOVER, site, str(incoming.id), policy.handover_process, data,
                           outgoing.username):
            continue
        done += 1
    return done


def assign_handover_tasks(runtime, policy: DutyPolicy, site: str) -> int:
    """Give each open, unheld handover task to the rostered outgoing or incoming clerk."""
    with runtime.db.read_session() as session:
        rows = session.execute(
            select(HumanTask.id, HumanTask.element_id, DutyJob.key)
            .join(DutyJob, DutyJob.instance_id == HumanTask.instance_id)
            .join(Instance, Instance.id == DutyJob.instance_id)
            .where(DutyJob.kind == HANDOVER, DutyJob.site == site, Instance.status == InstanceStatus.RUNNING,
                   HumanTask.status == TaskStatus.READY, HumanTask.assignee.is_(None))).all()
    done = 0
    for task_id, element_id, key in rows:
        side = ("outgoing" if element_id in policy.outgoing_tasks else
                "incoming" if element_id in policy.incoming_tasks else None)
        if side is None:
            continue  # the supervisor's check stays with the role
        with runtime.transaction() as session:
            incoming = session.get(DutyShift, int(key))
            outgoing = _shift_before(session, incoming)
            person = (outgoing if side == "outgoing" else incoming)
            if person is None:
                continue
            task_row, row = steprows.load_task_and_instance(session, task_id)
            # The outgoing clerk is ready when the incoming one arrives, 5 minutes before the change
            # (4.2.1); everything else is due by the change itself.
            first = element_id == policy.outgoing_tasks[0]
            due = incoming.starts_at - (policy.incoming_arrives if first else timedelta(0))
            session.execute(update(HumanTask).where(HumanTask.id == task_id).values(due_at=due))
            assign(session, row, task_row, person.username, TaskStatus.CLAIMED, EventType.TASK_REASSIGNED,
                   "system", {"duty": side, "shift": incoming.id, "due_at": due.isoformat()})
        done += 1
    return done


def chase_late_handovers(runtime, policy: DutyPolicy, site: str, now: datetime) -> int:
    """Tell the supervisor, once per task, of a handover task past its 15- or 5-minute limit."""
    with runtime.db.read_session() as session:
        late = session.execute(
            select(HumanTask.id, HumanTask.name, HumanTask.assignee, Instance.id, Instance.reference)
            .join(DutyJob, DutyJob.instance_id == HumanTask.instance_id)
            .join(Instance, Instance.id == DutyJob.instance_id)
            .where(DutyJob.kind == HANDOVER, DutyJob.site == site, Instance.status == InstanceStatus.RUNNING,
                   HumanTask.status.in_((TaskStatus.READY, TaskStatus.CLAIMED)), HumanTask.due_at < now)).all()
        chased = set(session.scalars(select(DutyJob.key).where(DutyJob.kind == LATE, DutyJob.site == site,
                                                               DutyJob.key.in_([r[0] for r in late]))))
    done = 0
    for task_id, name, assignee, instance_id, reference in late:
        if task_id in chased or not _claim(runtime, LATE, site, task_id):
            continue
        with runtime.transaction() as session:
            notify(session, now, to_role=policy.remind_role, site=site, kind=NotificationKind.OVERDUE,
                   instance_id=instance_id, task_id=task_id, link=f"/cases/{reference}",
                   text=f"{reference}：交接班「{name}」已超时（{assignee or '未分配'}）",
                   text_en=f"{reference}: handover step {name!r} is late ({assignee or 'unassigned'})")
        done += 1
    return done


def _changes(session, site: str, start: datetime, end: datetime) -> list[tuple[DutyShift, DutyShift, str, str]]:
    """(outgoing, incoming, their names) of the desk's changes in published rosters in [start, end]."""
    names = dict(session.execute(select(User.username, User.name)).all())
    incoming = _published(session).where(DutyShift.site == site, DutyShift.post.in_(DESK_POSTS),
                                         DutyShift.starts_at >= start, DutyShift.starts_at <= end)
    pairs = []
    for shift in session.scalars(incoming.order_by(DutyShift.starts_at)):
        before = _shift_before(session, shift)
        if before is not None:
            pairs.append((before, shift, names.get(before.username, before.username),
                          names.get(shift.username, shift.username)))
    return pairs


def _shift_before(session, shift: DutyShift) -> DutyShift | None:
    return session.scalars(_published(session).where(
        DutyShift.site == shift.site, DutyShift.post.in_(DESK_POSTS), DutyShift.ends_at == shift.starts_at)).first()


def _published(session):
    return (select(DutyShift).join(DutyRoster, DutyRoster.id == DutyShift.roster_id)
            .where(DutyRoster.status == RosterStatus.PUBLISHED))


# -- shifts' end and the duty report (004 4.1.8, part 1 5.) ----------------------------------

def close_ended_shifts(runtime, policy: DutyPolicy, site: str, now: datetime) -> int:
    with runtime.db.read_session() as session:
        ended = list(session.scalars(_published(session).with_only_columns(DutyShift.id).where(
            DutyShift.site == site, DutyShift.post.in_(DESK_POSTS), DutyShift.ends_at <= now,
            DutyShift.closed_at.is_(None))))
    for shift_id in ended:
        with runtime.transaction() as session:
            shift = session.get(DutyShift, shift_id, with_for_update=True)
            if shift.closed_at is not None:
                continue
            figures = close_shift(session, shift, now)
            notify(session, now, to_role=policy.remind_role, site=site,
                   kind=NotificationKind.TASK_ASSIGNED, link=f"/duty/shifts/{shift_id}",
                   text=f"值班报告：{shift.day} 班次记录 {figures['entries']} 条，来电 {figures['calls']} 个",
                   text_en=f"Duty report: shift of {shift.day}, {figures['entries']} log entries, "
                           f"{figures['calls']} calls")
    return len(ended)


# -- the supervisor's daily check (004 4.3) -----------------------------------------------------

def start_daily_check(runtime, policy: DutyPolicy, site: str, now: datetime) -> int:
    today = policy.calendar.local_date(now)
    if not policy.calendar.is_working_day(today) or not (
            policy.at(today, policy.check_at) <= now < policy.at(today, policy.night_starts)):
        return 0
    with runtime.db.read_session() as session:
        last = session.scalar(select(DutyJob.done_at).where(DutyJob.kind == DAILY_CHECK, DutyJob.site == site)
                              .order_by(DutyJob.done_at.desc()).limit(1))
        if last is not None and policy.calendar.local_date(last) == today:
            return 0  # this morning's check is open already
        shifts = session.execute(select(DutyShift.id, DutyShift.day, DutyShift.username).where(
            DutyShift.site == site, DutyShift.post.in_(DESK_POSTS), DutyShift.ends_at <= now,
            *([DutyShift.ends_at > last] if last else [])).order_by(DutyShift.starts_at)).all()
    data = {"site": site, "description": f"{today} 检查值班记录",
            "duty_logs": [{"shift": s.id, "day": s.day.isoformat(), "clerk": s.username} for s in shifts]}
    if not _start_once(runtime, DAILY_CHECK, site, today.isoformat(), policy.check_process, data, "system"):
        return 0
    return 1


# -- the roster's deadline (004 4.1.1) ----------------------------------------------------------

def check_roster_deadline(runtime, policy: DutyPolicy, site: str, now: datetime) -> int:
    local = policy.calendar.local_date(now)
    month = local.isoformat()[:7]
    deadline = policy.last_working_day(month)
    coming = next_month(month)
    with runtime.db.read_session() as session:
        published = session.scalar(select(DutyRoster.id).where(
            DutyRoster.site == site, DutyRoster.month == coming, DutyRoster.status == RosterStatus.PUBLISHED))
    if published is not None or local < deadline:
        return 0
    done = 0
    for kind, moment, role in ((REMINDER, policy.remind_at, policy.remind_role),
                               (ESCALATION, policy.escalate_at, policy.escalate_role)):
        if now < policy.at(deadline, moment) or not _claim(runtime, kind, site, coming):
            continue
        with runtime.transaction() as session:
            notify(session, now, to_role=role, site=site, kind=NotificationKind.ESCALATION,
                   link=f"/duty/roster/{site}/{coming}",
                   text=f"{coming} 值班安排表尚未发布，请于本月最后一个工作日（{deadline}）前发布",
                   text_en=f"The duty roster for {coming} is not published; it is due by {deadline}")
            journal.record(session, now, EventType.ROSTER_OVERDUE, "system", journal.roster_element(site, coming),
                           {"site": site, "month": coming, "level": kind, "notified": role})
        done += 1
    return done


# -- claims -----------------------------------------------------------------------------------

def _claim(runtime, kind: str, site: str, key: str) -> bool:
    try:
        with runtime.transaction() as session:
            session.add(DutyJob(kind=kind, site=site, key=key, done_at=runtime.clock.now()))
    except IntegrityError:
        return False  # another worker did it
    return True


def _start_once(runtime, kind: str, site: str, key: str, process_id: str, data: dict, actor: str) -> bool:
    """Start a case of `process_id` for this job unless one was started already; False if not started.

    A library without the procedure starts nothing; a start that fails gives the claim back, so
    the next pass tries again.
    """
    with runtime.db.read_session() as session:
        if not session.scalar(select(ProcessVersion.id).where(ProcessVersion.process_id == process_id,
                                                             ProcessVersion.executable.is_(True)).limit(1)):
            return False
    if not _claim(runtime, kind, site, key):
        return False
    job = (DutyJob.kind == kind) & (DutyJob.site == site) & (DutyJob.key == key)
    try:
        result = runtime.start_instance(process_id, data, actor)
    except EngineError:
        log.exception("duty desk: %s %s at %s could not be started", kind, key, site)
        with runtime.transaction() as session:
            session.execute(delete(DutyJob).where(job))
        return False
    with runtime.transaction() as session:
        session.execute(update(DutyJob).where(job).values(instance_id=result.instance.id))
    return True

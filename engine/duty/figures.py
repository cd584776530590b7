"""The duty desk's performance figures for a month (004 4.4, 4.1.5): per person, shifts worked,
handovers signed by the change, duty-log entries written, calls answered after three rings.

Read from the roster and the audit events alone, never from counters.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.events import EventType
from engine.duty.desk import HANDOVER
from engine.duty.journal import shift_element
from engine.duty.policy import duty_policy
from engine.duty.roster import DESK_POSTS
from engine.errors import NotFound
from engine.stats.tables import COUNT, TEXT, Column, KpiTable
from engine.store.models import DutyJob, DutyRoster, DutyShift, Event, User

HANDOVER_SIGNED = "sign_incoming"  # the handover is done when the incoming clerk signs (4.2.1)


@dataclass
class DutyFigures:
    username: str
    shifts: int = 0
    handovers: int = 0  # handovers this person took over
    handovers_on_time: int = 0  # signed by the change of the desk
    log_entries: int = 0
    calls: int = 0
    late_calls: int = 0


def month_figures(session: Session, site: str, month: str) -> list[DutyFigures]:
    """Each desk clerk's figures for the closed and open shifts of `month` at `site`."""
    allowed = duty_policy(session, site).three_rings
    shifts = list(session.scalars(select(DutyShift).join(DutyRoster, DutyRoster.id == DutyShift.roster_id).where(
        DutyRoster.site == site, DutyRoster.month == month, DutyShift.post.in_(DESK_POSTS))))
    people: dict[str, DutyFigures] = defaultdict(lambda: DutyFigures(""))
    by_element = {shift_element(s.id): s for s in shifts}
    for shift in shifts:
        mine = people[shift.username]
        mine.username = shift.username
        mine.shifts += 1
    for event in session.scalars(select(Event).where(Event.element_id.in_(list(by_element)),
                                                     Event.type.in_((EventType.DUTY_LOG_ENTRY,
                                                                     EventType.CALL_ANSWERED)))):
        mine = people[by_element[event.element_id].username]
        if event.type == EventType.DUTY_LOG_ENTRY:
            mine.log_entries += 1
        else:
            mine.calls += 1
            rings = (event.data or {}).get("rings")
            mine.late_calls += rings is not None and rings > allowed
    jobs = dict(session.execute(select(DutyJob.key, DutyJob.instance_id).where(
        DutyJob.kind == HANDOVER, DutyJob.site == site, DutyJob.instance_id.is_not(None))).all())
    for shift in shifts:
        case = jobs.get(str(shift.id))
        if case is None:
            continue
        mine = people[shift.username]
        mine.handovers += 1
        signed = session.scalar(select(Event.at).where(Event.instance_id == case, Event.element_id == HANDOVER_SIGNED,
                                                       Event.type == EventType.TASK_COMPLETED))
        mine.handovers_on_time += signed is not None and signed <= shift.starts_at
    return sorted(people.values(), key=lambda f: f.username)


FIGURE_COLUMNS = [
    Column("staff", "值班人员", "Clerk", TEXT),
    Column("shifts", "值班班次", "Shifts worked"),
    Column("handovers", "接班次数", "Handovers taken"),
    Column("handovers_on_time", "按时交接", "Signed by the change"),
    Column("log_entries", "值班记录条数", "Log entries"),
    Column("calls", "来电", "Calls"),
    Column("late_calls", "超过规定响铃数接听", "Answered after the allowed rings"),
]


def figures_table(session: Session, site: str, month: str) -> KpiTable | None:
    """The month's figures as a statistics table (the monthly report's duty section, 004 4.4);
    None when the deployed library has no duty desk."""
    try:
        figures = month_figures(session, site, month)
    except NotFound:
        return None
    names = dict(session.execute(select(User.username, User.name).where(
        User.username.in_([f.username for f in figures]))).all()) if figures else {}
    rows = [{"staff": f"{names.get(f.username, f.username)} ({f.username})",
             **{c.key: getattr(f, c.key) for c in FIGURE_COLUMNS if c.kind == COUNT}} for f in figures]
    return KpiTable("duty_figures", "值班表现", "Duty desk performance", FIGURE_COLUMNS, rows)

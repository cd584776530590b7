"""《住户服务中心值班安排表》: the month's roster of one site (004 4.1.1, 4.1.7).

The supervisor fills a draft (the month grid, or a CSV file) and publishes it. Once published
a shift changes hands only through an approved leave request (engine/duty/requests.py): there
is no other write path, so a private swap cannot happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine import clock
from engine.accounts import permissions, sites
from engine.accounts.users import load_actor
from engine.audit.events import EventType
from engine.duty import journal
from engine.duty.policy import current_rules, duty_policy
from engine.errors import ConflictError, FieldError, FormInvalid, NotFound, Refused
from engine.policy.duty_hours import DESK_DAY, DESK_DUTY, DutyPolicy, ShiftSlot, month_days
from engine.policy.notifications import NotificationKind
from engine.scheduling.outbox import notify
from engine.store.models import DutyRoster, DutyShift, RosterStatus, User, UserRole

DESK_POSTS = (DESK_DAY, DESK_DUTY)


@dataclass(frozen=True)
class RosterCell:
    slot: ShiftSlot
    username: str | None
    name: str | None
    shift_id: int | None


@dataclass(frozen=True)
class RosterView:
    site: str
    month: str
    status: str  # "none" before a draft is saved, else draft or published
    published_at: datetime | None
    version: int  # what a page sends back as `expected_version`
    posts: tuple[str, ...]
    days: list[tuple[date, str, dict[str, RosterCell]]]  # (day, its kind, post -> cell)

    @property
    def filled(self) -> int:
        return sum(1 for _, _, cells in self.days for cell in cells.values() if cell.username)

    @property
    def slots(self) -> int:
        return sum(len(cells) for _, _, cells in self.days)


def role_of_post(policy: DutyPolicy, post: str) -> str:
    return policy.desk_role if post in DESK_POSTS else post


def roster_view(session: Session, site: str, month: str) -> RosterView:
    """The grid of `site` for `month` ("YYYY-MM"): every slot, with whoever holds it."""
    policy = duty_policy(session, site)
    _check_site(session, site)
    roster = _roster(session, site, month)
    shifts = {} if roster is None else {
        (s.day, s.post): s for s in session.scalars(select(DutyShift).where(DutyShift.roster_id == roster.id))}
    names = dict(session.execute(select(User.username, User.name)).all())
    days = []
    for day in _days(month):
        cells = {}
        for slot in policy.slots(day):
            shift = shifts.get((day, slot.post))
            who = shift.username if shift else None
            cells[slot.post] = RosterCell(slot, who, names.get(who), shift.id if shift else None)
        days.append((day, cells[DESK_DUTY].slot.kind, cells))
    status = "none" if roster is None else roster.status.value
    return RosterView(site, month, status, roster.published_at if roster else None,
                      roster.version if roster else 0, policy.posts, days)


def save_roster(runtime, site: str, month: str, assignments: dict[tuple[date, str], str], actor: str,
                expected_version: int | None = None) -> RosterView:
    """Write the draft roster of `site` and `month`: (day, post) -> username; blanks are left open.

    With `expected_version` (the page's), a roster saved by someone else since is a conflict.
    """
    with runtime.transaction() as session:
        check_supervisor(session, actor, site)  # before the site's policy: nothing said to others
        policy = duty_policy(session, site)
        roster = _roster(session, site, month, lock=True)
        if expected_version is not None and (roster.version if roster else 0) != expected_version:
            raise ConflictError(f"the roster of {site} for {month} was saved by someone else meanwhile")
        if roster is not None and roster.status == RosterStatus.PUBLISHED:
            raise Refused("a published roster changes only through an approved leave request (004 4.1.5)",
                          "值班安排表已发布，只能通过经批准的请假申请调整（不允许私自调班）")
        slots = {(s.day, s.post): s for day in _days(month) for s in policy.slots(day)}
        errors = _check_assignments(session, policy, site, slots, assignments)
        if errors:
            raise FormInvalid(errors)
        if roster is None:
            roster = DutyRoster(site=site, month=month, status=RosterStatus.DRAFT, version=0)
            session.add(roster)
            session.flush()
        roster.version += 1
        session.execute(delete(DutyShift).where(DutyShift.roster_id == roster.id))  # a draft: nothing relies on it
        for key, username in assignments.items():
            if username:
                slot = slots[key]
                session.add(DutyShift(roster_id=roster.id, site=site, day=slot.day, kind=slot.kind, post=slot.post,
                                      username=username, starts_at=slot.starts_at, ends_at=slot.ends_at))
        journal.record(session, clock.now(), EventType.ROSTER_SAVED, actor, journal.roster_element(site, month),
                       {"site": site, "month": month, "filled": sum(1 for u in assignments.values() if u)})
    with runtime.db.read_session() as session:
        return roster_view(session, site, month)


def publish_roster(runtime, site: str, month: str, actor: str) -> RosterView:
    """Publish the draft: every slot filled, and the two clerks at each change of the desk differ."""
    with runtime.transaction() as session:
        check_supervisor(session, actor, site)
        roster = _roster(session, site, month, lock=True)
        if roster is None:
            raise NotFound(f"no roster of {site} for {month}")
        if roster.status == RosterStatus.PUBLISHED:
            raise Refused(f"the roster of {site} for {month} is already published", "该月值班安排表已发布")
        view = roster_view(session, site, month)
        errors = [FieldError(f"{day.isoformat()}/{post}", "no one is named for this shift",
                             "此班次尚未安排值班人", "No one is named for this shift")
                  for day, _, cells in view.days for post, cell in cells.items() if not cell.username]
        errors += same_person_at_changes(desk_shifts(session, site, view))
        if errors:
            raise FormInvalid(errors)
        now = clock.now()
        roster.status, roster.published_at, roster.published_by = RosterStatus.PUBLISHED, now, actor
        journal.record(session, now, EventType.ROSTER_PUBLISHED, actor, journal.roster_element(site, month),
                       {"site": site, "month": month, "shifts": view.filled})
        notify(session, now, to_role=duty_policy(session, site).desk_role, site=site,
               kind=NotificationKind.ROSTER_PUBLISHED, link=f"/duty/roster/{site}/{month}",
               text=f"{month} 值班安排表已发布", text_en=f"The duty roster for {month} is published")
    with runtime.db.read_session() as session:
        return roster_view(session, site, month)


def desk_shifts(session: Session, site: str, view: RosterView | None = None) -> list[DutyShift]:
    """The desk's shifts of a roster (or of every roster at the site), in time order."""
    stmt = select(DutyShift).where(DutyShift.site == site, DutyShift.post.in_(DESK_POSTS))
    if view is not None:
        stmt = stmt.join(DutyRoster, DutyRoster.id == DutyShift.roster_id).where(DutyRoster.month == view.month)
    return list(session.scalars(stmt.order_by(DutyShift.starts_at)))


def same_person_at_changes(shifts: list[DutyShift]) -> list[FieldError]:
    """The changes of the desk where the outgoing and incoming clerk would be one person (4.2)."""
    return [FieldError(f"{b.day.isoformat()}/{b.post}", "the outgoing and incoming clerk must be different people",
                       "交班人与接班人不能是同一人", "The outgoing and incoming clerk must be different people")
            for a, b in zip(shifts, shifts[1:], strict=False) if a.ends_at == b.starts_at and a.username == b.username]


def holders(session: Session, role: str, site: str) -> set[str]:
    """Active people holding `role` at `site` (or at no site)."""
    rows = session.execute(select(User.username, User.site).join(UserRole, UserRole.user_id == User.id)
                           .where(UserRole.role == role, User.active.is_(True))).all()
    return {r.username for r in rows if r.site in (None, site)}


def _check_assignments(session, policy, site, slots, assignments) -> list[FieldError]:
    errors, cache = [], {}
    for (day, post), username in sorted(assignments.items()):
        field = f"{day.isoformat()}/{post}"
        if (day, post) not in slots:
            errors.append(FieldError(field, "there is no such shift on this day", "当天没有这个班次",
                                     "There is no such shift on this day"))
            continue
        role = role_of_post(policy, post)
        if username and username not in cache.setdefault(role, holders(session, role, site)):
            errors.append(FieldError(field, f"{username} does not hold role {role} at {site}",
                                     f"{username} 不是本中心的该岗位人员", f"{username} does not hold this post here"))
    return errors


def check_supervisor(session: Session, actor: str, site: str) -> None:
    who = load_actor(session, actor)
    if not permissions.is_supervisor(who) or not sites.covers(who, site):
        raise Refused(f"{actor} is not a supervisor at {site}", "只有本中心的主管可以编排值班安排表、审批请假")
    _check_site(session, site)


def _check_site(session: Session, site: str) -> None:
    if site not in current_rules(session).sites:
        raise NotFound(f"unknown site {site!r}")


def _roster(session: Session, site: str, month: str, lock: bool = False) -> DutyRoster | None:
    stmt = select(DutyRoster).where(DutyRoster.site == site, DutyRoster.month == month)
    return session.scalars(stmt.with_for_update() if lock else stmt).first()


def _days(month: str) -> list[date]:
    try:
        return month_days(month)
    except ValueError:
        raise FormInvalid([FieldError("month", f"not a month: {month!r}", "月份格式应为 2027-01",
                                      "Write the month as 2027-01")]) from None

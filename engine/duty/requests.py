"""Leave and swaps (004 4.1.5): a clerk who cannot take a shift asks the supervisor; only after
approval does the supervisor name a substitute. This is the only path that changes a
published roster, and each step of it is in the audit chain.
"""

from __future__ import annotations

from sqlalchemy import select

from engine import clock
from engine.audit.events import EventType
from engine.duty import journal
from engine.duty.policy import duty_policy
from engine.duty.roster import DESK_POSTS, check_supervisor, holders, role_of_post, same_person_at_changes
from engine.errors import FieldError, FormInvalid, NotFound, Refused
from engine.store.models import DutyRequest, DutyShift, RequestStatus


def request_leave(runtime, shift_id: int, reason: str, actor: str) -> int:
    """Ask the supervisor to be excused from one's own shift; return the request id."""
    with runtime.transaction() as session:
        shift = _shift(session, shift_id)
        if shift.username != actor:
            raise Refused("only the person on the roster may ask to be excused from a shift",
                          "只有当班人本人可以申请请假或调班")
        if not reason.strip():
            raise FormInvalid([FieldError("reason", "say why", "请填写请假或调班原因", "Say why")])
        now = clock.now()
        if shift.starts_at <= now:
            raise Refused("a shift that has begun cannot be handed to someone else", "班次已开始，不能再调整")
        request = DutyRequest(shift_id=shift.id, requested_by=actor, reason=reason.strip(), created_at=now)
        session.add(request)
        session.flush()
        journal.record(session, now, EventType.DUTY_REQUESTED, actor, journal.shift_element(shift.id),
                       {"request": request.id, "reason": request.reason})
        return request.id


def decide_request(runtime, request_id: int, approve: bool, actor: str) -> None:
    """The supervisor approves or refuses a leave request."""
    with runtime.transaction() as session:
        request = _pending(session, request_id, RequestStatus.PENDING)
        shift = _shift(session, request.shift_id)
        check_supervisor(session, actor, shift.site)
        request.status = RequestStatus.APPROVED if approve else RequestStatus.REFUSED
        request.decided_by, request.decided_at = actor, clock.now()
        journal.record(session, request.decided_at, EventType.DUTY_REQUEST_DECIDED, actor,
                       journal.shift_element(shift.id), {"request": request.id, "approved": approve})


def assign_substitute(runtime, request_id: int, substitute: str, actor: str) -> None:
    """Give the shift of an approved request to `substitute`, who must hold the post's role there."""
    with runtime.transaction() as session:
        request = _pending(session, request_id, RequestStatus.APPROVED)
        shift = _shift(session, request.shift_id)
        check_supervisor(session, actor, shift.site)
        role = role_of_post(duty_policy(session, shift.site), shift.post)
        if substitute == shift.username or substitute not in holders(session, role, shift.site):
            raise FormInvalid([FieldError("substitute", f"{substitute} cannot take this shift",
                                          "顶班人须是本中心该岗位的其他人员",
                                          "The substitute must be someone else holding this post here")])
        previous, shift.username = shift.username, substitute
        neighbours = list(session.scalars(select(DutyShift).where(
            DutyShift.site == shift.site, DutyShift.post.in_(DESK_POSTS),
            (DutyShift.ends_at == shift.starts_at) | (DutyShift.starts_at == shift.ends_at))))
        if shift.post in DESK_POSTS and same_person_at_changes(
                sorted([*neighbours, shift], key=lambda s: s.starts_at)):
            raise FormInvalid([FieldError("substitute", "the substitute would hand over to themselves",
                                          "顶班人与相邻班次为同一人，无法交接班",
                                          "The substitute would hand over to themselves")])
        request.status, request.substitute = RequestStatus.DONE, substitute
        journal.record(session, clock.now(), EventType.SHIFT_REASSIGNED, actor, journal.shift_element(shift.id),
                       {"request": request.id, "previous": previous, "substitute": substitute})


def _shift(session, shift_id: int) -> DutyShift:
    shift = session.get(DutyShift, shift_id)
    if shift is None:
        raise NotFound(f"no shift {shift_id}")
    return shift


def _pending(session, request_id: int, status: RequestStatus) -> DutyRequest:
    request = session.get(DutyRequest, request_id, with_for_update=True)
    if request is None:
        raise NotFound(f"no duty request {request_id}")
    if request.status != status:
        raise Refused(f"request {request_id} is {request.status.value}, not {status.value}",
                      "须先经主管批准才能安排顶班人" if status == RequestStatus.APPROVED else "该申请已处理")
    return request


"""The duty desk's tables (004 4.1): rosters, their shifts, leave and swap requests, and the
duty jobs the worker has done once (a handover opened, a daily check started, a reminder sent).

The duty log itself has no table: its entries are audit events (engine/duty/journal.py), so
they are chained and never updated or deleted.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Base, enum_type


class RosterStatus(str, enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"


class RequestStatus(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"  # the supervisor agreed; the shift changes only when a substitute is assigned
    REFUSED = "refused"
    DONE = "done"  # a substitute took the shift


class DutyRoster(Base):
    """《住户服务中心值班安排表》 of one site and month."""

    __tablename__ = "duty_roster"
    __table_args__ = (UniqueConstraint("site", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site: Mapped[str] = mapped_column(String(50))
    month: Mapped[str] = mapped_column(String(7))  # 2027-01
    status: Mapped[RosterStatus] = mapped_column(enum_type(RosterStatus), default=RosterStatus.DRAFT)
    published_at: Mapped[datetime | None]
    published_by: Mapped[str | None] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(default=0)  # each save adds one: a page saved on an older one is stale


class DutyShift(Base):
    """One post of one shift: the desk clerk, or an on-call supervisor or manager (4.1.7)."""

    __tablename__ = "duty_shift"
    __table_args__ = (UniqueConstraint("site", "post", "starts_at"),
                      Index("ix_duty_shift_span", "site", "starts_at", "ends_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    roster_id: Mapped[int] = mapped_column(ForeignKey("duty_roster.id"))
    site: Mapped[str] = mapped_column(String(50))
    day: Mapped[date]
    kind: Mapped[str] = mapped_column(String(20))  # duty.yaml shift kind: day, night, holiday
    post: Mapped[str] = mapped_column(String(40))  # "desk" or an on-call role id
    username: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]  # the log of a closed shift is read-only (4.1.8)


class DutyRequest(Base):
    """A leave or swap request for one shift, to the supervisor (4.1.5)."""

    __tablename__ = "duty_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("duty_shift.id"))
    requested_by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[RequestStatus] = mapped_column(enum_type(RequestStatus), default=RequestStatus.PENDING)
    created_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    substitute: Mapped[str | None] = mapped_column(String(100))


class DutyJob(Base):
    """Work the duty desk's worker pass does exactly once: the unique key is the claim."""

    __tablename__ = "duty_job"
    __table_args__ = (UniqueConstraint("kind", "site", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # handover, daily_check, roster_reminder, roster_escalation
    site: Mapped[str] = mapped_column(String(50))
    key: Mapped[str] = mapped_column(String(60))  # the shift change, the day or the month it is for
    done_at: Mapped[datetime]
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"))

"""SQLAlchemy models: the tables the step transaction writes together.

Schema changes go through Alembic migrations in `engine/migrations/`; these classes
are the current shape, not a way to create tables.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

# Every table is reached from here, so Alembic and the tests see the whole schema.
from engine.store.audit_tables import AuditAnchor, AuditChain, AuditCheckpoint  # noqa: F401
from engine.store.base import Base, UTCDateTime, enum_type  # noqa: F401
from engine.store.deliveries import DELIVERY_TRANSITIONS, DeliveryState, NotificationDelivery  # noqa: F401
from engine.store.duty import DutyJob, DutyRequest, DutyRoster, DutyShift, RequestStatus, RosterStatus  # noqa: F401
from engine.store.followup_tally import FollowupTally  # noqa: F401
from engine.store.idempotency import IdempotencyKey  # noqa: F401
from engine.store.logins import LoginFailure, LoginSession  # noqa: F401
from engine.store.operations import WorkerHeartbeat  # noqa: F401
from engine.store.settings import DatabaseSetting  # noqa: F401

_enum = enum_type


class InstanceStatus(str, enum.Enum):
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    ERROR = "error"

    def becomes(self, new: InstanceStatus) -> InstanceStatus:
        """`new`, if a case in this status may move to it (INSTANCE_TRANSITIONS); else a bug."""
        if new not in INSTANCE_TRANSITIONS[self]:
            raise ValueError(f"a {self.value} case cannot become {new.value}")
        return new


class TaskStatus(str, enum.Enum):
    READY = "ready"
    CLAIMED = "claimed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    def check_transition(self, new: TaskStatus) -> None:
        """Refuse a change TASK_TRANSITIONS does not declare (a closed task never reopens)."""
        if new not in TASK_TRANSITIONS[self]:
            raise ValueError(f"a {self.value} task cannot become {new.value}")


OPEN_TASK_STATUSES = (TaskStatus.READY, TaskStatus.CLAIMED)
# Every status change there is; anything else is a bug or a lost race, refused before it is written.
INSTANCE_TRANSITIONS = {
    InstanceStatus.RUNNING: frozenset(InstanceStatus),  # a step may leave it running
    InstanceStatus.ERROR: frozenset({InstanceStatus.RUNNING, InstanceStatus.ERROR, InstanceStatus.CANCELLED}),
    InstanceStatus.COMPLETED: frozenset(),
    InstanceStatus.CANCELLED: frozenset(),
}
TASK_TRANSITIONS = {
    TaskStatus.READY: frozenset({TaskStatus.CLAIMED, TaskStatus.COMPLETED, TaskStatus.CANCELLED}),
    TaskStatus.CLAIMED: frozenset(TaskStatus),  # released, reassigned (claimed again), completed, cancelled
    TaskStatus.COMPLETED: frozenset(),
    TaskStatus.CANCELLED: frozenset(),
}


class SlaOutcome(str, enum.Enum):
    MET = "met"
    BREACHED = "breached"
    CANCELLED = "cancelled"


class ProcessVersion(Base):
    """One immutable deployed version of a process, with its spec parsed once."""

    __tablename__ = "process_version"
    __table_args__ = (
        UniqueConstraint("process_id", "version"),
        UniqueConstraint("process_id", "content_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    bpmn_file: Mapped[str] = mapped_column(String(200))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    spec_json: Mapped[str] = mapped_column(Text)
    assets: Mapped[dict]  # forms, rules, element metadata and sequence flows of the bundle
    executable: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")


class Instance(Base):
    """A running or finished case; `state_json` is SpiffWorkflow's state without the spec."""

    __tablename__ = "instance"
    __table_args__ = (
        Index("ix_instance_status_process", "status", "process_id"),
        # The case list: a site's cases in one status, newest first, a page at a time.
        Index("ix_instance_site_status_id", "site", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    process_id: Mapped[str] = mapped_column(String(100))
    version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    status: Mapped[InstanceStatus] = mapped_column(_enum(InstanceStatus))
    site: Mapped[str | None] = mapped_column(String(50), index=True)
    category: Mapped[str | None] = mapped_column(String(50))
    unit: Mapped[str | None] = mapped_column(String(50), index=True)
    caller: Mapped[str | None] = mapped_column(String(100), index=True)
    phone: Mapped[str | None] = mapped_column(String(50), index=True)
    summary: Mapped[str | None] = mapped_column(Text)
    state_json: Mapped[str] = mapped_column(Text)
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False)
    started_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    error_element: Mapped[str | None] = mapped_column(String(100))
    error_line: Mapped[int | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    __mapper_args__ = {"version_id_col": lock_version}


class HumanTask(Base):
    """A user or manual task as people see it: who may do it, who holds it, when it is due."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_open_role", "status", "role"),
        Index("ix_human_task_assignee", "assignee", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task UUID
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    element_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(50))
    form_id: Mapped[str | None] = mapped_column(String(200))
    sla_key: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[TaskStatus] = mapped_column(_enum(TaskStatus))
    assignee: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(100))


class Timer(Base):
    """The next due time of a waiting timer event, rewritten after every step."""

    __tablename__ = "timer"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    element_id: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime] = mapped_column(index=True)


class SlaClock(Base):
    """The SLA clock of one human task: a snapshot of its policy, working time used, due time.

    While running, the due time is `running_since` plus the working time left
    (`budget_seconds - worked_seconds`) on the policy's calendar; a pause moves the
    time worked so far into `worked_seconds`. The outcome is written once, at stop.
    """

    __tablename__ = "sla_clock"
    __table_args__ = (Index("ix_sla_clock_open", "instance_id", "stopped_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("human_task.id"), unique=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    target: Mapped[str] = mapped_column(String(100))
    policy: Mapped[dict]  # the SlaPolicy snapshot taken when the task started
    started_at: Mapped[datetime]
    budget_seconds: Mapped[float] = mapped_column(Float)
    worked_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    running_since: Mapped[datetime | None]  # None while paused or stopped
    due_at: Mapped[datetime | None]  # None while paused before the limit was reached
    breached_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]
    outcome: Mapped[SlaOutcome | None] = mapped_column(_enum(SlaOutcome))


class SlaEscalation(Base):
    """One level of a clock's escalation (level 0 is the breach itself); fires at most once."""

    __tablename__ = "sla_escalation"
    __table_args__ = (UniqueConstraint("clock_id", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clock_id: Mapped[int] = mapped_column(ForeignKey("sla_clock.id"))
    level: Mapped[int]
    fire_at: Mapped[datetime | None] = mapped_column(index=True)  # None once fired, and while paused or stopped
    fired_at: Mapped[datetime | None]


class Notification(Base):
    """A message in the outbox, to a role (at a site) or to one person.

    Everyone it is addressed to sees it in the app; the worker fans it out once
    (`fanned_out_at`) into the deliveries its kind is routed to (notifications.yaml).
    """

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_user", "to_user", "id"),
        Index("ix_notification_role", "to_role", "id"),
        Index("ix_notification_fanout", "fanned_out_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(30))  # engine.policy.notifications.NotificationKind
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)  # quiet hours never hold it
    to_role: Mapped[str | None] = mapped_column(String(50))
    to_user: Mapped[str | None] = mapped_column(String(100))
    site: Mapped[str | None] = mapped_column(String(50))
    channel: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime | None]
    link: Mapped[str | None] = mapped_column(String(300))  # a path in the web app: /tasks/<id>, /cases/<ref>
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    fanned_out_at: Mapped[datetime | None]


class NotificationRead(Base):
    """That one person has read one notification (a role's message is read per person)."""

    __tablename__ = "notification_read"

    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id"), primary_key=True)
    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    read_at: Mapped[datetime]


class Event(Base):
    """An append-only, hash-chained audit event. Nothing updates or deletes these rows.

    Each event belongs to one chain (engine/audit/chain.py) and is sealed with the audit key."""

    __tablename__ = "event"
    # ix_event_element: the duty desk reads a shift's log by its element ("shift:<id>").
    __table_args__ = (Index("ix_event_instance", "instance_id", "id"), Index("ix_event_chain", "chain", "id"),
                      Index("ix_event_element", "element_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"))
    at: Mapped[datetime]
    type: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str | None] = mapped_column(String(100))
    element_id: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[dict]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    chain: Mapped[str] = mapped_column(String(80), server_default="legacy")
    seal: Mapped[str | None] = mapped_column(String(64))
    # The HTTP request or worker pass that wrote it (engine/correlation.py), for following one
    # click from the server's log to the trail; covered by the hash when present.
    request_id: Mapped[str | None] = mapped_column(String(64))


class CaseFact(Base):
    """One case as the statistics see it, folded from its audit events (engine/stats/projection.py).

    Written in the same transaction as the events it is derived from, and rebuilt from
    the whole log by `estatedesk stats rebuild`; never edited by anything else.
    Months are local months (engine/stats/months.py) as "YYYY-MM" so that one site-month
    is one index range.
    """

    __tablename__ = "case_fact"
    __table_args__ = (
        Index("ix_case_fact_site_month", "site", "opened_month", "state"),  # state: the trend reads the index only
        Index("ix_case_fact_site_closed", "site", "closed_at"),
        Index("ix_case_fact_month", "opened_month", "state"),
    )

    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), primary_key=True)
    reference: Mapped[str] = mapped_column(String(32))
    process_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    site: Mapped[str | None] = mapped_column(String(50))
    category: Mapped[str | None] = mapped_column(String(50))
    department: Mapped[str | None] = mapped_column(String(50))
    opened_at: Mapped[datetime]
    opened_month: Mapped[str] = mapped_column(String(7))
    state: Mapped[str] = mapped_column(String(16))  # open, completed or cancelled
    closed_at: Mapped[datetime | None]
    response_seconds: Mapped[float | None] = mapped_column(Float)
    arrival_seconds: Mapped[float | None] = mapped_column(Float)
    resolution_seconds: Mapped[float | None] = mapped_column(Float)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    complaint_class: Mapped[str | None] = mapped_column(String(16))
    repair: Mapped[dict]  # the latest price-list item, quantity and quote submitted
    charge: Mapped[float | None] = mapped_column(Float)
    fee_collected: Mapped[bool] = mapped_column(Boolean, default=False)
    followup_decided: Mapped[bool] = mapped_column(Boolean, default=False)
    followup_rate: Mapped[float | None] = mapped_column(Float)
    followup_sampled: Mapped[bool] = mapped_column(Boolean, default=False)
    followup_category: Mapped[str | None] = mapped_column(String(50))  # the kind of visit drawn (followup.yaml)
    visits: Mapped[int] = mapped_column(Integer, default=0)
    satisfied_visits: Mapped[int] = mapped_column(Integer, default=0)


class ReferenceCounter(Base):
    """Per prefix and day, the last reference number handed out (QZ-20261123-0001)."""

    __tablename__ = "reference_counter"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    site: Mapped[str | None] = mapped_column(String(50))
    # Declared in staff.yaml: works on the cases of every site (engine/accounts/sites.py).
    company_wide: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(50), primary_key=True)


class DiagramDraft(Base):
    """A designer's unsaved work on one process: kept until deployed, one per designer and process."""

    __tablename__ = "diagram_draft"
    __table_args__ = (UniqueConstraint("process_id", "author"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100))
    author: Mapped[str] = mapped_column(String(100))
    base_version: Mapped[int | None]
    bpmn_xml: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class ApiToken(Base):
    """A bearer token for an integration, acting as one user; only its sha256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

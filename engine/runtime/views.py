"""Plain data the engine hands to the web layer and the CLI; no SpiffWorkflow objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class InstanceView:
    id: int
    reference: str
    process_id: str
    process_name: str
    version: int
    status: str
    site: str | None
    category: str | None
    unit: str | None
    caller: str | None
    phone: str | None
    summary: str | None
    started_by: str
    created_at: datetime
    updated_at: datetime
    lock_version: int
    error_element: str | None = None
    error_line: int | None = None
    error_message: str | None = None
    cancel_reason: str | None = None
    # Its kind of request and procedure as people read them (the version's catalogue), zh and en.
    category_label: tuple[str, str] | None = None
    process_name_en: str | None = None


@dataclass(frozen=True)
class TaskView:
    id: str
    instance_id: int
    reference: str
    process_id: str
    element_id: str
    name: str
    role: str | None
    status: str
    assignee: str | None
    form_id: str | None
    created_at: datetime
    due_at: datetime | None
    lock_version: int
    site: str | None = None  # its case's
    completed_by: str | None = None
    sla_key: str | None = None  # with no due time, the task's SLA clock is paused
    clause: str | None = None
    documentation: str | None = None
    instructions: str | None = None  # a Jinja template over `data`; the web layer renders it
    form_schema: dict | None = None
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class EventView:
    id: int
    at: datetime
    type: str
    actor: str | None
    element_id: str | None
    data: dict


@dataclass(frozen=True)
class StepResult:
    """What a step left behind: the instance and the human tasks now open on it."""

    instance: InstanceView
    open_tasks: list[TaskView]

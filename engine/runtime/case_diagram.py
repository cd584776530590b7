"""What the auditor's diagram shows of one case: each element's outcome and its history.

Everything comes from the audit events and the human-task rows, never from the live
workflow state, so the picture is the record: completed, current, cancelled and failed
elements, the sequence flows taken, tasks finished after (or still open past) their
due time, and per element who did what and when, with the data they submitted.
A case's own diagram and each process it calls are drawn separately (element ids
repeat across processes), so call activities can be drilled into.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.audit import chain as audit
from engine.audit.events import EventType
from engine.definitions.compiled import VERSIONS
from engine.errors import NotFound
from engine.store.models import HumanTask, Instance, InstanceStatus, ProcessVersion, TaskStatus

# Events that belong in an element's history panel (flows are drawn, not listed).
HISTORY_TYPES = {
    EventType.TASK_READY, EventType.TASK_CLAIMED, EventType.TASK_UNCLAIMED, EventType.TASK_REASSIGNED,
    EventType.TASK_COMPLETED, EventType.ELEMENT_COMPLETED, EventType.ELEMENT_CANCELLED,
    EventType.MESSAGE_RECEIVED, EventType.SIGNAL_RECEIVED, EventType.TIMER_FIRED, EventType.ERROR,
}
SLA_BREACHED = "sla_breached"


@dataclass
class ElementHistory:
    name: str | None
    type: str | None
    clause: str | None
    role: str | None
    events: list[dict] = field(default_factory=list)


@dataclass
class CaseDiagram:
    reference: str
    process_id: str
    bpmn_xml: str
    completed: list[str] = field(default_factory=list)
    flows: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    breached: list[str] = field(default_factory=list)
    called: dict[str, str] = field(default_factory=dict)  # call activity id -> called process id
    history: dict[str, ElementHistory] = field(default_factory=dict)


def case_diagram(session: Session, instance: Instance, process_id: str | None = None,
                 now: datetime | None = None) -> CaseDiagram:
    """The picture of `instance` on the diagram of `process_id` (its own process by default).

    `now` (the runtime's clock) decides whether an open task is already past its due time.
    """
    compiled = VERSIONS.get(session, instance.version_id)
    process_id = process_id or compiled.process_id
    outline = compiled.processes.get(process_id)
    if outline is None:
        raise NotFound(f"case {instance.reference} does not run process {process_id!r}")
    view = CaseDiagram(instance.reference, process_id, _bpmn_xml(session, instance, outline["file"]))
    events = audit.instance_events(session, instance.id)
    task_process = {e.data.get("task_id"): e.data.get("process") for e in events
                    if e.type == EventType.TASK_READY and e.data}
    reached = []  # flow targets: a call activity or a waiting event is "current" once reached
    for event in events:
        data = event.data or {}
        if data.get("process", process_id) != process_id or event.element_id is None:
            continue
        if event.type == EventType.FLOW_TAKEN:
            view.flows.append(event.element_id)
            reached.append(data.get("target"))
            continue
        if event.type in (EventType.TASK_COMPLETED, EventType.ELEMENT_COMPLETED) and event.element_id not in view.completed:
            view.completed.append(event.element_id)
        elif event.type == EventType.ELEMENT_CANCELLED:
            view.cancelled.append(event.element_id)
        elif event.type == SLA_BREACHED:
            view.breached.append(event.element_id)
        if event.type in HISTORY_TYPES or event.type == SLA_BREACHED:
            _history(view, outline, event.element_id, compiled.rules).events.append(_entry(event))
    _add_task_states(session, view, instance, task_process, now or clock.now())
    if instance.status == InstanceStatus.RUNNING:
        view.current += [eid for eid in dict.fromkeys(reached) if eid in outline["elements"]
                         and eid not in view.completed and eid not in view.cancelled and eid not in view.current]
    if instance.status == InstanceStatus.ERROR and instance.error_element in outline["elements"]:
        view.failed.append(instance.error_element)
    ran = set(view.completed) | set(view.current) | set(view.cancelled) | set(view.failed)
    view.called = {eid: e["called"] for eid, e in outline["elements"].items() if e.get("called") and eid in ran}
    return view


def _add_task_states(session: Session, view: CaseDiagram, instance: Instance, task_process: dict,
                     now: datetime) -> None:
    """Open tasks are current; a task finished after its due time, or still open past it, is breached."""
    rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)).all()
    for row in rows:
        if task_process.get(row.id, view.process_id) != view.process_id:
            continue
        is_open = row.status in (TaskStatus.READY, TaskStatus.CLAIMED)
        if is_open and row.element_id not in view.current:
            view.current.append(row.element_id)
        finished = row.completed_at if row.status == TaskStatus.COMPLETED else (now if is_open else None)
        if row.due_at and finished and finished > row.due_at and row.element_id not in view.breached:
            view.breached.append(row.element_id)


def _history(view: CaseDiagram, outline: dict, element_id: str, rules) -> ElementHistory:
    if element_id not in view.history:
        element = outline["elements"].get(element_id, {})
        role = rules.role_for_lane(element.get("lane")) if element.get("lane") else None
        view.history[element_id] = ElementHistory(element.get("name"), element.get("type"),
                                                  element.get("clause"), role)
    return view.history[element_id]


def _entry(event) -> dict:
    data = event.data or {}
    entry = {"type": event.type, "at": event.at, "actor": event.actor}
    for key in ("role", "submitted", "message", "line", "reason", "assignee", "due_at"):
        if data.get(key) not in (None, "", {}):
            entry[key] = data[key]
    return entry


def _bpmn_xml(session: Session, instance: Instance, file: str) -> str:
    """The diagram file as deployed with the case's version (called processes live in other files)."""
    version = session.get(ProcessVersion, instance.version_id)
    if version.bpmn_file == file:
        return version.bpmn_xml
    stored = (version.assets.get("bpmn_files") or {}).get(file)
    if stored is not None:
        return stored
    # Versions deployed before called files were kept: the newest deployment of that file.
    return session.scalar(select(ProcessVersion.bpmn_xml).where(ProcessVersion.bpmn_file == file)
                          .order_by(ProcessVersion.id.desc()).limit(1)) or ""

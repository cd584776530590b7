"""Read-only questions about cases and tasks; each takes an open session."""

from __future__ import annotations

from types import SimpleNamespace
from uuid import UUID

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.accounts import sites
from engine.accounts.users import Actor
from engine.audit.chain import instance_events
from engine.definitions.compiled import VERSIONS, CompiledVersion
from engine.definitions.state import load_task_data
from engine.errors import NotFound
from engine.runtime.views import EventView, InstanceView, TaskView
from engine.store.models import OPEN_TASK_STATUSES, HumanTask, Instance, ProcessVersion

_MAX_ROW_ID = 2**63 - 1  # beyond what a database integer holds, no row can have the id


def get_instance_row(session: Session, instance_id: int | str, viewer: Actor | None = None) -> Instance:
    """Return an instance by id or reference number, or raise `NotFound`; with `viewer`, also
    `NotFound` when the case is at a site they do not work at (engine/accounts/sites.py)."""
    row = None
    text = str(instance_id)
    if is_instance_id(instance_id):
        number = int(text)
        row = session.get(Instance, number) if number <= _MAX_ROW_ID else None
    elif "\x00" not in text:  # PostgreSQL refuses NUL in text; no reference holds one
        row = session.scalar(select(Instance).where(Instance.reference == text))
    if row is None:
        raise NotFound(f"case {instance_id} does not exist")
    if viewer is not None:
        sites.check_case_site(viewer, row.site, instance_id)
    return row


def is_instance_id(instance_id: int | str) -> bool:
    """True for an instance's database id (a number), False for its reference (QZ-20261123-0001)."""
    return isinstance(instance_id, int) or (str(instance_id).isascii() and str(instance_id).isdigit())


def get_task_row(session: Session, task_id: str) -> HumanTask:
    """Return a human task by id, or raise `NotFound`."""
    row = session.get(HumanTask, task_key(task_id))
    if row is None:
        raise NotFound(f"task {task_id} does not exist")
    return row


def task_key(task_id: str) -> str:
    """A task id as stored (a UUID's text), or `NotFound` for anything that cannot be one."""
    try:
        UUID(str(task_id))
    except ValueError:
        raise NotFound(f"task {task_id} does not exist") from None
    return str(task_id)


def instance_view(session: Session, row: Instance) -> InstanceView:
    version = VERSIONS.get(session, row.version_id)
    return InstanceView(
        id=row.id, reference=row.reference, process_id=row.process_id, process_name=version.name,
        version=version.version, status=row.status.value, site=row.site, category=row.category,
        unit=row.unit, caller=row.caller, phone=row.phone, summary=row.summary, started_by=row.started_by,
        created_at=row.created_at, updated_at=row.updated_at, lock_version=row.lock_version,
        error_element=row.error_element, error_line=row.error_line, error_message=row.error_message,
        cancel_reason=row.cancel_reason, process_name_en=version.outline.get("name_en"),
        category_label=_category_label(version, row.category),
    )


def _category_label(version: CompiledVersion, category: str | None) -> tuple[str, str] | None:
    found = version.rules.categories.get(category or "")
    return (found.zh, found.en) if found else None


def task_view(task: HumanTask, instance: Instance, compiled: CompiledVersion | None = None,
              data: dict | None = None) -> TaskView:
    """A task as people see it; with `compiled`, also its instructions, clause and form."""
    element = {}
    if compiled is not None:
        element = compiled.find_element(task.element_id)
    return TaskView(
        id=task.id, instance_id=task.instance_id, reference=instance.reference, process_id=instance.process_id,
        site=instance.site,
        element_id=task.element_id, name=task.name, role=task.role, status=task.status.value,
        assignee=task.assignee, completed_by=task.completed_by, form_id=task.form_id,
        created_at=task.created_at, due_at=task.due_at,
        lock_version=instance.lock_version, sla_key=task.sla_key, clause=element.get("clause"),
        documentation=element.get("documentation"), instructions=element.get("instructions"),
        form_schema=compiled.forms.get(task.form_id) if compiled is not None and task.form_id else None,
        data=data or {},
    )


def list_tasks(session: Session, *, roles=None, assignee: str | None = None, instance_id: int | None = None,
               include_closed: bool = False, site: str | None = None,
               viewer: Actor | None = None) -> list[TaskView]:
    """Open human tasks, filtered by any of: roles, assignee, instance, the case's site, the sites
    `viewer` works at; oldest first."""
    stmt = select(HumanTask, Instance).join(Instance, Instance.id == HumanTask.instance_id)
    if viewer is not None and (at_sites := sites.site_condition(viewer, Instance.site)) is not None:
        stmt = stmt.where(at_sites)
    if not include_closed:
        stmt = stmt.where(HumanTask.status.in_(OPEN_TASK_STATUSES))
    if roles is not None:
        stmt = stmt.where(HumanTask.role.in_(list(roles)))
    if assignee is not None:
        stmt = stmt.where(HumanTask.assignee == assignee)
    if instance_id is not None:
        stmt = stmt.where(HumanTask.instance_id == instance_id)
    if site is not None:
        stmt = stmt.where(Instance.site == site)
    stmt = stmt.order_by(HumanTask.created_at, HumanTask.id)
    return [task_view(task, instance) for task, instance in session.execute(stmt)]


# Built once, on the connection: showing a task is the busiest read and completing one
# the busiest step; the ORM's identity map and statement building would cost more than the query.
_task, _instance = HumanTask.__table__, Instance.__table__
_TASK_AND_CASE = (select(_task, _instance).join(_instance, _instance.c.id == _task.c.instance_id)
                  .where(_task.c.id == bindparam("key")))
_TASK_KEYS, _CASE_KEYS = tuple(_task.c.keys()), tuple(_instance.c.keys())


def task_and_case_columns(session: Session, task_id: str) -> tuple[dict, dict]:
    """A human task's columns and its case's, in one query, or `NotFound`."""
    found = session.connection().execute(_TASK_AND_CASE, {"key": task_key(task_id)}).first()
    if found is None:
        raise NotFound(f"task {task_id} does not exist")
    split = len(_TASK_KEYS)  # the row holds the task's columns, then the case's
    return (dict(zip(_TASK_KEYS, found[:split], strict=True)),
            dict(zip(_CASE_KEYS, found[split:], strict=True)))


def get_task(session: Session, task_id: str, *, with_form: bool = True, viewer: Actor | None = None) -> TaskView:
    """One task; `with_form` adds its form schema, instructions and the case data it sees. With
    `viewer`, a task of a case at a site they do not work at is `NotFound`."""
    task_columns, case_columns = task_and_case_columns(session, task_id)
    task, instance = SimpleNamespace(**task_columns), SimpleNamespace(**case_columns)
    if viewer is not None:
        sites.check_task_site(viewer, instance.site, task_id)
    if not with_form:
        return task_view(task, instance)
    compiled = VERSIONS.get(session, instance.version_id)
    data = {}
    if task.status in OPEN_TASK_STATUSES:
        data = load_task_data(instance.state_json, task.id) or {}
    return task_view(task, instance, compiled, data)


def list_events(session: Session, instance_id: int) -> list[EventView]:
    return [EventView(e.id, e.at, e.type, e.actor, e.element_id, e.data or {})
            for e in instance_events(session, instance_id)]


def is_deployed(session: Session, process_id: str) -> bool:
    """Whether an executable version of the process is deployed."""
    stmt = select(ProcessVersion.id).where(ProcessVersion.process_id == process_id,
                                           ProcessVersion.executable.is_(True))
    return session.scalar(stmt.limit(1)) is not None

"""The case list (我的案件 / 本中心案件): one site's cases, found by what a caller says.

Every question is one indexed query over a page of cases, then one query for the open
tasks of that page, so a request costs the same with ten cases stored or a million.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.definitions.units import normalise_unit
from engine.runtime.queries import instance_view, task_view
from engine.runtime.views import InstanceView, TaskView
from engine.store.models import OPEN_TASK_STATUSES, HumanTask, Instance, InstanceStatus

PAGE_SIZE = 50
SCOPES = ("site", "mine")


@dataclass(frozen=True)
class CaseFilter:
    """What to look for; `site` is required: a case list never spans sites."""

    site: str | None
    q: str | None = None
    process_id: str | None = None
    status: str | None = InstanceStatus.RUNNING.value  # None: every status
    since: datetime | None = None  # opened at or after
    before: datetime | None = None  # opened before
    mine: str | None = None  # a username: only cases they opened or hold an open task of
    page: int = 1


@dataclass(frozen=True)
class CaseRow:
    case: InstanceView
    open_tasks: list[TaskView]
    version_id: int  # the deployed version it runs on, to read which messages it waits for

    @property
    def due_at(self) -> datetime | None:
        """The nearest time limit of the case's open tasks."""
        dues = [t.due_at for t in self.open_tasks if t.due_at is not None]
        return min(dues) if dues else None


@dataclass(frozen=True)
class CasePage:
    rows: list[CaseRow]
    page: int
    has_next: bool


def search_cases(session: Session, found: CaseFilter) -> CasePage:
    """A page of the site's cases matching `found`, newest first."""
    stmt = select(Instance).where(Instance.site == found.site)
    if found.status is not None:
        stmt = stmt.where(Instance.status == InstanceStatus(found.status))
    if found.process_id:
        stmt = stmt.where(Instance.process_id == found.process_id)
    if found.since is not None:
        stmt = stmt.where(Instance.created_at >= found.since)
    if found.before is not None:
        stmt = stmt.where(Instance.created_at < found.before)
    if found.q and found.q.strip():
        stmt = stmt.where(_matches(found.q.strip()))
    if found.mine:
        holding = select(HumanTask.instance_id).where(HumanTask.assignee == found.mine,
                                                      HumanTask.status.in_(OPEN_TASK_STATUSES))
        stmt = stmt.where(or_(Instance.started_by == found.mine, Instance.id.in_(holding)))
    page = max(found.page, 1)
    stmt = stmt.order_by(Instance.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    instances = list(session.scalars(stmt))
    has_next = len(instances) > PAGE_SIZE
    instances = instances[:PAGE_SIZE]
    tasks = _open_tasks(session, instances)
    rows = [CaseRow(instance_view(session, row), tasks.get(row.id, []), row.version_id) for row in instances]
    return CasePage(rows, page, has_next)


def _matches(q: str):
    """Reference, unit (as residents say it), phone or caller: each an equality on its own index, so
    the database reads only the matching cases (a prefix or substring search would read them all)."""
    text = q[:100]
    return or_(Instance.reference == text.upper(), Instance.unit == (normalise_unit(text) or text), Instance.phone == text.replace(" ", ""),
               Instance.caller == text)


def _open_tasks(session: Session, instances: list[Instance]) -> dict[int, list[TaskView]]:
    if not instances:
        return {}
    by_id = {row.id: row for row in instances}
    stmt = (select(HumanTask).where(HumanTask.instance_id.in_(list(by_id)), HumanTask.status.in_(OPEN_TASK_STATUSES))
            .order_by(HumanTask.created_at, HumanTask.id))
    found: dict[int, list[TaskView]] = {}
    for task in session.scalars(stmt):
        found.setdefault(task.instance_id, []).append(task_view(task, by_id[task.instance_id]))
    return found

"""Finding audit events for auditors: filters over the log joined with each case's summary."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from engine.store.models import Event, Instance


@dataclass(frozen=True)
class AuditFilter:
    """Every field narrows the search; None leaves it open. `until` is exclusive."""

    since: datetime | None = None
    until: datetime | None = None
    reference: str | None = None
    process_id: str | None = None
    site: str | None = None
    unit: str | None = None
    actor: str | tuple[str, ...] | None = None  # a username, or any of several (those a name stands for)
    element_id: str | tuple[str, ...] | None = None  # one id, or any of several (the ids a step's name stands for)
    type: str | None = None  # the outcome: task_completed, timer_fired, error, cancelled, …
    # Only events of cases at these sites (engine/accounts/sites.py `sites_of`); None: every
    # event, those of no case (staff changes, tokens) too.
    within_sites: frozenset[str] | None = None


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    type: str
    actor: str | None
    element_id: str | None
    element_name: str | None
    role: str | None
    reference: str | None
    process_id: str | None
    site: str | None
    unit: str | None
    data: dict
    hash: str
    version_id: int | None = None  # the case's process version, which names its elements and flows


def _query(f: AuditFilter) -> Select:
    query = select(Event, Instance.reference, Instance.process_id, Instance.site, Instance.unit,
                   Instance.version_id).outerjoin(
        Instance, Event.instance_id == Instance.id)
    conditions = [
        (f.since, lambda v: Event.at >= v),
        (f.until, lambda v: Event.at < v),
        (f.reference, lambda v: Instance.reference == v),
        (f.process_id, lambda v: Instance.process_id == v),
        (f.site, lambda v: Instance.site == v),
        (f.unit, lambda v: Instance.unit == v),
        (f.actor, lambda v: Event.actor.in_(v) if isinstance(v, tuple) else Event.actor == v),
        (f.element_id, lambda v: Event.element_id.in_(v) if isinstance(v, tuple) else Event.element_id == v),
        (f.type, lambda v: Event.type == v),
    ]
    for value, condition in conditions:
        if value not in (None, ""):
            query = query.where(condition(value))
    if f.within_sites is not None:
        query = query.where(Instance.site.in_(sorted(f.within_sites)))
    return query


def count_events(session: Session, f: AuditFilter) -> int:
    return session.scalar(select(func.count()).select_from(_query(f).subquery()))


def search_events(session: Session, f: AuditFilter, limit: int = 200, offset: int = 0) -> list[AuditRow]:
    """One page of matching events, newest first."""
    rows = session.execute(_query(f).order_by(Event.id.desc()).limit(limit).offset(offset))
    return [_row(*row) for row in rows]


def iter_events(session: Session, f: AuditFilter, batch: int = 1000) -> Iterator[AuditRow]:
    """Every matching event, oldest first, fetched in batches (for exports of any size)."""
    rows = session.execute(_query(f).order_by(Event.id).execution_options(yield_per=batch))
    for row in rows:
        yield _row(*row)


def _row(event: Event, reference, process_id, site, unit, version_id) -> AuditRow:
    data = event.data or {}
    name = data.get("name") if isinstance(data.get("name"), str) else None
    return AuditRow(event.id, event.at, event.type, event.actor, event.element_id, name, data.get("role"),
                    reference, process_id, site, unit, data, event.hash, version_id)

"""Rounds of checkpoints (巡楼, 001/第1篇 2.3–2.5): was every planned point signed in, on time?

A diagram marks the step that closes a round with `measure: round`; its form says how
many checkpoints were signed (`checkpoints_visited`) and whether the round kept to the
plan's time (`on_schedule`), the case's start data how many were planned
(`planned_checkpoints`). Counted from the audit events of the month's cases, like the
duty figures: a few rounds a day per site, read through the event element index.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.definitions.compiled import VERSIONS
from engine.stats import vocabulary as V
from engine.stats.query import StatsQuery
from engine.stats.tables import RoundKpi
from engine.store.models import CaseFact, Event, ProcessVersion


def round_kpis(session: Session, query: StatsQuery) -> dict[str, RoundKpi]:
    """Each process's rounds among the month's cases in scope (only processes that have rounds)."""
    elements = _round_elements(session)
    if not elements:
        return {}
    done = session.execute(
        select(Event.instance_id, Event.data, CaseFact.process_id).join(
            CaseFact, CaseFact.instance_id == Event.instance_id).where(
            Event.element_id.in_(sorted(elements)), Event.type == V.TASK_COMPLETED, *query.conditions())
        .order_by(Event.id)).all()
    done = [row for row in done if (row.data or {}).get("measure") == V.ROUND]
    if not done:
        return {}
    planned = _planned(session, {row.instance_id for row in done})
    found: dict[str, RoundKpi] = defaultdict(RoundKpi)
    for row in done:
        submitted = row.data.get("submitted") or {}
        visited, plan = _count(submitted.get(V.ROUND_VISITED)), planned.get(row.instance_id, 0)
        found[row.process_id] += RoundKpi(1, int(visited >= plan), int(submitted.get(V.ROUND_ON_TIME) is True),
                                          plan, visited)
    return dict(found)


def _planned(session: Session, instance_ids: set[int]) -> dict[int, int]:
    """The checkpoints each case's start data planned."""
    started = session.execute(select(Event.instance_id, Event.data).where(
        Event.instance_id.in_(sorted(instance_ids)), Event.type == V.INSTANCE_STARTED))
    return {i: _count(((data or {}).get("data") or {}).get(V.ROUND_PLANNED)) for i, data in started}


def _round_elements(session: Session) -> set[str]:
    """The ids of the elements the newest deployed versions mark `measure: round`."""
    newest = (select(func.max(ProcessVersion.id)).where(ProcessVersion.executable.is_(True))
              .group_by(ProcessVersion.process_id))
    found = set()
    for version_id in session.scalars(newest):
        for outline in VERSIONS.get(session, version_id).processes.values():
            found |= {e for e, element in outline.get("elements", {}).items() if element.get("measure") == V.ROUND}
    return found


def _count(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

"""The cases behind a number: `cases_behind(session, query, drill, now)` lists them.

A drill is a small dict of strings (it fits in a URL query string), added to the
query's month, site, process and category; the keys are those the tables hand out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from engine.errors import BadInput
from engine.stats.query import StatsQuery
from engine.stats.sources import (
    AGE_BUCKETS,
    BREACHED,
    CANCELLED,
    MET,
    RUNNING,
    TIMELY,
    as_of,
    backlog_condition,
)
from engine.store.models import CaseFact, HumanTask, SlaClock, SlaOutcome

DRILL_KEYS = ("state", "reopened", "process", "category", "department", "target", "sla", "staff", "backlog",
              "duration", "complaint_class", "followup", "followup_kind", "paid")
LIMIT = 1000


@dataclass(frozen=True)
class CaseRow:
    instance_id: int
    reference: str
    process_id: str
    site: str | None
    category: str | None
    state: str
    opened_at: datetime
    closed_at: datetime | None


def cases_behind(session: Session, query: StatsQuery, drill: dict | None, now: datetime,
                 limit: int = LIMIT) -> list[CaseRow]:
    """The cases a number counts, oldest first (at most `limit`)."""
    drill = dict(drill or {})
    unknown = sorted(set(drill) - set(DRILL_KEYS))
    if unknown:
        raise BadInput(f"unknown drill filter {', '.join(unknown)}; known: {', '.join(DRILL_KEYS)}")
    moment = as_of(query, now)
    if "backlog" in drill:  # the backlog counts open cases of every month up to then
        conditions = [*query.scope(), backlog_condition(moment), *_age(drill["backlog"], moment)]
    else:
        conditions = list(query.conditions())
    conditions += _fact_conditions(drill)
    if drill.get("sla") == TIMELY:  # some timed step judged, and none of them late
        conditions += [_clock_exists({**drill, "sla": MET}, moment), ~_clock_exists({**drill, "sla": BREACHED}, moment)]
    elif "target" in drill or "staff" in drill or "sla" in drill:
        conditions.append(_clock_exists(drill, moment))
    stmt = (select(CaseFact.instance_id, CaseFact.reference, CaseFact.process_id, CaseFact.site,
                   CaseFact.category, CaseFact.state, CaseFact.opened_at, CaseFact.closed_at)
            .where(*conditions).order_by(CaseFact.opened_at, CaseFact.instance_id).limit(limit))
    return [CaseRow(**row._mapping) for row in session.execute(stmt)]


def _fact_conditions(drill: dict) -> list:
    out = []
    plain = {"state": CaseFact.state, "process": CaseFact.process_id, "category": CaseFact.category,
             "department": CaseFact.department, "complaint_class": CaseFact.complaint_class,
             "followup_kind": CaseFact.followup_category}
    for key, column in plain.items():
        if key in drill:
            out.append(column == drill[key] if drill[key] else column.is_(None))
    if drill.get("reopened"):
        out.append(CaseFact.reopened > 0)
    if "duration" in drill:
        column = {"response": CaseFact.response_seconds, "arrival": CaseFact.arrival_seconds,
                  "resolution": CaseFact.resolution_seconds}.get(drill["duration"])
        if column is None:
            raise BadInput(f"unknown duration {drill['duration']!r}")
        out.append(column.is_not(None))
    if "followup" in drill:
        out.append({"decided": CaseFact.followup_decided.is_(True),
                    "sampled": and_(CaseFact.followup_decided.is_(True), CaseFact.followup_sampled.is_(True)),
                    "visited": and_(CaseFact.followup_decided.is_(True), CaseFact.visits > 0)}[drill["followup"]])
    if drill.get("paid"):
        out += [CaseFact.fee_collected.is_(True), CaseFact.charge.is_not(None)]
    return out


def _age(bucket: str, moment: datetime) -> list:
    if bucket == "all":
        return []
    lower = 0
    for upper, key, _, _ in AGE_BUCKETS:
        if key == bucket:
            out = [CaseFact.opened_at <= moment - timedelta(days=lower)]
            if upper != float("inf"):
                out.append(CaseFact.opened_at > moment - timedelta(days=upper))
            return out
        lower = upper
    raise BadInput(f"unknown backlog age {bucket!r}")


def _clock_exists(drill: dict, moment: datetime):
    """Cases with a clock of the target / staff member in the given status (as `clock_status` judges it)."""
    clause = [SlaClock.instance_id == CaseFact.instance_id]
    if "target" in drill:
        clause.append(SlaClock.target == drill["target"])
    if "staff" in drill:
        clause.append(exists().where(HumanTask.id == SlaClock.task_id, HumanTask.completed_by == drill["staff"]))
    status = drill.get("sla")
    overdue = and_(SlaClock.stopped_at.is_(None), or_(SlaClock.breached_at.is_not(None), SlaClock.due_at <= moment))
    if status == MET:
        clause.append(SlaClock.outcome == SlaOutcome.MET)
    elif status == BREACHED:
        clause.append(or_(SlaClock.outcome == SlaOutcome.BREACHED, overdue))
    elif status == CANCELLED:
        clause += [SlaClock.outcome == SlaOutcome.CANCELLED, SlaClock.breached_at.is_(None)]
    elif status == RUNNING:
        clause += [SlaClock.stopped_at.is_(None), SlaClock.breached_at.is_(None),
                   or_(SlaClock.due_at.is_(None), SlaClock.due_at > moment)]
    elif status is not None:
        raise BadInput(f"unknown SLA status {status!r}")
    elif "staff" in drill:
        clause.append(SlaClock.outcome.in_([SlaOutcome.MET, SlaOutcome.BREACHED]))
    return exists().where(*clause)

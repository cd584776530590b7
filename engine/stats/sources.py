"""Reading the facts behind a month: case facts, SLA clocks, the backlog; and the few
calculations every table shares (clock status, age bucket, ratio)."""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from engine.stats.months import month_bounds
from engine.stats.query import StatsQuery
from engine.store.models import CaseFact, HumanTask, SlaClock, SlaOutcome

MET, BREACHED, RUNNING, CANCELLED = "met", "breached", "running", "cancelled"
TIMELY = "timely"  # a case whose judged timed steps were all met (a drill value of "sla" too)
SLA_STATUSES = (MET, BREACHED, RUNNING, CANCELLED)

# Backlog age buckets (upper bound in days, key, zh, en), oldest last.
AGE_BUCKETS = ((1, "lt1d", "1天内", "Under 1 day"), (3, "1to3d", "1–3天", "1–3 days"),
               (7, "3to7d", "3–7天", "3–7 days"), (30, "7to30d", "7–30天", "7–30 days"),
               (math.inf, "gt30d", "30天以上", "Over 30 days"))

CLOCK_COLUMNS = (SlaClock.instance_id, SlaClock.target, SlaClock.worked_seconds, SlaClock.budget_seconds,
                 SlaClock.stopped_at.is_not(None).label("stopped"), HumanTask.completed_by, HumanTask.role)


def clock_status_sql(moment: datetime):
    """met / breached / cancelled once stopped; while running, breached once past its due time
    (computed by the database: no datetimes cross into Python for a month of clocks)."""
    return case((SlaClock.outcome == SlaOutcome.MET, literal(MET)),
                (or_(SlaClock.outcome == SlaOutcome.BREACHED, SlaClock.breached_at.is_not(None)), literal(BREACHED)),
                (SlaClock.outcome == SlaOutcome.CANCELLED, literal(CANCELLED)),
                (SlaClock.due_at <= moment, literal(BREACHED)), else_=literal(RUNNING)).label("status")


def as_of(query: StatsQuery, now: datetime) -> datetime:
    """The moment a month's backlog and running clocks are judged at: its end, or now if sooner."""
    return min(now, month_bounds(query.month)[1])


def month_clocks(session: Session, query: StatsQuery, moment: datetime, extra=()) -> list:
    """The SLA clocks of the month's cases with their status at `moment` (a case's clocks count
    in the month it was opened)."""
    stmt = (select(*CLOCK_COLUMNS, clock_status_sql(moment)).join(CaseFact, CaseFact.instance_id == SlaClock.instance_id)
            .join(HumanTask, HumanTask.id == SlaClock.task_id).where(*query.conditions(), *extra))
    return session.execute(stmt).all()


def backlog_condition(moment: datetime):
    """Cases open at `moment`: opened before it and not closed by then."""
    return and_(CaseFact.opened_at < moment, or_(CaseFact.closed_at.is_(None), CaseFact.closed_at >= moment))


def backlog_counts(session: Session, query: StatsQuery, moment: datetime) -> dict[str, int]:
    """Cases of the scope (any month) open at `moment`, counted by age bucket in the database.

    Still open, and closed after `moment`, are counted apart: each is one range of the
    (site, closed_at) index, where their OR would read every case of the site."""
    whens = []
    for upper, key, _, _ in AGE_BUCKETS[:-1]:
        whens.append((CaseFact.opened_at > moment - timedelta(days=upper), literal(key)))
    bucket = case(*whens, else_=literal(AGE_BUCKETS[-1][1])).label("bucket")
    found = Counter()
    for closed in (CaseFact.closed_at.is_(None), CaseFact.closed_at >= moment):
        stmt = select(bucket, func.count()).where(*query.scope(), CaseFact.opened_at < moment, closed).group_by(bucket)
        found.update(dict(session.execute(stmt).all()))
    return {key: found[key] for _, key, _, _ in AGE_BUCKETS}


def ratio(part: float, whole: float) -> float | None:
    return None if not whole else part / whole

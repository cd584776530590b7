"""Month-by-month trend and the histogram of SLA time used, for the dashboard's charts."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.stats import vocabulary as V
from engine.stats.months import month_of, months_back
from engine.stats.query import StatsQuery
from engine.stats.sources import BREACHED, CANCELLED, MET, month_clocks, ratio
from engine.store.models import CaseFact, SlaClock


@dataclass(frozen=True)
class TrendPoint:
    month: str
    cases: int
    completed: int
    cancelled: int
    met: int
    breached: int
    timeliness_rate: float | None


def monthly_trend(session: Session, site: str | None, now: datetime, months: int = 12,
                  last_month: str | None = None) -> list[TrendPoint]:
    """Cases and timeliness for the `months` months up to `last_month` (default: now's month)."""
    wanted = months_back(last_month or month_of(now), months)
    scope = [CaseFact.opened_month.in_(wanted)] + ([CaseFact.site == site] if site else [])
    cases = defaultdict(Counter)
    for month, state, count in session.execute(select(CaseFact.opened_month, CaseFact.state, func.count())
                                               .where(*scope).group_by(CaseFact.opened_month, CaseFact.state)):
        cases[month][state] += count
    for month, outcome, count in session.execute(
            select(CaseFact.opened_month, SlaClock.outcome, func.count())
            .join(CaseFact, CaseFact.instance_id == SlaClock.instance_id)
            .where(*scope, SlaClock.outcome.is_not(None)).group_by(CaseFact.opened_month, SlaClock.outcome)):
        cases[month]["sla_" + outcome.value] += count  # apart from the case states ("cancelled")
    return [_point(m, cases[m]) for m in wanted]


def _point(month: str, c: Counter) -> TrendPoint:
    met, breached = c["sla_" + MET], c["sla_" + BREACHED]
    return TrendPoint(month, c[V.OPEN] + c[V.COMPLETED] + c[V.CANCELLED], c[V.COMPLETED], c[V.CANCELLED],
                      met, breached, ratio(met, met + breached))


@dataclass(frozen=True)
class HistogramBin:
    low_seconds: float
    high_seconds: float
    count: int
    breached: int  # of these, clocks that broke the limit


@dataclass(frozen=True)
class Histogram:
    target: str
    limit_seconds: float | None  # the SLA line
    bins: list[HistogramBin]


def response_histogram(session: Session, query: StatsQuery, target: str, now: datetime,
                       bins: int = 10) -> Histogram:
    """Working time used by the month's stopped clocks of `target`, in `bins` equal bins up to
    twice the limit (the last bin also holds everything longer)."""
    clocks = [c for c in month_clocks(session, query, now, [SlaClock.target == target, SlaClock.stopped_at.is_not(None)])
              if c.status != CANCELLED]
    limits = Counter(c.budget_seconds for c in clocks)
    limit = limits.most_common(1)[0][0] if limits else None
    top = 2 * limit if limit else max((c.worked_seconds for c in clocks), default=0.0) or 1.0
    width = top / bins
    counts, breached = Counter(), Counter()
    for clock in clocks:
        index = min(int(clock.worked_seconds // width), bins - 1)
        counts[index] += 1
        breached[index] += clock.status == BREACHED
    return Histogram(target, limit, [HistogramBin(i * width, (i + 1) * width, counts[i], breached[i])
                                     for i in range(bins)])

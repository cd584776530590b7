"""One month's KPIs for one site (or all), from the case facts and the SLA clocks.

Three indexed reads (the month's facts, their clocks, the backlog), then plain Python:
a site-month is a few thousand rows even with 100,000 cases stored.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from sqlalchemy.orm import Session

from . import vocabulary as V
from .query import StatsQuery
from .sources import (
    BREACHED,
    CANCELLED,
    MET,
    RUNNING,
    as_of,
    backlog_counts,
    month_clocks,
    month_facts,
    percentile,
    ratio,
)
from .table_builders import build_tables
from .tables import DurationKpi, FollowupKpi, MonthKpis, SlaKpi

DURATION_KINDS = ("response", "arrival", "resolution")


def month_kpis(session: Session, query: StatsQuery, now: datetime) -> MonthKpis:
    """The KPIs of the cases opened in `query.month` (backlog and running clocks as of month end or now)."""
    moment = as_of(query, now)
    facts = month_facts(session, query)
    clocks = month_clocks(session, query, moment)
    states = Counter(f.state for f in facts)
    statuses = [(clock, clock.status) for clock in clocks]
    met = sum(1 for _, s in statuses if s == MET)
    breached = sum(1 for _, s in statuses if s == BREACHED)
    complaints = Counter(f.complaint_class for f in facts if f.complaint_class)
    paid = [f for f in facts if f.fee_collected and f.charge is not None]
    kpis = MonthKpis(
        query=query, as_of=moment, cases=len(facts), completed=states[V.COMPLETED],
        cancelled=states[V.CANCELLED], open=states[V.OPEN], reopened=sum(1 for f in facts if f.reopened),
        backlog=backlog_counts(session, query, moment), timeliness_rate=ratio(met, met + breached),
        sla=sla_kpis(statuses), durations=durations(facts),
        complaints={c: complaints[c] for c in V.COMPLAINT_CLASSES},
        valid_complaint_rate=ratio(complaints[V.VALID], sum(complaints.values())),
        followup=followup(facts), paid_repairs=len(paid), revenue=float(sum(f.charge for f in paid)),
    )
    kpis.tables = build_tables(kpis, facts, statuses)
    return kpis


def sla_kpis(statuses: list) -> list[SlaKpi]:
    by_target = defaultdict(list)
    for clock, status in statuses:
        by_target[clock.target].append((clock, status))
    return [sla_kpi(target, items) for target, items in sorted(by_target.items())]


def sla_kpi(target: str, items: list) -> SlaKpi:
    counts = Counter(status for _, status in items)
    used = [clock.worked_seconds for clock, status in items if clock.stopped and status != CANCELLED]
    limits = Counter(clock.budget_seconds for clock, _ in items)
    return SlaKpi(target=target, limit_seconds=limits.most_common(1)[0][0] if limits else None,
                  met=counts[MET], breached=counts[BREACHED], running=counts[RUNNING],
                  cancelled=counts[CANCELLED], timeliness_rate=ratio(counts[MET], counts[MET] + counts[BREACHED]),
                  p50_seconds=percentile(used, 50), p90_seconds=percentile(used, 90))


def durations(facts: list) -> dict[str, DurationKpi]:
    out = {}
    for kind in DURATION_KINDS:
        values = [getattr(f, f"{kind}_seconds") for f in facts if getattr(f, f"{kind}_seconds") is not None]
        out[kind] = DurationKpi(len(values), percentile(values, 50), percentile(values, 90))
    return out


def followup(facts: list) -> FollowupKpi:
    decided = [f for f in facts if f.followup_decided]
    visited = sum(1 for f in decided if f.visits)
    visits = sum(f.visits for f in facts)
    satisfied = sum(f.satisfied_visits for f in facts)
    return FollowupKpi(decided=len(decided), policy_rate=ratio(sum(f.followup_rate or 0.0 for f in decided),
                                                                   len(decided)),
                       sampled=sum(1 for f in decided if f.followup_sampled), visited=visited,
                       visit_rate=ratio(visited, len(decided)), visits=visits, satisfied=satisfied,
                       satisfaction=ratio(satisfied, visits))

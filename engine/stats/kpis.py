"""One month's KPIs for one site (or all), from the case facts and the SLA clocks.

The database does the counting (`aggregates.py`): grouped counts of the month's facts
and clocks, nearest-rank percentiles, the backlog by age. Python only sums the few
hundred grouped rows into the KPIs and tables, so a site-month costs about the same
whether it holds 400 cases or 4,000.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy.orm import Session

from engine.stats import vocabulary as V
from engine.stats.aggregates import (
    DURATION_COLUMNS,
    ClockCounts,
    clock_counts,
    duration_ranks,
    fact_groups,
    used_ranks,
)
from engine.stats.names import load_names
from engine.stats.query import StatsQuery
from engine.stats.rounds import round_kpis
from engine.stats.sources import BREACHED, CANCELLED, MET, RUNNING, as_of, backlog_counts, ratio
from engine.stats.table_builders import build_tables, rounds_table
from engine.stats.tables import DurationKpi, FollowupKpi, MonthKpis, RoundKpi, SlaKpi


def month_kpis(session: Session, query: StatsQuery, now: datetime) -> MonthKpis:
    """The KPIs of the cases opened in `query.month` (backlog and running clocks as of month end or now)."""
    moment = as_of(query, now)
    groups = fact_groups(session, query)
    clocks = clock_counts(session, query, moment)
    total, kinds = Counter(), {}
    for group in groups:
        for name in ("cases", "reopened", "decided", "rate_sum", "sampled", "visited", "visits", "satisfied",
                     "paid", "revenue"):
            total[name] += getattr(group, name) or 0
        if group.followup_category is not None:
            kind = kinds.setdefault(group.followup_category, Counter())
            for name in FOLLOWUP_COUNTS:
                kind[name] += getattr(group, name) or 0
        total["state:" + group.state] += group.cases
        total["class:" + (group.complaint_class or "")] += group.cases
    complaints = {c: total["class:" + c] for c in V.COMPLAINT_CLASSES}
    met, breached = clocks.total[MET], clocks.total[BREACHED]
    kpis = MonthKpis(
        query=query, as_of=moment, cases=total["cases"], completed=total["state:" + V.COMPLETED],
        cancelled=total["state:" + V.CANCELLED], open=total["state:" + V.OPEN], reopened=total["reopened"],
        backlog=backlog_counts(session, query, moment), timeliness_rate=ratio(met, met + breached),
        sla=sla_kpis(clocks, used_ranks(session, query, moment)), durations=durations(session, query),
        complaints=complaints, valid_complaint_rate=ratio(complaints[V.VALID], sum(complaints.values())),
        followup=followup(total), followup_kinds={kind: followup(counts) for kind, counts in sorted(kinds.items())},
        paid_repairs=total["paid"], revenue=float(total["revenue"]),
        names=load_names(session, clocks.staff),
    )
    rounds = round_kpis(session, query)
    kpis.rounds = sum(rounds.values(), RoundKpi())
    # only a month with rounds has the table: most procedures (and sites) have none
    kpis.tables = build_tables(kpis, groups, clocks) + ([rounds_table(rounds, kpis.names)] if rounds else [])
    return kpis


def sla_kpis(clocks: ClockCounts, used: dict[str, tuple]) -> list[SlaKpi]:
    out = []
    for target in sorted(clocks.by_target):
        counts, limits = clocks.by_target[target], clocks.limits[target]
        limit = max(limits, key=lambda budget: (limits[budget], -budget)) if limits else None  # most common, then lowest
        _, p50, p90 = used.get(target, (0, None, None))
        out.append(SlaKpi(target=target, limit_seconds=limit, met=counts[MET], breached=counts[BREACHED],
                          running=counts[RUNNING], cancelled=counts[CANCELLED],
                          timeliness_rate=ratio(counts[MET], counts[MET] + counts[BREACHED]),
                          p50_seconds=p50, p90_seconds=p90))
    return out


def durations(session: Session, query: StatsQuery) -> dict[str, DurationKpi]:
    ranks = duration_ranks(session, query)
    return {kind: DurationKpi(*ranks.get(kind, (0, None, None))) for kind in DURATION_COLUMNS}


FOLLOWUP_COUNTS = ("decided", "rate_sum", "sampled", "visited", "visits", "satisfied")


def followup(total: Counter) -> FollowupKpi:
    """The follow-up numbers of a month, or of one kind of visit in it."""
    decided, visited, visits, satisfied = total["decided"], total["visited"], total["visits"], total["satisfied"]
    return FollowupKpi(decided=decided, policy_rate=ratio(float(total["rate_sum"]), decided),
                       sampled=total["sampled"], visited=visited, visit_rate=ratio(visited, decided),
                       handled_rate=ratio(visited, total["sampled"]),
                       visits=visits, satisfied=satisfied, satisfaction=ratio(satisfied, visits))

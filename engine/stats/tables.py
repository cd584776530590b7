"""The plain dataclasses the statistics hand out: KPIs, and generic tables for exports.

Every table a dashboard shows is a `KpiTable`: columns with both languages' headings
and a kind (how to format), rows as dicts. A row's `drill` names the cases behind it
(a filter for `cases_behind`); a count column may narrow it further with its own
`drill` (e.g. only the breached ones). CSV, Excel and PDF exporters need nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from engine.stats.query import StatsQuery

if TYPE_CHECKING:  # names.py reads the tables it names; only the type is needed here
    from engine.stats.names import Names

# Column kinds: how a value is formatted. Values are None when there is nothing to divide by.
TEXT, LABEL, COUNT, PERCENT, SECONDS, MONEY = "text", "label", "count", "percent", "seconds", "money"
VALUE = "value"  # the kind is the row's own "kind" (a summary table mixes counts and rates)


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    kind: str = COUNT
    drill: dict | None = None  # narrows the row's drill for this column's number
    counts: str = "cases"  # what a count counts: "cases", or "tasks" (SLA clocks: a case may have several)


@dataclass
class KpiTable:
    id: str
    title_zh: str
    title_en: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)  # column key -> value, plus "drill"


def cell_drill(row: dict, column: Column) -> dict | None:
    """The filter naming the cases behind one number, or None when no cases are behind it."""
    kind = row.get("kind") if column.kind == VALUE else column.kind
    if "drill" not in row or kind not in (COUNT, MONEY):
        return None
    return {**row["drill"], **(column.drill or {})}


@dataclass(frozen=True)
class SlaKpi:
    """One SLA target's clocks in the month: timeliness = met ÷ (met + breached)."""

    target: str
    limit_seconds: float | None  # the (most common) time limit of its clocks: the SLA line
    met: int
    breached: int
    running: int
    cancelled: int
    timeliness_rate: float | None
    p50_seconds: float | None  # working time used by clocks that stopped
    p90_seconds: float | None


@dataclass(frozen=True)
class DurationKpi:
    count: int
    p50_seconds: float | None
    p90_seconds: float | None


@dataclass(frozen=True)
class RoundKpi:
    """The month's rounds: how many, how many signed every planned point, how many on time."""

    rounds: int = 0
    complete: int = 0  # every planned checkpoint signed in
    on_schedule: int = 0
    planned: int = 0  # checkpoints planned over all rounds
    visited: int = 0  # checkpoints signed in over all rounds

    @property
    def coverage(self) -> float | None:
        return self.visited / self.planned if self.planned else None

    def __add__(self, other: RoundKpi) -> RoundKpi:
        return RoundKpi(*(a + b for a, b in zip(self._values(), other._values(), strict=True)))

    def _values(self) -> tuple[int, ...]:
        return self.rounds, self.complete, self.on_schedule, self.planned, self.visited


@dataclass(frozen=True)
class FollowupKpi:
    decided: int  # cases that reached the follow-up decision
    policy_rate: float | None  # mean policy rate recorded at those decisions
    sampled: int
    visited: int  # cases with at least one visit
    visit_rate: float | None  # visited ÷ decided
    handled_rate: float | None  # visited ÷ sampled: 回访处理率, which 001/第2篇 1.11 wants at 100 %
    visits: int
    satisfied: int  # visits judged 满意
    satisfaction: float | None  # satisfied ÷ visits


@dataclass
class MonthKpis:
    query: StatsQuery
    as_of: datetime  # backlog and running clocks are as of this moment (month end, or now)
    cases: int
    completed: int
    cancelled: int
    open: int
    reopened: int
    backlog: dict[str, int]  # age bucket -> open cases at `as_of` (any month opened)
    timeliness_rate: float | None  # all targets together
    sla: list[SlaKpi]
    durations: dict[str, DurationKpi]  # response, arrival, resolution
    complaints: dict[str, int]  # valid, assistance, excessive
    valid_complaint_rate: float | None
    followup: FollowupKpi
    followup_kinds: dict[str, FollowupKpi]  # per kind of visit (followup.yaml's categories), as decided
    paid_repairs: int
    revenue: float
    names: Names  # what the ids of the tables' drills are called (for filters and chart titles too)
    tables: list[KpiTable] = field(default_factory=list)
    rounds: RoundKpi = field(default_factory=lambda: RoundKpi())  # patrol rounds, all processes together

    def table(self, table_id: str) -> KpiTable:
        return next(t for t in self.tables if t.id == table_id)

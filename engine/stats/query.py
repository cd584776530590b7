"""What a statistics request asks for: one month, optionally one site and one process or category."""

from __future__ import annotations

from dataclasses import dataclass

from engine.stats.months import check_month
from engine.store.models import CaseFact


@dataclass(frozen=True)
class StatsQuery:
    month: str  # "YYYY-MM", a local month (engine/stats/months.py)
    site: str | None = None
    process: str | None = None  # a process id, e.g. "repair"
    category: str | None = None  # a case category, e.g. the help request's category

    def __post_init__(self):
        check_month(self.month)

    def scope(self) -> list:
        """Conditions on `case_fact` for site, process and category (not the month)."""
        conditions = []
        if self.site:
            conditions.append(CaseFact.site == self.site)
        if self.process:
            conditions.append(CaseFact.process_id == self.process)
        if self.category:
            conditions.append(CaseFact.category == self.category)
        return conditions

    def conditions(self) -> list:
        """Conditions selecting the cases opened in the month within the scope."""
        return [CaseFact.opened_month == self.month, *self.scope()]

"""Monthly statistics of the service centres (issue #7): KPIs from the audit trail.

The interface for the dashboard, the exports and the monthly report:
`StatsQuery`, `month_kpis`, `cases_behind`, `monthly_trend`, `response_histogram`,
and the plain dataclasses they return. See docs/statistics.md. The step folds each
case's events into its facts through `projection.record_events`.

May import: the foundation, `store`, `audit`, `policy`, `definitions`, `accounts`.
"""

from engine.stats.drill import CaseRow, cases_behind
from engine.stats.kpis import month_kpis
from engine.stats.labels import Text
from engine.stats.projection import rebuild
from engine.stats.query import StatsQuery
from engine.stats.tables import Column, KpiTable, MonthKpis, cell_drill
from engine.stats.trend import Histogram, HistogramBin, TrendPoint, monthly_trend, response_histogram

__all__ = ["CaseRow", "Column", "Histogram", "HistogramBin", "KpiTable", "MonthKpis", "StatsQuery", "Text",
           "TrendPoint", "cases_behind", "cell_drill", "month_kpis", "monthly_trend", "rebuild",
           "response_histogram"]

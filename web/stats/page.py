"""What the statistics pages show, built from the engine's plain results: the filters
from a request, tables as rows of formatted cells (with the link behind each number),
and the data of the four charts. The views in web/stats.py and the report share it."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request, url_for
from flask_babel import gettext as _

from engine.accounts import sites as site_scope
from engine.errors import BadInput
from engine.stats import Histogram, KpiTable, MonthKpis, StatsQuery, TrendPoint, cell_drill
from engine.stats.months import month_of
from web.i18n import pick
from web.stats.cells import display, heading, kind_of, label, title

DRILL_PREFIX = "d_"  # drill keys in a URL, apart from the filters (both have process and category)
HISTOGRAM_TARGETS = ("help.reply", "repair.arrive_now", "complaint.resolve")  # preferred, in this order
# What `case_fact.state` says, for people.
CASE_STATES = {"open": ("未结", "Open"), "completed": ("已结", "Completed"), "cancelled": ("已取消", "Cancelled")}


@dataclass(frozen=True)
class Cell:
    text: str
    kind: str
    href: str | None = None  # the cases behind the number


@dataclass(frozen=True)
class ShownTable:
    id: str
    title: str
    headings: list[str]
    kinds: list[str]
    rows: list[list[Cell]]


def query_from_request(actor, sites: dict, now) -> StatsQuery:
    """The filters of a GET form. No `site` at all means the user's own; an empty one means all
    the sites they work at (every site only for company-wide people); another site is refused."""
    args = request.args
    site = args.get("site", actor.site or "") or None
    if site and site not in sites:
        raise BadInput(f"unknown site {site!r}; known: {', '.join(sites)}")
    return StatsQuery(args.get("month") or month_of(now), site=site_scope.chosen_site(actor, site),
                      process=args.get("process") or None, category=args.get("category") or None)


def filter_args(query: StatsQuery) -> dict:
    """The query as URL arguments (site kept even when empty: empty means all sites)."""
    args = {"month": query.month, "site": query.site or ""}
    args.update({k: v for k, v in (("process", query.process), ("category", query.category)) if v})
    return args


def drill_from_request() -> dict:
    return {k[len(DRILL_PREFIX):]: v for k, v in request.args.items() if k.startswith(DRILL_PREFIX)}


def cases_link(query: StatsQuery, drill: dict) -> str:
    return url_for("stats.cases", **filter_args(query), **{DRILL_PREFIX + k: v for k, v in drill.items()})


def shown_table(table: KpiTable, query: StatsQuery | None = None) -> ShownTable:
    """The table's cells formatted; with a query, each number with cases behind it links to them."""
    rows = []
    for row in table.rows:
        cells = []
        for column in table.columns:
            kind = kind_of(row, column)
            drill = cell_drill(row, column) if query is not None else None
            cells.append(Cell(display(row.get(column.key), kind), kind,
                              cases_link(query, drill) if drill is not None else None))
        rows.append(cells)
    return ShownTable(table.id, title(table), [heading(c) for c in table.columns],
                      [c.kind for c in table.columns], rows)


def filter_options(kpis: MonthKpis, key: str, chosen: str | None) -> list[tuple[str, str]]:
    """A filter's choices as (id, name): the month's processes or categories, and the one chosen."""
    ids = {row["drill"][key] for row in kpis.table(f"by_{key}").rows} | {chosen}
    return [(i, label(kpis.names.of(key, i))) for i in sorted(ids - {None, ""})]


def target_options(kpis: MonthKpis) -> list[tuple[str, str]]:
    """The month's SLA targets as (key, name), for the histogram's choice."""
    return [(s.target, target_name(kpis, s.target)) for s in kpis.sla]


def target_name(kpis: MonthKpis, target: str) -> str:
    return label(kpis.names.sla_target(target))


def histogram_target(kpis: MonthKpis, wanted: str | None) -> str:
    targets = [s.target for s in kpis.sla]
    if wanted:
        return wanted
    return next((t for t in HISTOGRAM_TARGETS if t in targets), targets[0] if targets else HISTOGRAM_TARGETS[0])


def chart_data(query: StatsQuery, kpis: MonthKpis, trend: list[TrendPoint], histogram: Histogram) -> dict:
    """Everything stats.js draws, with the words in the current language and a link per bar."""
    by_category = kpis.table("by_category").rows
    backlog = kpis.table("backlog").rows
    return {
        "trend": {"months": [p.month for p in trend], "cases": [p.cases for p in trend],
                  "completed": [p.completed for p in trend],
                  "rate": [None if p.timeliness_rate is None else round(p.timeliness_rate * 100, 1) for p in trend],
                  "names": [_("案件数"), _("已结"), _("及时率") + " %"]},
        "category": {"labels": [label(r["label"]) or _("未分类") for r in by_category],
                     "cases": [r["cases"] for r in by_category],
                     "links": [cases_link(query, r["drill"]) for r in by_category], "name": _("案件数")},
        "backlog": {"labels": [label(r["label"]) for r in backlog],
                    "cases": [r["cases"] for r in backlog],
                    "links": [cases_link(query, r["drill"]) for r in backlog], "name": _("未结案件")},
        "histogram": {"target": histogram.target,
                      "limit": None if histogram.limit_seconds is None else histogram.limit_seconds / 60,
                      "bins": [[(b.low_seconds + b.high_seconds) / 120, b.count, b.breached] for b in histogram.bins],
                      "width": (histogram.bins[0].high_seconds / 60) if histogram.bins else 1,
                      "names": [_("用时（分钟）"), _("任务数"), _("时限")]},
    }


def state_label(state: str) -> str:
    zh, en = CASE_STATES.get(state, (state, state))
    return pick(zh, en)

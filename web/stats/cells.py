"""How one statistics cell is written, by its column kind: the ONE place the dashboard,
the case lists, the CSV and Excel exports and the monthly report all format numbers.

Three renderings of the same value:
* `display` — for people (HTML, the printed report): 50.0%, 1 小时 5 分钟, 1,234.50, —.
* `csv_text` — for a CSV file: plain numbers Excel and scripts parse (50.0%, 1:05:00, 1234.50).
* `excel_cell` — a real number and an Excel number format (never a string for a number).
"""

from __future__ import annotations

from flask_babel import gettext as _

from engine.stats import Column, KpiTable, Text
from engine.stats.tables import COUNT, LABEL, MONEY, PERCENT, SECONDS, TEXT, VALUE
from web.i18n import pick

NOTHING = "—"  # None: nothing to divide by
EXCEL_FORMATS = {COUNT: "0", PERCENT: "0.0%", SECONDS: "[h]:mm:ss", MONEY: "#,##0.00"}
SECONDS_PER_DAY = 86400


def kind_of(row: dict, column: Column) -> str:
    """A column's kind; a `value` column takes the row's own kind (the summary mixes them)."""
    return row.get("kind", COUNT) if column.kind == VALUE else column.kind


def heading(column: Column) -> str:
    return pick(column.zh, column.en)


def title(table: KpiTable) -> str:
    return pick(table.title_zh, table.title_en)


def label(value) -> str:
    """A label (`Text`) in the current language; other values as they are."""
    if isinstance(value, Text):
        return pick(value.zh, value.en)
    return "" if value is None else str(value)


def display(value, kind: str) -> str:
    if kind in (LABEL, TEXT):
        return label(value) or NOTHING  # e.g. cases without a category
    if value is None:
        return NOTHING
    if kind == PERCENT:
        return f"{value * 100:.1f}%"
    if kind == SECONDS:
        return duration(value)
    if kind == MONEY:
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def duration(seconds: float) -> str:
    """The two largest units: 45 秒, 7 分钟, 1 小时 5 分钟, 2 天 3 小时."""
    total = int(round(seconds))
    days, rest = divmod(total, SECONDS_PER_DAY)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(n, unit) for n, unit in ((days, _("天")), (hours, _("小时")), (minutes, _("分钟")), (secs, _("秒"))) if n]
    return " ".join(f"{n} {unit}" for n, unit in parts[:2]) or f"0 {_('秒')}"


def csv_text(value, kind: str) -> str:
    if kind in (LABEL, TEXT):
        return label(value)
    if value is None:
        return ""
    if kind == PERCENT:
        return f"{value * 100:.1f}%"
    if kind == SECONDS:
        hours, rest = divmod(int(round(value)), 3600)
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    if kind == MONEY:
        return f"{value:.2f}"
    return str(value)


def excel_cell(value, kind: str) -> tuple[object, str | None]:
    """(value, number format): percents as fractions, durations as days, money and counts as numbers."""
    if kind == TEXT and isinstance(value, int | float) and not isinstance(value, bool):
        return value, None  # a number shown without a link (e.g. visits, which count visits, not cases)
    if kind in (LABEL, TEXT):
        return label(value), None
    if value is None:
        return None, None
    if kind == SECONDS:
        return value / SECONDS_PER_DAY, EXCEL_FORMATS[SECONDS]
    return value, EXCEL_FORMATS.get(kind)


def table_rows(table: KpiTable, render=display) -> list[list]:
    """The table's body as rendered cells, row by row, in column order."""
    return [[render(row.get(c.key), kind_of(row, c)) for c in table.columns] for row in table.rows]

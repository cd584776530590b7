"""The roster as a table, for CSV and Excel files: one row per filled shift.

Columns: date, site, post, username, name (name is for people reading the file and is
ignored on import). The web layer and the CLI write the files (web/spreadsheet.py keeps
cells from being run as formulas); reading them is here.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from engine.duty.roster import RosterView
from engine.errors import FieldError, FormInvalid

COLUMNS = ("date", "site", "post", "username", "name")


def roster_rows(view: RosterView) -> list[list[str]]:
    """The header and one row per slot of the roster (blank username: not yet filled)."""
    rows = [list(COLUMNS)]
    for day, _, cells in view.days:
        for post, cell in cells.items():
            rows.append([day.isoformat(), view.site, post, cell.username or "", cell.name or ""])
    return rows


def read_table(data: bytes, filename: str) -> list[list[str]]:
    """The rows of an uploaded .xlsx or .csv (UTF-8, with or without BOM) file."""
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook  # only for Excel uploads

        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
        return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FormInvalid([FieldError("file", "the file is not UTF-8 CSV", "文件不是 UTF-8 编码的 CSV",
                                      "The file is not UTF-8 CSV")]) from None
    return [row for row in csv.reader(io.StringIO(text)) if row]


def assignments_from_rows(rows: list[list[str]]) -> dict[tuple[str, str], dict[tuple[date, str], str]]:
    """{(site, month): {(day, post): username}} from table rows with the COLUMNS header."""
    if not rows or [c.strip().lower() for c in rows[0][:4]] != list(COLUMNS[:4]):
        raise FormInvalid([FieldError("file", f"the first row must be the header {','.join(COLUMNS)}",
                                      f"第一行应为表头：{','.join(COLUMNS)}",
                                      f"The first row must be the header {','.join(COLUMNS)}")])
    found: dict[tuple[str, str], dict] = {}
    errors = []
    for number, row in enumerate(rows[1:], start=2):
        cells = [c.strip().lstrip("'") for c in row] + [""] * 4
        try:
            day = date.fromisoformat(cells[0])
        except ValueError:
            errors.append(FieldError(f"row {number}", f"not a date: {cells[0]!r}", f"第{number}行日期无效",
                                     f"Row {number}: not a date"))
            continue
        found.setdefault((cells[1], day.isoformat()[:7]), {})[(day, cells[2])] = cells[3]
    if errors:
        raise FormInvalid(errors)
    return found

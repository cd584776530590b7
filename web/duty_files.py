"""The roster as a file people open in Excel or WPS: CSV (UTF-8 with BOM) or .xlsx, cells kept as text."""

from __future__ import annotations

import io

from openpyxl import Workbook

from engine.duty.roster import RosterView
from engine.duty.roster_files import roster_rows
from web.spreadsheet import csv_writer, keep_as_text


def roster_csv(view: RosterView) -> bytes:
    out = io.StringIO()
    csv_writer(out).writerows(roster_rows(view))
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM: Excel then reads it as UTF-8


def roster_xlsx(view: RosterView) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = f"{view.site} {view.month}"
    for row in roster_rows(view):
        sheet.append(row)
    for row in sheet.iter_rows():
        keep_as_text(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def roster_file(view: RosterView, filename: str) -> bytes:
    """The file for `filename`: Excel when it ends in .xlsx, else CSV."""
    return roster_xlsx(view) if filename.lower().endswith(".xlsx") else roster_csv(view)

"""The dashboard's tables as files: CSV (UTF-8 with a BOM, so Excel reads the Chinese)
and Excel (one sheet per table, real numbers with number formats)."""

from __future__ import annotations

import io
import re

from openpyxl import Workbook
from openpyxl.styles import Font

from engine.errors import BadInput
from engine.stats import KpiTable, MonthKpis
from web.spreadsheet import csv_writer, keep_as_text
from web.stats.cells import csv_text, excel_cell, heading, kind_of, table_rows, title

BOM = "\ufeff"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def chosen_tables(kpis: MonthKpis, table_id: str | None) -> list[KpiTable]:
    """Every table, or the one named; an unknown name is bad input."""
    if not table_id:
        return kpis.tables
    known = [t.id for t in kpis.tables]
    if table_id not in known:
        raise BadInput(f"unknown table {table_id!r}; known: {', '.join(known)}")
    return [kpis.table(table_id)]


def csv_bytes(tables: list[KpiTable]) -> bytes:
    """One table: its headings and rows. Several: each under its title, a blank line between."""
    out = io.StringIO()
    writer = csv_writer(out)
    for number, table in enumerate(tables):
        if len(tables) > 1:
            if number:
                writer.writerow([])
            writer.writerow([title(table)])
        writer.writerow([heading(c) for c in table.columns])
        writer.writerows(table_rows(table, csv_text))
    return (BOM + out.getvalue()).encode("utf-8")


def xlsx_bytes(tables: list[KpiTable]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for table in tables:
        sheet = workbook.create_sheet(table.id[:31])  # Excel's limit on sheet names
        sheet.append([heading(c) for c in table.columns])
        keep_as_text(sheet[1])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            values = [excel_cell(row.get(c.key), kind_of(row, c)) for c in table.columns]
            sheet.append([value for value, _ in values])
            keep_as_text(sheet[sheet.max_row])
            for cell, (_, number_format) in zip(sheet[sheet.max_row], values, strict=True):
                if number_format:
                    cell.number_format = number_format
        for index, column in enumerate(table.columns, start=1):
            sheet.column_dimensions[sheet.cell(1, index).column_letter].width = max(10, 2 * len(heading(column)) + 2)
    if not tables:
        workbook.create_sheet("empty")
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def file_name(kpis: MonthKpis, table_id: str | None, extension: str) -> str:
    q = kpis.query
    parts = ["stats", q.month, q.site or "all", q.process, q.category, table_id]
    return re.sub(r"[^A-Za-z0-9_.-]", "_", "-".join(p for p in parts if p)) + "." + extension

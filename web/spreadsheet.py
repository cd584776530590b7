"""Exports people open in Excel or WPS: no cell of text they get is run as a formula.

A spreadsheet runs a CSV cell that begins with = + - or @ as a formula (and some first
strip a leading tab or carriage return), so `=HYPERLINK(...)` typed into a form's free
text would become a live link in an auditor's export: formula injection. Every CSV the
app writes goes through `csv_writer`, which puts an apostrophe before such a cell; the
spreadsheet then shows the text as typed. Plain numbers ("-3", "12.5%") are left alone.
"""

from __future__ import annotations

import csv
import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-\d+(\.\d+)?%?")


def safe_cell(value) -> str:
    """`value` as CSV text, with an apostrophe before text a spreadsheet would run as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_writer(out) -> SafeCsvWriter:
    """`csv.writer(out)` whose every cell passes through `safe_cell`."""
    return SafeCsvWriter(out)


class SafeCsvWriter:
    """The writer `csv_writer` makes: rows written as `csv.writer` writes them, cells made safe."""

    def __init__(self, out):
        self._writer = csv.writer(out)

    def writerow(self, row) -> None:
        self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)


def keep_as_text(cells) -> None:
    """Excel cells (openpyxl) that openpyxl would store as formulas, because they begin with =, kept as text."""
    for cell in cells:
        if cell.data_type == "f":
            cell.data_type = "s"

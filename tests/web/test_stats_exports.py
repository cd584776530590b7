"""CSV and Excel exports of the statistics tables: the same figures as the dashboard,
Chinese readable in Excel (BOM), and real numbers with number formats in the workbook."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from engine.stats import StatsQuery, Text, month_kpis

STATS_MONTH = "2026-09"  # the month the stats_month fixture plays
ARGS = f"month={STATS_MONTH}&site=nanshan"


@pytest.fixture
def kpis(runtime, stats_month):
    with runtime.db.session() as session:
        return month_kpis(session, StatsQuery(STATS_MONTH, site="nanshan"), runtime.clock.now())


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200 and response.content_type == "text/csv; charset=utf-8"
    body = response.get_data()
    assert body.startswith("\ufeff".encode())  # the BOM: Excel reads the Chinese as UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_of_one_table_is_the_table_on_the_dashboard(web, stats_month, stats_table):
    web.login("manager1")
    page = web.get_text(f"/stats?{ARGS}")
    for table_id in ("by_process", "backlog", "complaints"):
        rows = read_csv(web.client.get(f"/stats/export.csv?table={table_id}&{ARGS}"))
        shown = [[text for text, _ in row] for row in stats_table(page, table_id)]
        # the same cells; CSV leaves "nothing to divide by" empty where the page shows —
        assert rows == [[cell if cell != "—" else "" for cell in row] for row in shown], table_id


def test_csv_writes_numbers_plainly(web, stats_month):
    web.login("gm1")
    rows = read_csv(web.client.get(f"/stats/export.csv?table=summary&{ARGS}"))
    figures = dict(rows[1:])
    assert rows[0] == ["指标", "数值"]
    assert (figures["受理案件"], figures["有偿维修收入（元）"], figures["及时率"]) == ("5", "90.00", "85.7%")
    assert figures["回访率"] == "100.0%"
    no_complaints = dict(read_csv(web.client.get("/stats/export.csv?table=summary&month=2026-09&site=binhai"
                                                 "&process=complaint"))[1:])
    assert no_complaints["受理案件"] == "0" and no_complaints["有效投诉率"] == ""  # nothing to divide by
    sla = {row[0]: row for row in read_csv(web.client.get(f"/stats/export.csv?table=sla&{ARGS}"))}
    assert sla["维修人员到场"][1] == "0:10:00" and sla["维修人员到场"][8] == "0:20:00"  # limit, p90


def test_csv_of_all_tables_has_each_under_its_title(web, stats_month, kpis):
    web.login("supervisor1")
    response = web.client.get(f"/stats/export.csv?{ARGS}")
    rows = read_csv(response)
    assert "stats-2026-09-nanshan.csv" in response.headers["Content-Disposition"]
    titles = [row[0] for row, before in zip(rows, [[]] + rows, strict=False) if len(row) == 1 and not before]
    assert titles == [t.title_zh for t in kpis.tables]
    assert len(rows) == sum(len(t.rows) + 2 for t in kpis.tables) + len(kpis.tables) - 1


def test_xlsx_has_a_sheet_per_table_with_real_numbers(web, stats_month, kpis):
    web.login("manager1")
    response = web.client.get(f"/stats/export.xlsx?{ARGS}")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    workbook = load_workbook(io.BytesIO(response.get_data()))
    assert workbook.sheetnames == [t.id for t in kpis.tables]
    for table in kpis.tables:
        sheet = workbook[table.id]
        rows = list(sheet.iter_rows())
        assert [c.value for c in rows[0]] == [c.zh for c in table.columns]
        assert len(rows) == len(table.rows) + 1
        for cells, row in zip(rows[1:], table.rows, strict=True):
            for cell, column in zip(cells, table.columns, strict=True):
                value = row.get(column.key)
                kind = row.get("kind", "count") if column.kind == "value" else column.kind
                if isinstance(value, Text):
                    assert cell.value == value.zh
                elif kind == "seconds" and value is not None:
                    # a number of days with a duration format, which openpyxl reads back as a timedelta
                    assert cell.number_format == "[h]:mm:ss" and cell.is_date
                    assert cell.value.total_seconds() == pytest.approx(value)
                elif kind in ("count", "percent", "money"):
                    assert cell.value == value, (table.id, column.key)  # a number, not its text
                    if value is not None:
                        assert cell.number_format == {"count": "0", "percent": "0.0%", "money": "#,##0.00"}[kind]
                else:
                    assert cell.value == (value or None)


def test_xlsx_of_one_table(web, stats_month):
    web.login("manager1")
    workbook = load_workbook(io.BytesIO(web.client.get(f"/stats/export.xlsx?table=summary&{ARGS}").get_data()))
    assert workbook.sheetnames == ["summary"]
    values = {row[0]: row[1] for row in workbook["summary"].iter_rows(min_row=2, values_only=True)}
    assert values["受理案件"] == 5 and values["有偿维修收入（元）"] == 90.0 and values["及时率"] == pytest.approx(12 / 14)  # 12 of 14 timed steps on time


def test_export_in_english(web, client, stats_month):
    web.login("manager1")
    client.get("/lang/en")
    rows = read_csv(web.client.get(f"/stats/export.csv?table=summary&{ARGS}"))
    assert rows[0] == ["Measure", "Value"] and ["Cases opened", "5"] in rows


@pytest.mark.parametrize("path", ["/stats/export.csv", "/stats/export.xlsx"])
def test_unknown_table_is_a_clear_400(web, stats_month, path):
    web.login("manager1")
    page = web.get_text(f"{path}?table=colours&{ARGS}", status=400)
    assert "unknown table &#39;colours&#39;" in page and "summary" in page


def test_exports_show_names_where_the_dashboard_does(web, client, stats_month):
    web.login("manager1")
    staff = read_csv(web.client.get(f"/stats/export.csv?table=by_staff&{ARGS}"))
    assert ["王敏 (reception1)", "客服部"] in [row[:2] for row in staff[1:]]
    assert [row[0] for row in read_csv(web.client.get(f"/stats/export.csv?table=by_process&{ARGS}"))[1:]] == [
        "投诉处理", "报修处理"]
    workbook = load_workbook(io.BytesIO(web.client.get(f"/stats/export.xlsx?{ARGS}").get_data()))
    assert [row[0] for row in workbook["by_department"].iter_rows(min_row=2, values_only=True)] == ["工程部"]
    assert "维修人员到场" in [row[0] for row in workbook["sla"].iter_rows(min_row=2, values_only=True)]
    client.get("/lang/en")
    departments = read_csv(web.client.get(f"/stats/export.csv?table=by_department&{ARGS}"))
    assert departments[0][0] == "Department" and departments[1][0] == "Engineering"
    sla = [row[0] for row in read_csv(web.client.get(f"/stats/export.csv?table=sla&{ARGS}"))[1:]]
    assert "repair.arrive_now" in sla  # no English name in sla.yaml: the key

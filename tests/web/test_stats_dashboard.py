"""The monthly statistics dashboard (issue #7) over a known September: the numbers a
supervisor reads, the cases behind each of them, the filters, and who may look."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import html

from engine.stats import StatsQuery, cell_drill, month_kpis
from web.stats import views as stats_views

STATS_MONTH = "2026-09"  # the month the stats_month fixture plays
SEPTEMBER = f"/stats?month={STATS_MONTH}"


def summary(page, stats_table) -> dict[str, str]:
    return {row[0][0]: row[1][0] for row in stats_table(page, "summary")[1:]}


def case_refs(web, href: str) -> set[str]:
    page = web.get_text(href)
    return {a.text_content() for a in html.fromstring(page).find_class("case-ref")}


def test_dashboard_shows_the_months_figures(web, stats_month, stats_table):
    web.login("manager1")
    page = web.get_text(SEPTEMBER)
    assert "2026-09 · 南山花园服务中心" in page
    figures = summary(page, stats_table)
    # 5 cases opened at nanshan: 3 completed, 1 cancelled, 1 open; the late repair reopened
    assert (figures["受理案件"], figures["已结案件"], figures["已取消案件"], figures["未结案件"]) == ("5", "3", "1", "1")
    assert figures["返工案件"] == "1"
    assert figures["月末积压"] == "2"  # the open September case and the August one
    assert figures["有偿维修"] == "2" and figures["有偿维修收入（元）"] == "90.00"  # 2 × 30 + 1 × 30
    assert figures["满意率"] == "66.7%"  # 2 satisfied of 3 visits
    assert figures["回访率"] == "100.0%"  # both repairs drawn (the month visits every case) and visited
    sla = {row[0][0]: [c[0] for c in row] for row in stats_table(page, "sla")[1:]}
    assert sla["维修人员到场"][1:5] == ["10 分钟", "1", "1", "0"]  # repair.arrive_now: limit, met, breached, running
    assert sla["维修人员到场"][6] == "50.0%"
    backlog = {row[0][0]: row[1][0] for row in stats_table(page, "backlog")[1:]}
    assert backlog == {"1天内": "0", "1–3天": "0", "3–7天": "0", "7–30天": "1", "30天以上": "1"}


def test_every_table_of_the_month_is_on_the_page(web, runtime, stats_month, stats_table):
    with runtime.db.session() as session:
        kpis = month_kpis(session, StatsQuery(STATS_MONTH, site="nanshan"), runtime.clock.now())
    web.login("supervisor1")
    page = web.get_text(SEPTEMBER)
    for table in kpis.tables:
        rows = stats_table(page, table.id)
        assert [text for text, _ in rows[0]] == [c.zh for c in table.columns]
        assert len(rows) - 1 == len(table.rows), table.id
        for shown, row in zip(rows[1:], table.rows, strict=True):
            for (text, href), column in zip(shown, table.columns, strict=True):
                if cell_drill(row, column) is not None:
                    assert href and href.startswith("/stats/cases?"), (table.id, column.key)
                    assert text.replace(",", "").replace(".00", "") == str(row[column.key]).removesuffix(".0")


def test_a_number_links_to_exactly_the_cases_behind_it(web, stats_month, stats_table):
    web.login("manager1")
    page = web.get_text(SEPTEMBER)
    links = {row[0][0]: row[1][1] for row in stats_table(page, "summary")[1:]}
    ref = {name: case.reference for name, case in stats_month.items()}
    assert case_refs(web, links["返工案件"]) == {ref["late"]}
    assert case_refs(web, links["已取消案件"]) == {ref["cancelled"]}
    assert case_refs(web, links["未结案件"]) == {ref["open"]}
    assert case_refs(web, links["有偿维修"]) == {ref["paid"], ref["late"]}
    assert case_refs(web, links["受理案件"]) == {ref[n] for n in ("paid", "late", "excessive", "cancelled", "open")}
    backlog = {row[0][0]: row[1][1] for row in stats_table(page, "backlog")[1:]}
    assert case_refs(web, backlog["30天以上"]) == {ref["august_open"]}
    breached = {row[0][0]: row[3][1] for row in stats_table(page, "sla")[1:]}["维修人员到场"]
    assert parse_qs(urlsplit(breached).query)["d_sla"] == ["breached"]
    assert case_refs(web, breached) == {ref["late"]}
    cases_page = web.get_text(links["返工案件"])
    assert f'href="/cases/{ref["late"]}"' in cases_page and "共 1 件" in cases_page
    assert '<td data-label="流程">报修处理</td>' in cases_page  # the procedure's name, not its id


def test_every_count_of_cases_equals_the_length_of_its_list(web, stats_month, stats_table):
    web.login("manager1")
    page = web.get_text(SEPTEMBER)
    checked = 0
    for table_id in ("by_process", "by_category", "by_department", "backlog", "durations", "complaints"):
        rows = stats_table(page, table_id)
        for row in rows[1:]:
            for (text, href), (heading, _) in zip(row, rows[0], strict=True):
                if href and heading not in ("及时", "超时", "进行中"):  # timed steps, not cases
                    assert len(case_refs(web, href)) == int(text), (table_id, heading)
                    checked += 1
    assert checked >= 15


@pytest.mark.parametrize(("user", "query", "cases"), [
    # gm1 manages the company: the figures of every site, and of each; manager1 those of nanshan
    ("gm1", "site=binhai", "1"), ("gm1", "site=", "6"), ("manager1", "site=", "5"),
    ("manager1", "process=complaint", "1"), ("manager1", "process=repair", "4"),
    ("manager1", "month=2026-10", "1"), ("manager1", "month=2026-08", "1"),
])
def test_filters_narrow_the_figures(web, stats_month, stats_table, user, query, cases):
    web.login(user)
    path = f"/stats?{query}" if query.startswith("month=") else f"{SEPTEMBER}&{query}"
    assert summary(web.get_text(path), stats_table)["受理案件"] == cases


def test_filters_default_to_the_users_site_and_the_current_month(web, stats_month, stats_table):
    web.login("supervisor1")
    page = web.get_text("/stats")
    assert "2026-10 · 南山花园服务中心" in page  # the engine clock stands on 5 October
    assert '<option value="nanshan" selected>' in page
    assert summary(page, stats_table)["受理案件"] == "1"


def test_filters_keep_to_the_drill_links(web, stats_month, stats_table):
    web.login("gm1")
    page = web.get_text(f"{SEPTEMBER}&site=&process=repair")
    link = summary(page, stats_table)
    href = {row[0][0]: row[1][1] for row in stats_table(page, "summary")[1:]}["受理案件"]
    assert parse_qs(urlsplit(href).query, keep_blank_values=True) == {
        "month": [STATS_MONTH], "site": [""], "process": ["repair"]}
    assert len(case_refs(web, href)) == int(link["受理案件"]) == 5  # 4 at nanshan, 1 at binhai


@pytest.mark.parametrize(("query", "message"), [
    ("month=2026-13", "month must look like 2026-11"), ("month=last", "month must look like"),
    ("site=atlantis", "unknown site"), ("d_colour=red", "unknown drill filter colour"),
])
def test_bad_filters_are_a_clear_400(web, stats_month, query, message):
    web.login("manager1")
    path = "/stats/cases" if query.startswith("d_") else "/stats"
    page = web.get_text(f"{path}?{query}", status=400)
    assert message in page and "Traceback" not in page


@pytest.mark.parametrize(("user", "status"), [("manager1", 200), ("supervisor1", 200), ("auditor1", 200),
                                              ("guard1", 403), ("reception1", 403), ("tech1", 403)])
def test_only_supervisors_managers_and_auditors_see_the_statistics(web, user, status):
    web.login(user)
    for path in ("/stats", "/stats/cases", "/stats/export.csv", "/stats/export.xlsx", "/stats/report"):
        assert web.client.get(path).status_code == status, path
    assert ('href="/stats"' in web.get_text("/")) == (status == 200)  # the link in the header


def test_english_switch(web, client, stats_month, stats_table):
    web.login("manager1")
    client.get("/lang/en")
    page = web.get_text(SEPTEMBER)
    assert "Monthly summary" in page and "Nanshan Garden service centre" in page
    assert summary(page, stats_table)["Cases opened"] == "5"
    assert "Trend over 12 months" in page and "月度汇总" not in page


def test_charts_get_their_data_and_say_when_echarts_is_missing(web, app, stats_month, monkeypatch):
    web.login("manager1")
    page = web.get_text(SEPTEMBER)
    data = json.loads(html.fromstring(page).get_element_by_id("stats-data").text)
    assert data["trend"]["months"][-1] == STATS_MONTH and len(data["trend"]["months"]) == 12
    assert data["trend"]["cases"][-2:] == [1, 5]  # August's case, September's five
    assert data["histogram"]["target"] == "repair.arrive_now" and data["histogram"]["limit"] == 10
    assert sum(b[1] for b in data["histogram"]["bins"]) == 2 and sum(b[2] for b in data["histogram"]["bins"]) == 1
    assert data["backlog"]["cases"] == [0, 0, 0, 1, 1]
    monkeypatch.setattr(stats_views, "ECHARTS", "vendor/echarts/not-installed.js")
    page = web.get_text(SEPTEMBER)
    assert 'id="charts-missing"' in page and "make assets" in page
    assert "not-installed.js" not in page and "stats.js" not in page


def test_echarts_script_is_served_when_installed(web, app, stats_month):
    if not (Path(app.static_folder) / stats_views.ECHARTS).is_file():
        pytest.skip("ECharts is not installed (make assets)")
    web.login("manager1")
    page = web.get_text(SEPTEMBER)
    assert 'id="charts-missing"' not in page and "echarts.min.js" in page
    assert web.client.get("/static/" + stats_views.ECHARTS).status_code == 200


# -- names, not ids: what people read in the tables, the filters and the charts -----------

def first_cells(page, stats_table, table_id) -> dict[str, list[str]]:
    """A table's rows by their label, each as the texts of its cells."""
    return {row[0][0]: [text for text, _ in row] for row in stats_table(page, table_id)[1:]}


def label_links(page, stats_table, table_id, column=1) -> dict[str, dict]:
    """A table's label -> the drill arguments (d_...) of one column's link."""
    return {row[0][0]: {k: v for k, v in parse_qs(urlsplit(row[column][1]).query).items() if k.startswith("d_")}
            for row in stats_table(page, table_id)[1:]}


def web_link(page, stats_table, table_id, label, column=1) -> str:
    """The link of one column in the row with this label."""
    return next(row[column][1] for row in stats_table(page, table_id)[1:] if row[0][0] == label)


def options(page, name) -> list[tuple[str, str]]:
    """A dropdown's options as (value, text)."""
    select = next(s for s in html.fromstring(page).iter("select") if s.get("name") == name)
    return [(o.get("value"), o.text_content()) for o in select.iter("option")]


@pytest.fixture
def october_categories(start_case) -> dict:
    """Two October repairs at nanshan beside stats_month's uncategorised one: one of the
    kind 报修, one of a kind no longer in the list."""
    return {"repair": start_case("repair", {"category": "repair"}),
            "unlisted": start_case("repair", {"category": "burst_pipe"})}


def test_tables_name_procedures_departments_targets_and_staff(web, stats_month, stats_table):
    web.login("manager1")
    page = web.get_text(SEPTEMBER)
    assert list(first_cells(page, stats_table, "by_process")) == ["投诉处理", "报修处理"]
    departments = first_cells(page, stats_table, "by_department")
    assert list(departments) == ["工程部"] and departments["工程部"][1] == "5"  # the complaint is engineering's too
    assert set(first_cells(page, stats_table, "sla")) == {"维修人员到场", "填写维修单", "通知工程部取单", "维修回访",
                                                          "维修单第二、三联当天17:00前交回工程部主管",
                                                          "维修单第三联每月25日前送财务部"}
    staff = first_cells(page, stats_table, "by_staff")
    assert staff["王敏 (reception1)"][1] == "客服部" and staff["吴师傅 (tech1)"][1] == "工程部"


def test_named_rows_keep_ids_in_their_links(web, stats_month, stats_table):
    web.login("manager1")
    page = web.get_text(SEPTEMBER)
    ref = {name: case.reference for name, case in stats_month.items()}
    processes = label_links(page, stats_table, "by_process")
    assert processes["报修处理"] == {"d_process": ["repair"]}
    assert case_refs(web, web_link(page, stats_table, "by_process", "报修处理")) == {
        ref[n] for n in ("paid", "late", "cancelled", "open")}
    assert label_links(page, stats_table, "by_department")["工程部"] == {"d_department": ["engineering"]}
    assert label_links(page, stats_table, "sla", column=2)["维修人员到场"] == {
        "d_target": ["repair.arrive_now"], "d_sla": ["met"]}
    tech = label_links(page, stats_table, "by_staff", column=4)["吴师傅 (tech1)"]  # the breached column
    assert tech == {"d_staff": ["tech1"], "d_sla": ["breached"]}
    assert case_refs(web, web_link(page, stats_table, "by_staff", "吴师傅 (tech1)", column=4)) == {ref["late"]}



def test_names_in_english(web, client, stats_month, stats_table):
    web.login("manager1")
    client.get("/lang/en")
    page = web.get_text(SEPTEMBER)
    assert first_cells(page, stats_table, "by_department")["Engineering"][1] == "5"
    staff = first_cells(page, stats_table, "by_staff")
    assert staff["王敏 (reception1)"][1] == "Customer service" and staff["吴师傅 (tech1)"][1] == "Engineering"
    # sla.yaml names its targets in Chinese only: English shows the key
    assert "repair.arrive_now" in first_cells(page, stats_table, "sla")
    # a procedure reads as its diagram names it in English (its name_en)
    assert list(first_cells(page, stats_table, "by_process")) == ["Complaint", "Repair"]
    assert "Time used · repair.arrive_now" in page


def test_dropdowns_keep_ids_as_values_and_show_names(web, stats_month):
    web.login("manager1")
    page = web.get_text(f"{SEPTEMBER}&target=repair.order_written")
    assert options(page, "process") == [("", "全部"), ("complaint", "投诉处理"), ("repair", "报修处理")]
    targets = options(page, "target")
    assert ("repair.arrive_now", "维修人员到场") in targets and ("repair.order_written", "填写维修单") in targets
    assert '<option value="repair.order_written" selected>填写维修单</option>' in page
    assert "用时分布 · 填写维修单" in page
    filtered = web.get_text(f"{SEPTEMBER}&process=repair")
    assert '<option value="repair" selected>报修处理</option>' in filtered


def test_categories_are_named_and_an_unlisted_one_shows_its_id(web, client, stats_month, october_categories,
                                                               stats_table):
    web.login("manager1")
    page = web.get_text("/stats?month=2026-10")
    rows = first_cells(page, stats_table, "by_category")
    assert list(rows) == ["—", "burst_pipe", "报修"]  # no category, then by id
    assert label_links(page, stats_table, "by_category")["报修"] == {"d_category": ["repair"]}
    assert case_refs(web, web_link(page, stats_table, "by_category", "报修")) == {
        october_categories["repair"].reference}
    assert options(page, "category") == [("", "全部"), ("burst_pipe", "burst_pipe"), ("repair", "报修")]
    data = json.loads(html.fromstring(page).get_element_by_id("stats-data").text)
    assert data["category"]["labels"] == ["未分类", "burst_pipe", "报修"]
    filtered = web.get_text("/stats?month=2026-10&category=repair")
    assert '<option value="repair" selected>报修</option>' in filtered
    assert summary(filtered, stats_table)["受理案件"] == "1"
    client.get("/lang/en")
    page = web.get_text("/stats?month=2026-10")
    assert list(first_cells(page, stats_table, "by_category")) == ["—", "burst_pipe", "Repair"]
    assert ("repair", "Repair") in options(page, "category")
    data = json.loads(html.fromstring(page).get_element_by_id("stats-data").text)
    assert data["category"]["labels"] == ["Uncategorised", "burst_pipe", "Repair"]


def test_the_breakdowns_count_cases_only(web, stats_month, stats_table):
    """Issue #16: 报修 showed 案件数 1 beside 及时 4 (its timed steps); a case is on time when none
    of its timed steps was late. Steps are counted in 时限达成 and 按员工."""
    web.login("manager1")
    page = web.get_text(SEPTEMBER)
    for table_id in ("by_process", "by_category", "by_department"):
        rows = stats_table(page, table_id)
        headings = [heading for heading, _ in rows[0]]
        assert headings[1:] == ["案件数", "未结", "已结", "已取消", "返工", "及时案件", "超时案件", "案件及时率"]
        for row in rows[1:]:
            cells = dict(zip(headings, (text for text, _ in row), strict=True))
            assert int(cells["及时案件"]) + int(cells["超时案件"]) <= int(cells["案件数"]), (table_id, cells)


def test_the_dashboard_shows_the_patrol_rounds_coverage(web, start_case, clock, stats_table):
    """001/第1篇 2.3–2.5: a month with patrol rounds has their coverage table on the dashboard."""
    from tests.scenario.test_patrol import NOTHING, START

    start_case("patrol", START).complete("walk_round", "reception1", **NOTHING, checkpoints_visited=9,
                                         on_schedule=False)
    web.login("supervisor1")
    rows = stats_table(web.get_text(f"/stats?month={clock.now():%Y-%m}&site=nanshan"), "rounds")
    assert [text for text, _ in rows[0]] == ["流程", "巡查次数", "全部签到", "按时巡完", "计划签到点", "已签到点", "签到覆盖率"]
    assert [text for text, _ in rows[1]] == ["巡楼", "1", "0", "0", "12", "9", "75.0%"]



def test_the_cases_page_says_its_filters_in_words_not_codes(web, stats_month):
    web.login("manager1")
    page = web.get_text(f"/stats/cases?month={STATS_MONTH}&site=nanshan&process=repair&d_sla=breached"
                        "&d_target=repair.arrive_now&d_backlog=gt30d")
    said = page.split('<p class="drill">')[1].split("</p>")[0]
    for words in ("服务中心：南山花园服务中心", "流程：报修处理", "时限结果：超时", "时限目标：维修人员到场", "账龄：30天以上"):
        assert words in said, said
    assert "sla=" not in said and "repair" not in said

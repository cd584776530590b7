"""The monthly statistics dashboard in a real browser: ECharts draws the four charts,
a number opens its cases, and the page fits a phone."""

from __future__ import annotations

from pathlib import Path

import pytest

from web.stats import views as stats_views

pytestmark = pytest.mark.browser
STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
CHARTS = ("chart-trend", "chart-category", "chart-histogram", "chart-backlog")


@pytest.fixture
def this_month(live_app) -> list[str]:
    """Two repair cases opened now at nanshan, one of them cancelled; their references."""
    if not (STATIC / stats_views.ECHARTS).is_file():
        pytest.skip("ECharts is not installed in web/static/vendor (make assets)")
    runtime = live_app.runtime
    started = [runtime.start_instance("repair", {}, "reception1").instance for _ in range(2)]
    runtime.cancel_instance(started[1].id, "住户已自行修好", "supervisor1")
    return [case.reference for case in started]


def test_manager_sees_the_charts_and_follows_a_number(open_desk, this_month):
    desk = open_desk()
    desk.login("manager1")
    desk.page.get_by_role("link", name="月度统计").click()
    desk.loaded()
    for chart in CHARTS:  # ECharts draws on a canvas inside each chart's box
        desk.page.locator(f"#{chart} canvas").first.wait_for()
    assert desk.page.locator("#charts-missing").count() == 0
    desk.shot("stats-dashboard")
    # names for people, ids behind them
    assert desk.page.locator("#table-by_process tbody td").first.inner_text() == "报修处理"
    assert desk.page.locator("#table-sla tbody td").first.inner_text() == "填写维修单"
    assert desk.page.locator("select[name=process] option[value=repair]").inner_text() == "报修处理"
    assert desk.page.get_by_role("heading", name="用时分布 · 填写维修单").count() == 1
    summary = desk.page.locator("#table-summary")
    assert summary.locator("tr", has_text="受理案件").locator("td").nth(1).inner_text() == "2"
    summary.locator("tr", has_text="已取消案件").get_by_role("link").click()
    desk.loaded()
    assert desk.page.locator(".case-ref").all_inner_texts() == [this_month[1]]
    desk.shot("stats-cases-behind")


def test_dashboard_fits_a_phone(open_desk, this_month):
    phone = open_desk(phone=True)
    phone.login("supervisor1")
    phone.page.goto("/stats")
    phone.loaded()
    phone.page.locator("#chart-trend canvas").first.wait_for()
    overflow = phone.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow == 0
    phone.shot("phone-stats")

"""The inbox left open on the desk shows new tasks by itself, without a reload."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

REFRESH_MS = 30_000  # web/static/app.js


def test_a_new_case_appears_in_the_open_inbox_without_reloading(desk, live_app):
    page = desk.page
    page.clock.install()  # the page's timers run on a clock the test moves
    desk.login("reception1")
    assert page.locator("#inbox-rows").inner_text().strip() == "没有待办任务"
    page.evaluate("window.notReloaded = true")  # gone if the page were loaded again

    result = live_app.runtime.start_instance("water_leak", {"caller": "林先生", "phone": "13800000000"},
                                             "guard1")
    reference = result.instance.reference
    page.clock.run_for(REFRESH_MS - 1_000)
    assert reference not in page.locator("#inbox-rows").inner_text()  # not yet: refreshed every 30 s

    page.clock.run_for(2_000)
    row = page.locator("#inbox-rows tr").filter(has_text=reference)
    row.wait_for()
    assert "登记浸水报告并通知护管员到场" in row.inner_text()
    assert page.evaluate("window.notReloaded") is True
    desk.loaded()
    desk.shot("inbox-refreshed")

"""The pages on a phone (staff on their rounds use one) and the switch to English."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than the screen (0 when nothing scrolls sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_phone_pages_fit_the_screen(open_desk, water_leak_case):
    reference = water_leak_case
    phone = open_desk(phone=True)
    phone.login("reception1")
    assert horizontal_overflow(phone.page) == 0
    phone.shot("phone-inbox")
    phone.open_task(reference, "登记浸水报告并通知护管员到场")
    phone.submit()  # refused: the errors must fit too
    assert phone.page.locator(".field-error").count() == 2
    assert horizontal_overflow(phone.page) == 0
    phone.shot("phone-task-with-errors")
    phone.page.goto(f"/cases/{reference}")
    assert horizontal_overflow(phone.page) == 0
    phone.shot("phone-case")
    phone.page.goto("/cases/new")
    assert horizontal_overflow(phone.page) == 0
    phone.shot("phone-new-request")


def test_language_switch_to_english_and_back(desk, water_leak_case):
    reference, page = water_leak_case, desk.page
    desk.login("guard1")
    page.get_by_role("link", name="English").click()
    desk.loaded()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "My tasks"
    assert page.get_by_role("button", name="Log out").is_visible()

    # Engine codes read as words: the case status, the site, the task's state.
    page.goto(f"/cases/{reference}")
    summary = page.locator(".summary")
    assert summary.locator(".status-running").inner_text() == "In progress"
    assert summary.get_by_text("Nanshan Garden service centre").is_visible()
    assert "Open" in page.locator("ul.open-tasks").inner_text()
    assert page.locator("li.event-instance_started .element").inner_text() == "浸水处理"  # names stay as drawn
    desk.shot("case-in-english")

    desk.logout()
    desk.login("reception1")  # the language outlives the logout and the next login
    desk.open_task(reference, "登记浸水报告并通知护管员到场")
    assert "Task status: Open" in page.locator(".meta").inner_text()
    desk.submit()
    assert page.locator(".has-error").filter(has_text="Location").locator(".field-error").inner_text() \
        == "This field is required"
    desk.shot("task-in-english")

    page.get_by_role("link", name="中文").click()
    desk.loaded()
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_role("button", name="提交").is_visible()
    assert page.locator(".summary .status-running").inner_text() == "办理中"

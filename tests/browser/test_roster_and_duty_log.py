"""The duty desk in a browser: the supervisor builds the roster on a phone; the night clerk
writes the duty log and hands over to the day desk when the roster's handover opens."""

from __future__ import annotations

import pytest

from engine.accounts.users import load_actor
from engine.clock import FakeClock
from engine.duty import roster
from engine.duty.desk import run_duty_pass
from engine.runtime.queries import list_tasks
from tests.browser.test_phone_and_language import horizontal_overflow
from tests.scenario.duty_month import (
    MONTH,
    SITE,
    add_people,
    desk_clerk,
    full_assignments,
    local,
    publish_month,
    shift_id,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def clock():
    """The duty desk runs on the roster's time: the test sets the clock to the moment it needs."""
    return FakeClock(local("2026-11-20 10:00"))


def test_the_supervisor_builds_the_roster_on_a_phone(open_desk, live_app):
    runtime = live_app.runtime
    add_people(runtime)
    slots = full_assignments(runtime)
    last = max(slots)
    roster.save_roster(runtime, SITE, MONTH, {**slots, last: ""}, "supervisor1")  # all but the last slot
    phone = open_desk(phone=True)
    phone.login("supervisor1")
    phone.page.goto(f"/duty/roster/{SITE}/{MONTH}")
    phone.loaded()
    assert "已排 177 / 178 个班次" in phone.page.locator(".roster-status").inner_text()
    assert horizontal_overflow(phone.page) == 0
    phone.shot("roster-draft-on-a-phone")
    phone.page.select_option(f'select[name="a:{last[0].isoformat()}/{last[1]}"]', slots[last])
    phone.page.get_by_role("button", name="发布").click()
    phone.loaded()
    assert "值班安排表已发布" in phone.page.locator("main").inner_text()
    assert "已发布" in phone.page.locator(".roster-status").inner_text()
    assert horizontal_overflow(phone.page) == 0
    phone.shot("roster-published")
    with runtime.db.read_session() as session:
        assert roster.roster_view(session, SITE, MONTH).status == "published"


def test_the_night_clerk_writes_the_log_and_hands_over(open_desk, live_app):
    runtime = live_app.runtime
    view = publish_month(runtime)
    night, clerk = shift_id(view, "2026-12-01", "duty"), desk_clerk(view, "2026-12-01", "duty")
    runtime.clock.set(local("2026-12-02 06:40"))
    desk = open_desk()
    desk.login(clerk)
    desk.page.goto(f"/duty/shifts/{night}")
    desk.loaded()
    desk.fill("值班情况", "06:30 地下车库B2积水")
    desk.fill("处理经过", "已通知工程部抽水，设置警示牌")
    desk.page.get_by_role("button", name="记入值班记录").click()
    desk.loaded()
    assert "06:30 地下车库B2积水" in desk.page.locator("ol.duty-log").inner_text()
    desk.shot("duty-log-entry")

    runtime.clock.set(local("2026-12-02 08:15"))  # 15 minutes before the change: the handover opens
    run_duty_pass(runtime)
    desk.page.goto("/")
    row = desk.page.locator("#inbox-rows tr").filter(has_text="交班人整理公物、完成值班记录")
    row.get_by_role("link", name="交班人整理公物、完成值班记录").click()
    desk.loaded()
    for label in ("公物已摆放整齐", "桌面、桌椅已清洁", "值班记录已完成", "已收集整理工作证据"):
        desk.tick(label)
    desk.fill("本班值班情况", "B2积水已处理")
    desk.fill("未完成的工作", "无")
    # 交班人 is whoever is signed in: shown by name, nothing to type (issue #16).
    with runtime.db.read_session() as session:
        name = load_actor(session, clerk).name
    assert desk.page.locator("#f-outgoing_staff").inner_text() == name
    assert desk.page.locator("input[name=outgoing_staff]").count() == 0
    desk.shot("handover-form")
    desk.submit()
    desk.shot("handover-prepared")
    run_duty_pass(runtime)
    with runtime.db.read_session() as session:
        open_now = [(t.element_id, t.assignee) for t in list_tasks(session) if t.element_id == "count_equipment"]
    assert open_now == [("count_equipment", desk_clerk(view, "2026-12-02", "day"))]

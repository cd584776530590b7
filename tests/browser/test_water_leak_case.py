"""A water-leak case (浸水处理, processes/water_leak.bpmn) worked from intake to close in
the browser, each role logging in at its turn, as the people at the service centre do."""

from __future__ import annotations

import pytest

from engine.audit.events import EventType
from engine.runtime.queries import get_instance_row, list_events

pytestmark = pytest.mark.browser

# Local times as typed into the datetime inputs (Asia/Shanghai).
RECEIVED, ARRIVED, POWER_CUT, REPAIRED, CLOSED = ("2026-11-23T17:05", "2026-11-23T17:12", "2026-11-23T17:14",
                                                 "2026-11-23T18:30", "2026-11-23T18:45")


def test_water_leak_case_from_intake_to_close(desk, live_app):
    page = desk.page

    # 接待员 takes the call on the new-case page and goes straight on to registering it.
    desk.login("reception1")
    desk.shot("reception-inbox")
    page.locator("header .start-menu summary").click()  # the header's 新建 menu
    page.locator("header .start-menu").get_by_role("link", name="浸水处理", exact=True).click()
    desk.loaded()
    desk.fill("求助人", "林先生")
    desk.fill("联系电话", "13800000000")
    desk.shot("start-water-leak")
    page.get_by_role("button", name="开始").click()
    desk.loaded()
    assert page.locator("h1").inner_text() == "登记浸水报告并通知护管员到场"
    reference = page.locator(".summary h2 a").inner_text()
    assert reference.startswith("JS-")
    assert page.get_by_label("报告人").input_value() == "林先生"  # what the intake recorded is filled in
    # A required field is announced by its words and as required, not as "star".
    assert page.get_by_role("textbox", name="浸水地点", exact=True).get_attribute("aria-required") == "true"
    desk.fill("浸水地点", "5栋3楼302")
    desk.fill("浸水情况", "厨房天花板往下滴水，地面积水")
    desk.fill("接报时间", RECEIVED)
    desk.shot("register-leak")
    desk.submit()
    assert page.locator(".flash").inner_text() == "已提交"
    assert page.locator("h1").inner_text() == f"案件详情 {reference}"  # the next step is another role's
    desk.shot("registered")
    desk.logout()

    # 护管员 goes to the scene, finds wet switches, cuts the power, then stops the water.
    desk.login("guard1")
    desk.open_task(reference, "立即到场并查看附近电掣")
    desk.fill("到场时间", ARRIVED)
    desk.tick("电掣已浸水")
    desk.fill("浸水电掣", "厨房插座")
    desk.shot("go-to-scene")
    desk.submit()
    assert page.locator("h1").inner_text() == "立即切断电源"  # straight on to the guard's next task
    desk.submit()  # without ticking "power cut" the form refuses
    assert page.locator(".has-error").filter(has_text="已切断电源").locator(".field-error").inner_text() \
        == "提交前必须勾选"
    desk.shot("cut-power-refused")
    desk.tick("已切断电源")
    desk.fill("断电时间", POWER_CUT)
    desk.fill("所断电闸", "302户配电箱总闸")
    desk.submit()
    assert page.locator("h1").inner_text() == "查找水源，关闭水阀或疏通下水道"
    desk.tick("关闭水阀")
    desk.fill("水阀位置", "厨房水表阀")
    desk.tick("本物业设施")
    desk.tick("呼叫工程部")
    desk.shot("stop-water")
    desk.submit()
    desk.logout()

    # 工程部主管 sends a technician; 维修人员 repairs the estate's pipe.
    desk.login("engsup1")
    desk.open_task(reference, "工程部派人到场处理")
    desk.fill("派出人员", "吴师傅")
    desk.fill("处理情况", "关闭单元总阀，抽排积水")
    desk.shot("engineering-handle")
    desk.submit()
    # On the case page the supervisor notes what the record should keep beside the steps.
    page.goto(f"/cases/{reference}")
    page.locator("#comments button[type=submit]").click()  # an empty comment is refused, nothing lost
    desk.loaded()
    assert page.locator("#comments .field-error").inner_text() == "此项必填"
    desk.fill("备注", "楼下301天花板也有水渍，已告知住户稍后查看")
    page.locator("#comments button[type=submit]").click()
    desk.loaded()
    assert page.locator(".flash").inner_text() == "已添加备注"
    comment = page.locator("ol.timeline li.event-comment_added")
    assert comment.locator(".actor").inner_text() == "周工 (engsup1)"
    assert comment.locator("dd").inner_text() == "楼下301天花板也有水渍，已告知住户稍后查看"
    desk.shot("comment-added")
    desk.logout()
    desk.login("tech1")
    desk.open_task(reference, "维修本物业设施")
    desk.fill("维修设施", "厨房给水管")
    desk.fill("维修情况", "更换接头，已恢复供水")
    desk.fill("修复时间", REPAIRED)
    desk.shot("repair-facility")
    desk.submit()
    desk.logout()

    # 接待员 writes the duty log and the case closes.
    desk.login("reception1")
    desk.open_task(reference, "作好值班记录")
    desk.fill("值班记录", "5栋3楼302浸水，已处理完毕")
    desk.fill("处理完毕时间", CLOSED)
    desk.tick("已反馈住户")
    desk.submit()

    assert page.locator("h1").inner_text() == f"案件详情 {reference}"
    assert page.locator(".summary .status-completed").inner_text() == "已办结"
    assert page.locator(".summary").get_by_text("南山花园服务中心").count() == 1
    assert page.locator("ul.open-tasks").count() == 0
    steps = [(row.locator(".element").inner_text(), row.locator(".actor").inner_text())
             for row in page.locator("ol.timeline li.event-task_completed").all()]
    assert steps == [
        ("登记浸水报告并通知护管员到场", "王敏 (reception1)"),
        ("立即到场并查看附近电掣", "赵刚 (guard1)"),
        ("立即切断电源", "赵刚 (guard1)"),
        ("查找水源，关闭水阀或疏通下水道", "赵刚 (guard1)"),
        ("工程部派人到场处理", "周工 (engsup1)"),
        ("维修本物业设施", "吴师傅 (tech1)"),
        ("作好值班记录", "王敏 (reception1)"),
    ]
    assert page.locator("ol.timeline li.event-instance_finished").count() == 1
    desk.shot("case-closed")

    # What the browser posted reached the audit trail typed, with local times kept as +08:00.
    with live_app.runtime.db.session() as session:
        events = list_events(session, get_instance_row(session, reference).id)
    submitted = {e.element_id: e.data["submitted"] for e in events if e.type == EventType.TASK_COMPLETED}
    assert submitted["go_to_scene"]["switches_wet"] is True
    assert submitted["cut_power"] == {"power_cut": True, "power_cut_at": "2026-11-23T17:14:00+08:00",
                                      "breaker": "302户配电箱总闸"}
    assert submitted["stop_water"]["escalation"] == "engineering"
    assert submitted["record_duty_log"]["result_fed_back"] is True

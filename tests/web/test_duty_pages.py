"""The duty desk's pages and API: the roster grid, a shift's duty log, leave requests, call_answered."""

from __future__ import annotations

import io

from sqlalchemy import select

from engine.audit.events import EventType
from engine.duty import logbook, roster
from engine.duty.desk import run_duty_pass
from engine.duty.journal import events_of, shift_element
from engine.store.models import DutyRequest
from tests.scenario.duty_month import (
    MONTH,
    SITE,
    add_people,
    at,
    desk_clerk,
    full_assignments,
    publish_month,
    shift_id,
)


def grid_form(assignments) -> dict:
    return {f"a:{day.isoformat()}/{post}": username for (day, post), username in assignments.items()}


def test_the_supervisor_builds_and_publishes_the_roster_on_the_page(web, runtime):
    at(runtime, "2026-11-20 10:00")
    add_people(runtime)
    web.login("supervisor1")
    page = web.get_text(f"/duty/roster/{SITE}/{MONTH}")
    assert "住户服务中心值班安排表" in page and "未编排" in page and "节假日24小时值班" in page
    assignments = grid_form(full_assignments(runtime))
    broken = {**assignments, "a:2026-12-01/day": "guard1", "a:2026-12-02/day": "reception4"}
    answer = web.post(f"/duty/roster/{SITE}/{MONTH}", {**broken, "action": "save"})
    assert answer.status_code == 422
    text = answer.get_data(as_text=True)
    assert "guard1 不是本中心的该岗位人员" in text
    assert '<select name="a:2026-12-02/day" id="a-2026-12-02/day">' in text  # the typed choice is kept:
    assert text.split('id="a-2026-12-02/day">')[1].split("</select>")[0].count("selected") == 1
    assert 'value="reception4" selected' in text.split('id="a-2026-12-02/day">')[1].split("</select>")[0]
    answer = web.post(f"/duty/roster/{SITE}/{MONTH}", {**assignments, "action": "publish"})
    assert answer.status_code == 302
    page = web.get_text(f"/duty/roster/{SITE}/{MONTH}")
    assert "已发布" in page and "已排 178 / 178 个班次" in page
    with runtime.db.read_session() as session:
        assert roster.roster_view(session, SITE, MONTH).status == "published"
    csv = web.client.get(f"/duty/roster/{SITE}/{MONTH}/export.csv")
    assert csv.get_data().decode("utf-8-sig").splitlines()[1] == "2026-12-01,nanshan,day,reception1,王敏"


def test_a_clerk_may_not_edit_the_roster(web, runtime):
    at(runtime, "2026-11-20 10:00")
    add_people(runtime)
    web.login("reception1")
    answer = web.post(f"/duty/roster/{SITE}/{MONTH}", {**grid_form(full_assignments(runtime)), "action": "save"})
    assert answer.status_code == 403 and "只有本中心的主管可以编排值班安排表" in answer.get_data(as_text=True)


def test_the_night_clerk_writes_and_corrects_the_log(web, runtime):
    at(runtime, "2026-11-20 10:00")
    view = publish_month(runtime)
    shift, clerk = shift_id(view, "2026-12-01", "duty"), desk_clerk(view, "2026-12-01", "duty")
    at(runtime, "2026-12-01 21:00")
    web.login(clerk)
    answer = web.post(f"/duty/shifts/{shift}", {"happened": "", "done": "已处理"})
    assert answer.status_code == 422 and "请填写值班情况" in answer.get_data(as_text=True) \
        and "已处理" in answer.get_data(as_text=True)
    assert web.post(f"/duty/shifts/{shift}", {"happened": "21:05 大堂有住户反映噪音", "done": "已劝导"}).status_code == 302
    with runtime.db.read_session() as session:
        [first] = events_of(session, shift_element(shift), EventType.DUTY_LOG_ENTRY)
    web.post(f"/duty/shifts/{shift}", {"happened": "21:05 2栋大堂噪音", "done": "已劝导", "corrects": str(first.id)})
    page = web.get_text(f"/duty/shifts/{shift}")
    assert "21:05 大堂有住户反映噪音" in page and "21:05 2栋大堂噪音" in page
    assert f"更正 #{first.id}" in page and f"已由 #{first.id + 1} 更正" in page


def test_a_closed_shift_page_is_read_only(web, runtime):
    at(runtime, "2026-11-20 10:00")
    view = publish_month(runtime)
    shift, clerk = shift_id(view, "2026-12-01", "day"), desk_clerk(view, "2026-12-01", "day")
    at(runtime, "2026-12-01 18:00")
    run_duty_pass(runtime)
    web.login(clerk)
    page = web.get_text(f"/duty/shifts/{shift}")
    assert "本班已结束，记录只读" in page and "记入值班记录" not in page
    answer = web.post(f"/duty/shifts/{shift}", {"happened": "补记", "done": ""})
    assert answer.status_code == 403 and "值班记录只读" in answer.get_data(as_text=True)


def test_leave_is_asked_and_approved_on_the_duty_page(web, runtime):
    at(runtime, "2026-11-20 10:00")
    view = publish_month(runtime)
    shift, clerk = shift_id(view, "2026-12-10", "duty"), desk_clerk(view, "2026-12-10", "duty")
    web.login(clerk)
    assert "向主管请假" in web.get_text("/duty/")
    web.post(f"/duty/shifts/{shift}/leave", {"reason": "家中有事"})
    web.logout()
    web.login("supervisor1")
    with runtime.db.read_session() as session:
        request_id = session.scalar(select(DutyRequest.id))
    assert "家中有事" in web.get_text("/duty/")
    web.post(f"/duty/requests/{request_id}", {"action": "approve"})
    web.post(f"/duty/requests/{request_id}", {"action": "substitute", "substitute": "reception4"})
    with runtime.db.read_session() as session:
        assert [e.type for e in events_of(session, shift_element(shift))] == [
            EventType.DUTY_REQUESTED, EventType.DUTY_REQUEST_DECIDED, EventType.SHIFT_REASSIGNED]


def test_the_phone_system_reports_calls_answered(api, runtime, web):
    at(runtime, "2026-11-20 10:00")
    view = publish_month(runtime)
    shift = shift_id(view, "2026-12-01", "duty")
    at(runtime, "2026-12-01 22:00")
    answer = api.post("/duty/calls", "reception1", json={"event": "call_answered", "site": SITE, "rings": 4,
                                                          "caller": "13800000000"})
    assert answer.status_code == 201 and answer.get_json() == {"recorded": True, "shift": shift}
    assert api.post("/duty/calls", "reception1", json={"site": SITE, "rings": "x"}).status_code in (400, 422)
    web.login("supervisor1")
    assert "来电 1 个，其中超过三声接听 1 个" in web.get_text(f"/duty/shifts/{shift}")


def test_the_months_figures_page_is_for_supervisors(web, runtime):
    at(runtime, "2026-11-20 10:00")
    view = publish_month(runtime)
    at(runtime, "2026-12-01 22:00")
    clerk = desk_clerk(view, "2026-12-01", "duty")
    logbook.record_call(runtime, SITE, 6, "", "phone_system", "system")
    web.login("supervisor1")
    page = web.get_text(f"/duty/figures/{SITE}/{MONTH}")
    row = page.split("周丽" if clerk == "reception3" else "王敏")[1].split("</tr>")[0]
    assert [cell.split(">")[-1] for cell in row.split("</td>")[1:7]] == [
        str(sum(1 for _, _, cells in view.days for post in ("day", "duty")
                if post in cells and cells[post].username == clerk)), "0", "0", "0", "1", "1"]
    web.logout()
    web.login("reception1")
    assert web.client.get(f"/duty/figures/{SITE}/{MONTH}").status_code == 403


def test_residents_see_neither_the_roster_nor_a_duty_log(web, runtime):
    at(runtime, "2026-11-20 10:00")
    view = publish_month(runtime)
    web.login("resident1")
    for path in ("/duty/", f"/duty/roster/{SITE}/{MONTH}", f"/duty/shifts/{shift_id(view, '2026-12-01', 'duty')}"):
        assert web.client.get(path).status_code == 403, path


def test_a_roster_saved_by_someone_else_meanwhile_is_a_conflict_that_keeps_the_work(web, runtime):
    at(runtime, "2026-11-20 10:00")
    add_people(runtime)
    slots = full_assignments(runtime)
    roster.save_roster(runtime, SITE, MONTH, {}, "supervisor1")
    web.login("supervisor1")
    page = web.get_text(f"/duty/roster/{SITE}/{MONTH}")
    seen = page.split('name="version" value="')[1].split('"')[0]
    roster.save_roster(runtime, SITE, MONTH, {min(slots): slots[min(slots)]}, "manager1")  # someone else
    answer = web.post(f"/duty/roster/{SITE}/{MONTH}", {**grid_form(slots), "version": seen, "action": "save"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 409 and "值班安排表已被他人修改" in text
    cell = text.split('id="a-2026-12-03/day">')[1].split("</select>")[0]
    assert f'value="{slots[(min(slots)[0].replace(day=3), "day")]}" selected' in cell  # the typed choice kept
    with runtime.db.read_session() as session:
        assert roster.roster_view(session, SITE, MONTH).filled == 1  # nothing of the stale page written


def test_the_supervisor_imports_a_roster_file_on_the_page(web, runtime):
    at(runtime, "2026-11-20 10:00")
    add_people(runtime)
    roster.save_roster(runtime, SITE, MONTH, full_assignments(runtime), "supervisor1")
    web.login("supervisor1")
    exported = web.client.get(f"/duty/roster/{SITE}/{MONTH}/export.csv").get_data()
    roster.save_roster(runtime, SITE, MONTH, {}, "supervisor1")  # emptied again
    answer = web.post("/duty/roster/import", {"file": (io.BytesIO(exported), "roster.csv")},
                      content_type="multipart/form-data")
    assert answer.status_code == 302
    assert "已排 178 / 178 个班次" in web.get_text(f"/duty/roster/{SITE}/{MONTH}")
    bad = web.post("/duty/roster/import", {"file": (io.BytesIO("日期,人\n".encode()), "roster.csv"),
                                           "site": SITE, "month": MONTH}, content_type="multipart/form-data")
    assert bad.status_code == 302
    assert "第一行应为表头：date,site,post,username,name" in web.get_text(f"/duty/roster/{SITE}/{MONTH}")

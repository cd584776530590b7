"""The inbox: my tasks and my roles' tasks, claiming, reassigning, the refreshed rows."""

from __future__ import annotations

import re


def test_inbox_lists_my_roles_open_tasks_with_case_details(web, cases):
    case = cases.start(description="晕倒")
    web.login("reception1")
    page = web.get_text("/")
    assert case.reference in page
    assert "急救病人" in page  # procedure name
    assert "3-2-1201" in page  # unit
    assert "登记病人地址与电话、询问求助方式" in page
    assert "认领" in page
    assert 'data-refresh="/inbox/rows"' in page


def test_inbox_does_not_show_other_roles_tasks(web, cases):
    case = cases.start()
    web.login("guard1")
    page = web.get_text("/")
    assert case.reference not in page
    assert "没有待办任务" in page


def test_inbox_rows_is_only_the_table_body(web, cases):
    case = cases.start()
    web.login("reception1")
    rows = web.get_text("/inbox/rows")
    assert case.reference in rows
    assert "<html" not in rows and "<tr" in rows


def test_claim_then_release_a_task(web, cases):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    web.login("reception1")
    response = web.post(f"/tasks/{task.id}/claim")
    assert response.status_code == 302
    assert cases.task(case.id, "choose_help").assignee == "reception1"
    page = web.get_text("/")
    assert "放弃" in page
    web.post(f"/tasks/{task.id}/unclaim")
    assert cases.task(case.id, "choose_help").assignee is None


def test_claiming_a_task_twice_is_a_conflict(web, cases):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    web.login("reception1")
    first = web.post(f"/tasks/{task.id}/claim")
    assert first.status_code == 302 and first.headers["Location"] == "/"
    assert cases.task(case.id, "choose_help").assignee == "reception1"
    again = web.post(f"/tasks/{task.id}/claim")
    assert again.status_code == 409
    page = again.get_data(as_text=True)
    assert "状态冲突" in page and task.name in page  # which task could not be claimed
    assert cases.task(case.id, "choose_help").assignee == "reception1"
    assert len(cases.events(case.id, "task_claimed")) == 1  # the refused claim left no trace


def test_task_claimed_by_someone_else_shows_the_holder_and_no_claim_button(web, cases, runtime):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    runtime.claim_task(task.id, "reception3")
    web.login("reception1")
    rows = web.get_text("/inbox/rows")
    assert "reception3" in rows
    assert f"/tasks/{task.id}/claim" not in rows


def test_manager_sees_reassign_select_and_can_reassign(web, cases):
    case = cases.start()
    cases.complete(case.id, "choose_help", "reception1", help_type="hospital")
    cases.complete(case.id, "notify_security_lead", "reception1")
    cases.complete(case.id, "dispatch_guards", "seclead1")
    cases.complete(case.id, "arrange_vehicle", "reception1")
    cases.complete(case.id, "first_aid", "guard1")
    cases.complete(case.id, "escort_to_hospital", "guard1")
    task = cases.task(case.id, "arrange_more_help")  # the security supervisor's (001/第6篇 4.2 1)① 部门主管)
    web.login("manager1")
    rows = web.get_text("/")  # among the manager's team's tasks (departments.yaml: 管理处 oversees 护管部)
    assert f"/tasks/{task.id}/reassign" in rows
    assert '<option value="secsup1">' in rows and '<option value="supervisor1">' not in rows
    response = web.post(f"/tasks/{task.id}/reassign", {"to_user": "secsup1", "reason": "夜班人手不足"})
    assert response.status_code == 302
    assert cases.task(case.id, "arrange_more_help").assignee == "secsup1"


def test_reassign_to_someone_without_the_role_is_refused(web, cases):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    web.login("supervisor1")
    assert web.post(f"/tasks/{task.id}/reassign", {"to_user": "guard1", "reason": "试试"}).status_code == 400
    assert cases.task(case.id, "choose_help").assignee is None


def test_reception_has_no_reassign_select(web, cases):
    cases.start()
    web.login("reception1")
    assert 'name="to_user"' not in web.get_text("/")


def test_overdue_task_is_marked_red(web, cases, clock):
    case = cases.start()
    cases.complete(case.id, "choose_help", "reception1", help_type="nursing", major=True)
    web.login("manager1")  # a major case: the manager's task is open at once
    page = web.get_text("/")
    assert "立即接报重大急救事件" in page
    assert not re.search(r'<tr class="overdue">', page)
    clock.advance(hours=1)
    page = web.get_text("/inbox/rows")
    assert '<tr class="overdue">' in page
    assert "已超时" in page


def test_the_task_list_where_people_look_for_it_is_the_inbox(web):
    web.login("reception1")
    response = web.client.get("/tasks")
    assert (response.status_code, response.headers["Location"]) == (302, "/")
    assert "待办任务" in web.get_text("/")

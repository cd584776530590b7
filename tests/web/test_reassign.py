"""Reassigning from the inbox and the case page (issue #16): a supervisor sees the open tasks of
their team at their site and gives one to another member of its role, saying why; the reason
is in the audit trail and on the case's record."""

from __future__ import annotations


def _row(page: str, task_id: str) -> str:
    start = page.index(f"/tasks/{task_id}\"")
    return page[start:page.index("</tr>", start)]


def test_supervisor_reassigns_a_clerks_task_from_the_inbox(web, cases, runtime):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    runtime.claim_task(task.id, "reception1")
    web.login("supervisor1")
    page = web.get_text("/")
    assert "本组任务" in page
    row = _row(page, task.id)
    assert f"/tasks/{task.id}/reassign" in row and 'name="reason"' in row
    assert '<option value="supervisor1">' not in row  # the clerk's role: reception at nanshan
    assert '<option value="reception2">' not in row  # reception, but at binhai
    runtime.unclaim_task(task.id, "supervisor1")
    response = web.post(f"/tasks/{task.id}/reassign", {"to_user": "reception1", "reason": "她在前台"})
    assert response.status_code == 302
    assert cases.task(case.id, "choose_help").assignee == "reception1"
    [event] = cases.events(case.id, "task_reassigned")
    assert (event.actor, event.data["to"], event.data["reason"]) == ("supervisor1", "reception1", "她在前台")
    record = web.get_text(f"/cases/{case.reference}")
    assert "<dt>说明</dt><dd>她在前台</dd>" in record


def test_reassign_without_a_reason_is_refused_in_chinese(web, cases):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    web.login("supervisor1")
    response = web.post(f"/tasks/{task.id}/reassign", {"to_user": "reception1"}, follow_redirects=True)
    assert "请选择转派给谁并写明原因" in response.get_data(as_text=True)
    assert cases.task(case.id, "choose_help").assignee is None
    assert not cases.events(case.id, "task_reassigned")


def test_case_page_offers_reassign_to_supervisors_only(web, cases):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    web.login("reception1")
    assert f"/tasks/{task.id}/reassign" not in web.get_text(f"/cases/{case.reference}")
    web.logout()
    web.login("manager1")
    page = web.get_text(f"/cases/{case.reference}")
    assert f"/tasks/{task.id}/reassign" in page and '<option value="reception1">' in page
    response = web.post(f"/tasks/{task.id}/reassign", {"to_user": "reception1", "reason": "值班",
                                                       "next": f"/cases/{case.reference}"})
    assert response.headers["Location"].endswith(f"/cases/{case.reference}")
    assert cases.task(case.id, "choose_help").assignee == "reception1"


def test_manager_oversees_every_department_and_a_supervisor_only_theirs(web, cases):
    case = cases.start()
    cases.complete(case.id, "choose_help", "reception1", help_type="hospital")
    cases.complete(case.id, "notify_security_lead", "reception1")
    guards = cases.task(case.id, "dispatch_guards")  # the security lead's task
    web.login("supervisor1")
    assert f"/tasks/{guards.id}\"" not in web.get_text("/")
    web.logout()
    web.login("manager1")
    assert f"/tasks/{guards.id}/reassign" in _row(web.get_text("/"), guards.id)


def test_api_reassign_keeps_its_reason(api, cases):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    response = api.post(f"/tasks/{task.id}/reassign", "supervisor1", json={"to": "reception1", "reason": "换班"})
    assert response.status_code == 200 and response.get_json()["assignee"] == "reception1"
    [event] = cases.events(case.id, "task_reassigned")
    assert event.data["reason"] == "换班"


def _with_second_technician(runtime):
    from engine.accounts.users import demo_password_hash, upsert_user

    with runtime.transaction() as session:
        upsert_user(session, "tech2", "郭师傅", ["technician"], "nanshan", demo_password_hash())


def test_the_engineering_supervisor_reassigns_a_technicians_task_but_not_the_desks(web, start_case, runtime):
    """A department head (工程部主管, 护管部主管) gives their own department's tasks to another of its
    people (departments.yaml), e.g. 督促维修人员到场 finds tech1 away; the desk's tasks stay the CS
    supervisor's to move."""
    from tests.scenario.test_repair import DISPATCH, NOTIFY, ORDER

    _with_second_technician(runtime)
    repair = start_case("repair")
    repair.complete("write_order", "reception1", **ORDER)
    repair.complete("notify_engineering", "reception1", **NOTIFY)
    repair.complete("assign_technician", "engsup1", **DISPATCH)
    arrive = repair.task("arrive_now")
    assert arrive.assignee == "tech1"
    desk_case = start_case("emergency_patient", {"caller": "林先生", "unit": "3-2-1201", "phone": "13800000000"})
    desk_task = desk_case.open_tasks()[0]

    web.login("engsup1")
    inbox = web.get_text("/")
    row = _row(inbox, arrive.id)
    assert f"/tasks/{arrive.id}/reassign" in row and '<option value="tech2">' in row
    assert f"/tasks/{desk_task.id}/reassign" not in inbox
    response = web.post(f"/tasks/{arrive.id}/reassign", {"to_user": "tech2", "reason": "吴师傅在另一单"})
    assert response.status_code == 302
    assert repair.task("arrive_now").assignee == "tech2"
    [event] = repair.events("task_reassigned")
    assert (event.actor, event.data["previous"], event.data["to"], event.data["reason"]) == (
        "engsup1", "tech1", "tech2", "吴师傅在另一单")

    refused = web.post(f"/tasks/{desk_task.id}/reassign", {"to_user": "reception3", "reason": "试试"})
    said = refused.get_data(as_text=True)
    assert refused.status_code == 403 and "主管" in said and "only a supervisor" not in said
    assert desk_case.open_tasks()[0].assignee is None and not desk_case.events("task_reassigned")


def test_no_reassign_form_when_nobody_else_holds_the_role(web, start_case):
    """Nanshan has one technician: the engineering supervisor is offered no empty 转派 form for his task."""
    from tests.scenario.test_repair import DISPATCH, NOTIFY, ORDER

    repair = start_case("repair")
    repair.complete("write_order", "reception1", **ORDER)
    repair.complete("notify_engineering", "reception1", **NOTIFY)
    repair.complete("assign_technician", "engsup1", **DISPATCH)
    arrive = repair.task("arrive_now")
    web.login("engsup1")
    assert f"/tasks/{arrive.id}/reassign" not in _row(web.get_text("/"), arrive.id)

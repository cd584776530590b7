"""Tasks over the API: the inbox, a task with its form, claiming, completing, and the
optimistic lock that turns a stale completion into 409."""

from __future__ import annotations

import pytest

from engine.runtime.queries import get_task

# A well-formed task id that no case has; fixed, so the test ids are alike in every run.
NO_SUCH_TASK = "3f1c2a9e-6b7d-4e0f-8a51-9c2d7e4b6a10"


def open_case(api, user="reception1", **changes) -> dict:
    body = {"category": "emergency_patient", "caller": "林先生", "unit": "3-2-1201", "phone": "13800000000",
            **changes}
    response = api.post("/cases", user, json=body)
    assert response.status_code == 201, response.json
    return response.json


def test_inbox_lists_my_roles_open_tasks_oldest_first(api, cases, clock):
    first = cases.start()
    clock.advance(minutes=1)
    second = cases.start()
    response = api.get("/tasks", "reception1")
    assert response.status_code == 200
    tasks = response.json["tasks"]
    assert [t["case"] for t in tasks] == [first.reference, second.reference]
    assert tasks[0]["element_id"] == "choose_help" and tasks[0]["role"] == "reception"
    assert tasks[0]["status"] == "ready" and tasks[0]["assignee"] is None and tasks[0]["overdue"] is False
    assert api.get("/tasks", "guard1").json["tasks"] == []


def test_inbox_puts_my_claimed_tasks_first_and_filters_narrow_it(api, cases, runtime):
    first, second = cases.start(), cases.start()
    mine = cases.task(second.id, "choose_help")
    runtime.claim_task(mine.id, "reception1")
    other = cases.task(first.id, "choose_help")

    def ids(query):
        response = api.get(f"/tasks{query}", "reception1")
        assert response.status_code == 200, response.json
        return [t["id"] for t in response.json["tasks"]]

    assert ids("") == [mine.id, other.id]
    assert ids("?scope=mine") == [mine.id]
    assert ids("?scope=roles&status=ready") == [other.id]
    assert ids("?status=claimed") == [mine.id]
    assert ids(f"?case={first.reference}") == [other.id]
    assert ids(f"?case={second.id}&role=reception") == [mine.id]


@pytest.mark.parametrize(("query", "status", "field"), [
    ("?scope=everything", 422, "scope"),
    ("?status=completed", 422, "status"),
    ("?case=JJ-20000101-0001", 404, None),
    ("?role=guard", 403, None),
])
def test_inbox_refuses_bad_filters(api, query, status, field):
    response = api.get(f"/tasks{query}", "reception1")
    assert response.status_code == status
    assert response.json["error"]
    if field:
        assert set(response.json["fields"]) == {field}


def test_task_comes_with_its_form_instructions_clause_and_etag(api, cases):
    case = cases.start(description="老人晕倒")
    cases.complete(case.id, "choose_help", "reception1", help_type="hospital", condition="摔伤")
    task = cases.task(case.id, "notify_security_lead")
    response = api.get(f"/tasks/{task.id}", "reception1")
    assert response.status_code == 200
    body = response.json
    assert body["name"] == "通知护管值班负责人派员" and body["case"] == case.reference
    assert body["clause"] == "001/第6篇 4.2 1)①; 002 4.2.1"
    assert body["instructions"] == "病人地址：3-2-1201\n联系电话：13800000000\n病情：摔伤"
    assert body["form_schema"]["type"] == "object"
    assert "security_lead_name" in body["form_schema"]["properties"]
    assert body["data"]["condition"] == "摔伤"
    assert response.headers["ETag"] == f'"{body["version"]}"' and body["version"] == cases.lock_version(case.id)


def test_task_shows_when_its_time_limit_runs_out(api, cases, clock):
    case = cases.start()
    cases.complete(case.id, "choose_help", "reception1", help_type="nursing", major=True)
    task = cases.task(case.id, "manager_review")  # a major case: the manager's task opens at once
    body = api.get(f"/tasks/{task.id}", "manager1").json
    assert body["due_at"] == task.due_at.isoformat() and body["overdue"] is False
    assert body["time_left_seconds"] == (task.due_at - clock.now()).total_seconds() == 300  # 5 minutes
    clock.advance(minutes=4, seconds=30)
    assert api.get(f"/tasks/{task.id}", "manager1").json["time_left_seconds"] == 30
    clock.advance(hours=1)
    late = api.get(f"/tasks/{task.id}", "manager1").json
    assert late["overdue"] is True and late["time_left_seconds"] == -(3600 - 30)
    assert api.get("/tasks", "manager1").json["tasks"][0]["time_left_seconds"] == -(3600 - 30)


@pytest.mark.parametrize("task_id", [NO_SUCH_TASK, "not-a-task"])
def test_unknown_task_is_404(api, task_id):
    response = api.get(f"/tasks/{task_id}", "reception1")
    assert response.status_code == 404 and "does not exist" in response.json["error"]


def test_a_supervisor_reassigns_another_roles_task_and_it_is_recorded(api, cases):
    case = cases.start()
    cases.complete(case.id, "choose_help", "reception1", help_type="call_120")
    task = cases.task(case.id, "call_120")  # the desk's task, not the supervisor's role
    response = api.post(f"/tasks/{task.id}/reassign", "supervisor1", json={"to": "reception3"})
    assert response.status_code == 200, response.json
    assert response.json["assignee"] == "reception3" and response.json["status"] == "claimed"
    assert api.post(f"/tasks/{task.id}/complete", "reception1", json={"data": cases.data(task.element_id)}
                    ).status_code == 409  # held by reception3 now
    [event] = cases.events(case.id, "task_reassigned")
    assert (event.actor, event.data["to"], event.data["previous"]) == ("supervisor1", "reception3", None)


@pytest.mark.parametrize(("user", "body", "status"), [
    ("reception1", {"to": "reception3"}, 403),   # only supervisors and managers reassign
    ("guard1", {"to": "reception3"}, 403),
    ("supervisor1", {"to": "guard1"}, 400),      # guard1 does not hold the task's role
    ("supervisor1", {}, 422),
    ("supervisor1", {"to": "  "}, 422),
])
def test_reassign_is_refused(api, cases, user, body, status):
    task = cases.task(cases.start().id, "choose_help")
    response = api.post(f"/tasks/{task.id}/reassign", user, json=body)
    assert response.status_code == status, response.json
    assert cases.task(task.instance_id, "choose_help").assignee is None


def test_claim_then_release(api, cases):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    response = api.post(f"/tasks/{task.id}/claim", "reception1")
    assert response.status_code == 200
    assert response.json["status"] == "claimed" and response.json["assignee"] == "reception1"
    assert api.post(f"/tasks/{task.id}/claim", "reception3").status_code == 409
    assert api.post(f"/tasks/{task.id}/unclaim", "reception3").status_code == 403
    response = api.post(f"/tasks/{task.id}/unclaim", "reception1")
    assert response.status_code == 200 and response.json["assignee"] is None
    assert cases.task(case.id, "choose_help").status == "ready"


def test_complete_moves_the_case_on_and_names_my_next_task(api, cases):
    case = cases.start()
    task = api.get("/tasks", "reception1").json["tasks"][0]
    data = cases.data("choose_help", help_type="hospital")
    response = api.post(f"/tasks/{task['id']}/complete", "reception1",
                        json={"data": data, "expected_version": task["version"]})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["case"]["reference"] == case.reference and body["case"]["version"] > task["version"]
    assert [t["element_id"] for t in body["open_tasks"]] == ["notify_security_lead"]
    assert body["next_task_id"] == body["open_tasks"][0]["id"]
    completed = cases.events(case.id, "task_completed")
    assert completed[-1].actor == "reception1" and completed[-1].data["submitted"]["help_type"] == "hospital"


def test_complete_with_invalid_data_names_each_field_and_changes_nothing(api, cases):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    response = api.post(f"/tasks/{task.id}/complete", "reception1",
                        json={"data": {"unit": "3-2-1201", "help_type": "taxi"}})
    assert response.status_code == 422
    fields = response.json["fields"]
    assert "help_type" in fields and "'taxi' is not one of" in fields["help_type"]
    assert {"phone", "condition", "major"} <= set(fields)
    assert cases.task(case.id, "choose_help").status == "ready"
    assert cases.events(case.id, "task_completed") == []


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"data": ["not", "an", "object"]}, 422, "data"),
    ({"data": {}, "expected_version": "7"}, 422, "expected_version"),
    ({"data": {}, "expected_version": -1}, 422, "expected_version"),
    ({"data": {}, "expected_version": 1.5}, 422, "expected_version"),
    ({"data": {}, "expected_version": True}, 422, "expected_version"),
    ({"data": {"condition": "晕\x00倒"}}, 422, "data.condition"),
])
def test_complete_refuses_malformed_bodies(api, cases, body, status, field):
    task = cases.task(cases.start().id, "choose_help")
    response = api.post(f"/tasks/{task.id}/complete", "reception1", json=body)
    assert response.status_code == status
    assert field in response.json["fields"]


def test_empty_body_is_no_data_and_a_body_that_is_not_json_is_400(api, cases):
    task = cases.task(cases.start().id, "choose_help")
    response = api.call("POST", f"/tasks/{task.id}/complete", "reception1",
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and "help_type" in response.json["fields"]  # no data: fields missing
    response = api.client.post(f"/api/v1/tasks/{task.id}/complete", data="{not json",
                               headers={"Authorization": f"Bearer {api.token('reception1')}",
                                        "Content-Type": "application/json"})
    assert response.status_code == 400 and "JSON object" in response.json["error"]


def test_complete_with_a_stale_version_is_409_and_changes_nothing(api, cases, runtime):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    seen = api.get(f"/tasks/{task.id}", "reception1").json["version"]
    runtime.claim_task(task.id, "reception1")  # someone changes the case meanwhile
    response = api.post(f"/tasks/{task.id}/complete", "reception1",
                        json={"data": cases.data("choose_help"), "expected_version": seen})
    assert response.status_code == 409 and "changed by someone else" in response.json["error"]
    assert cases.task(case.id, "choose_help").status == "claimed"


def test_a_version_written_as_a_whole_float_is_that_version(api, cases):
    """JSON Schema's integer includes 7.0, and the document says `integer`."""
    task = cases.task(cases.start().id, "choose_help")
    seen = api.get(f"/tasks/{task.id}", "reception1").json["version"]
    response = api.post(f"/tasks/{task.id}/complete", "reception1",
                        json={"data": cases.data("choose_help"), "expected_version": float(seen)})
    assert response.status_code == 200, response.json


def test_if_match_carries_the_version_too(api, cases, runtime):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    etag = api.get(f"/tasks/{task.id}", "reception1").headers["ETag"]
    runtime.claim_task(task.id, "reception1")
    stale = api.post(f"/tasks/{task.id}/complete", "reception1", json={"data": cases.data("choose_help")},
                     headers={"If-Match": etag})
    assert stale.status_code == 409
    fresh = api.get(f"/tasks/{task.id}", "reception1").headers["ETag"]
    response = api.post(f"/tasks/{task.id}/complete", "reception1", json={"data": cases.data("choose_help")},
                        headers={"If-Match": fresh})
    assert response.status_code == 200, response.json


@pytest.mark.parametrize(("if_match", "version"), [("abc", None), ('"3"', 4)])
def test_unusable_if_match_is_400(api, cases, if_match, version):
    task = cases.task(cases.start().id, "choose_help")
    body = {"data": cases.data("choose_help")}
    if version is not None:
        body["expected_version"] = version
    response = api.post(f"/tasks/{task.id}/complete", "reception1", json=body, headers={"If-Match": if_match})
    assert response.status_code == 400


def test_completed_task_cannot_be_completed_again(api, cases):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    cases.complete(case.id, "choose_help", "reception1")
    response = api.post(f"/tasks/{task.id}/complete", "reception1", json={"data": cases.data("choose_help")})
    assert response.status_code == 409 and "completed" in response.json["error"]
    with cases.runtime.db.session() as session:
        assert get_task(session, task.id).status == "completed"

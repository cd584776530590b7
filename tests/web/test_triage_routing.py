"""The triage's routing from the web intake (/cases/new) and the API (POST /api/v1/cases): a kind
of request that categories.yaml gives a procedure of its own (水浸, 漏气, 有偿服务) is registered
once and reaches a new case of that procedure, which names the triage case it came from."""

from __future__ import annotations

import re

import pytest

from engine.audit.events import EventType
from engine.runtime.queries import get_instance_row, list_events, list_tasks

INTAKE = {"caller": "林先生", "unit": "3-2-1201", "phone": "13800000000", "site": "nanshan"}
KINDS = [  # category, its label on the intake form, the new case's prefix, its first task
    ("water_leak", "水浸", "JS-", "register_leak"),
    ("gas_leak", "漏气", "QX-", "locate_leak"),
    ("paid_service", "有偿服务", "YC-", "agree_scope_price"),
]


def handed_over(runtime, triage_id: int) -> tuple:
    """The case the triage opened, its first event and its open tasks."""
    with runtime.db.read_session() as session:
        [handed] = [e for e in list_events(session, triage_id) if e.type == EventType.CASE_HANDED_OVER]
        child = get_instance_row(session, handed.data["reference"])
        return child, list_events(session, child.id)[0], list_tasks(session, instance_id=child.id)


@pytest.mark.parametrize(("category", "label", "prefix", "first_task"), KINDS)
def test_the_web_intake_routes_the_kind_to_its_own_procedure(web, runtime, cases, category, label, prefix,
                                                            first_task):
    web.login("reception1")
    assert re.search(rf'<option value="{category}"\s*>{label}</option>', web.get_text("/cases/new"))
    response = web.post("/cases/new", {**INTAKE, "category": category, "description": "住户来电"})
    assert response.status_code == 302
    register = response.headers["Location"].removeprefix("/tasks/")
    page = web.get_text(f"/tasks/{register}")
    assert 'value="13800000000"' in page and 'value="3-2-1201"' in page  # the intake, not typed again
    with runtime.db.read_session() as session:
        triage_id = [t for t in list_tasks(session) if t.id == register][0].instance_id
    fields = {k: v for k, v in INTAKE.items() if k != "site"}
    response = web.post(f"/tasks/{register}", web.form({
        **fields, "category": category, "description": "住户来电", "received_at": "2026-11-23T17:00",
        "lock_version": cases.lock_version(triage_id)}))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]

    child, started, tasks = handed_over(runtime, triage_id)
    with runtime.db.read_session() as session:
        triage = get_instance_row(session, triage_id)
    assert child.reference.startswith(prefix) and child.category == category
    assert started.data["handed_over_from"] == triage.reference
    assert [t.element_id for t in tasks] == [first_task]
    # each case's timeline names the other, in words: 转入案件 on the triage, 转自案件 on the new case
    assert re.search(rf"转入案件.*?{child.reference}", web.get_text(f"/cases/{triage.reference}"), re.S)
    assert re.search(rf"转自案件.*?{triage.reference}", web.get_text(f"/cases/{child.reference}"), re.S)


@pytest.mark.parametrize(("category", "label", "prefix", "first_task"), KINDS)
def test_the_api_routes_the_kind_to_its_own_procedure(api, runtime, category, label, prefix, first_task):
    opened = api.post("/cases", "reception1", json={**INTAKE, "category": category, "description": "住户来电"})
    assert opened.status_code == 201, opened.json
    fields = {k: v for k, v in INTAKE.items() if k != "site"}
    done = api.post(f"/tasks/{opened.json['next_task_id']}/complete", "reception1", json={"data": {
        **fields, "category": category, "description": "住户来电", "received_at": "2026-11-23T17:00:00+08:00"}})
    assert done.status_code == 200, done.json

    child, started, tasks = handed_over(runtime, opened.json["case"]["id"])
    assert child.reference.startswith(prefix)
    assert started.data["handed_over_from"] == opened.json["case"]["reference"]
    assert started.data["data"]["description"] == "住户来电" and child.phone == "13800000000"
    assert [t.element_id for t in tasks] == [first_task]

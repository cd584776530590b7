"""The procedures of issue #18 are in the catalogue: the roles the seeds give start them from
the web and the API, others are refused, the triage reaches those a resident calls in, and
the statistics and the monthly report count their cases under their procedure and department."""

from __future__ import annotations

import pytest

from engine.audit.events import EventType
from engine.runtime.queries import get_instance_row, get_task, list_events
from tests.web.conftest import call_in_through_triage

REPORT = {"unit": "5栋", "description": "电梯停在12楼", "site": "nanshan"}
ROUND = {"round_area": "1–3栋", "planned_checkpoints": 12, "site": "nanshan"}
SERVICE = {"caller": "林先生", "unit": "5栋302", "phone": "13800000000", "description": "全屋清洁", "site": "nanshan"}
VISIT = {"visit_kind": "move_in", "resident": "林先生", "unit": "5栋302", "site": "nanshan"}
ASSEMBLY = {"trigger": "drill_or_check", "is_drill": True, "assembly_point": "管理处门前", "site": "nanshan"}
# process id, its name, reference prefix, a user allowed to start it, a user refused, department (zh), start data
PROCEDURES = [
    ("lift_failure", "电梯故障处理", "DT-", "guard1", "reception1", "护管部", REPORT),
    ("electrical_leak", "漏电处理", "LD-", "guard1", "reception1", "护管部", REPORT),
    ("acute_illness", "急症病人现场处理", "JZ-", "guard1", "reception1", "护管部", REPORT),
    ("patrol", "巡楼", "XL-", "reception1", "guard1", "客服部", ROUND),
    ("drunk_or_disturbed", "醉酒滋事、精神病人处理", "ZJ-", "guard1", "reception1", "护管部", REPORT),
    ("refusing_to_comply", "不执行规定不听劝阻处理", "BT-", "guard1", "reception1", "护管部", REPORT),
    ("emergency_assembly", "紧急集合", "JH-", "seclead1", "guard1", "护管部", ASSEMBLY),
    ("paid_service", "有偿便民服务", "YC-", "reception1", "guard1", "客服部", SERVICE),
    ("customer_visit", "客户拜访与回访", "HF-", "supervisor1", "reception1", "客服部", VISIT),
]
FIELDS = ("process", "name", "prefix", "starter", "refused", "department", "start")


def web_form(start: dict) -> dict:
    return {k: "true" if v is True else str(v) for k, v in start.items()}


@pytest.mark.parametrize(FIELDS, PROCEDURES)
def test_the_roles_the_seeds_give_start_it_from_the_web(web, runtime, process, name, prefix, starter, refused,
                                                     department, start):
    web.login(refused)
    assert f"/cases/new/{process}" not in web.get_text("/cases/new")
    assert web.client.get(f"/cases/new/{process}").status_code == 404
    web.logout()
    web.login(starter)
    assert name in web.get_text("/cases/new")
    response = web.post(f"/cases/new/{process}", web_form(start))
    assert response.status_code == 302
    location = response.headers["Location"]  # the starter's first step, or the case when it is someone else's
    with runtime.db.read_session() as session:
        if location.startswith("/tasks/"):
            task = get_task(session, location.removeprefix("/tasks/"), with_form=False)
            reference, instance_id, shown = task.reference, task.instance_id, task.name
        else:
            reference = location.removeprefix("/cases/")
            instance_id, shown = get_instance_row(session, reference).id, reference
        started = list_events(session, instance_id)[0]
    assert reference.startswith(prefix)
    assert (started.type, started.actor) == (EventType.INSTANCE_STARTED, starter)
    assert {k: started.data["data"][k] for k in start} == start
    assert shown in web.get_text(location)  # the page it lands on, in Chinese


@pytest.mark.parametrize(FIELDS, PROCEDURES)
def test_the_api_starts_it_for_the_roles_that_may(api, process, name, prefix, starter, refused, department, start):
    started = api.post("/cases", starter, json={"process": process, "data": start})
    assert started.status_code == 201, started.json
    assert started.json["case"]["reference"].startswith(prefix)
    assert api.post("/cases", refused, json={"process": process, "data": start}).status_code == 403


@pytest.mark.parametrize(FIELDS, PROCEDURES)
def test_the_statistics_count_it_under_its_procedure_and_department(web, clock, stats_table, process, name,
                                                                    prefix, starter, refused, department, start):
    web.login(starter)
    web.post(f"/cases/new/{process}", web_form(start))
    web.logout()
    web.login("manager1")
    page = web.get_text(f"/stats?month={clock.now():%Y-%m}")
    by_process = {row[0][0]: row[1][0] for row in stats_table(page, "by_process")[1:]}
    by_department = {row[0][0]: row[1][0] for row in stats_table(page, "by_department")[1:]}
    assert by_process[name] == "1" and by_department[department] == "1"
    report = web.get_text(f"/stats/report?month={clock.now():%Y-%m}&site=nanshan")  # the monthly report too
    assert {row[0][0]: row[1][0] for row in stats_table(report, "by_process")[1:]}[name] == "1"


def test_a_resident_calling_in_a_lift_entrapment_is_handed_to_it_through_the_triage(web, runtime):
    triage, events = call_in_through_triage(web, runtime, "lift_failure")
    handed = [e for e in events if e.type == EventType.CASE_HANDED_OVER]
    assert [(e.element_id, e.data["reference"][:3]) for e in handed] == [("lift_failure", "DT-")]
    assert "manager_arrange" in {e.element_id for e in events}  # special: the manager arranges it beside
    with runtime.db.read_session() as session:
        lift = get_instance_row(session, handed[0].data["reference"])
        lift_events = list_events(session, lift.id)
    assert lift_events[0].data["handed_over_from"] == triage.reference
    assert [e.element_id for e in lift_events if e.type == EventType.TASK_READY] == ["check_trapped"]

"""Procedures are data (issue #15): a designer's new procedure, with a new role, department,
triage category and start form, is startable, routable and counted with no Python change.

The bundle is the project's library plus one diagram and a few lines of rules, made here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from engine.accounts.users import load_demo_staff
from engine.audit.events import EventType
from engine.definitions.library import Bundle, check_bundle, deploy_bundle
from engine.definitions.rules import load_rules
from engine.runtime.queries import get_instance_row, list_events, list_tasks
from engine.runtime.step import Runtime
from tests.web.conftest import Api, Web, call_in_through_triage, make_app

HERE = Path(__file__).parent / "catalogue_bundle"
REPORT_FORM = """title: 电梯困人报告
x-title-en: Lift entrapment report
type: object
required: [location, trapped, site]
properties:
  location: {type: string, title: 电梯位置, x-title-en: Lift, maxLength: 50}
  trapped: {type: integer, title: 被困人数, x-title-en: People trapped, minimum: 0}
  site: {type: string, title: 服务中心, x-title-en: Site, x-site-list: true}
"""
RELEASE_FORM = """title: 解救被困人员
x-title-en: Release the people trapped
type: object
required: [released]
properties:
  released: {type: boolean, title: 已全部解救, x-title-en: All released}
"""


def _with(yaml_text: str, path: list, value) -> str:
    data = yaml.safe_load(yaml_text)
    node = data
    for key in path[:-1]:
        node = node[key]
    if isinstance(node.get(path[-1]), list):
        node[path[-1]].append(value)
    else:
        node[path[-1]] = value
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@pytest.fixture(scope="module")
def lift_bundle(library) -> Bundle:
    rules = dict(library.rules)
    rules["roles.yaml"] = _with(rules["roles.yaml"], ["roles", "lift_keeper"], {"zh": "电梯管理员", "en": "Lift keeper"})
    rules["departments.yaml"] = _with(rules["departments.yaml"], ["departments", "lift_maintenance"],
                                      {"zh": "电梯维保部", "en": "Lift maintenance", "roles": ["lift_keeper"]})
    rules["categories.yaml"] = _with(rules["categories.yaml"], ["categories"],
                                     {"id": "lift", "zh": "电梯困人", "en": "Lift entrapment",
                                      "process": "lift_failure", "special": True})
    rules["staff.yaml"] = _with(rules["staff.yaml"], ["staff"],
                                {"username": "liftman1", "name": "冯师傅", "roles": ["lift_keeper"], "site": "nanshan"})
    forms = {**library.forms, "lift_failure/report.yaml": REPORT_FORM, "lift_failure/release.yaml": RELEASE_FORM}
    bpmn = {**library.bpmn, "lift_failure.bpmn": (HERE / "lift_failure.bpmn").read_bytes()}
    return Bundle(bpmn, library.dmn, forms, rules)


@pytest.fixture
def lift_runtime(db, clock, lift_bundle) -> Runtime:
    runtime = Runtime(db, clock)
    with runtime.transaction() as session:
        deploy_bundle(session, lift_bundle, actor="designer1", note="电梯故障")
        load_demo_staff(session, load_rules(lift_bundle.rules))
    return runtime


@pytest.fixture
def web(lift_runtime, processes_dir) -> Web:
    return Web(make_app(lift_runtime, processes_dir).test_client())


@pytest.fixture
def api(lift_runtime, processes_dir) -> Api:
    return Api(make_app(lift_runtime, processes_dir).test_client(), lift_runtime)


REPORT = {"location": "5栋2号梯", "trapped": 2, "site": "nanshan"}


def test_the_new_procedure_lints_clean(lift_bundle):
    assert [str(f) for f in check_bundle(lift_bundle).findings if f.severity == "error"] == []


def test_the_intake_lists_it_for_the_roles_that_may_start_it_and_not_for_the_others(web):
    web.login("guard1")
    assert "/cases/new/lift_failure" in web.get_text("/cases/new")
    web.logout()
    web.login("reception1")
    page = web.get_text("/cases/new")
    assert "/cases/new/lift_failure" not in page
    assert re.search(r'<option value="lift"\s*>电梯困人</option>', page)  # reachable through the triage instead
    assert web.client.get("/cases/new/lift_failure").status_code == 404


def test_a_guard_starts_it_from_the_web_and_its_new_staff_member_does_the_step(web, lift_runtime):
    web.login("guard1")
    response = web.post("/cases/new/lift_failure", REPORT)
    assert response.status_code == 302
    reference = response.headers["Location"].removeprefix("/cases/")
    assert reference.startswith("DT-")
    web.logout()
    web.login("liftman1")  # a person the new staff.yaml lines added
    with lift_runtime.db.read_session() as session:
        case = get_instance_row(session, reference)
        tasks = list_tasks(session, instance_id=case.id)
    assert [(t.element_id, t.role) for t in tasks] == [("release", "lift_keeper")]
    assert "解救被困人员" in web.get_text("/")


def test_its_start_form_is_checked_on_the_web_with_the_typed_values_kept(web):
    web.login("guard1")
    response = web.post("/cases/new/lift_failure", {**REPORT, "trapped": "-1"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "不能小于 0" in page and 'value="5栋2号梯"' in page


def test_the_api_starts_it_by_process_for_the_roles_that_may(api):
    started = api.post("/cases", "guard1", json={"process": "lift_failure", "data": REPORT})
    assert started.status_code == 201, started.json
    assert started.json["case"]["reference"].startswith("DT-")
    refused = api.post("/cases", "reception1", json={"process": "lift_failure", "data": REPORT})
    assert refused.status_code == 403
    invalid = api.post("/cases", "guard1", json={"process": "lift_failure", "data": {"location": "5栋2号梯"}})
    assert invalid.status_code == 422 and set(invalid.json["fields"]) == {"trapped"}
    document = api.get("/openapi.json").json["components"]["schemas"]
    assert document["StartForm_lift_failure"]["required"] == ["location", "trapped"]


def test_the_triage_routes_its_new_category_to_it(web, lift_runtime):
    triage, events = call_in_through_triage(web, lift_runtime, "lift")
    handed = [e for e in events if e.type == EventType.CASE_HANDED_OVER]
    assert [(e.element_id, e.data["reference"][:3]) for e in handed] == [("lift_failure", "DT-")]
    assert "manager_arrange" in {e.element_id for e in events}  # special: the manager arranges it beside
    with lift_runtime.db.read_session() as session:
        lift = get_instance_row(session, handed[0].data["reference"])
        started = list_events(session, lift.id)[0]
    assert (lift.unit, lift.category) == ("5-2-101", "lift")
    assert started.data["handed_over_from"] == triage.reference


def test_the_statistics_count_it_under_its_department(web, lift_runtime, clock):
    web.login("guard1")
    web.post("/cases/new/lift_failure", REPORT)
    web.logout()
    web.login("manager1")
    page = web.get_text(f"/stats?month={clock.now():%Y-%m}")
    row = re.search(r'data-label="部门">电梯维保部</td><td[^>]*><a[^>]*d_department=lift_maintenance">(\d+)', page)
    assert row and row.group(1) == "1"

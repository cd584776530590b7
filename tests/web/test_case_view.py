"""The case page: summary, open tasks, timeline, and the messages it is waiting for."""

from __future__ import annotations

import re

import pytest

from engine.accounts.users import load_demo_staff
from engine.definitions.library import Bundle, check_bundle, deploy_bundle
from engine.definitions.rules import load_rules
from engine.runtime.queries import get_instance_row, list_tasks
from engine.runtime.step import Runtime
from engine.yamlfile import load_yaml


def ambulance_case(cases, through_gate: bool = True):
    case = cases.start(description="老人晕倒")
    cases.complete(case.id, "choose_help", "reception1")
    cases.complete(case.id, "call_120", "reception1")
    cases.complete(case.id, "notify_lead_ambulance", "reception1")
    if through_gate:
        cases.complete(case.id, "prepare_gate", "seclead1")
    return case


def test_case_view_shows_summary_tasks_and_timeline(web, cases):
    case = cases.start(description="老人晕倒")
    cases.complete(case.id, "choose_help", "reception1", help_type="hospital", condition="摔伤",
                   received_at="2026-11-23T09:05:00+00:00")
    web.login("reception1")
    page = web.get_text(f"/cases/{case.reference}")
    assert case.reference in page and "急救病人" in page and "老人晕倒" in page and "13800000000" in page
    assert "通知护管值班负责人派员" in page  # the open task
    assert "案件开始" in page and "任务完成" in page
    assert "<dt>病情</dt><dd>摔伤</dd>" in page  # submitted data, labelled from the form
    assert "<dt>求助方式</dt><dd>送医院</dd>" in page  # enum shown by its label
    assert "<dt>重大急救事件</dt><dd>否</dd>" in page
    assert "<dt>接报时间</dt><dd>2026-11-23 17:05</dd>" in page  # stored times shown in local time


def test_case_view_by_id_works_too(web, cases):
    case = cases.start()
    web.login("reception1")
    assert case.reference in web.get_text(f"/cases/{case.id}")


def test_no_message_button_before_the_case_waits(web, cases):
    case = ambulance_case(cases, through_gate=False)
    web.login("guard2")
    page = web.get_text(f"/cases/{case.reference}")
    assert "/messages/ambulance_arrived" not in page


def test_message_button_delivers_ambulance_arrived(web, cases):
    case = ambulance_case(cases)
    web.login("guard2")
    page = web.get_text(f"/cases/{case.reference}")
    assert "/messages/ambulance_arrived" in page
    assert "救护车已到达" in page  # the catch event's name is the button label
    response = web.post(f"/cases/{case.reference}/messages/ambulance_arrived")
    assert response.status_code == 302
    page = web.get_text(response.headers["Location"])
    assert "已收到消息" in page
    assert "收到消息" in page  # in the timeline
    assert "/messages/ambulance_arrived" not in page
    assert cases.task(case.id, "guide_ambulance").status == "ready"


def test_message_nobody_waits_for_is_a_plain_notice(web, cases):
    case = ambulance_case(cases, through_gate=False)
    web.login("guard2")
    response = web.post(f"/cases/{case.reference}/messages/ambulance_arrived")
    assert response.status_code == 302
    assert "该案件当前不在等待此消息" in web.get_text(response.headers["Location"])


def test_new_case_page_offers_categories_and_sites(web):
    web.login("reception1")
    page = web.get_text("/cases/new")
    for label in ("急救病人", "报修", "投诉", "咨询", "治安事件", "灾害事件", "其他"):
        assert label in page
    assert 'type="radio" name="site" value="nanshan" checked' in page
    assert 'value="binhai"' not in page  # a clerk opens cases for their own site only
    assert 'name="received_at" id="f-received_at" value="2026-11-23T17:00"' in page  # now, in local time, to correct if need be


INTAKE = {"category": "emergency_patient", "caller": "林先生", "unit": "3-2-1201", "phone": "13800000000",
          "description": "老人晕倒", "site": "nanshan"}


def _started(runtime, reference: str):
    with runtime.db.session() as session:
        row = get_instance_row(session, reference)
        return row, [t.element_id for t in list_tasks(session, instance_id=row.id)]


def test_new_case_starts_help_request_and_opens_my_registration_task(web, runtime):
    web.login("reception1")
    response = web.post("/cases/new", INTAKE)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/tasks/")
    page = web.get_text(response.headers["Location"])
    assert "登记住户求助" in page
    assert 'value="3-2-1201"' in page and "老人晕倒" in page  # the intake data fills the register form
    assert 'name="received_at" id="f-received_at" value="2026-11-23T17:00"' in page  # stamped when the request came in
    reference = re.search(r"QZ-\d{8}-\d{4}", page).group(0)
    row, open_tasks = _started(runtime, reference)
    assert (row.process_id, row.category) == ("help_request", "emergency_patient")
    assert open_tasks == ["register_request"]


def test_new_case_by_a_supervisor_goes_to_the_case_view(web):
    web.login("supervisor1")
    response = web.post("/cases/new", INTAKE)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/cases/QZ-")


def test_new_case_checks_the_unit_format_and_keeps_the_data(web):
    web.login("reception1")
    response = web.post("/cases/new", {**INTAKE, "unit": "3栋1201"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "请按 楼栋-单元-房号 填写" in page
    assert 'value="3栋1201"' in page and 'value="13800000000"' in page


@pytest.mark.parametrize(("category", "label"), [
    ("security_incident", "治安事件"), ("disaster", "灾害事件"), ("other", "其他")])
def test_every_category_starts_a_case_even_those_without_a_procedure_of_their_own(web, runtime, category, label):
    web.login("supervisor1")
    response = web.post("/cases/new", {**INTAKE, "category": category, "description": "水管漏水"})
    assert response.status_code == 302
    reference = response.headers["Location"].removeprefix("/cases/")
    row, open_tasks = _started(runtime, reference)
    assert (row.process_id, row.category) == ("help_request", category)
    assert open_tasks == ["register_request"]
    assert label in web.get_text(response.headers["Location"])  # the case page names the category


def test_the_intake_form_and_the_register_form_agree_on_categories_and_unit(library):
    """Both list the categories of categories.yaml, in its order and words; neither lists its own."""
    checked = check_bundle(library)
    categories = checked.rules.categories
    intake, register = checked.forms["start/intake"], checked.forms["help_request/register_request"]
    for form in (intake, register):
        category = form["properties"]["category"]
        assert category["enum"] == list(categories)
        assert category["x-enum-labels"] == {c.id: c.zh for c in categories.values()}
        assert category["x-enum-labels-en"] == {c.id: c.en for c in categories.values()}
    assert register["properties"]["unit"]["pattern"] == intake["properties"]["unit"]["pattern"]
    assert "enum" not in load_yaml(library.forms["help_request/register_request.yaml"], "r.yaml")["properties"]["category"]


def test_new_case_before_help_request_is_deployed_says_so_and_keeps_the_data(db, library, clock, web_on):
    without = Bundle({k: v for k, v in library.bpmn.items() if k != "help_request.bpmn"}, library.dmn,
                     library.forms, {k: v for k, v in library.rules.items() if k != "categories.yaml"})
    rt = Runtime(db, clock)
    with rt.transaction() as session:
        load_demo_staff(session, load_rules(library.rules))
        deploy_bundle(session, without, actor="system", note="test")
    web = web_on(rt)
    web.login("reception1")
    page = web.get_text("/cases/new")
    assert "求助受理流程尚未上线" in page
    assert "/cases/new/water_leak" in page  # what can be started still is
    assert web.post("/cases/new", {**INTAKE, "description": "水管漏水"}).status_code == 403


def test_timeline_names_people_and_the_procedure_and_skips_gateways(web, cases):
    case = cases.start()
    cases.complete(case.id, "choose_help", "reception1")  # passes the gateway 求助方式？
    web.login("supervisor1")
    page = web.get_text(f"/cases/{case.reference}")
    assert re.search(r'案件开始</strong>\s*·\s*<span class="element">急救病人</span>', page)  # not the process id
    assert '<span class="actor">王敏 (reception1)</span>' in page
    assert '<span class="actor">系统</span>' in page  # the engine's own steps
    assert "求助方式？" not in page and "gw_" not in page


def test_patrol_emergencies_start_directly_and_the_finder_goes_on_to_the_first_step(web, runtime):
    web.login("reception1")
    assert "/cases/new/water_leak" in web.get_text("/cases/new")
    web.logout()
    web.login("guard1")
    response = web.post("/cases/new/gas_leak", {"site": "nanshan", "description": "楼道有煤气味"})
    assert response.status_code == 302 and "/tasks/" in response.headers["Location"]
    assert "迅速查明漏气地点和原因" in web.get_text(response.headers["Location"])
    assert web.client.get("/cases/new/complaint").status_code == 404  # complaints come through triage
    assert web.post("/cases/new/water_leak", {"site": "nowhere"}).status_code == 400

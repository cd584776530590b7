"""People in forms (issue #16): a signature is the signed-in person's confirmation, never a typed
name; a colleague is chosen from the site's staff list; a tick is given at its own step; a list
that may be empty ("没有的不填") is answered by leaving it empty."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from werkzeug.datastructures import MultiDict

from engine.errors import FormInvalid
from tests.web.conftest import AT
from web.forms import describe_form, parse_form

FORMS = Path(__file__).resolve().parents[2] / "forms"


def _form(name: str) -> dict:
    return yaml.safe_load((FORMS / f"{name}.yaml").read_text(encoding="utf-8"))


def _submitted(cases, instance_id: int, element_id: str) -> dict:
    [event] = [e for e in cases.events(instance_id, "task_completed") if e.element_id == element_id]
    return event.data["submitted"]


@pytest.fixture
def handover(runtime):
    return runtime.start_instance("shift_handover", {}, "reception1").instance


PREPARED = {"items_tidied": "y", "desk_clean": "y", "log_completed": "y", "shift_summary": "夜间受理咨询2宗"}


def test_a_signature_is_shown_as_the_signed_in_person_and_never_typed(web, cases, handover):
    task = cases.task(handover.id, "prepare_handover")
    web.login("reception1")
    page = web.get_text(f"/tasks/{task.id}")
    assert 'name="outgoing_staff"' not in page  # nothing to type
    assert re.search(r'id="f-outgoing_staff">王敏<', page)
    response = web.post(f"/tasks/{task.id}", {**PREPARED, "outgoing_staff": "别人",
                                               "lock_version": handover.lock_version})
    assert response.status_code == 302, re.findall(r"field-error[^>]*>([^<]*)", response.get_data(as_text=True))
    assert _submitted(cases, handover.id, "prepare_handover")["outgoing_staff"] == "王敏"


def test_the_api_and_cli_sign_as_whoever_submits_whatever_they_send(runtime, cases, handover):
    task = cases.task(handover.id, "prepare_handover")
    runtime.complete_task(task.id, {"items_tidied": True, "desk_clean": True, "log_completed": True,
                                    "shift_summary": "无事", "outgoing_staff": "别人"}, "reception1")
    assert _submitted(cases, handover.id, "prepare_handover")["outgoing_staff"] == "王敏"


@pytest.fixture
def lead_task(cases):
    case = cases.start()
    cases.complete(case.id, "choose_help", "reception1")
    cases.complete(case.id, "call_120", "reception1")
    return case, cases.task(case.id, "notify_lead_ambulance")


def test_the_duty_lead_is_chosen_from_the_sites_staff(web, cases, lead_task):
    case, task = lead_task
    web.login("reception1")
    page = web.get_text(f"/tasks/{task.id}")
    offered = re.findall(r'name="security_lead_name" value="([^"]+)"[^>]*>\s*([^<]+?)\s*<', page)
    assert offered == [("刘队长", "刘队长")]  # Binhai's lead 马队长 is not Nanshan's to call
    response = web.post(f"/tasks/{task.id}", {"security_lead_name": "刘队长", "lead_notified_at": "2026-11-23T16:58",
                                               "lock_version": cases.lock_version(case.id)})
    assert response.status_code == 302, re.findall(r"field-error[^>]*>([^<]*)", response.get_data(as_text=True))
    assert _submitted(cases, case.id, "notify_lead_ambulance")["security_lead_name"] == "刘队长"


def test_a_lead_of_another_site_or_a_typed_name_is_refused(runtime, lead_task):
    _case, task = lead_task
    for chosen, words in (("马队长", "不是本服务中心的人员"), ("刘队", "请从给出的选项中选择")):
        with pytest.raises(FormInvalid) as refused:
            runtime.complete_task(task.id, {"security_lead_name": chosen, "lead_notified_at": AT}, "reception1")
        assert [(e.field, e.zh) for e in refused.value.errors] == [("security_lead_name", words)]


@pytest.mark.parametrize("name", ["repair/follow_up_visit", "complaint/follow_up_visit"])
def test_a_signature_ticked_at_an_earlier_step_is_not_ticked_at_the_visit(app, name):
    with app.test_request_context("/"):
        fields = {f.name: f for f in describe_form(_form(name), data={"resident_signature": True,
                                                                       "visit_mode": "door"})}
    assert fields["resident_signature"].value is False
    assert fields["visit_mode"].value == "door"  # what the case knows is still carried


def test_no_open_items_is_an_answer_at_the_handover(app):
    with app.test_request_context("/"):
        data = parse_form(_form("shift_handover/review_log"), MultiDict({"log_read": "y"}))
    assert data == {"log_read": True, "open_items": []}


def test_what_the_intake_registered_is_shown_for_checking_not_asked_again(web):
    web.login("reception1")
    response = web.post("/cases/new", {"category": "repair", "site": "nanshan", "unit": "3栋2单元1201",
                                       "phone": "13800000000", "caller": "林先生", "description": "水龙头漏水",
                                       "received_at": "2026-11-23T16:55"})
    page = web.get_text(response.headers["Location"])
    assert "<h1>登记住户求助</h1>" in page
    asked, carried = page.split('<details class="carried">')
    carried = carried.split("</details>")[0]
    for name in ("caller", "unit", "phone", "category", "description", "received_at"):
        assert f'name="{name}"' in carried and f'name="{name}"' not in asked  # there to correct, folded away
    assert 'name="incident_type"' in asked  # what the intake did not ask is asked here
    assert "求助人：林先生" in carried and "单元：3-2-1201" in carried and "求助类别：报修" in carried


def test_the_api_offers_the_sites_duty_leads_only(api, cases, lead_task):
    _case, task = lead_task
    body = api.get(f"/tasks/{task.id}", "reception1").get_json()
    assert body["form_schema"]["properties"]["security_lead_name"]["enum"] == ["刘队长"]


def test_a_follow_up_owner_is_chosen_from_the_sites_clerks_in_each_row(app, runtime):
    from engine.definitions.compiled import VERSIONS
    from engine.definitions.form_people import check_staff, staff_of_site
    from engine.runtime.preconditions import find_version

    with runtime.db.session() as session:
        forms = VERSIONS.get(session, find_version(session, "shift_handover", None).id).forms
    schema = staff_of_site(forms["shift_handover/review_log"], "nanshan")
    owner = schema["properties"]["open_items"]["items"]["properties"]["owner"]
    assert owner["enum"] == ["王敏", "陈静"]  # Nanshan's clerks; Binhai's 李娜 is not offered
    with app.test_request_context("/"):
        fields = {f.name: f for f in describe_form(schema)}
    assert fields["open_items"].rows[0][1].kind == "radio"  # chosen, not typed
    with pytest.raises(FormInvalid) as refused:
        check_staff(forms["shift_handover/review_log"], {"open_items": [{"item": "钥匙", "owner": "李娜"}]}, "nanshan")
    assert [(e.field, e.zh) for e in refused.value.errors] == [("open_items.0.owner", "不是本服务中心的人员")]


def test_the_folded_summary_reads_as_english_in_english(web):
    web.login("reception1")
    web.client.get("/lang/en")
    response = web.post("/cases/new", {"category": "repair", "site": "nanshan", "unit": "3-2-1201",
                                       "phone": "13800000000", "caller": "林先生", "description": "水龙头漏水",
                                       "received_at": "2026-11-23T16:55"})
    summary = web.get_text(response.headers["Location"]).split('<details class="carried">')[1].split("</summary>")[0]
    assert "Already registered (open to correct): " in summary and "Unit: 3-2-1201" in summary and "：" not in summary


@pytest.mark.parametrize("process", ["incident", "emergency_patient"])
def test_guards_sent_are_ticked_from_the_sites_guards(app, runtime, process):
    from engine.definitions.compiled import VERSIONS
    from engine.definitions.form_people import check_staff, staff_of_site
    from engine.runtime.preconditions import find_version

    with runtime.db.session() as session:
        forms = VERSIONS.get(session, find_version(session, process, None).id).forms
    with app.test_request_context("/"):
        [guards] = [f for f in describe_form(staff_of_site(forms[f"{process}/dispatch_guards"], "nanshan"))
                    if f.name == "guards"]
    assert (guards.kind, guards.options) == ("checkboxes", [("赵刚", "赵刚"), ("孙伟", "孙伟")])
    with pytest.raises(FormInvalid):
        check_staff(forms[f"{process}/dispatch_guards"], {"guards": ["赵刚", "罗保安"]}, "nanshan")  # Binhai's guard


@pytest.mark.parametrize("form_id", ["repair/notify_engineering", "lift_failure/notify_engineering"])
def test_the_engineer_told_is_chosen_from_the_sites_engineering_staff(runtime, form_id):
    from engine.definitions.compiled import VERSIONS
    from engine.definitions.form_people import check_staff, staff_of_site
    from engine.runtime.preconditions import find_version

    with runtime.db.session() as session:
        forms = VERSIONS.get(session, find_version(session, form_id.split("/")[0], None).id).forms
    assert staff_of_site(forms[form_id], "nanshan")["properties"]["notified_person"]["enum"] == ["周工", "吴师傅"]
    with pytest.raises(FormInvalid):
        check_staff(forms[form_id], {"notified_person": "张三"}, "nanshan")  # typed, not on the staff

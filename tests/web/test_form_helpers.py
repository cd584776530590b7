"""Forms that help (issue #16): marks set by a choice, units as residents say them, phones
checked, times that default to now and refuse the future, required marks where due."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from werkzeug.datastructures import MultiDict

from engine.errors import FormInvalid
from engine.runtime.queries import get_instance_row
from web.forms import describe_form, parse_form

FORMS = Path(__file__).resolve().parents[2] / "forms"


def _form(name: str) -> dict:
    return yaml.safe_load((FORMS / f"{name}.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["repair/follow_up_visit", "complaint/follow_up_visit"])
def test_a_phone_visit_is_marked_by_its_choice_not_typed(app, name):
    schema = _form(name)
    with app.test_request_context("/"):
        assert "phone_visit_mark" not in {f.name for f in describe_form(schema)}
        data = parse_form(schema, MultiDict({"visit_mode": "phone", "visit_result": "satisfied"}))
        assert data["phone_visit_mark"] == "电话回访"
        door = parse_form(schema, MultiDict({"visit_mode": "door", "resident_signature": "y",
                                             "visit_result": "satisfied", "phone_visit_mark": "电话回访"}))
        assert "phone_visit_mark" not in door


def test_optional_checkboxes_carry_no_required_mark(app):
    with app.test_request_context("/"):
        fields = {f.name: f for f in describe_form(_form("emergency_patient/choose_help"))}
    assert not fields["major"].required  # 重大急救事件: ticked or not, both are answers
    assert fields["unit"].required


def test_time_fields_start_at_now_in_local_time(app, clock):
    with app.test_request_context("/"):
        fields = {f.name: f for f in describe_form(_form("emergency_patient/call_120"))}
    assert fields["called_120_at"].value == "2026-11-23T17:00"  # the fake clock's 09:00 UTC


def test_intake_takes_the_unit_as_the_resident_says_it_and_stores_it_normalised(web, runtime):
    web.login("reception1")
    response = web.post("/cases/new", {"category": "emergency_patient", "site": "nanshan", "unit": "3栋2单元1201", "phone": "0755-12345678转8",
                                       "caller": "林先生", "received_at": "2026-11-23T16:55"})
    assert response.status_code == 302, re.findall(r"field-error[^>]*>([^<]*)", response.get_data(as_text=True))
    with runtime.db.session() as session:
        row = get_instance_row(session, 1)
        assert (row.unit, row.phone) == ("3-2-1201", "0755-12345678转8")


def test_a_phone_that_is_no_number_is_refused_in_chinese(web):
    web.login("reception1")
    response = web.post("/cases/new", {"category": "emergency_patient", "site": "nanshan", "unit": "3-2-1201", "phone": "abc"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "请填写手机号或固定电话" in page and 'value="abc"' in page and "is not a" not in page


def test_a_time_in_the_future_is_refused(web, cases):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    web.login("reception1")
    response = web.post(f"/tasks/{task.id}", web.form({**cases.data("choose_help"), "received_at": "2026-11-24T08:00",
                                                       "lock_version": case.lock_version}))
    assert response.status_code == 400
    assert "不能晚于现在" in response.get_data(as_text=True)
    assert cases.task(case.id, "choose_help").status == "ready"


def test_the_engine_refuses_a_future_arrival_for_the_api_too(runtime, cases):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    with pytest.raises(FormInvalid) as refused:
        runtime.complete_task(task.id, {**cases.data("choose_help"), "received_at": "2026-11-24T08:00:00+08:00"},
                              "reception1")
    assert [(e.field, e.zh) for e in refused.value.errors] == [("received_at", "不能晚于现在")]


def test_the_technician_takes_the_residents_drawn_signature_on_their_own_task(web, start_case, runtime):
    """001/第8篇 4.1 6): the resident signs on the technician's screen; the pad posts the picture,
    typed text is refused, and the record says it was signed instead of showing the picture's text."""
    from tests.scenario.test_repair import NOTIFY, ORDER, SIGNATURE, SIGNED, on_site

    case = start_case("repair")
    case.complete("write_order", "reception1", **ORDER)
    case.complete("notify_engineering", "reception1", **NOTIFY)
    on_site(case).complete("do_repair", "tech1", quantity=1, repair_notes="更换水龙头")
    task = case.task("resident_sign")
    web.login("tech1")
    page = web.get_text(f"/tasks/{task.id}")
    assert re.search(r'<div class="signature-pad">\s*<canvas[^>]*aria-label="住户签名"', page)
    assert 'type="hidden" name="resident_signature"' in page and "清除签名" in page
    typed = web.post(f"/tasks/{task.id}", web.form({**SIGNED, "resident_signature": "林先生"}))
    assert typed.status_code == 400 and "f-resident_signature-error" in typed.get_data(as_text=True)
    response = web.post(f"/tasks/{task.id}", web.form(SIGNED))
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    [signed] = [e for e in case.events("task_completed") if e.element_id == "resident_sign"]
    assert (signed.actor, signed.data["submitted"]["resident_signature"]) == ("tech1", SIGNATURE)
    record = web.get_text(f"/cases/{case.reference}")
    assert "已手写签名" in record and SIGNATURE not in record


# Times that are planned, not recorded: an appointment, an expected arrival, a lease, a deadline, a promise.
PLANNED_TIMES = {"repair/write_order.yaml:appointment_at", "paid_service/agree_scope_price.yaml:appointment_at",
                 "emergency_patient/arrange_vehicle.yaml:vehicle_eta", "move_in/register_tenant.yaml:lease_from",
                 "move_in/register_tenant.yaml:lease_to", "move_in/send_notice.yaml:move_in_from",
                 "move_in/send_notice.yaml:deadline", "complaint/intake.yaml:promised_time",
                 "complaint/follow_up_visit.yaml:new_promised_time", "customer_visit/visit.yaml:promised_reply_at",
                 "customer_visit/second_visit.yaml:promised_reply_at"}


def _times(properties: dict, prefix: str):
    for name, prop in properties.items():
        if prop.get("format") == "date-time":
            yield prefix + name, prop
        if prop.get("type") == "array" and isinstance(prop.get("items"), dict):
            yield from _times(prop["items"].get("properties") or {}, f"{prefix}{name}.")


def test_every_time_of_what_happened_starts_at_now_and_refuses_the_future():
    unmarked = sorted(f"{path.relative_to(FORMS)}:{name}" for path in FORMS.rglob("*.yaml")
                      for name, prop in _times(yaml.safe_load(path.read_text(encoding="utf-8")).get("properties") or {}, "")
                      if not prop.get("x-past") and f"{path.relative_to(FORMS)}:{name}" not in PLANNED_TIMES)
    assert unmarked == []

"""The task page: case summary, clause, instructions, the form; submitting it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from flask import render_template_string

from web.forms import describe_form, field_kind
from web.instructions import render_instructions

FORMS = sorted((Path(__file__).resolve().parents[2] / "forms" / "emergency_patient").glob("*.yaml"))
INPUT_OF_KIND = {
    "text": 'type="text"', "textarea": "<textarea", "lines": "<textarea", "checkbox": 'type="checkbox"',
    "checkboxes": 'type="checkbox"', "radio": 'type="radio"', "select": "<select",
    "datetime": 'type="datetime-local"', "integer": 'type="number"', "number": 'type="number"',
}
FIELDS_MACRO = '{% from "_fields.html" import field %}{% for f in fields %}{{ field(f) }}{% endfor %}'


@pytest.mark.parametrize("path", FORMS, ids=lambda p: p.stem)
def test_every_field_of_every_emergency_form_renders(app, path):
    schema = yaml.safe_load(path.read_text(encoding="utf-8"))
    with app.test_request_context("/"):
        html = render_template_string(FIELDS_MACRO, fields=describe_form(schema))
    for name, prop in schema["properties"].items():
        assert f'name="{name}"' in html, name
        assert INPUT_OF_KIND[field_kind(prop)] in html
        assert prop["title"] in html
        assert prop["description"] in html
    for name, prop in schema["properties"].items():
        # a checkbox always sends ticked or not: marked only when it must be ticked (issue #16)
        marked = prop.get("const") is True if field_kind(prop) == "checkbox" else name in schema.get("required", [])
        found = re.search(re.escape(prop["title"]) + r'\s*<span class="req"', html)
        assert bool(found) == marked, f"{name}: required mark {'missing' if marked else 'where none is due'}"


def test_task_page_shows_case_clause_documentation_and_prefilled_form(web, cases):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    web.login("reception1")
    page = web.get_text(f"/tasks/{task.id}")
    assert case.reference in page and "林先生" in page
    assert "登记病人地址与电话、询问求助方式" in page
    assert "001/第6篇 4.2 1)" in page  # the SOP clause
    assert 'name="unit" id="f-unit" value="3-2-1201"' in page  # intake data fills the form
    assert 'type="radio" name="help_type" value="call_120"' in page
    assert f'name="lock_version" value="{case.lock_version}"' in page


def test_instructions_are_rendered_over_the_case_data(web, cases):
    case = cases.start()
    cases.complete(case.id, "choose_help", "reception1", help_type="hospital", condition="摔伤")
    task = cases.task(case.id, "notify_security_lead")
    web.login("reception1")
    page = web.get_text(f"/tasks/{task.id}")
    assert "病人地址：3-2-1201" in page
    assert "病情：摔伤" in page


def test_instructions_escape_case_data(web, cases):
    case = cases.start()
    cases.complete(case.id, "choose_help", "reception1", help_type="hospital", condition="<script>x</script>")
    task = cases.task(case.id, "notify_security_lead")
    web.login("reception1")
    page = web.get_text(f"/tasks/{task.id}")
    assert "<script>x</script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page


@pytest.mark.parametrize("template", ["{{ x.__class__.__mro__ }}", "{% for %}", "{{ 1 / 0 }}"])
def test_broken_or_unsafe_instructions_become_a_notice(app, template):
    with app.test_request_context():
        assert render_instructions(template, {"x": 1}) == (None, "提示内容无法显示")


def test_invalid_submit_shows_field_errors_and_keeps_what_was_typed(web, cases):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    web.login("reception1")
    response = web.post(f"/tasks/{task.id}", {"lock_version": case.lock_version, "unit": "3-2-1201",
                                              "phone": "12", "condition": "", "help_type": "hospital"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "此项必填" in page  # condition
    assert 'class="field-error"' in page
    assert 'value="12"' in page and 'value="hospital" checked' in page
    assert cases.task(case.id, "choose_help").status == "ready"


def test_engine_validation_errors_show_inline_in_the_users_language(web, cases):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    web.login("reception1")
    response = web.post(f"/tasks/{task.id}", {"lock_version": case.lock_version, "unit": "3-2-1201",
                                              "phone": "12", "condition": "晕倒", "help_type": "hospital"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert re.search(r'field-error[^>]*>[^<]*至少 3 个字', page)
    assert "too short" not in page  # jsonschema's own English never reaches a Chinese page


def test_stale_submit_is_a_conflict_that_keeps_the_typed_values(web, cases, runtime):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    web.login("reception1")
    runtime.claim_task(task.id, "reception1")  # someone changed the case meanwhile
    response = web.post(f"/tasks/{task.id}", web.form({**cases.data("choose_help"), "condition": "我填的病情",
                                                       "lock_version": case.lock_version}))
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "案件已被他人更新" in page
    assert "我填的病情" in page
    assert f'href="/tasks/{task.id}"' in page
    assert cases.task(case.id, "choose_help").status == "claimed"


def test_valid_submit_advances_the_case_to_my_next_task(web, cases):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    web.login("reception1")
    response = web.post(f"/tasks/{task.id}", web.form({**cases.data("choose_help"),
                                                       "received_at": "2026-11-23T17:05",
                                                       "lock_version": case.lock_version}))
    assert response.status_code == 302
    next_task = cases.task(case.id, "call_120")
    assert response.headers["Location"] == f"/tasks/{next_task.id}"
    page = web.get_text(response.headers["Location"])
    assert "已提交" in page and "了解病情并拨打120" in page
    submitted = [e.data["submitted"] for e in cases.events(case.id, "task_completed")]
    assert submitted[0]["received_at"] == "2026-11-23T17:05:00+08:00"
    assert submitted[0]["major"] is False and submitted[0]["help_type"] == "call_120"


def test_submit_when_the_next_task_is_someone_elses_goes_to_the_case(web, cases):
    case = cases.start()
    cases.complete(case.id, "choose_help", "reception1", help_type="hospital")
    task = cases.task(case.id, "notify_security_lead")
    web.login("reception1")
    response = web.post(f"/tasks/{task.id}", web.form({**cases.data("notify_security_lead"),
                                                       "lead_notified_at": "2026-11-23T17:05",
                                                       "lock_version": cases.lock_version(case.id)}))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/cases/{case.reference}"


def test_submitting_a_closed_task_is_a_conflict_even_with_bad_data(web, cases):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    cases.complete(case.id, "choose_help", "reception1")
    web.login("reception1")
    response = web.post(f"/tasks/{task.id}", {"unit": ""})
    assert response.status_code == 409


def test_completed_task_page_shows_no_form(web, cases):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    cases.complete(case.id, "choose_help", "reception1")
    web.login("reception1")
    page = web.get_text(f"/tasks/{task.id}")
    assert 'name="lock_version"' not in page


"""Form fields that name a person (`x-staff-role`) and tasks held by the person named (`assignee`):
the engineering supervisor sends a technician chosen from the site's staff (001/第8篇 4.1 2))."""

from __future__ import annotations

import pytest

from engine.definitions.form_people import check_staff, fill_staff, staff_of_site
from engine.definitions.library import Bundle, check_bundle
from engine.definitions.rules import load_rules
from engine.errors import FormInvalid

FORM = {"type": "object", "properties": {
    "technician": {"type": "string", "x-staff-role": "technician", "x-staff-as": "username"},
    "signed_by": {"type": "string", "x-staff-role": ["engineering_supervisor", "technician"], "x-staff-as": "username"}}}
EXTRA = ("  - {username: bhtech1, name: 梁师傅, roles: [technician], site: binhai}\n"
         "  - {username: roving1, name: 巡检师傅, roles: [technician], company_wide: true}\n")


def test_a_staff_list_offers_the_role_at_the_cases_site_and_company_wide_staff_everywhere(library):
    rules = load_rules({**library.rules,
                        "staff.yaml": library.rules["staff.yaml"].replace("  # company-wide\n", EXTRA + "  # company-wide\n")})
    form = fill_staff(FORM, rules.staff)
    assert form["properties"]["technician"]["enum"] == ["tech1", "bhtech1", "roving1"]
    assert form["properties"]["signed_by"]["enum"] == ["engsup1", "tech1", "bhtech1", "roving1"]
    nanshan, binhai = staff_of_site(form, "nanshan"), staff_of_site(form, "binhai")
    assert nanshan["properties"]["technician"]["enum"] == ["tech1", "roving1"]
    assert binhai["properties"]["technician"]["enum"] == ["bhtech1", "roving1"]
    assert binhai["properties"]["technician"]["x-enum-labels"]["bhtech1"] == "梁师傅"  # shown by name
    check_staff(form, {"technician": "roving1"}, "binhai")  # company-wide staff work everywhere
    with pytest.raises(FormInvalid) as refused:
        check_staff(form, {"technician": "bhtech1"}, "nanshan")  # Binhai's technician, at a Nanshan case
    assert [(e.field, e.zh) for e in refused.value.errors] == [("technician", "不是本服务中心的人员")]


def test_lint_refuses_an_assignee_that_names_no_staff_list_or_the_wrong_role(library):
    def findings(old: str = "", new: str = ""):
        text = library.bpmn["repair.bpmn"].decode()
        changed = text.replace(old, new, 1)
        assert changed != text or not old
        bundle = Bundle({**library.bpmn, "repair.bpmn": changed.encode()}, library.dmn, library.forms, library.rules)
        return [(f.element_id, f.severity, f.message) for f in check_bundle(bundle).findings
                if "assignee" in f.message]

    assert findings() == []
    assert findings('name="assignee" value="technician"', 'name="assignee" value="tech"') == [
        ("arrive_public", "error", "assignee 'tech' is no form field with x-staff-role")]
    dispatch = '<spiffworkflow:property name="form" value="repair/assign_technician" />'
    assert findings(dispatch, dispatch + '<spiffworkflow:property name="assignee" value="technician" />') == [
        ("assign_public", "error",
         "assignee 'technician' offers ['technician'], not this lane's role 'engineering_supervisor'")]

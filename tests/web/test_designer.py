"""Designers: the version list, and the modeler's server side — check, draft, deploy."""

import json
import re
from pathlib import Path

import pytest

from engine.runtime.queries import get_instance_row, instance_view

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def designer(web):
    web.login("designer1")
    return web


def posted(web, path, body):
    """POST JSON as the modeler does, with the CSRF token in its header, asking for JSON back."""
    return web.client.post(path, json=body, headers={"X-CSRFToken": web.token("/processes"),
                                                     "Accept": "application/json"})


def modeler_config(page: str) -> dict:
    """The data the modeler page hands its script."""
    return json.loads(re.search(r'<script type="application/json" id="modeler-config">(.*?)</script>', page, re.S).group(1))


def water_leak_xml() -> str:
    return (ROOT / "processes" / "water_leak.bpmn").read_text(encoding="utf-8")


def test_process_library_lists_every_process_with_its_versions(designer):
    page = designer.get_text("/processes")
    assert "water_leak" in page and "emergency_patient" in page
    versions = designer.get_text("/processes/water_leak/versions")
    assert "v1" in versions and "system" in versions
    xml = designer.client.get("/processes/water_leak/versions/1.bpmn")
    assert xml.status_code == 200 and b'id="water_leak"' in xml.data


def test_check_reports_findings_on_the_elements_of_the_edited_diagram(designer):
    clean = posted(designer, "/processes/water_leak/check", {"xml": water_leak_xml()})
    assert clean.status_code == 200 and clean.get_json()["findings"] == []
    broken = water_leak_xml().replace('<spiffworkflow:property name="form"', '<spiffworkflow:property name="x"', 1)
    findings = posted(designer, "/processes/water_leak/check", {"xml": broken}).get_json()["findings"]
    assert findings and findings[0]["severity"] == "error" and findings[0]["element_id"]
    assert "form" in findings[0]["message"]


def test_a_draft_is_kept_and_reopened_by_its_author(designer):
    draft = water_leak_xml().replace('name="浸水处理"', 'name="浸水处理（草稿）"', 1)
    assert posted(designer, "/processes/water_leak/draft", {"xml": draft, "base_version": 1}).status_code == 200
    page = designer.get_text("/processes/water_leak/edit")
    assert "浸水处理（草稿）" in modeler_config(page)["xml"] and "草稿" in page
    assert "浸水处理（草稿）" not in modeler_config(designer.get_text("/processes/water_leak/edit?version=1"))["xml"]


def test_deploy_makes_a_new_version_with_its_note_and_new_cases_use_it(designer, runtime):
    edited = water_leak_xml().replace('name="浸水处理"', 'name="浸水处理（新版）"', 1)
    assert 'name="浸水处理（新版）"' in edited
    response = posted(designer, "/processes/water_leak/deploy", {"xml": edited, "note": "改名"})
    assert response.status_code == 200, response.get_data(as_text=True)
    [result] = response.get_json()["results"]
    assert result == {**result, "process_id": "water_leak", "version": 2, "created": True, "runnable": True}
    assert "改名" in designer.get_text("/processes/water_leak/versions")
    started = runtime.start_instance("water_leak", {}, "reception1")
    assert started.instance.version == 2


def test_a_diagram_that_fails_lint_is_kept_as_documentation_not_deployed(designer, runtime):
    broken = water_leak_xml().replace('<spiffworkflow:property name="clause"', '<spiffworkflow:property name="c"')
    result = posted(designer, "/processes/water_leak/deploy", {"xml": broken, "note": "坏的"}).get_json()
    assert [r["runnable"] for r in result["results"]] == [False]
    assert runtime.start_instance("water_leak", {}, "reception1").instance.version == 1


SVG = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
XHTML = '<html xmlns="http://www.w3.org/1999/xhtml"><body><script>alert(document.cookie)</script></body></html>'


@pytest.mark.parametrize(("xml", "root"), [(SVG, "svg"), (XHTML, "html")])
def test_a_file_that_is_not_bpmn_is_refused_naming_the_file_and_nothing_is_kept(designer, xml, root):
    response = posted(designer, "/processes/water_leak/deploy", {"xml": xml, "note": "新版"})
    assert response.status_code == 400
    assert response.get_json()["detail"] == f"water_leak.bpmn 不是 BPMN 流程图（根元素是 <{root}>），未保存"
    assert posted(designer, "/processes/water_leak/draft", {"xml": xml}).status_code == 400
    assert designer.client.get("/processes/water_leak/versions/2.bpmn").status_code == 404
    assert "alert" not in designer.get_text("/processes/water_leak/edit")


def test_deploy_needs_a_note_and_xml(designer):
    assert posted(designer, "/processes/water_leak/deploy", {"xml": water_leak_xml(), "note": " "}).status_code == 400
    assert posted(designer, "/processes/water_leak/deploy", {"note": "x"}).status_code == 400


def test_only_designers_edit(web):
    web.login("reception1")
    assert web.client.get("/processes/water_leak/edit").status_code == 403
    web.logout()
    web.login("auditor1")
    assert web.client.get("/processes/water_leak/versions").status_code == 200
    assert web.client.get("/processes/water_leak/edit").status_code == 403


def test_unknown_process_is_404(designer):
    assert designer.client.get("/processes/nope/versions").status_code == 404


def test_two_versions_are_compared_element_by_element(designer):
    xml = water_leak_xml()
    renamed = xml.replace('name="作好值班记录"', 'name="填写值班记录"', 1)
    assert renamed != xml, "the water-leak diagram no longer has the step this test renames"
    posted(designer, "/processes/water_leak/deploy", {"xml": renamed, "note": "改名"})
    page = designer.get_text("/processes/water_leak/diff?from=1&to=2")
    config = json.loads(re.search(r'<script type="application/json" id="version-diff">(.*?)</script>', page, re.S).group(1))
    assert config["added"] == [] and config["removed"] == [] and len(config["changed"]) == 1
    assert "填写值班记录" in config["new"] and "填写值班记录" not in config["old"]
    assert "/processes/water_leak/diff?from=1&amp;to=2" in designer.get_text("/processes/water_leak/versions")
    assert designer.client.get("/processes/water_leak/diff?from=1").status_code == 400


def test_selected_running_cases_move_to_the_new_version_when_safe(designer, runtime):
    case = runtime.start_instance("water_leak", {"caller": "林先生"}, "reception1").instance
    xml = water_leak_xml().replace('name="作好值班记录"', 'name="填写值班记录"', 1)
    posted(designer, "/processes/water_leak/deploy", {"xml": xml, "note": "改名"})
    page = designer.get_text("/processes/water_leak/versions")
    assert f'value="{case.reference}"' in page
    response = designer.post("/processes/water_leak/migrate", {"to_version": "2", "cases": case.reference},
                             follow_redirects=True)
    assert f"{case.reference}: 已迁移到 v2" in response.get_data(as_text=True)
    with runtime.db.session() as session:
        assert instance_view(session, get_instance_row(session, case.id)).version == 2


# -- the repository and the database agree (issue #15) -------------------------------------


def test_a_deploy_writes_the_diagram_into_the_library_folder(designer, runtime, processes_dir):
    edited = water_leak_xml().replace('name="作好值班记录"', 'name="填写值班记录"', 1)
    reply = posted(designer, "/processes/water_leak/deploy", {"xml": edited, "note": "改名"}).get_json()
    assert reply["written"] == str(processes_dir / "water_leak.bpmn")
    assert (processes_dir / "water_leak.bpmn").read_text(encoding="utf-8") == edited
    with runtime.db.session() as session:
        from engine.definitions.designs import get_version

        assert get_version(session, "water_leak").bpmn_xml == edited
    assert "填写值班记录" not in water_leak_xml()  # the repository's own file is the app's to leave alone
    assert "基于 v2" in designer.get_text("/processes/water_leak/edit")


def test_a_diagram_kept_as_documentation_is_not_written(designer, processes_dir):
    before = (processes_dir / "water_leak.bpmn").read_bytes()
    broken = water_leak_xml().replace('<spiffworkflow:property name="clause"', '<spiffworkflow:property name="c"')
    reply = posted(designer, "/processes/water_leak/deploy", {"xml": broken, "note": "坏的"}).get_json()
    assert "written" not in reply and (processes_dir / "water_leak.bpmn").read_bytes() == before


def test_a_file_that_cannot_be_written_is_reported_and_the_deploy_stands(designer, runtime, monkeypatch):
    def refuse(folder, name, _xml):  # as a read-only checkout does (the tests run as root, which may write anywhere)
        raise PermissionError(13, "Permission denied", str(folder / name))

    monkeypatch.setattr("web.designer.write_diagram", refuse)
    edited = water_leak_xml().replace('name="作好值班记录"', 'name="填写值班记录"', 1)
    reply = posted(designer, "/processes/water_leak/deploy", {"xml": edited, "note": "改名"}).get_json()
    assert reply["write_error"].startswith("Permission denied: ") and reply["write_error"].endswith("water_leak.bpmn")
    assert "written" not in reply
    assert runtime.start_instance("water_leak", {}, "reception1").instance.version == 2


def test_the_modeler_can_show_the_version_it_just_deployed(designer):
    page = designer.get_text("/processes/water_leak/edit")
    assert re.search(r'<small id="base-version">基于 v1</small>', page)
    assert modeler_config(page)["text"]["based_on"] == "基于"


ENGLISH_SENTENCE = re.compile(r"[A-Za-z]+ [a-z]+ [a-z]+")  # three English words in a row


def test_the_modeler_names_the_process_and_says_what_is_wrong_in_chinese(designer):
    page = designer.get_text("/processes/water_leak/edit")
    assert re.search(r"<h1>编辑流程 浸水处理 ", page)  # by its name, not water_leak
    xml = water_leak_xml()
    broken = (xml.replace('<spiffworkflow:property name="clause"', '<spiffworkflow:property name="x"', 1)
                 .replace('<spiffworkflow:property name="form"', '<spiffworkflow:property name="x"', 1)
                 .replace('<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">',
                          '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">)(', 1))
    assert broken.count(">)(") == 1
    findings = posted(designer, "/processes/water_leak/check", {"xml": broken}).get_json()["findings"]
    messages = [f["message"] for f in findings]
    assert any("办理依据" in m for m in messages) and any("表单" in m for m in messages)
    assert any("表达式" in m for m in messages)
    assert [m for m in messages if ENGLISH_SENTENCE.search(m)] == []
    assert all(f["detail"] for f in findings)  # the technical English kept for the curious, apart
    designer.client.get("/lang/en")
    findings = posted(designer, "/processes/water_leak/check", {"xml": broken}).get_json()["findings"]
    assert any("has no clause property" in f["message"] for f in findings)


def test_a_clause_that_is_no_requirement_is_said_in_chinese(designer):
    broken = water_leak_xml().replace('<spiffworkflow:property name="clause" value="', '<spiffworkflow:property name="clause" value="999 9.9; ', 1)
    findings = posted(designer, "/processes/water_leak/check", {"xml": broken}).get_json()["findings"]
    assert any(f["message"].startswith("办理依据 999 9.9 不是") for f in findings), findings

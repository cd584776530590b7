"""The case-on-diagram page and its data: auditors and staff see what ran and who did it."""

from engine.runtime.queries import get_instance_row


def test_diagram_data_marks_what_ran_and_what_is_open(web, cases):
    case = cases.start()
    cases.complete(case.id, "choose_help", "reception1")
    web.login("auditor1")
    response = web.client.get(f"/cases/{case.reference}/diagram.json")
    assert response.status_code == 200
    data = response.get_json()
    assert data["process_id"] == "emergency_patient" and data["xml"].startswith("<?xml")
    assert data["completed"] == ["start", "choose_help", "gw_major", "gw_major_merge", "gw_help_type"]
    assert data["current"] == ["call_120"]
    assert len(data["flows"]) == 5
    done = [e for e in data["history"]["choose_help"]["events"] if e["type"] == "task_completed"]
    assert [(e["actor"], e["role"]) for e in done] == [("reception1", "接待员")]
    assert ["求助方式", "叫120救护车"] in done[0]["details"]
    assert data["history"]["choose_help"]["clause"]


def test_the_page_links_the_case_and_loads_the_viewer_when_installed(web, cases, app, monkeypatch):
    case = cases.start()
    web.login("auditor1")
    monkeypatch.setattr("web.diagrams.VIEWER", "app.js")  # any file that exists stands in for bpmn-js
    page = web.get_text(f"/cases/{case.reference}/diagram")
    assert f"/cases/{case.reference}/diagram.json" in page and "case_diagram.js" in page
    assert "已完成" in page and "超过时限" in page  # the legend


def test_the_page_says_when_the_viewer_is_not_installed(web, cases, monkeypatch):
    case = cases.start()
    web.login("auditor1")
    monkeypatch.setattr("web.diagrams.VIEWER", "vendor/missing/viewer.js")
    page = web.get_text(f"/cases/{case.reference}/diagram")
    assert "make assets" in page and "case_diagram.js" not in page


def test_case_page_links_to_its_diagram(web, cases):
    case = cases.start()
    web.login("reception1")
    assert f"/cases/{case.reference}/diagram" in web.get_text(f"/cases/{case.reference}")


def test_residents_cannot_see_the_diagram_and_unknown_processes_are_404(web, cases, runtime):
    case = cases.start()
    web.login("resident1")
    assert web.client.get(f"/cases/{case.reference}/diagram.json").status_code == 403
    web.logout()
    web.login("auditor1")
    response = web.client.get(f"/cases/{case.reference}/diagram.json?process=nope")
    assert response.status_code == 404
    with runtime.db.session() as session:
        assert get_instance_row(session, case.id).status.value == "running"

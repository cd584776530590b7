"""Sites apart, over every route (issue 20, finding 4): Nanshan's staff against a Binhai case
get 404 (a case or task of another site looks as if it did not exist) or 403 (another site
asked for by name); lists and searches leave it out; Binhai's own staff still reach it.

The matrix is checked against the app's url_map: a new route that is in neither the
matrix nor `SITE_FREE` fails `test_every_route_is_in_the_site_matrix`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace

import pytest
from sqlalchemy import func, select

from engine.audit.events import EventType
from engine.definitions.library import deploy_bundle
from engine.runtime.queries import get_task
from engine.scheduling.outbox import notify
from engine.store.models import Event
from tests.web.conftest import STEPS, Api, Web, make_app

INTAKE = {"category": "emergency_patient", "caller": "林先生", "unit": "3-2-1201", "phone": "13800000000",
          "description": "老人晕倒", "site": "binhai"}
# Each Nanshan person stands against Binhai's holder of the same role.
COUNTERPART = {"reception1": "reception2", "supervisor1": "bhsup1", "guard1": "bhguard1", "manager1": "bhmgr1"}


@dataclass(frozen=True)
class Row:
    endpoint: str
    method: str
    path: str  # {ref}, {task}, {water} (a Binhai case on an old version) are filled in
    user: str  # Nanshan's; Binhai's counterpart makes the same call for the same-site check
    refused: int | None  # 404 or 403; None: answered, but without the other site's case in it
    body: dict | None = None


MATRIX = [
    # -- the web app -------------------------------------------------------------------
    # lists, searches and figures without a site: one's own site's only (first: the rows below change the cases)
    Row("tasks.inbox", "GET", "/", "reception1", None),
    Row("case_list.case_list", "GET", "/cases?q=林先生", "reception1", None),
    Row("case_list.case_list", "GET", "/cases?site=binhai", "reception1", 403),
    Row("api.cases.list_cases", "GET", "/api/v1/cases?q=林先生", "reception1", None),
    Row("api.cases.list_cases", "GET", "/api/v1/cases?site=binhai", "reception1", 403),
    Row("tasks.inbox_rows", "GET", "/inbox/rows", "reception1", None),
    Row("notifications.my_notifications", "GET", "/notifications", "reception1", None),
    Row("designer.versions", "GET", "/processes/water_leak/versions", "manager1", None),
    Row("audit_log.search", "GET", "/audit", "manager1", None),
    Row("audit_log.export_csv", "GET", "/audit/export.csv", "manager1", None),
    Row("audit_log.export_json", "GET", "/audit/export.json", "manager1", None),
    Row("stats.cases", "GET", "/stats/cases?site=", "manager1", None),
    Row("cases.case_view", "GET", "/cases/{ref}", "reception1", 404),
    Row("cases.add_comment", "POST", "/cases/{ref}/comments", "reception1", 404, {"text": "看看"}),
    Row("cases.send_message", "POST", "/cases/{ref}/messages/ambulance_arrived", "guard1", 404),
    Row("diagrams.case_diagram_page", "GET", "/cases/{ref}/diagram", "reception1", 404),
    Row("diagrams.case_diagram_json", "GET", "/cases/{ref}/diagram.json", "reception1", 404),
    Row("audit_log.case_record", "GET", "/cases/{ref}/record", "manager1", 404),
    Row("tasks.task_page", "GET", "/tasks/{task}", "reception1", 404),
    Row("tasks.submit_task", "POST", "/tasks/{task}", "reception1", 404, Web.form(STEPS["choose_help"])),
    Row("claims.claim", "POST", "/tasks/{task}/claim", "reception1", 404),
    Row("claims.unclaim", "POST", "/tasks/{task}/unclaim", "supervisor1", 404),
    Row("claims.reassign", "POST", "/tasks/{task}/reassign", "supervisor1", 404, {"to_user": "reception1", "reason": "夜班人手不足"}),
    Row("designer.migrate", "POST", "/processes/water_leak/migrate", "manager1", 404,
        {"to_version": "2", "cases": "{water}"}),
    Row("cases.new_case", "POST", "/cases/new", "reception1", 403, INTAKE),
    Row("cases.start_procedure", "POST", "/cases/new/water_leak", "reception1", 403, {"site": "binhai"}),
    Row("stats.dashboard", "GET", "/stats?site=binhai", "manager1", 403),
    Row("stats.cases", "GET", "/stats/cases?site=binhai", "manager1", 403),
    Row("stats.export_csv", "GET", "/stats/export.csv?site=binhai", "manager1", 403),
    Row("stats.export_xlsx", "GET", "/stats/export.xlsx?site=binhai", "manager1", 403),
    Row("stats.report", "GET", "/stats/report?site=binhai", "manager1", 403),
    Row("audit_log.search", "GET", "/audit?site=binhai", "manager1", 403),
    Row("audit_log.export_csv", "GET", "/audit/export.csv?site=binhai", "manager1", 403),
    Row("audit_log.export_json", "GET", "/audit/export.json?site=binhai", "manager1", 403),
    # -- the API -------------------------------------------------------------------------
    Row("api.tasks.list_open_tasks", "GET", "/api/v1/tasks", "reception1", None),
    Row("api.cases.show_case", "GET", "/api/v1/cases/{ref}", "reception1", 404),
    Row("api.cases.add_comment", "POST", "/api/v1/cases/{ref}/comments", "reception1", 404, {"text": "看看"}),
    Row("api.cases.send_message", "POST", "/api/v1/cases/{ref}/messages/ambulance_arrived", "guard1", 404),
    Row("api.tasks.show_task", "GET", "/api/v1/tasks/{task}", "reception1", 404),
    Row("api.tasks.claim", "POST", "/api/v1/tasks/{task}/claim", "reception1", 404),
    Row("api.tasks.unclaim", "POST", "/api/v1/tasks/{task}/unclaim", "supervisor1", 404),
    Row("api.tasks.reassign", "POST", "/api/v1/tasks/{task}/reassign", "supervisor1", 404, {"to": "reception1"}),
    Row("api.tasks.complete", "POST", "/api/v1/tasks/{task}/complete", "reception1", 404,
        {"data": STEPS["choose_help"]}),
    Row("api.tasks.list_open_tasks", "GET", "/api/v1/tasks?case={ref}", "reception1", 404),
    Row("api.cases.open_case", "POST", "/api/v1/cases", "reception1", 403, INTAKE),
]

# Names of a case and a task that do not exist: another site's must answer exactly the same.
NOWHERE = {"ref": "JJ-20991231-9999", "task": "00000000-0000-4000-8000-000000000000", "water": "JS-20991231-9999"}

# Routes that show or change nothing of any case, so no site applies; each says why.
SITE_FREE = {
    "static": "files of the app",
    "auth.login": "logging in", "auth.logout": "logging out", "auth.change_password_page": "one's own password",
    "i18n.switch_language": "the UI language",
    "tasks.task_list": "a redirect to the inbox, whose row is below",
    "notifications.read": "marks read only messages addressed to the person (their sites')",
    "api.access.me": "who the caller is", "api.docs.openapi": "the API's description, public",
    "designer.processes": "the process library, the same at every site",
    "designer.edit": "a diagram", "designer.check": "a diagram", "designer.draft": "a diagram",
    "designer.deploy": "a diagram (and staff.yaml)", "designer.diff": "two versions of a diagram",
    "designer.version_xml": "a stored diagram",
    "audit_log.verify": "whether the one chain is intact; it lists no case's events",
    "operations.healthz": "whether the node can serve, for the load balancer",
    "duty.home": "the person's own site's desk (engine/accounts/sites.py home site)",
    "duty.roster_page": "tests/web/test_duty_sites.py: another site's roster is 403",
    "duty.export_roster": "tests/web/test_duty_sites.py: another site's roster is 403",
    "duty.import_roster": "tests/web/test_duty_sites.py: a file naming another site is 403",
    "duty.figures_page": "tests/web/test_duty_sites.py: another site's figures are 403",
    "duty.shift_page": "tests/web/test_duty_sites.py: another site's shift is 404",
    "duty.ask_leave": "tests/web/test_duty_sites.py: another site's shift is 404",
    "duty.decide": "tests/web/test_duty_sites.py: another site's request is 404",
    "api.duty.call_answered": "tests/web/test_duty_sites.py: another site's calls are 403",
    "operations.metrics": "counts over every site, for monitoring; no case is named",
}


@pytest.fixture
def binhai(runtime, library) -> dict:
    """A Binhai emergency case with its ready task, a Binhai water-leak case left on version 1
    of its diagram (v2 deployed), and a message to Binhai's reception about the case."""
    started = runtime.start_instance("emergency_patient", {"caller": "林先生", "unit": "3-2-1201",
                                                           "phone": "13800000000"}, "reception2")
    water = runtime.start_instance("water_leak", {"caller": "林先生"}, "reception2").instance
    bpmn = dict(library.bpmn)
    bpmn["water_leak.bpmn"] = bpmn["water_leak.bpmn"].replace("作好值班记录".encode(), "填写值班记录".encode(), 1)
    with runtime.transaction() as session:
        deploy_bundle(session, replace(library, bpmn=bpmn), actor="designer1", note="改名")
        notify(session, runtime.clock.now(), text=f"{started.instance.reference} 待受理", text_en="to take",
               to_role="reception", site="binhai", instance_id=started.instance.id)
    assert started.instance.site == water.site == "binhai"
    return {"ref": started.instance.reference, "task": started.open_tasks[0].id, "water": water.reference}


class Caller:
    """One person's calls: the web app with their login, the API with their token."""

    def __init__(self, runtime, processes_dir, user: str):
        self.web = Web(make_app(runtime, processes_dir).test_client())
        self.web.login(user)
        self.api = Api(self.web.client, runtime)
        self.user = user

    def call(self, row: Row, target: dict):
        path = row.path.format(**target)
        body = {k: (v.format(**target) if isinstance(v, str) else v) for k, v in (row.body or {}).items()}
        if row.endpoint.startswith("api."):
            return self.api.call(row.method, path.removeprefix("/api/v1"), self.user, json=body or None)
        if row.method == "GET":
            return self.web.client.get(path)
        return self.web.post(path, body)


@pytest.fixture
def caller(runtime, processes_dir):
    made: dict[str, Caller] = {}

    def get(user: str) -> Caller:
        if user not in made:
            made[user] = Caller(runtime, processes_dir, user)
        return made[user]

    return get


def _routes(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules()}


def test_every_route_is_in_the_site_matrix(app):
    covered = {row.endpoint for row in MATRIX} | set(SITE_FREE)
    assert sorted(_routes(app) - covered) == []  # a new route: say how it keeps sites apart
    assert sorted(covered - _routes(app)) == []  # a route gone: take it out here too


def test_nanshan_staff_cannot_reach_a_binhai_case_by_any_route(caller, binhai):
    wrong = []
    for row in MATRIX:
        response = caller(row.user).call(row, binhai)
        text = _body(response)
        if row.refused is not None and response.status_code != row.refused:
            wrong.append(f"{row.method} {row.path} as {row.user}: {response.status_code} {text[:100]}")
        elif row.refused is None and (response.status_code != 200 or binhai["ref"] in text or binhai["task"] in text):
            wrong.append(f"{row.method} {row.path} as {row.user}: {response.status_code}, shows the Binhai case")
        elif row.refused == 404 and (seen := _masked(text, binhai)) != (
                nowhere := _masked(_body(caller(row.user).call(row, NOWHERE)), NOWHERE)):
            diff = "\n".join(difflib.unified_diff(seen.splitlines(), nowhere.splitlines(), lineterm="", n=0))
            wrong.append(f"{row.method} {row.path}: the 404 differs from a case that does not exist:\n{diff}")
    assert wrong == []


def test_binhai_staff_reach_the_same_case_by_the_same_routes(caller, binhai):
    """The same calls by Binhai's counterparts pass the site check (the case's state may still say no)."""
    wrong = []
    for row in MATRIX:
        user = COUNTERPART[row.user]
        response = caller(user).call(replace(row, body=_own_site(row.body)), binhai)
        text = _body(response)
        if response.status_code in (403, 404) or response.status_code >= 500:
            wrong.append(f"{row.method} {row.path} as {user}: {response.status_code} {text[:100]}")
        elif row.refused is None and row.endpoint != "stats.cases" and binhai["ref"] not in text \
                and binhai["water"] not in text:
            wrong.append(f"{row.method} {row.path} as {user}: the Binhai case is not listed")
    assert wrong == []


def _body(response) -> str:
    return response.get_data().decode("utf-8", "replace")  # the xlsx export is binary


def _masked(text: str, target: dict) -> str:
    """An answer with the case's and task's names taken out, to compare with another's."""
    for value in target.values():
        text = text.replace(value, "*")
    # A form's CSRF token carries the second it was made: two answers a second apart differ there.
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value="*"', text)


def _own_site(body: dict | None) -> dict | None:
    """A body as Binhai's people send it: a task goes to one of them."""
    if body is None:
        return None
    return {k: COUNTERPART.get(v, v) if isinstance(v, str) else v for k, v in body.items()}


def test_the_company_manager_sees_both_sites(caller, binhai, runtime):
    gm = caller("gm1")
    assert gm.web.client.get(f"/cases/{binhai['ref']}").status_code == 200
    assert binhai["ref"] in gm.web.get_text("/audit?site=binhai")
    assert gm.web.client.get("/stats?site=binhai").status_code == 200
    nanshan = runtime.start_instance("emergency_patient", {"caller": "林先生", "unit": "1-1-101",
                                                           "phone": "13800000000"}, "reception1").instance
    log = gm.web.get_text("/audit")
    assert binhai["ref"] in log and nanshan.reference in log


def test_a_site_manager_reads_only_their_sites_figures(caller, binhai):
    page = caller("manager1").web.get_text("/stats")
    assert 'value="binhai"' not in page and "全部服务中心" not in page
    assert 'value="binhai"' in caller("gm1").web.get_text("/stats")


def test_a_supervisor_can_give_a_task_only_to_someone_at_its_site(caller, binhai, runtime):
    nanshan = runtime.start_instance("emergency_patient", {"caller": "林先生", "unit": "1-1-101",
                                                           "phone": "13800000000"}, "reception1")
    task = nanshan.open_tasks[0].id
    supervisor = caller("supervisor1")
    response = supervisor.api.post(f"/tasks/{task}/reassign", "supervisor1", json={"to": "reception2"})
    assert response.status_code == 403 and "reception2" in response.json["error"]
    assert supervisor.web.post(f"/tasks/{task}/reassign", {"to_user": "reception2", "reason": "夜班人手不足"}).status_code == 403
    with runtime.db.session() as session:
        assert get_task(session, task).assignee is None
        assert session.scalar(select(func.count(Event.id)).where(Event.type == EventType.TASK_REASSIGNED)) == 0


def test_another_site_is_refused_in_words_of_the_users_language(caller):
    manager = caller("manager1")
    page = manager.web.get_text("/stats?site=binhai", status=403)
    assert "manager1 不在滨海苑服务中心工作" in page and "does not work" not in page
    manager.web.client.get("/lang/en")
    assert "manager1 does not work at Binhai Court service centre" in manager.web.get_text("/stats?site=binhai",
                                                                                          status=403)


def test_the_new_request_form_offers_only_the_clerks_own_site(caller):
    page = caller("reception2").web.get_text("/cases/new")
    assert 'type="radio" name="site" value="binhai" checked' in page and 'value="nanshan"' not in page

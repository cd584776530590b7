"""Web fixtures: the app on the test database (CSRF on), a client, and helpers that log
in, read the CSRF token from a page and play a case forward through the runtime."""

from __future__ import annotations

import re
import shutil
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from jinja2 import BytecodeCache

from engine.runtime.queries import get_instance_row, get_task, list_events, list_tasks
from tests.databases import DEPLOYED, Seed, seeds_fixture

# pytest puts tests/ first on sys.path, where this folder would pass for a namespace
# package named `web`; the project root must come first so `web` is the app.
ROOT = str(Path(__file__).resolve().parents[2])
if sys.path[0] != ROOT:
    sys.path.insert(0, ROOT)
sys.modules.pop("web", None)

from web import create_app  # noqa: E402

AT = "2026-11-23T09:05:00+00:00"
# Valid form data for the emergency_patient tasks the web tests pass through.
STEPS = {
    "choose_help": dict(caller="林先生", unit="3-2-1201", phone="13800000000", condition="晕倒",
                        help_type="call_120", major=False),
    "call_120": dict(called_120_at=AT, requester_informed=True),
    "notify_lead_ambulance": dict(security_lead_name="刘队长", lead_notified_at=AT),
    "prepare_gate": dict(gate_guard_name="孙伟", extra_staff_at_entrance=False),
    "notify_security_lead": dict(security_lead_name="刘队长", lead_notified_at=AT),
    "dispatch_guards": dict(guards=["赵刚", "孙伟"], standby_place="patient_home", dispatched_at=AT),
    "arrange_vehicle": dict(vehicle_type="taxi"),
    "first_aid": dict(illness_kind="fainted", aid_given=["lay_flat"], critical=False),
    "explain_nursing_request": dict(security_lead_name="刘队长", care_request="看护两小时", explained_at=AT),
    "escort_to_hospital": dict(hospital_name="市人民医院", family_present=True, more_help_needed=True,
                               more_help_detail="回家取病历"),
    "assign_carer": dict(carer_name="赵刚"),
    "nursing_care": dict(relative_present=True, relative_name="女儿"),
    "inspect_nursing": dict(inspected=False),
    "record_case": dict(handling_summary="已处理", closed_at=AT),
}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates, kept for every app the tests make (a server makes one app).

    Jinja keys each by the template's name and checks its source, so an edited template
    is compiled anew; each test's app still renders with its own globals and runtime.
    """

    def __init__(self):
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


def make_app(runtime, processes_dir: Path | None = None):
    """The app on `runtime`; give `processes_dir` (a copy) when the test deploys from the modeler."""
    app = create_app({"RUNTIME": runtime, "TESTING": True, "SECRET_KEY": "test-secret",
                      "WTF_CSRF_ENABLED": True, "PROCESSES_DIR": str(processes_dir or Path(ROOT) / "processes"),
                      "FORMS_DIR": str(Path(ROOT) / "forms")})
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    return app


@pytest.fixture
def processes_dir(tmp_path) -> Path:
    """A copy of processes/ for the app: a deploy from the modeler writes its diagram there, not into the repository."""
    return Path(shutil.copytree(Path(ROOT) / "processes", tmp_path / "processes"))


@pytest.fixture
def app(runtime, processes_dir):
    return make_app(runtime, processes_dir)


@pytest.fixture
def client(app):
    return app.test_client()


class Web:
    """What a person does in the browser, in test-client calls."""

    def __init__(self, client):
        self.client = client

    def token(self, path: str = "/login") -> str:
        """Read the CSRF token of this session from a page's hidden field."""
        match = TOKEN.search(self.client.get(path).get_data(as_text=True))
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, username: str, password: str = "demo"):
        return self.client.post("/login", data={"username": username, "password": password,
                                                "csrf_token": self.token()})

    def logout(self):
        return self.client.post("/logout", data={"csrf_token": self.token()})

    def post(self, path: str, data=None, **kwargs):
        """POST with this session's CSRF token added."""
        return self.client.post(path, data={**(data or {}), "csrf_token": self.token()}, **kwargs)

    @staticmethod
    def form(values: dict) -> dict:
        """Typed form values as a browser posts them (checkbox ticked = "y", lists one per line)."""
        posted = {}
        for key, value in values.items():
            if value is True:
                posted[key] = "y"
            elif isinstance(value, list):
                posted[key] = "\n".join(value)
            elif value is not False:
                posted[key] = value
        return posted

    def get_text(self, path: str, status: int = 200) -> str:
        response = self.client.get(path)
        assert response.status_code == status, response.get_data(as_text=True)[:500]
        return response.get_data(as_text=True)


@pytest.fixture
def web(client) -> Web:
    return Web(client)


@pytest.fixture
def web_on(processes_dir):
    """A browser on the app over another runtime, e.g. one with part of the library deployed."""
    return lambda runtime: Web(make_app(runtime, processes_dir).test_client())


class Cases:
    """Start cases and move them on through the runtime, as the other staff would."""

    def __init__(self, runtime):
        self.runtime = runtime

    def start(self, as_user="reception1", **data):
        data = {"caller": "林先生", "unit": "3-2-1201", "phone": "13800000000", **data}
        return self.runtime.start_instance("emergency_patient", data, as_user).instance

    def task(self, instance_id: int, element_id: str):
        with self.runtime.db.session() as session:
            found = [t for t in list_tasks(session, instance_id=instance_id) if t.element_id == element_id]
        assert found, f"{element_id} is not open"
        return found[0]

    def complete(self, instance_id: int, element_id: str, as_user: str, **changes):
        data = {**STEPS[element_id], **changes}
        self.runtime.complete_task(self.task(instance_id, element_id).id, data, as_user)

    @staticmethod
    def data(element_id: str, **changes) -> dict:
        """Valid data for a task's form, without its times (the browser sends those as typed)."""
        return {**{k: v for k, v in STEPS[element_id].items() if not k.endswith("_at")}, **changes}

    def lock_version(self, instance_id: int) -> int:
        with self.runtime.db.session() as session:
            return get_instance_row(session, instance_id).lock_version

    def events(self, instance_id: int, type_: str):
        with self.runtime.db.session() as session:
            return [e for e in list_events(session, instance_id) if e.type == type_]


@pytest.fixture
def cases(runtime) -> Cases:
    return Cases(runtime)



class Api:
    """Calls to /api/v1 as an integration makes them: a user's bearer token, JSON bodies."""

    def __init__(self, client, runtime):
        self.client = client
        self.runtime = runtime
        self.tokens: dict[str, str] = {}

    def token(self, user: str) -> str:
        """The user's API token, made on first use as `estatedesk token create` makes it."""
        if user not in self.tokens:
            from engine.accounts.tokens import create_token

            with self.runtime.transaction() as session:
                _view, self.tokens[user] = create_token(session, user, "test")
        return self.tokens[user]

    def call(self, method: str, path: str, user: str | None = None, json=None, headers=None):
        headers = dict(headers or {})
        if user is not None:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        return self.client.open(f"/api/v1{path}", method=method, json=json, headers=headers)

    def get(self, path: str, user: str | None = None, **kwargs):
        return self.call("GET", path, user, **kwargs)

    def post(self, path: str, user: str | None = None, json=None, **kwargs):
        return self.call("POST", path, user, json=json, **kwargs)


@pytest.fixture
def api(client, runtime) -> Api:
    return Api(client, runtime)


# -- a known month of cases for the statistics pages (issue #7) ------------------------

STATS_MONTH = "2026-09"


@pytest.fixture
def start_case(runtime):
    """Start a case as the scenario tests do: `start_case("repair", {...}, as_user="reception1")`."""
    from tests.scenario.conftest import Case

    def start(process_id, data=None, as_user="reception1"):
        result = runtime.start_instance(process_id, data or {}, as_user)
        return Case(runtime, result.instance.id, result.instance.reference)

    return start


def play_september(runtime, library) -> dict:
    """September 2026 at nanshan, played as tests/scenario/test_stats_month.py plays its
    November: a paid repair on time, a late one (reopened after a dissatisfied visit), an
    excessive-demand complaint, a cancelled and an open repair; beside it an August case
    still open, one at binhai and one in October. The clock ends on 5 October."""
    from engine.definitions.library import deploy_bundle
    from tests.scenario.conftest import Case
    from tests.scenario.test_stats_month import DOOR_OK as DOOR_OK_VISIT
    from tests.scenario.test_stats_month import PHONE_BAD, complaint, repair, visiting_every_case

    def start_case(process_id, data=None, as_user="reception1"):
        result = runtime.start_instance(process_id, data or {}, as_user)
        return Case(runtime, result.instance.id, result.instance.reference)

    with runtime.transaction() as session:  # every closed repair and complaint drawn for a visit
        deploy_bundle(session, visiting_every_case(library), actor="system", note="visit every case")

    clock = runtime.clock
    monday = datetime(2026, 9, 7, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shenzhen
    cases = {}
    clock.set(datetime(2026, 8, 20, 1, 0, tzinfo=timezone.utc))
    cases["august_open"] = start_case("repair")
    clock.set(monday)
    cases["paid"] = repair(start_case, clock, quantity=2)
    clock.set(monday + timedelta(days=1))
    cases["late"] = repair(start_case, clock, arrive_after=20, visits=(PHONE_BAD, DOOR_OK_VISIT))
    clock.set(monday + timedelta(days=2))
    cases["excessive"] = complaint(start_case, clock, "facility_not_in_plan")
    cases["excessive"].complete("explain_excessive", "reception1", explained=True, explanation="已解释")
    clock.set(monday + timedelta(days=3))
    cases["cancelled"] = start_case("repair")
    runtime.cancel_instance(cases["cancelled"].instance_id, "住户已自行修好", "supervisor1")
    clock.set(monday + timedelta(days=13))
    cases["open"] = start_case("repair")
    clock.set(monday + timedelta(hours=1))
    cases["binhai"] = start_case("repair", {"site": "binhai"}, as_user="reception2")  # its own clerk
    clock.set(datetime(2026, 10, 2, 1, 0, tzinfo=timezone.utc))
    cases["october"] = start_case("repair")
    clock.set(SEPTEMBER_PLAYED_UNTIL)
    return {name: (case.instance_id, case.reference) for name, case in cases.items()}


SEPTEMBER_PLAYED_UNTIL = datetime(2026, 10, 5, 1, 0, tzinfo=timezone.utc)
SEPTEMBER = seeds_fixture("stats_month", Seed("september", play_september, base=DEPLOYED))


@pytest.fixture
def stats_month(db_copy, runtime, clock) -> dict:
    """The cases of September 2026 (`play_september`), by name, on the clock it ends on.

    The month is played once per run; each test starts from a copy of the database it left.
    """
    from tests.scenario.conftest import Case

    clock.set(SEPTEMBER_PLAYED_UNTIL)
    return {name: Case(runtime, instance_id, reference)
            for name, (instance_id, reference) in db_copy.played[SEPTEMBER.name].items()}


def read_stats_table(page: str, table_id: str) -> list[list[tuple[str, str | None]]]:
    """A statistics table of a page as rows of (text, link) cells, the heading row first."""
    from lxml import html

    section = html.fromstring(page).get_element_by_id(f"table-{table_id}")
    rows = []
    for tr in section.iter("tr"):
        cells = []
        for td in tr:
            links = td.findall(".//a")
            cells.append((td.text_content().strip(), links[0].get("href") if links else None))
        rows.append(cells)
    return rows


@pytest.fixture
def stats_table():
    return read_stats_table


def call_in_through_triage(web: Web, runtime, category: str, unit: str = "5-2-101") -> tuple:
    """A receptionist takes a resident's call of `category` through the triage (help_request):
    the intake, then the registration. Returns the triage case and its events."""
    web.login("reception1")
    intake = {"category": category, "caller": "林先生", "unit": unit, "phone": "13800000000",
              "description": "电梯困人", "site": "nanshan"}
    response = web.post("/cases/new", intake)
    assert response.status_code == 302 and "/tasks/" in response.headers["Location"]
    register = response.headers["Location"].removeprefix("/tasks/")
    fields = {k: v for k, v in intake.items() if k != "site"}
    runtime.complete_task(register, {**fields, "received_at": "2026-11-23T17:00:00+08:00"}, "reception1")
    with runtime.db.read_session() as session:
        triage = get_instance_row(session, get_task(session, register, with_form=False).instance_id)
        return triage, list_events(session, triage.id)

"""Issue #20 finding 1: a deployed diagram may not stall or kill the server.

Runaway code goes in through the designer's deploy route, as a malicious or careless
designer would put it there: what lint can see is refused; what depends on case data is
stopped by the site's budget (processes/rules/sites.yaml `budgets`), the case in `error`.
"""

import resource
import threading
import time
from html import escape

import pytest

from engine.audit.events import EventType
from engine.definitions.budget import Budget
from engine.definitions.rules import Rules
from engine.runtime.queries import get_instance_row, instance_view, list_events
from tests.web.test_designer import posted, water_leak_xml

FIRST_TASK = '<bpmn:userTask id="register_leak" name="登记浸水报告并通知护管员到场">'
EXTENSIONS = "<bpmn:extensionElements>"


@pytest.fixture
def designer(web):
    web.login("designer1")
    return web


def on_first_task(script: str | None = None, instructions: str | None = None) -> str:
    """water_leak with a preScript and/or instructions on its first task, register_leak."""
    xml = water_leak_xml()
    at = xml.index(EXTENSIONS, xml.index(FIRST_TASK)) + len(EXTENSIONS)
    added = ""
    if script is not None:
        added += f"<spiffworkflow:preScript>{escape(script, quote=False)}</spiffworkflow:preScript>"
    if instructions is not None:
        added += f"<spiffworkflow:instructionsForEndUser>{escape(instructions, quote=False)}</spiffworkflow:instructionsForEndUser>"
    return xml[:at] + added + xml[at:]


def deploy(designer, xml: str) -> dict:
    response = posted(designer, "/processes/water_leak/deploy", {"xml": xml, "note": "预算"})
    assert response.status_code == 200, response.get_data(as_text=True)
    [result] = response.get_json()["results"]
    return result


@pytest.mark.parametrize(("script", "instructions", "says"), [
    ("t = sum(range(10**9))", None, "range of 1,000,000,000 items"),
    ("while True:\n    pass", None, "never ends"),
    ("s = 'a' * (3 * 10**9)", None, "over the memory budget"),
    (None, "{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}{% endfor %}",
     "nested loops of 10,000,000,000 steps"),
    (None, "{{ '%*d'|format(10**9, 1) }}", "format field wider than the memory budget"),
])
def test_lint_refuses_runaway_code_it_can_see_and_deploy_keeps_it_as_documentation(designer, runtime, script,
                                                                                   instructions, says):
    xml = on_first_task(script, instructions)
    findings = posted(designer, "/processes/water_leak/check", {"xml": xml}).get_json()["findings"]
    [finding] = [f for f in findings if says in f["detail"]]  # the technical English, beside the Chinese
    assert finding["severity"] == "error" and finding["element_id"] == "register_leak" and finding["line"]
    assert "限额" in finding["message"]
    assert deploy(designer, xml)["runnable"] is False
    assert runtime.start_instance("water_leak", {}, "reception1").instance.version == 1


def case_of(runtime, instance_id):
    with runtime.db.session() as session:
        return instance_view(session, get_instance_row(session, instance_id))


@pytest.mark.parametrize(("script", "says"), [
    ("n = 10**9\nt = sum(range(n))", "CPU"),
    ("x = 0\nwhile x == 0:\n    pass", "CPU"),
    ("x = 0\nwhile x == 0:\n    try:\n        x = x * 1\n    except Exception:\n        pass", "CPU"),
])
def test_a_runaway_script_lint_cannot_prove_puts_the_case_in_error_naming_the_element(designer, runtime,
                                                                                      script, says):
    assert deploy(designer, on_first_task(script))["runnable"] is True
    started = time.monotonic()
    result = runtime.start_instance("water_leak", {}, "reception1")
    assert time.monotonic() - started < 15  # the 1 s CPU budget, with room for a loaded machine
    case = case_of(runtime, result.instance.id)
    assert case.status == "error" and case.error_element == "register_leak"
    assert says in case.error_message and "秒" in case.error_message
    with runtime.db.session() as session:
        [error] = [e for e in list_events(session, result.instance.id) if e.type == EventType.ERROR]
    assert error.element_id == "register_leak" and error.data["line"] and says in error.data["message"]


def test_a_huge_string_is_refused_before_it_is_built(designer, runtime):
    assert deploy(designer, on_first_task("n = 3\ns = 'a' * (n * 10**8)"))["runnable"] is True
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result = runtime.start_instance("water_leak", {}, "reception1")
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - peak_before
    case = case_of(runtime, result.instance.id)
    assert case.status == "error" and case.error_element == "register_leak" and "内存" in case.error_message
    assert grown < 256 * 1024 * 1024


def test_other_users_are_answered_while_a_runaway_script_runs(designer, runtime, web_on, monkeypatch):
    # A longer budget than the site's 1 s, so "answered while it still runs" does not depend on
    # how fast this machine renders a page while another thread spins.
    monkeypatch.setattr(Rules, "budget", lambda self, site=None: Budget(cpu_seconds=4))
    other = runtime.start_instance("water_leak", {}, "reception1").instance
    assert deploy(designer, on_first_task("x = 0\nwhile x == 0:\n    pass"))["runnable"] is True
    reader = web_on(runtime)
    reader.login("reception1")
    reader.get_text(f"/cases/{other.reference}")  # warm: the first view compiles the page templates
    started = []
    runaway = threading.Thread(target=lambda: started.append(runtime.start_instance("water_leak", {}, "reception1")))
    runaway.start()
    try:
        page = reader.get_text(f"/cases/{other.reference}")
        still_running = runaway.is_alive()
    finally:
        runaway.join(timeout=60)
    assert other.reference in page
    assert still_running, "the page waited for the runaway script to be stopped"
    assert not runaway.is_alive()
    assert case_of(runtime, started[0].instance.id).status == "error"


def test_a_runaway_template_shows_a_chinese_notice_in_place_of_the_instructions(designer, runtime):
    # The inner bound depends on case data, so lint cannot see it.
    template = "{% for i in range(100000) %}{% for j in range(100000 - (unit or '')|length) %}{% endfor %}{% endfor %}"
    assert deploy(designer, on_first_task(instructions=template))["runnable"] is True
    result = runtime.start_instance("water_leak", {}, "reception1")
    web = designer
    web.login("reception1")
    started = time.monotonic()
    page = web.get_text(f"/tasks/{result.open_tasks[0].id}")
    assert time.monotonic() - started < 15
    assert "提示内容超出运行时间限额（1 秒），无法显示" in page

"""The script sandbox: escapes refused, ordinary expressions and scripts work, errors carry lines."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from xml.sax.saxutils import escape

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.clock import FakeClock, using_clock
from engine.definitions.scripting import (
    SandboxedScriptEngine,
    SandboxEnvironment,
    SandboxRefusal,
    _guarded_getattr,
    compile_sandboxed,
    validate_source,
)

START = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="http://example.org/test">
  <bpmn:process id="sandbox_test" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute" />
    <bpmn:scriptTask id="compute" name="计算" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="route" />
    <bpmn:exclusiveGateway id="route" name="判断" default="to_low">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>to_high</bpmn:outgoing><bpmn:outgoing>to_low</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="to_high" sourceRef="route" targetRef="high">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_low" sourceRef="route" targetRef="low" />
    <bpmn:endEvent id="high"><bpmn:incoming>to_high</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="low"><bpmn:incoming>to_low</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def make_workflow(script="pass", condition="False", data=None, helpers=None) -> BpmnWorkflow:
    """A workflow: start -> script task `compute` -> gateway `route` (condition -> `high`, else `low`)."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(BPMN.format(script=escape(script), condition=escape(condition)).encode())
    workflow = BpmnWorkflow(parser.get_spec("sandbox_test"), script_engine=SandboxedScriptEngine(helpers))
    workflow.task_tree.data.update(data or {})  # children copy their parent's data
    return workflow


def run(workflow: BpmnWorkflow) -> dict:
    """Run to the end under a fixed clock and return the data of the end event reached."""
    with using_clock(FakeClock(START)):
        workflow.do_engine_steps()
    assert workflow.is_completed()
    [end] = [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id in ("high", "low")]
    return {"end": end.task_spec.bpmn_id, **end.data}


def run_failing(workflow: BpmnWorkflow) -> WorkflowTaskException:
    """Run a workflow that must fail; return the exception after checking the task is in ERROR."""
    with using_clock(FakeClock(START)), pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()
    assert caught.value.task.state == TaskState.ERROR
    return caught.value


ESCAPES = [
    ("import os", "import statements are not allowed"),
    ("from os import system", "import statements are not allowed"),
    ("x = __import__('os')", '"__import__" is an invalid variable name'),
    ("f = open('/etc/passwd')", "calling open() is not allowed"),
    ("x = eval('1 + 1')", "calling eval() is not allowed"),
    ("exec('x = 1')", "calling exec() is not allowed"),
    ("c = compile('1', 'f', 'eval')", "calling compile() is not allowed"),
    ("g = globals()", "calling globals() is not allowed"),
    ("v = vars()", "calling vars() is not allowed"),
    ("x = getattr(1, '__class__')", "calling getattr() is not allowed"),
    ("t = type(1)", "calling type() is not allowed"),
    ("s = ().__class__.__base__.__subclasses__()", '"__subclasses__" is an invalid attribute name'),
    ("d = now.__dict__", '"__dict__" is an invalid attribute name'),
    ("g = now.__globals__", '"__globals__" is an invalid attribute name'),
    ("f = lambda: 0\nc = f.__code__", '"__code__" is an invalid attribute name'),
    ("g = (x for x in [1]).gi_frame", '"gi_frame" is a restricted name'),
    ("g = (x for x in [1])\nb = g.gi_frame.f_back", '"f_back" is a restricted name'),
    ("def f():\n    yield 1\ng = f().gi_code", '"gi_code" is a restricted name'),
    ("x = frame.f_globals", '"f_globals" is a restricted name'),
    ("s = '{0.__class__}'.format(1)", 'attribute "format" is not allowed'),
    ("s = str.format('{0.__class__}', 1)", 'attribute "format" is not allowed'),
    ("s = '{x.__class__}'.format_map({'x': 1})", 'attribute "format_map" is not allowed'),
    ("m = int.mro()", 'attribute "mro" is not allowed'),
    ("b = __builtins__", '"__builtins__" is an invalid variable name'),
    ("class A:\n    pass", "class definitions are not allowed"),
    ("try:\n    1 / 0\nexcept Exception as e:\n    tb = e.__traceback__", '"__traceback__" is an invalid attribute'),
]


@pytest.mark.parametrize("payload,message", ESCAPES, ids=[p for p, _ in ESCAPES])
def test_escape_in_script_task_is_refused(payload, message):
    error = run_failing(make_workflow(script=payload))
    assert str(error).startswith("refused by the sandbox: ")
    assert message in str(error)
    assert error.task.task_spec.bpmn_id == "compute"
    assert error.line_number >= 1 and error.error_line == payload.splitlines()[error.line_number - 1]


@pytest.mark.parametrize("condition", [
    "().__class__.__base__.__subclasses__()",
    "'{0.__class__}'.format(1)",
    "(lambda: 0).__globals__",
    "open('/etc/passwd').read()",
    "__import__('os')",
])
def test_escape_in_gateway_condition_is_refused(condition):
    error = run_failing(make_workflow(condition=condition))
    assert "refused by the sandbox: " in str(error)
    assert error.task.task_spec.bpmn_id == "route"


@pytest.mark.parametrize("script", ["f = open", "x = [open][0]", "b = dir", "g = getattr", "t = type"])
def test_dangerous_builtins_are_simply_absent(script):
    error = run_failing(make_workflow(script=script))
    assert "NameError" in str(error)


def test_import_hook_serves_only_what_datetime_needs():
    # datetime's C code imports `time` / `_strptime` through the builtins' __import__.
    hook = SandboxEnvironment().globals["__builtins__"]["__import__"]
    assert hook("time").__name__ == "time"
    for name in ("os", "sys", "builtins", "importlib"):
        with pytest.raises(SandboxRefusal, match=f"refused by the sandbox: import of '{name}'"):
            hook(name)


def test_runtime_attribute_guard_refuses_private_and_format_names():
    # Restricted code only reaches attributes through this guard; it refuses on its own too.
    for obj, name in [(1, "__class__"), ("{0}", "format"), ("{0}", "format_map"), (int, "mro"), (None, "gi_frame")]:
        with pytest.raises(SandboxRefusal, match="refused by the sandbox"):
            _guarded_getattr(obj, name)
    assert _guarded_getattr("ab", "upper")() == "AB"
    with pytest.raises(AttributeError):
        _guarded_getattr({}, "no_such_attribute")


@pytest.mark.parametrize("data,condition,end", [
    ({"help_type": "hospital"}, 'help_type == "hospital"', "high"),
    ({"help_type": "nursing"}, 'help_type == "hospital"', "low"),
    ({"amount": 150, "tags": ["vip"]}, 'amount > 100 and "vip" in tags', "high"),
    ({"amount": 150, "tags": []}, 'amount > 100 and "vip" in tags', "low"),
    ({"items": [{"ok": False}, {"ok": True}]}, 'any(i["ok"] for i in items)', "high"),
    ({"room": {"floor": 3}}, 'room["floor"] in (1, 2, 3) and len(room) == 1', "high"),
    ({"a": "x", "b": "y"}, 'f"{a}-{b}" == "x-y"', "high"),
    ({}, "now().hour == 9 and now().isoformat().startswith('2026-11-23')", "high"),
    ({}, "now() + timedelta(minutes=5) > datetime(2026, 11, 23, 9, 4, tzinfo=timezone.utc)", "high"),
    ({}, "now().strftime('%Y-%m-%d %H:%M') == '2026-11-23 09:00' and f'{now():%H}' == '09'", "high"),
    ({"due": "2026-11-23 10:00"}, "datetime.strptime(due, '%Y-%m-%d %H:%M').hour == 10", "high"),
    ({"n": 3}, "\n  n >= 3\n  ", "high"),  # whitespace around XML text is fine
])
def test_gateway_conditions_route_on_task_data(data, condition, end):
    assert run(make_workflow(condition=condition, data=data))["end"] == end


def test_script_task_assigns_task_data_and_leaves_nothing_else():
    script = "\n".join([
        "total = sum(prices)",
        "names = sorted(n.upper() for n in people)",
        "count = 0",
        "for p in prices:",
        "    count += 1",
        "first, second = prices[:2]",
        "info = {'k': [1, 2]}",
        "info['k'].append(3)",
        "def double(x):",
        "    return x * 2",
        "doubled = double(total)",
        "label = f'{total}件'",
        "stamp = now().isoformat()",
        "later = (now() + timedelta(minutes=5)).isoformat()",
        "print('debug output goes nowhere')",
    ])
    data = run(make_workflow(script=script, condition="doubled == 12", data={"prices": [1, 2, 3], "people": ["b", "a"]}))
    assert data == {
        "end": "high", "prices": [1, 2, 3], "people": ["b", "a"], "total": 6, "names": ["A", "B"],
        "count": 3, "p": 3, "first": 1, "second": 2, "info": {"k": [1, 2, 3]}, "doubled": 12, "label": "6件",
        "stamp": "2026-11-23T09:00:00+00:00", "later": "2026-11-23T09:05:00+00:00",
    }
    json.dumps(data)  # no helper, builtin, guard or function left behind


def test_environment_execute_strips_helpers_and_globals_even_on_error():
    env = SandboxEnvironment()
    data = {"a": 1}
    with pytest.raises(ZeroDivisionError):
        env.execute("b = a + 1\nc = b / 0", data)
    assert data == {"a": 1, "b": 2}


def test_helpers_are_built_from_task_data_and_injected():
    seen = []

    def helpers(task_data):
        seen.append(dict(task_data))
        limits = {"north": {"help.reply": "PT5M"}, "south": {"help.reply": "PT10M"}}[task_data["site"]]
        return {"sla": limits.__getitem__, "now": lambda: START}

    script = "limit = sla('help.reply')\nasked_at = now().isoformat()"
    data = run(make_workflow(script=script, condition='sla("help.reply") == "PT10M"', data={"site": "south"},
                             helpers=helpers))
    assert data == {"end": "high", "site": "south", "limit": "PT10M", "asked_at": "2026-11-23T09:00:00+00:00"}
    assert seen[0] == {"site": "south"}
    env = SandboxEnvironment(helpers)
    assert env.evaluate('sla("help.reply")', {"site": "north"}) == "PT5M"  # e.g. a timer expression


def test_default_helpers_give_the_engine_clock():
    with using_clock(FakeClock(START)):
        assert SandboxEnvironment().evaluate("now()", {}) == START
    with using_clock(FakeClock(datetime(2027, 1, 1, tzinfo=timezone.utc))):
        assert SandboxEnvironment().evaluate("now().year", {}) == 2027


def test_task_data_may_not_shadow_a_helper_in_a_script():
    error = run_failing(make_workflow(script="x = 1", data={"now": "yesterday"}))
    assert "now" in str(error) and "overwrites a predefined function" in str(error)


def test_runtime_error_reports_its_line():
    error = run_failing(make_workflow(script="x = 1\ny = x / 0\nz = 2"))
    assert error.line_number == 2
    assert error.error_line == "y = x / 0"
    assert str(error).startswith("ZeroDivisionError: division by zero")
    assert error.task.task_spec.bpmn_id == "compute"


def test_refusal_reports_its_line():
    error = run_failing(make_workflow(script="a = 1\nb = 2\nimport os"))
    assert (error.line_number, error.error_line) == (3, "import os")


def test_syntax_error_reports_its_line():
    error = run_failing(make_workflow(script="a = 1\nb = (\n"))
    assert error.line_number == 2 and "SyntaxError" in str(error)


def test_condition_error_names_the_gateway():
    error = run_failing(make_workflow(condition="missing_field > 1"))
    assert error.task.task_spec.bpmn_id == "route"
    assert "NameError: name 'missing_field' is not defined" in str(error)


@pytest.mark.parametrize("source,mode", [
    ('help_type == "hospital"', "eval"),
    ("now() + timedelta(minutes=5)", "eval"),
    ("total = 0\nfor x in items:\n    total += x['n']\nlabel = f'{total}'", "exec"),
])
def test_validate_source_accepts_good_code(source, mode):
    assert validate_source(source, mode) is None


@pytest.mark.parametrize("source,mode,message", [
    ("a ==", "eval", "syntax error: invalid syntax (line 1)"),
    ("x = 1\ny = (", "exec", "syntax error: '(' was never closed (line 2)"),
    ("import os", "exec", "refused by the sandbox: import statements are not allowed (line 1)"),
    ("x = 1\ny = x.__class__", "exec", 'refused by the sandbox: "__class__" is an invalid attribute name'),
    ("'{0}'.format(a)", "eval", 'refused by the sandbox: attribute "format" is not allowed'),
    ("x = 1", "eval", "syntax error"),  # an assignment is no expression
])
def test_validate_source_reports_bad_code(source, mode, message):
    assert validate_source(source, mode).startswith(message)


def test_compiled_code_is_cached():
    first = compile_sandboxed("cache_probe + 1", "eval")
    assert compile_sandboxed("cache_probe + 1", "eval") is first
    assert compile_sandboxed("cache_probe + 1", "exec") is not first  # mode is part of the key
    hits = compile_sandboxed.cache_info().hits
    env = SandboxEnvironment()
    assert [env.evaluate("cache_probe + 1", {"cache_probe": n}) for n in range(3)] == [1, 2, 3]
    assert compile_sandboxed.cache_info().hits == hits + 3

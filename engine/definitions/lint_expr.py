"""Static checks of diagram expressions for the linter (`engine/lint.py`).

`source_problem` asks the sandbox (`engine.scripting.validate_source`) whether a
condition or script compiles. `timer_problems` evaluates a timer expression with a tiny
evaluator that runs no code and knows only quoted text, numbers, f-strings, `sla("key")`,
`now()`, `timedelta(...)`, `before(field, duration)`/`after(field, duration)` (the only
place a case-data name may appear), `+`/`-` between them and `.isoformat()`/`.strftime()`,
then checks the result the way SpiffWorkflow's timer event definitions will parse it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection
from datetime import datetime, timedelta, timezone

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.policy.moments import HELPERS as MOMENT_HELPERS

#: what `now()` returns while linting
LINT_NOW = datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc)
#: what `sla(key)` returns while linting (the real value is per-site policy)
SLA_PLACEHOLDER = "PT5M"
#: what a case-data date-time named in `before()`/`after()` stands for while linting
CASE_MOMENT_PLACEHOLDER = LINT_NOW + timedelta(days=30)

# An unquoted ISO-8601 duration, date-time or recurring interval: PT5M, P3D, R3/PT10M,
# 2026-01-05T09:00:00Z. (PT5M even parses as a Python name, so this is checked first.)
_BARE_ISO = re.compile(
    r"^(R\d*/)?(P(?=[^/]*\d)[\dYMWDTHS.,]+|\d{4}-\d{2}-\d{2}(T[\d:.+\-Z]*)?)(/\S+)?$"
)

_EXPECTED = {
    "timeDuration": "an ISO-8601 duration such as PT5M",
    "timeDate": "an ISO-8601 date-time such as 2026-01-05T09:30:00+08:00",
    "timeCycle": "an ISO-8601 recurring interval such as R3/PT10M",
}


def source_problem(source: str, mode: str) -> str | None:
    """Return why `source` does not compile under the sandbox, or None when it does."""
    from engine.definitions.scripting import validate_source  # imported lazily: it pulls in RestrictedPython

    try:
        return validate_source(source, mode)
    except Exception as exc:  # the sandbox must never turn a bad diagram into a crash
        return f"{type(exc).__name__}: {exc}"


class _Unsupported(Exception):
    pass


class _Evaluator:
    """Evaluate the few expression forms a timer may use, without running any code."""

    def __init__(self, sla_keys: Collection[str], problems: list[str]):
        self.sla_keys = sla_keys
        self.problems = problems

    def eval(self, node: ast.AST):
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise _Unsupported(f"{_show(node)} is not supported in a timer expression")
        return method(node)

    def _Constant(self, node: ast.Constant):
        if isinstance(node.value, str | int | float) and not isinstance(node.value, bool):
            return node.value
        raise _Unsupported(f"{_show(node)} is not supported in a timer expression")

    def _JoinedStr(self, node: ast.JoinedStr):
        return "".join(str(self.eval(value)) for value in node.values)

    def _FormattedValue(self, node: ast.FormattedValue):
        value = self.eval(node.value)
        if node.conversion in (ord("r"), ord("a")):
            value = repr(value)
        elif node.conversion == ord("s"):
            value = str(value)
        spec = self.eval(node.format_spec) if node.format_spec is not None else ""
        if re.search(r"\d{4}", spec):
            raise _Unsupported(f"format spec {spec!r} is too wide for a timer expression")
        return format(value, spec)

    def _BinOp(self, node: ast.BinOp):
        left, right = self.eval(node.left), self.eval(node.right)
        moment = (datetime, timedelta)
        if isinstance(node.op, ast.Add) and (
                (isinstance(left, str) and isinstance(right, str))
                or (isinstance(left, moment) and isinstance(right, timedelta))
                or (isinstance(left, timedelta) and isinstance(right, datetime))):
            return left + right
        if isinstance(node.op, ast.Sub) and isinstance(left, moment) and isinstance(right, timedelta):
            return left - right
        raise _Unsupported(f"{_show(node)}: a timer expression may only join text with + and "
                           "add or subtract a timedelta")

    def _number(self, node: ast.AST):
        value = self.eval(node)
        if isinstance(value, int | float):
            return value
        raise _Unsupported(f"{_show(node)} is not a number")

    def _Call(self, node: ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id == "timedelta":
            if any(keyword.arg is None for keyword in node.keywords):
                raise _Unsupported("timedelta(**...) is not supported in a timer expression")
            args = [self._number(arg) for arg in node.args]
            kwargs = {keyword.arg: self._number(keyword.value) for keyword in node.keywords}
            return timedelta(*args, **kwargs)
        if node.keywords:
            raise _Unsupported(f"{_show(node)}: keyword arguments are not supported in a timer expression")
        if isinstance(func, ast.Name) and func.id == "sla":
            if len(node.args) != 1:
                raise _Unsupported('sla() takes exactly one key, e.g. sla("help.reply")')
            key = self.eval(node.args[0])
            if not isinstance(key, str):
                raise _Unsupported('sla() takes a key as text, e.g. sla("help.reply")')
            if key not in self.sla_keys:
                self.problems.append(f"unknown sla key {key!r} (not a target in processes/rules/sla.yaml)")
            return SLA_PLACEHOLDER
        if isinstance(func, ast.Name) and func.id in MOMENT_HELPERS:
            return self._shift(func.id, node.args)
        if isinstance(func, ast.Name) and func.id == "now":
            if node.args:
                raise _Unsupported("now() takes no arguments")
            return LINT_NOW
        if isinstance(func, ast.Attribute) and func.attr in ("isoformat", "strftime"):
            target = self.eval(func.value)
            args = [self.eval(arg) for arg in node.args]
            if isinstance(target, datetime) and len(args) <= 1 and all(isinstance(a, str) for a in args):
                return getattr(target, func.attr)(*args)
        raise _Unsupported(f"{_show(func)}() is not supported in a timer expression; use sla(\"key\"), now(), "
                           "before() or after()")

    def _shift(self, name: str, args: list[ast.AST]) -> str:
        """`before(moment, duration)` / `after(...)`: the moment may name a case-data field."""
        if len(args) != 2:
            raise _Unsupported(f'{name}() takes a date-time and a duration, e.g. {name}(deadline, sla("key"))')
        moment_node, duration_node = args
        moment = CASE_MOMENT_PLACEHOLDER if isinstance(moment_node, ast.Name) else self.eval(moment_node)
        duration = self.eval(duration_node)
        if not isinstance(moment, datetime | str) or not isinstance(duration, str):
            raise _Unsupported(f"{name}() takes a date-time and an ISO-8601 duration text")
        problem = _iso_problem("timeDuration", duration)
        if problem:
            raise _Unsupported(f"{name}(): {problem}")
        return MOMENT_HELPERS[name](moment, duration)

    def _Name(self, node: ast.Name):
        raise _Unsupported(f"{node.id!r} is not known before the case runs; a timer may only use "
                           "sla(\"key\"), now(), timedelta(), quoted ISO-8601 text, and case data "
                           "through before(field, duration) or after(field, duration)")


def _show(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."


def _iso_problem(kind: str, value: str) -> str | None:
    """Check `value` as SpiffWorkflow's timer definitions of `kind` will parse it."""
    timer = TimerEventDefinition
    try:
        if kind == "timeDuration":
            parsed = timer.parse_iso_duration(value) if value.strip()[:1] in ("P", "p") else None
            if not parsed:  # SpiffWorkflow accepts "5M" (5 months) and a bare "P"; ISO-8601 does not
                raise ValueError("it must start with P and give at least one amount")
            timer.get_timedelta_from_start(parsed, LINT_NOW)
        elif kind == "timeDate":
            if not isinstance(timer.parse_time_or_duration(value), datetime):
                raise ValueError("a duration is not a date-time")
        else:
            timer.parse_iso_recurring_interval(value)
    except Exception as exc:
        return f"{kind} value {value!r} is not {_EXPECTED[kind]} ({exc})"
    return None


def timer_problems(kind: str, text: str | None, sla_keys: Collection[str]) -> list[str]:
    """Return what is wrong with a timer expression of `kind` (timeDuration/timeDate/timeCycle)."""
    source = (text or "").strip()
    if not source:
        return [f"{kind} is empty"]
    if _BARE_ISO.match(source):
        return [f"{kind} {source} is not a Python expression: quote it (\"{source}\") or, for an SOP "
                "time limit, use sla(\"key\")"]
    problem = source_problem(text, "eval")
    if problem:
        return [f"{kind} expression does not compile under the sandbox: {problem}"]
    problems: list[str] = []
    try:
        value = _Evaluator(sla_keys, problems).eval(ast.parse(source, mode="eval").body)
    except _Unsupported as exc:
        return [*problems, f"{kind}: {exc}"]
    except (SyntaxError, ValueError, TypeError, OverflowError) as exc:
        return [*problems, f"{kind} expression cannot be evaluated: {exc}"]
    if problems:
        return problems
    if not isinstance(value, str):
        return [f"{kind} must evaluate to ISO-8601 text, not {type(value).__name__}"]
    problem = _iso_problem(kind, value)
    return [problem] if problem else []

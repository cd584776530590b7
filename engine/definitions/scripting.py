"""The sandbox every diagram expression and script task runs in.

Conditions, timer expressions, message payloads and scripts are Python written by process
authors, so RestrictedPython compiles them (plus our refusals: no imports, classes,
introspection calls or `str.format`) and they run with a few builtins and guards; no
attribute starting with "_" is reachable. Helpers (`sla`, `now`, `price`, ...) go in as
SpiffWorkflow's external context, which keeps them out of the task data after a script.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import contextvars
import functools
import operator
import re
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from types import CodeType
from typing import Literal

from RestrictedPython import Eval, Guards, PrintCollector, RestrictingNodeTransformer, safe_builtins
from RestrictedPython.compile import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.transformer import INSPECT_ATTRIBUTES
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine import clock
from engine.definitions.budget import (
    BINOPS,
    DEFAULT_BUDGET,
    INPLACE,
    Budget,
    budgeted,
    budgeted_range,
    guarded_method,
    guarded_pow,
)
from engine.errors import ScriptError

Helpers = Callable[[dict], dict[str, Callable]]
BudgetFor = Callable[[dict], Budget]  # the budget of a case, from its task data (its site)

# None of these is among our builtins; refusing the calls at compile time gives authors
# (and lint) a clear message instead of a NameError at run time.
_REFUSED_CALLS = frozenset({
    "open", "eval", "exec", "compile", "globals", "locals", "vars", "getattr", "setattr", "delattr",
    "hasattr", "type", "dir", "breakpoint", "input", "help", "memoryview", "object", "super",
    "classmethod", "staticmethod", "property", "exit", "quit"})
# str.format/format_map walk attributes inside the format string ("{0.__class__}"), a
# known RestrictedPython hole; mro() reaches `object`. f-strings are the safe spelling.
_EXTRA_REFUSED_ATTRS = frozenset({"format", "format_map", "mro"})
_REFUSED_ATTRS = INSPECT_ATTRIBUTES | _EXTRA_REFUSED_ATTRS


class SandboxRefusal(ScriptError):
    """Code the sandbox will not run: a refused statement, call or attribute."""

    def __init__(self, detail: str, line: int | None = None):
        self.detail = f"refused by the sandbox: {detail}"
        super().__init__(self.detail, line=line)


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus the refusals specific to diagrams."""

    def visit_Import(self, node):
        # RestrictedPython allows imports and relies on a guarded __import__; we have none.
        self.error(node, "import statements are not allowed")
        return node

    visit_ImportFrom = visit_Import

    def visit_ClassDef(self, node):
        self.error(node, "class definitions are not allowed")
        return node

    def visit_Call(self, node):
        if isinstance(node.func, ast.Name) and node.func.id in _REFUSED_CALLS:
            self.error(node, f"calling {node.func.id}() is not allowed")
        return super().visit_Call(node)

    def visit_BinOp(self, node):
        # Operators that can build a huge result in one C call go through a size guard.
        node = self.node_contents_visit(node)
        symbol = _GUARDED_OPS.get(type(node.op))
        if symbol is None:
            return node
        call = ast.Call(func=ast.Name("_binop_", ast.Load()), args=[ast.Constant(symbol), node.left, node.right],
                        keywords=[])
        return ast.fix_missing_locations(ast.copy_location(call, node))

    def visit_Try(self, node):
        # The budget stops a runaway script with an exception `except Exception` cannot catch;
        # a bare except or a finally block would let the script run on unwatched.
        if node.finalbody:
            self.error(node, "finally blocks are not allowed")
        if any(handler.type is None for handler in node.handlers):
            self.error(node, "a bare except is not allowed (name the exception)")
        return super().visit_Try(node)

    def visit_Attribute(self, node):
        if node.attr in _EXTRA_REFUSED_ATTRS:  # the base class reports INSPECT_ATTRIBUTES
            hint = " (use an f-string)" if node.attr.startswith("format") else ""
            self.error(node, f'attribute "{node.attr}" is not allowed{hint}')
        return super().visit_Attribute(node)


_GUARDED_OPS = {ast.Mult: "*", ast.Pow: "**", ast.Mod: "%", ast.LShift: "<<"}


def _binop(symbol: str, left, right):
    """`_binop_` of restricted code: `*`, `**`, `%` and `<<` under the memory budget."""
    return BINOPS[symbol](left, right)


def _guarded_getattr(obj, name):
    """`_getattr_` of restricted code: refuses private and introspection names, else getattr."""
    if not isinstance(name, str) or name.startswith("_") or name in _REFUSED_ATTRS:
        raise SandboxRefusal(f"attribute {name!r} is not allowed")
    # raise_ makes a missing attribute an AttributeError (safer_getattr's default is None).
    return guarded_method(obj, name, Guards.safer_getattr(obj, name, Guards.raise_))


_INPLACE_OPS = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "|=": operator.ior, "^=": operator.ixor, "&=": operator.iand,
    "@=": operator.imatmul}


def _inplacevar(op: str, target, value):
    """`_inplacevar_` of restricted code: `n += 1` on names (RestrictedPython 9 ships none)."""
    return INPLACE[op](target, value) if op in INPLACE else _INPLACE_OPS[op](target, value)


def _apply(func, *args, **kwargs):
    """`_apply_` of restricted code: calls written with `*args` / `**kwargs`."""
    return func(*args, **kwargs)


def _c_level_import(name, *args, **kwargs):
    """`__import__` for C code only: datetime's strftime/strptime import these two modules."""
    # Restricted source can never name `__import__` (leading "_"), so only C code gets here.
    if name not in {"time", "_strptime"}:
        raise SandboxRefusal(f"import of {name!r} is not allowed")
    return builtins.__import__(name, *args, **kwargs)


# Builtins: RestrictedPython's safe set without class building and attribute setters,
# plus what conditions and scripts need. sorted/zip/tuple iterate in C past `_getiter_`,
# which is harmless here: our `_getiter_` guards nothing (task data holds no proxies).
# The exceptions a budget stop could be caught as are dropped too.
_DROPPED = {"__build_class__", "_getattr_", "setattr", "delattr",
            "BaseException", "KeyboardInterrupt", "SystemExit", "GeneratorExit"}
_BUILTINS = {k: v for k, v in safe_builtins.items() if k not in _DROPPED}
_ADDED = (min, max, sum, sorted, any, all, list, dict, set, tuple, enumerate, zip)
_BUILTINS.update({f.__name__: f for f in _ADDED})
_BUILTINS.update(datetime=datetime, timedelta=timedelta, timezone=timezone, __import__=_c_level_import,
                 range=budgeted_range, pow=guarded_pow)

_SANDBOX_GLOBALS = {
    "__builtins__": _BUILTINS,  # must be set: exec() would otherwise add the real builtins
    "_getattr_": _guarded_getattr,
    "_getitem_": Eval.default_guarded_getitem,
    "_getiter_": Eval.default_guarded_getiter,
    "_write_": Guards.full_write_guard,  # item writes to dict/list only; no attribute writes
    "_iter_unpack_sequence_": Guards.guarded_iter_unpack_sequence,
    "_unpack_sequence_": Guards.guarded_unpack_sequence,
    "_inplacevar_": _inplacevar,
    "_apply_": _apply,
    "_binop_": _binop,
    "_print_": PrintCollector,  # print() works; its output goes nowhere
}


@functools.lru_cache(maxsize=4096)
def compile_sandboxed(source: str, mode: str) -> CodeType:
    """Compile `source` ("eval" or "exec") under the sandbox policy; cached per source and mode."""
    if mode == "eval":
        source = source.strip()  # as eval() of a string does; XML text often has whitespace
    # A SyntaxError propagates as is: SpiffWorkflow reads its lineno.
    tree = ast.parse(source, "<string>", mode)
    # Filename '<string>' lets the traceback lead back to the failing line of the script.
    compile_ = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    result = compile_(tree, "<string>", policy=_Policy)
    if result.errors:
        match = re.match(r"Line (\d+): (.*?)\.?$", result.errors[0], re.S)
        if match:
            raise SandboxRefusal(match[2], int(match[1]))
        raise SandboxRefusal(result.errors[0])
    return result.code


def validate_source(source: str, mode: Literal["eval", "exec"]) -> str | None:
    """Return why `source` cannot run in the sandbox (syntax error or refused construct), else None."""
    try:
        compile_sandboxed(source, mode)
    except SandboxRefusal as exc:
        return exc.detail + (f" (line {exc.line})" if exc.line else "")
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        return f"syntax error: {getattr(exc, 'msg', exc)}" + (f" (line {line})" if line else "")
    return None


_case_reference = contextvars.ContextVar("estatedesk_case_reference", default=None)
_cases_to_open = contextvars.ContextVar("estatedesk_cases_to_open", default=None)
_followup_tally = contextvars.ContextVar("estatedesk_followup_tally", default=None)
_reserve_reference = contextvars.ContextVar("estatedesk_reserve_reference", default=None)


@contextlib.contextmanager
def running_case(reference: str, tally=None, reserve: Callable[[str], str] | None = None):
    """Run a block as a step of case `reference`: helpers that depend on the case read it here.

    Yields the list of cases the step's scripts asked to open (`request_case`), each as
    (process, data, reference): the step opens them in its own transaction once the case's
    engine steps are done. `tally` is the month's follow-up tally in the step's transaction
    (engine/store/followup_tally.py); `reserve` hands out the reference a case of a process
    will have, so the opener can keep it (None outside a runtime: no reference).
    """
    requested: list[tuple[str, dict, str | None]] = []
    token, requests_token = _case_reference.set(reference), _cases_to_open.set(requested)
    tally_token, reserve_token = _followup_tally.set(tally), _reserve_reference.set(reserve)
    try:
        yield requested
    finally:
        _case_reference.reset(token)
        _cases_to_open.reset(requests_token)
        _followup_tally.reset(tally_token)
        _reserve_reference.reset(reserve_token)


def request_case(process_id: str, data: dict) -> str | None:
    """Ask the running step to open a case of `process_id` with `data` (a hand-over); return the
    reference the new case will have, so the opener can show it and follow the case up."""
    requested = _cases_to_open.get()
    if requested is None:
        raise ScriptError("open_case() needs a running case")
    reserve = _reserve_reference.get()
    reference = reserve(process_id) if reserve is not None else None
    requested.append((process_id, data, reference))
    return reference


def case_reference() -> str:
    """The reference of the case whose step is running; a helper used outside a step fails clearly."""
    reference = _case_reference.get()
    if reference is None:
        raise ScriptError("this helper needs a running case (it reads the case reference)")
    return reference


def followup_tally():
    """The follow-up tally of the running step; a step without one cannot draw."""
    tally = _followup_tally.get()
    if tally is None:
        raise ScriptError("followup_decision() needs a running case (it counts the month's decisions)")
    return tally


def _default_helpers(task_data: dict) -> dict[str, Callable]:
    """Helpers available when the engine is built without any: the engine clock's `now`."""
    return {"now": clock.now}


class SandboxEnvironment(TaskDataEnvironment):
    """TaskDataEnvironment that compiles with RestrictedPython and runs with restricted globals."""

    def __init__(self, helpers: Helpers | None = None, budget_for: BudgetFor | None = None):
        super().__init__(dict(_SANDBOX_GLOBALS))
        self.helpers = helpers or _default_helpers
        self.budget_for = budget_for or (lambda task_data: DEFAULT_BUDGET)

    def evaluate(self, expression, context, external_context=None):
        """Evaluate an expression over task data; helpers and guards win over data fields."""
        code = compile_sandboxed(expression, "eval")
        names = {**(external_context or {}), **context, **self.helpers(context), **self.globals}
        with budgeted(self.budget_for(context)):
            return eval(code, names)

    def execute(self, script, context, external_context=None):
        """Run a script with task data as its globals, then strip helpers, guards and functions."""
        code = compile_sandboxed(script, "exec")
        external = {**(external_context or {}), **self.helpers(context)}
        self.check_for_overwrite(context, external)
        context.update(external)
        context.update(self.globals)
        try:
            with budgeted(self.budget_for(context)):
                exec(code, context)
        finally:
            self._remove_globals_and_functions_from_context(context, external)
        return True


def _source_line(source: str, err: Exception) -> tuple[int, str]:
    """The line of `source` where `err` happened and its text, or (0, "") when unknown."""
    line = err.lineno if isinstance(err, SyntaxError) else err.line if isinstance(err, ScriptError) else None
    if not line:
        frames = [f.lineno for f in traceback.extract_tb(err.__traceback__) if f.filename == "<string>"]
        line = frames[-1] if frames else 0
    lines = source.splitlines()
    return line or 0, lines[line - 1] if line and line <= len(lines) else ""


class SandboxedScriptEngine(PythonScriptEngine):
    """PythonScriptEngine whose expressions and scripts all run in the RestrictedPython sandbox."""

    def __init__(self, helpers: Helpers | None = None, budget_for: BudgetFor | None = None):
        super().__init__(environment=SandboxEnvironment(helpers, budget_for))

    def validate(self, expression):
        """Raise SyntaxError or SandboxRefusal when `expression` cannot run in the sandbox."""
        compile_sandboxed(expression, "eval")

    def evaluate(self, task, expression, external_context=None):
        """Evaluate `expression` for `task`; any failure becomes a WorkflowTaskException."""
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except Exception as err:
            wrapped = self.create_task_exec_exception(task, expression, err)
            if wrapped is err:  # a SpiffWorkflowException, annotated in place
                raise
            raise wrapped from err

    def create_task_exec_exception(self, task, script, err):
        """Wrap `err` for SpiffWorkflow with its line; refusals say 'refused by the sandbox'."""
        if isinstance(err, SpiffWorkflowException):
            return super().create_task_exec_exception(task, script, err)
        line, error_line = _source_line(script, err)
        # str(), not args[0]: SpiffWorkflow's own version fails on KeyError(1).
        message = err.detail if isinstance(err, SandboxRefusal) else f"{type(err).__name__}: {err}"
        return WorkflowTaskException(message, task=task, exception=err, line_number=line,
                                     error_line=error_line)

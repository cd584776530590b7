"""Lint: diagram code that can be seen to overrun its budget (see engine/definitions/budget.py).

Constant parts of an expression are folded (numbers only, sizes estimated before any
power is computed) and checked: repeating a sequence with `*`, `**`, `<<`, printf widths
of `%` and f-strings, `range(...)` sizes (multiplied over nested loops) and
`while True` without a `break`. Bounds from case data cannot be seen here; the runtime
budget stops those. Templates are read with a small scanner, since engine/ has no Jinja.
"""

from __future__ import annotations

import ast
import math
import re

from engine.definitions.budget import DEFAULT_BUDGET, format_width

MAX_ITEMS = DEFAULT_BUDGET.memory_bytes  # a sequence or width longer than this cannot fit
MAX_STEPS = 10**7  # loop iterations no evaluation finishes within a one-second budget
_TAG = re.compile(r"\{%-?\s*(for\b.*?|endfor)\s*-?%\}|\{\{-?(.*?)-?\}\}", re.S)
_FORMAT_FILTER = re.compile(r"^(.*?)\|\s*format\s*\((.*)\)\s*$", re.S)


class _Unknown(Exception):
    pass


def _fold(node: ast.AST):
    """The value of a constant expression of numbers and text; _Unknown for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str | bytes):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_fold(node.operand)
    if isinstance(node, ast.Tuple | ast.List):
        return tuple(_fold(e) for e in node.elts)
    if isinstance(node, ast.BinOp):
        left, right = _fold(node.left), _fold(node.right)
        if isinstance(node.op, ast.Pow) and isinstance(left, int) and isinstance(right, int):
            if right > 0 and abs(left) > 1 and right * math.log2(abs(left)) > 256:
                raise _Unknown("too big to fold")  # _size reports it
        if isinstance(node.op, ast.Mult) and not (isinstance(left, int | float) and isinstance(right, int | float)):
            raise _Unknown("repetition")
        if isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Pow | ast.FloorDiv) and \
                isinstance(left, int | float) and isinstance(right, int | float):
            return {ast.Add: lambda: left + right, ast.Sub: lambda: left - right, ast.Mult: lambda: left * right,
                    ast.Pow: lambda: left ** right, ast.FloorDiv: lambda: left // right}[type(node.op)]()
    raise _Unknown(type(node).__name__)


def _value(node):
    try:
        return _fold(node)
    except (_Unknown, ArithmeticError, ValueError):
        return None


def _node_problem(node: ast.AST) -> str | None:
    """Why this one node can be seen to overrun the budget, or None."""
    if isinstance(node, ast.BinOp):
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Mult):
            for seq, seq_node, times in ((left, node.left, right), (right, node.right, left)):
                size = len(seq) if isinstance(seq, str | bytes | tuple) else \
                    len(seq_node.elts) * 8 if isinstance(seq_node, ast.List | ast.Tuple) else None
                if size and isinstance(times, int) and size * times > MAX_ITEMS:
                    return f"repeats a sequence to about {size * times:,} items, over the memory budget"
        if isinstance(node.op, ast.Pow) and isinstance(left, int) and isinstance(right, int) and abs(left) > 1:
            if right * math.log2(abs(left)) / 8 > MAX_ITEMS:
                return "a power whose result would not fit the memory budget"
        if isinstance(node.op, ast.Mod) and isinstance(left, str) and right is not None:
            if format_width(left, right) > MAX_ITEMS:
                return "a % format field wider than the memory budget allows"
    if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
        spec = "".join(str(v.value) for v in ast.walk(node.format_spec) if isinstance(v, ast.Constant))
        widths = [int(w) for w in re.findall(r"\d+", spec)]
        if widths and max(widths) > MAX_ITEMS:
            return "an f-string field wider than the memory budget allows"
    if isinstance(node, ast.While) and _value(node.test) not in (None, 0, "", ()) and not _breaks(node.body):
        return "while loop whose condition is always true and that has no break never ends"
    return None


def _breaks(body: list[ast.stmt]) -> bool:
    """Whether a break or return of this loop (not of a loop nested in it) is in `body`."""
    for stmt in body:
        for node in ast.walk(stmt) if not isinstance(stmt, ast.For | ast.While) else [stmt]:
            if isinstance(node, ast.Break | ast.Return):
                return True
        if isinstance(stmt, ast.For | ast.While) and stmt.orelse and _breaks(stmt.orelse):
            return True
    return False


def range_size(node: ast.AST) -> int | None:
    """The length of `range(...)` with constant bounds, else None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"):
        return None
    bounds = [_value(a) for a in node.args]
    if not bounds or not all(isinstance(b, int) for b in bounds) or (len(bounds) == 3 and bounds[2] == 0):
        return None
    return len(range(*bounds))


def unbounded_problems(source: str, mode: str = "exec") -> list[tuple[int, str]]:
    """(line, message) for each part of `source` that can be seen to overrun the budget."""
    try:
        tree = ast.parse(source.strip() if mode == "eval" else source, mode=mode)
    except SyntaxError:
        return []  # the sandbox check reports it
    problems = []
    for node in ast.walk(tree):
        problem = _node_problem(node)
        size = range_size(node)
        if problem is None and size is not None and size > MAX_STEPS:
            problem = f"range of {size:,} items cannot finish within the CPU budget"
        if problem:
            problems.append((getattr(node, "lineno", 1), problem))
    problems.extend(_nested_loop_problems(tree))
    return sorted(set(problems))


def _nested_loop_problems(tree: ast.AST, outer: int = 1) -> list[tuple[int, str]]:
    found = []
    for node in ast.iter_child_nodes(tree):
        steps = outer
        if isinstance(node, ast.For) and range_size(node.iter) is not None:
            steps = outer * range_size(node.iter)
            if steps > MAX_STEPS and range_size(node.iter) <= MAX_STEPS:
                found.append((node.lineno, f"nested loops of {steps:,} steps cannot finish within the CPU budget"))
                continue
        found.extend(_nested_loop_problems(node, steps))
    return found


def template_problems(template: str) -> list[tuple[int, str]]:
    """(line, message) for what an instruction template can be seen to overrun: loops and expressions."""
    problems, loops = [], [1]
    for match in _TAG.finditer(template):
        line = template.count("\n", 0, match.start()) + 1
        tag, expression = match.group(1), match.group(2)
        if tag == "endfor":
            loops.pop() if len(loops) > 1 else None
        elif tag:
            iterable = tag.split(" in ", 1)[1] if " in " in tag else ""
            size = _template_range(iterable)
            loops.append(loops[-1] * (size or 1))
            if loops[-1] > MAX_STEPS:
                problems.append((line, f"nested loops of {loops[-1]:,} steps cannot finish within the CPU budget"))
        elif expression:
            problems.extend((line, problem) for _, problem in unbounded_problems(_as_python(expression), "eval"))
    return problems


def _template_range(text: str) -> int | None:
    try:
        return range_size(ast.parse(text.strip(), mode="eval").body)
    except SyntaxError:
        return None


def _as_python(expression: str) -> str:
    """A Jinja expression as Python: `a|format(b)` is `a % (b,)`; other filters are dropped."""
    found = _FORMAT_FILTER.match(expression)
    if found:
        return f"({found[1]}) % ({found[2]},)"
    return expression.split("|", 1)[0]

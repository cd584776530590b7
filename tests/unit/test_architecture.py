"""Rules of the codebase that keep it readable: one direction of dependency, layers that
import only the layers below them, no import cycles, and every procedure proven by
scenario tests.

The import graph is read from the source (AST): module-level and function-level imports
alike, and `importlib.import_module("...")` strings, so a lazy import cannot hide a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB_PACKAGES = {"flask", "werkzeug", "jinja2", "flask_wtf", "flask_babel"}
OUR_PACKAGES = ("engine", "web", "cli")

# Bottom to top; a module may import its own package and the layers listed before it.
ENGINE_LAYERS = ["errors", "clock", "yamlfile", "correlation", "store", "audit", "policy", "definitions", "accounts",
                 "stats", "scheduling", "channels", "runtime", "duty"]
FOUNDATION = {"errors", "clock", "yamlfile", "correlation"}
TOP_LEVEL = ["engine", "web", "cli"]  # web imports engine; cli imports both


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path = ROOT) -> list[tuple[str, ...]]:
    """What the file imports, wherever the import statement stands: for each imported name the
    modules it may be, most specific first (`from a import b` is module `a.b` or a name in `a`)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, ...]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name,) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found += [(f"{module}.{alias.name}", module) for alias in node.names]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
              == "import_module" and node.args and isinstance(node.args[0], ast.Constant)):
            found.append((node.args[0].value,))
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module → the modules of ours it imports."""
    files = [p for package in OUR_PACKAGES for p in (root / package).rglob("*.py")
             if "vendor" not in p.parts and "migrations" not in p.parts]
    modules = {module_name(p, root): p for p in files}
    graph = {}
    for name, path in modules.items():
        targets = {next((m for m in candidates if m in modules), None) for candidates in imports_of(path, root)}
        graph[name] = targets - {None, name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first repeated at the end), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def layer_of(module: str) -> tuple[int, int]:
    """(top-level rank, engine layer rank) of a module; package roots rank lowest in their tier."""
    parts = module.split(".")
    top = TOP_LEVEL.index(parts[0])
    if parts[0] != "engine" or len(parts) == 1:
        return top, -1
    return top, ENGINE_LAYERS.index(parts[1])


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Imports that point at a higher layer (or, within the engine, a layer not below)."""
    wrong = []
    for source, targets in graph.items():
        for target in targets:
            same_package = source.split(".")[:2] == target.split(".")[:2]
            if same_package or target == "engine":
                continue
            if layer_of(target) > layer_of(source) or (
                    source.startswith("engine.") and target.startswith("engine.")
                    and layer_of(target) == layer_of(source)
                    and target.split(".")[1] not in FOUNDATION):
                wrong.append(f"{source} imports {target}")
    return sorted(wrong)


def test_there_are_no_import_cycles():
    assert find_cycle(import_graph()) is None


def test_each_layer_imports_only_the_layers_below_it():
    assert upward_imports(import_graph()) == []


def test_every_engine_package_says_what_it_owns_and_may_import():
    for package in sorted(p.parent for p in (ROOT / "engine").glob("*/__init__.py")):
        if package.name == "__pycache__":
            continue
        docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8")))
        assert docstring, f"engine/{package.name}/__init__.py has no docstring"
        assert package.name in ENGINE_LAYERS, f"engine/{package.name} is not in ENGINE_LAYERS"


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_the_checks_catch_a_lazy_cycle_and_an_upward_import(tmp_path):
    """The checks above are only worth something if they fail: show them a bad tree."""
    root = _write(tmp_path, {
        "engine/__init__.py": "",
        "engine/store/__init__.py": "", "engine/runtime/__init__.py": "",
        "engine/store/db.py": "def f():\n    from engine.runtime import step\n",
        "engine/runtime/step.py": "from engine.store import db\n",
        "web/__init__.py": "", "cli/__init__.py": "",
        "engine/audit/__init__.py": "",
        "engine/audit/chain.py": "import importlib\nimportlib.import_module('web.views')\n",
        "web/views.py": "",
    })
    graph = import_graph(root)
    assert find_cycle(graph) == ["engine.runtime.step", "engine.store.db", "engine.runtime.step"]
    assert upward_imports(graph) == ["engine.audit.chain imports web.views",
                                     "engine.store.db imports engine.runtime.step"]


@pytest.mark.parametrize("path", sorted((ROOT / "engine").rglob("*.py")), ids=lambda p: module_name(p))
def test_engine_never_imports_the_web_stack(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert not imported & WEB_PACKAGES, f"{path.name} imports {imported & WEB_PACKAGES}"


@pytest.mark.parametrize("bpmn", sorted((ROOT / "processes").glob("*.bpmn")), ids=lambda p: p.stem)
def test_every_procedure_has_a_scenario_test_file(bpmn):
    assert (ROOT / "tests" / "scenario" / f"test_{bpmn.stem}.py").is_file()


def test_only_the_runtime_commits():
    """One place commits: the step transaction (`session.begin()` blocks), never ad-hoc commit() calls."""
    offenders = [p.name for p in (ROOT / "engine").rglob("*.py") if ".commit()" in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_no_module_is_over_400_lines():
    long = [f"{module_name(p)}: {n}" for package in OUR_PACKAGES for p in (ROOT / package).rglob("*.py")
            if "vendor" not in p.parts and (n := len(p.read_text(encoding="utf-8").splitlines())) > 400]
    assert long == []


@pytest.mark.parametrize("path", sorted(p for package in ("engine", "web", "cli") for p in (ROOT / package).rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_production_code_never_runs_on_the_test_clock(path):
    """`FakeClock` stands still until a test moves it: a server running on one would never fire a timer."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    used = [node.lineno for node in ast.walk(tree)
            if (isinstance(node, ast.Name) and node.id == "FakeClock")
            or (isinstance(node, ast.Attribute) and node.attr == "FakeClock")]
    assert used == [], f"{path.name} uses FakeClock on line(s) {used}"

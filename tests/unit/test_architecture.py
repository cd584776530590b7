"""Rules of the codebase that keep it readable: one direction of dependency, and
every procedure proven by scenario tests."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB_PACKAGES = {"flask", "werkzeug", "jinja2", "flask_wtf"}


@pytest.mark.parametrize("path", sorted((ROOT / "engine").rglob("*.py")), ids=lambda p: p.name)
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


@pytest.mark.parametrize("path", sorted(p for package in ("engine", "web", "cli") for p in (ROOT / package).rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_production_code_never_runs_on_the_test_clock(path):
    """`FakeClock` stands still until a test moves it: a server running on one would never fire a timer."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    used = [node.lineno for node in ast.walk(tree)
            if (isinstance(node, ast.Name) and node.id == "FakeClock")
            or (isinstance(node, ast.Attribute) and node.attr == "FakeClock")]
    assert used == [], f"{path.name} uses FakeClock on line(s) {used}"

"""Traceability between the SOP requirement lines and the diagrams' elements.

`processes/rules/clauses.yaml` lists the requirement lines of PROCEDURES.md, each with
the seed clauses it comes from and the processes that implement it. Both directions
are checked and reported as lint warnings (bookkeeping must not stop a deploy; the
test suite holds the library to zero): a requirement that no element of its
processes cites, and an element citing a clause the list does not know (a typo, or
a requirement nobody wrote down).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import yaml

from engine.definitions.diagram import ProcessOutline
from engine.errors import DefinitionError, Finding
from engine.yamlfile import YAML_LOADER, _line_of, bundled_schema, load_yaml

CLAUSES_FILE = "clauses.yaml"
CLAUSES_PATH = f"processes/rules/{CLAUSES_FILE}"


@dataclass(frozen=True)
class Requirement:
    id: str
    text: str
    clauses: tuple[str, ...]
    processes: tuple[str, ...]
    outside_bpmn: str | None
    line: int | None


@lru_cache(maxsize=8)
def load_requirements(text: str) -> tuple[Requirement, ...]:
    """Parse and validate clauses.yaml; raise `DefinitionError` pointing at the bad line."""
    data = load_yaml(text, CLAUSES_PATH, bundled_schema("clauses"))
    node = yaml.compose(text, Loader=YAML_LOADER)
    requirements = [
        Requirement(r["id"], r["text"], tuple(r["clauses"]), tuple(r.get("processes", ())),
                    r.get("outside_bpmn"), _line_of(node, ["requirements", index]))
        for index, r in enumerate(data["requirements"])
    ]
    unplaced = [Finding(CLAUSES_PATH, r.line, r.id, "error",
                        "give either the processes that implement it or, as outside_bpmn, where else it is met")
                for r in requirements if bool(r.processes) == bool(r.outside_bpmn)]
    if unplaced:
        raise DefinitionError(unplaced)
    return tuple(requirements)


def element_clauses(element: dict) -> list[str]:
    """The clauses an element cites (its `clause` property may list several, split by ';')."""
    return [c.strip() for c in (element.get("clause") or "").split(";") if c.strip()]


def implementing_elements(requirement: Requirement, outlines: dict[str, ProcessOutline]) -> list[tuple[str, str]]:
    """(process_id, element_id) of each element of the requirement's processes citing one of its clauses."""
    wanted = set(requirement.clauses)
    return [
        (pid, element_id)
        for pid in requirement.processes if pid in outlines
        for element_id, element in outlines[pid].elements.items()
        if wanted & set(element_clauses(element))
    ]


def trace_findings(text: str | None, outlines: dict[str, ProcessOutline],
                   check_requirements: bool = True) -> list[Finding]:
    """Findings for both directions of the trace; none when the library has no clauses.yaml.

    Without `check_requirements` only the elements' clauses are checked (a few diagrams
    linted on their own cannot implement the whole list).
    """
    if text is None:
        return []
    try:
        requirements = load_requirements(text)
    except DefinitionError as exc:
        return exc.findings
    findings = []
    for requirement in requirements if check_requirements else ():
        if requirement.outside_bpmn:
            continue
        missing = [pid for pid in requirement.processes if pid not in outlines]
        if missing:
            findings.append(Finding(CLAUSES_PATH, requirement.line, requirement.id, "warning",
                                    f"names processes that do not exist: {', '.join(missing)}",
                                    f"要求 {requirement.id} 列出的流程不存在：{'、'.join(missing)}"))
        elif not implementing_elements(requirement, outlines):
            findings.append(Finding(CLAUSES_PATH, requirement.line, requirement.id, "warning",
                                    f"no element of {', '.join(requirement.processes)} cites any of "
                                    f"its clauses ({'; '.join(requirement.clauses)})",
                                    f"要求 {requirement.id}：{'、'.join(requirement.processes)} 中没有环节引用它的条款"
                                    f"（{'；'.join(requirement.clauses)}）"))
    known = {clause for requirement in requirements for clause in requirement.clauses}
    for outline in outlines.values():
        for element_id, element in outline.elements.items():
            for clause in element_clauses(element):
                if clause not in known:
                    findings.append(Finding(f"processes/{outline.file}", element.get("line"), element_id, "warning",
                                            f"clause {clause!r} is not a requirement in {CLAUSES_PATH}",
                                            f"办理依据 {clause} 不是 {CLAUSES_PATH} 中的要求条款"))
    return findings

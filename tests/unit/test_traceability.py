"""Traceability between PROCEDURES.md's requirement lines and the diagrams' elements."""

from pathlib import Path

import pytest

from engine.definitions.diagram import ProcessOutline
from engine.definitions.library import check_bundle
from engine.definitions.traceability import CLAUSES_FILE, load_requirements, trace_findings
from engine.errors import DefinitionError

REQUIREMENTS = """\
requirements:
  - id: repair.order
    text: Repair order written within 2 minutes.
    clauses: ["001/第8篇 4.1 2)"]
    processes: [repair]
  - id: repair.stats
    text: Monthly statistics.
    clauses: ["001/第6篇 4.10"]
    outside_bpmn: the statistics dashboard
"""


def outline(process_id: str, **clauses: str) -> dict[str, ProcessOutline]:
    elements = {eid: {"clause": clause, "line": 7} for eid, clause in clauses.items()}
    return {process_id: ProcessOutline(process_id, f"{process_id}.bpmn", None, True, elements=elements)}


def test_a_requirement_cited_by_an_element_and_a_listed_clause_are_clean():
    assert trace_findings(REQUIREMENTS, outline("repair", write_order="001/第8篇 4.1 2)")) == []


def test_a_requirement_no_element_cites_is_reported_at_its_line():
    [finding] = trace_findings(REQUIREMENTS, outline("repair", other="001/第6篇 4.10"))[:1]
    assert (finding.file, finding.line, finding.element_id) == ("processes/rules/clauses.yaml", 2, "repair.order")
    assert "no element of repair cites" in finding.message


def test_an_element_citing_an_unlisted_clause_is_reported_on_the_element():
    findings = trace_findings(REQUIREMENTS, outline("repair", write_order="001/第8篇 4.1 2); 001/第9篇 1"))
    assert [(f.file, f.line, f.element_id) for f in findings] == [("processes/repair.bpmn", 7, "write_order")]
    assert "'001/第9篇 1' is not a requirement" in findings[0].message


def test_a_requirement_naming_a_missing_process_is_reported():
    findings = trace_findings(REQUIREMENTS, outline("complaint", intake="001/第8篇 4.1 2)"))
    assert any("names processes that do not exist: repair" in f.message for f in findings)


def test_a_requirement_needs_processes_or_a_reason_it_is_outside_bpmn():
    broken = REQUIREMENTS.replace("    outside_bpmn: the statistics dashboard\n", "")
    with pytest.raises(DefinitionError) as raised:
        load_requirements(broken)
    [finding] = raised.value.findings
    assert (finding.line, finding.element_id) == (6, "repair.stats")
    assert "either the processes that implement it or, as outside_bpmn" in finding.message


def test_every_requirement_of_the_procedures_is_traced_both_ways(library):
    assert CLAUSES_FILE in library.rules, "processes/rules/clauses.yaml is missing"
    checked = check_bundle(library)
    assert trace_findings(library.rules[CLAUSES_FILE], checked.outlines) == []


def test_the_requirement_list_covers_every_section_of_procedures_md(shared_dir: Path):
    sections = [line for line in (shared_dir / "PROCEDURES.md").read_text(encoding="utf-8").splitlines()
                if line.startswith("## ") and "Roles" not in line]
    ids = {r.id.split(".")[0] for r in load_requirements(
        (Path(__file__).parents[2] / "processes/rules/clauses.yaml").read_text(encoding="utf-8"))}
    prefixes = ["principles", "triage", "emergency", "water_leak", "gas_leak", "move_in", "complaint",
                "repair", "consultation", "duty", "followup"]
    assert len(sections) == len(prefixes) and set(prefixes) <= ids


def test_a_partial_lint_checks_only_the_clauses_of_the_diagrams_given():
    findings = trace_findings(REQUIREMENTS, outline("complaint", intake="001/第9篇 1"), check_requirements=False)
    assert [f.element_id for f in findings] == ["intake"]

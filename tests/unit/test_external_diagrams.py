"""Diagrams from other tools (../shared/external/bpmn-miwg, CC BY 3.0): each one either
deploys or is kept as a documentation version with its findings — never a crash; a file
that is not a BPMN diagram at all is refused and nothing of it is kept."""

from pathlib import Path

import pytest
from sqlalchemy import select

from cli.main import main
from engine.definitions.designs import get_draft, save_draft
from engine.definitions.diagram_files import MAX_DIAGRAM_BYTES
from engine.definitions.diagram_import import import_diagram
from engine.errors import BadInput, DefinitionError, DiagramTooLarge, NotADiagram, NotFound
from engine.runtime.step import Runtime
from engine.store.models import ProcessVersion


@pytest.fixture
def external_files(shared_dir: Path) -> list[Path]:
    files = sorted((shared_dir / "external" / "bpmn-miwg").rglob("*.bpmn"))
    assert files, "no BPMN files in the external folder"
    return files


def test_every_external_diagram_is_deployed_or_kept_as_documentation(db, library, external_files):
    runtime = Runtime(db)
    kept = deployed = 0
    for path in external_files:
        with runtime.transaction() as session:
            results = import_diagram(session, library, str(path), path.read_bytes(), "designer1", "MIWG")
        assert results, path
        for result in results:  # an identical copy in another folder is already there
            if result.runnable:
                deployed += 1
            else:
                kept += result.created
                assert result.findings, f"{path} was refused without a reason"
    with db.session() as session:
        documentation = session.scalars(select(ProcessVersion).where(ProcessVersion.executable.is_(False))).all()
    assert kept + deployed >= len(external_files) // 2 and len(documentation) == kept
    assert all(v.assets["findings"] and v.bpmn_xml and v.spec_json == "" for v in documentation)


def test_importing_the_same_file_again_changes_nothing(db, library, external_files):
    runtime = Runtime(db)
    path = external_files[0]
    with runtime.transaction() as session:
        first = import_diagram(session, library, str(path), path.read_bytes(), "designer1")
    with runtime.transaction() as session:
        again = import_diagram(session, library, str(path), path.read_bytes(), "designer1")
    assert [(r.process_id, r.version) for r in again] == [(r.process_id, r.version) for r in first]
    assert not any(r.created for r in again)


def test_a_documentation_version_can_never_start_a_case(db, library, external_files):
    runtime = Runtime(db)
    path = external_files[0]
    with runtime.transaction() as session:
        [result] = import_diagram(session, library, str(path), path.read_bytes(), "designer1")[:1]
    assert not result.runnable
    with pytest.raises(NotFound):
        runtime.start_instance(result.process_id, {}, "reception1")


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>'
XHTML = (b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>'
         b'<script>alert(document.domain)</script></body></html>')
NOT_BPMN = (
    (SVG, "svg"),
    (XHTML, "html"),
    (b'<definitions xmlns="urn:example:not-bpmn"><process id="x"/></definitions>', "definitions"),
    (b'<dmn:definitions xmlns:dmn="https://www.omg.org/spec/DMN/20191111/MODEL/"/>', "definitions"),
)


def stored_versions(db, process_id: str) -> list[ProcessVersion]:
    with db.session() as session:
        return session.scalars(select(ProcessVersion).where(ProcessVersion.process_id == process_id)).all()


@pytest.mark.parametrize(("data", "root"), NOT_BPMN)
def test_a_file_that_is_not_a_bpmn_diagram_is_refused_and_nothing_is_kept(db, library, data, root):
    with Runtime(db).transaction() as session, pytest.raises(NotADiagram) as refused:
        import_diagram(session, library, "page.bpmn", data, "designer1")
    assert (refused.value.filename, refused.value.root) == ("page.bpmn", root)
    assert "page.bpmn: not a BPMN diagram" in str(refused.value)
    assert stored_versions(db, "page") == []


@pytest.mark.parametrize("data", [b"<bpmn:definitions", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'])
def test_malformed_and_hostile_files_are_refused_with_the_line_at_fault(db, library, data):
    with Runtime(db).transaction() as session, pytest.raises(DefinitionError) as refused:
        import_diagram(session, library, "broken.bpmn", data, "designer1")
    [finding] = refused.value.findings
    assert finding.file == "broken.bpmn" and finding.line == 1 and finding.severity == "error"
    assert stored_versions(db, "broken") == []


def test_a_diagram_over_the_size_cap_is_refused_and_nothing_is_kept(db, library, external_files):
    data = external_files[0].read_bytes().replace(b"</", b"<!-- " + b"x" * MAX_DIAGRAM_BYTES + b" --></", 1)
    with Runtime(db).transaction() as session, pytest.raises(DiagramTooLarge) as refused:
        import_diagram(session, library, "big.bpmn", data, "designer1")
    assert (refused.value.size, refused.value.limit) == (len(data), MAX_DIAGRAM_BYTES)
    with db.session() as session:
        assert session.scalars(select(ProcessVersion)).all() == []


def test_a_draft_must_be_a_bpmn_diagram_too(runtime):
    with runtime.transaction() as session, pytest.raises(NotADiagram):
        save_draft(session, "water_leak", "designer1", SVG.decode(), 1)
    with runtime.db.session() as session:
        assert get_draft(session, "water_leak", "designer1") is None


def test_only_bpmn_files_are_imported(db, library):
    with Runtime(db).transaction() as session, pytest.raises(BadInput):
        import_diagram(session, library, "notes.txt", b"hello", "designer1")


def test_lint_of_each_external_file_exits_0_or_1(external_files, capsys, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    codes = {}
    for path in external_files:
        codes[path.name] = main(["lint", str(path)])
        capsys.readouterr()
    assert set(codes.values()) <= {0, 1}, codes

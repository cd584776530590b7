"""Diagrams from other tools (../shared/external/bpmn-miwg, CC BY 3.0): each one either
deploys or is kept as a documentation version with its findings — never a crash."""

from pathlib import Path

import pytest
from sqlalchemy import select

from cli.main import main
from engine.definitions.diagram_import import import_diagram
from engine.errors import BadInput, NotFound
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


def test_malformed_and_hostile_files_are_kept_with_their_findings(db, library):
    runtime = Runtime(db)
    hostile = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    for name, data in (("broken.bpmn", b"<bpmn:definitions"), ("entities.bpmn", hostile)):
        with runtime.transaction() as session:
            [result] = import_diagram(session, library, name, data, "designer1")
        assert not result.runnable and result.process_id == name.removesuffix(".bpmn")
        assert result.findings and all(f.severity == "error" for f in result.findings)


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

"""The deployed library beside the files (`engine.definitions.deployed`) and writing a deployed
diagram back into the library folder (`engine.definitions.library.write_diagram`)."""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from engine.definitions.deployed import drift_findings, latest_runnable
from engine.definitions.diagram_import import import_diagram
from engine.definitions.library import write_diagram
from engine.errors import BadInput

ROOT = Path(__file__).resolve().parents[2]


def renamed(library) -> bytes:
    edited = library.bpmn["water_leak.bpmn"].replace("作好值班记录".encode(), "填写值班记录".encode(), 1)
    assert edited != library.bpmn["water_leak.bpmn"]
    return edited


def test_latest_runnable_is_the_version_new_cases_start_on(runtime, library):
    with runtime.transaction() as session:
        import_diagram(session, library, "water_leak.bpmn", renamed(library), "designer1", "改名")
        broken = library.bpmn["water_leak.bpmn"].replace(b'name="clause"', b'name="c"')
        [kept] = import_diagram(session, library, "water_leak.bpmn", broken, "designer1", "坏的")
    assert (kept.version, kept.runnable) == (3, False)  # a documentation version never starts a case
    with runtime.db.session() as session:
        latest = latest_runnable(session)
    assert (latest["water_leak"].version, latest["water_leak"].created_by) == (2, "designer1")
    assert latest["water_leak"].bpmn_xml == renamed(library).decode()
    assert runtime.start_instance("water_leak", {}, "reception1").instance.version == 2
    assert set(latest) >= {"emergency_patient", "gas_leak", "help_request"}


def test_drift_names_each_file_that_is_not_its_latest_runnable_version(runtime, library):
    with runtime.db.session() as session:
        latest = latest_runnable(session)
    assert drift_findings(library, latest) == []
    edited = replace(library, bpmn={**library.bpmn, "water_leak.bpmn": renamed(library)})
    [finding] = drift_findings(edited, latest)
    assert (finding.file, finding.element_id, finding.severity, finding.line) == (
        "processes/water_leak.bpmn", "water_leak", "warning", 13)
    assert "differs from water_leak v1, the version new cases start on (deployed by system)" in finding.message
    assert drift_findings(edited, latest, files=["gas_leak.bpmn"]) == []
    new_process = replace(library, bpmn={**library.bpmn, "water_leak.bpmn": renamed(library).replace(
        b'id="water_leak"', b'id="water_leak_2"')})
    assert drift_findings(new_process, latest) == []  # never deployed: nothing to differ from


def test_write_diagram_replaces_the_file_whole_and_keeps_its_mode(tmp_path):
    folder = Path(shutil.copytree(ROOT / "processes", tmp_path / "processes"))
    target = folder / "water_leak.bpmn"
    os.chmod(target, 0o664)
    assert write_diagram(folder, "water_leak.bpmn", "<新/>") == target
    assert target.read_text(encoding="utf-8") == "<新/>"
    assert stat.S_IMODE(target.stat().st_mode) == 0o664
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []  # no temporary left
    write_diagram(folder, "lift_failure.bpmn", "<x/>")
    assert stat.S_IMODE((folder / "lift_failure.bpmn").stat().st_mode) == 0o644


@pytest.mark.parametrize("name", ["../water_leak.bpmn", "rules/staff.yaml", "sub/x.bpmn", "notes.txt"])
def test_write_diagram_writes_only_a_diagram_of_the_folder(tmp_path, name):
    with pytest.raises(BadInput):
        write_diagram(tmp_path, name, "<x/>")

"""`estatedesk lint FILE` checks one diagram against the library and the deployed versions, and
`lint` / `deploy` name the files that differ from the version new cases start on."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from cli.main import main

ROOT = Path(__file__).resolve().parents[2]
DIAGRAMS = Path(__file__).parent / "diagrams"
RENAMED = ('name="作好值班记录"', 'name="填写值班记录"')
DRIFT = re.compile(r"^(\S+water_leak\.bpmn):13: water_leak: warning: differs from water_leak v(\d), the version new "
                   r"cases start on \(deployed by (\w+)\): deploy this file, or save "
                   r"/processes/water_leak/versions/\2\.bpmn over it to keep v\2$", re.M)


@pytest.fixture
def processes(tmp_path) -> Path:
    return Path(shutil.copytree(ROOT / "processes", tmp_path / "processes"))


@pytest.fixture
def cli(tmp_path, processes, monkeypatch, capsys):
    database = tmp_path / "cli.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.chdir(ROOT)

    def run(*args):
        code = main(["--processes", str(processes), *args])
        out, err = capsys.readouterr()
        return code, out, err

    run.database = database
    return run


def test_one_file_is_checked_against_the_library_it_calls_into(cli):
    code, out, err = cli("lint", "processes/gas_leak.bpmn")  # calls emergency_patient and incident
    assert code == 0 and "error" not in out
    assert "1 diagrams checked: 0 errors" in err
    assert not cli.database.exists()  # lint reads a database when there is one, never makes one


def test_findings_of_other_library_diagrams_are_not_shown_for_one_file(cli, processes):
    broken = (processes / "repair.bpmn").read_text(encoding="utf-8").replace(
        '<spiffworkflow:property name="clause"', '<spiffworkflow:property name="c"', 1)
    (processes / "repair.bpmn").write_text(broken, encoding="utf-8")
    assert "repair.bpmn" in cli("lint")[1]
    code, out, _ = cli("lint", "processes/water_leak.bpmn")
    assert code == 0 and "repair.bpmn" not in out


def test_a_call_into_a_process_deployed_but_missing_from_the_library_says_so(cli, processes):
    assert cli("init")[0] == 0
    (processes / "emergency_patient.bpmn").unlink()
    code, out, _ = cli("lint", str(processes / "gas_leak.bpmn"))
    assert code == 1
    assert re.search(r"gas_leak\.bpmn:\d+: treat_poisoned: error: calls process 'emergency_patient', which is "
                     r"deployed but has no diagram in the library: put its \.bpmn in processes/", out), out


def test_a_file_kept_as_documentation_says_why_it_never_runs(cli):
    code, out, _ = cli("lint", str(DIAGRAMS / "non_executable.bpmn"))
    assert code == 0
    assert re.search(r"non_executable\.bpmn:3: lint_documentation: warning: kept as documentation, never run: "
                     r'isExecutable="false"; 1 of 1 human tasks without a form; 3 of 4 elements without a clause$',
                     out, re.M), out


def test_lint_and_deploy_name_a_file_that_differs_from_the_deployed_version(cli, processes):
    assert cli("init")[0] == 0
    assert cli("lint")[1].count("differs from") == 0
    original = (processes / "water_leak.bpmn").read_text(encoding="utf-8")
    (processes / "water_leak.bpmn").write_text(original.replace(*RENAMED, 1), encoding="utf-8")
    code, out, _ = cli("lint")
    assert code == 0 and DRIFT.findall(out) == [("processes/water_leak.bpmn", "1", "system")]
    assert DRIFT.findall(cli("lint", str(processes / "water_leak.bpmn"))[1]) == [
        (str(processes / "water_leak.bpmn"), "1", "system")]
    code, out, _ = cli("deploy", "--note", "改名")
    assert code == 0 and "water_leak v2 deployed" in out and "differs" not in out
    # Put back as it was, the file is version 1 again: deploying it finds v1, new cases still start on v2.
    (processes / "water_leak.bpmn").write_text(original, encoding="utf-8")
    code, out, _ = cli("deploy")
    assert "water_leak v1 unchanged (an older version: new cases start on v2)" in out
    assert DRIFT.findall(out) == [("processes/water_leak.bpmn", "2", "system")]


def test_a_database_that_cannot_be_read_is_said_and_the_files_are_linted_alone(cli, monkeypatch, tmp_path):
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")  # a database never migrated
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{empty}")
    code, _, err = cli("lint", "processes/gas_leak.bpmn")
    assert code == 0 and "not compared with the deployed versions: cannot read sqlite:///" in err

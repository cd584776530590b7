"""The estatedesk command as an operator uses it: exit codes, one-line errors, output
formats other tools read. It runs on its own SQLite file whatever DATABASE_URL says,
since what is tested here is the command, not the database."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import OneLineLogFormatter, main

ROOT = Path(__file__).resolve().parents[2]
DIAGRAMS = Path(__file__).parent / "diagrams"


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.chdir(ROOT)

    def run(*args):
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="module")
def initialised_db(tmp_path_factory) -> Path:
    """A database as `estatedesk init` leaves it, made once for this module's tests to copy."""
    path = tmp_path_factory.mktemp("cli-init") / "cli.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", f"sqlite:///{path}")
        patch.chdir(ROOT)
        assert main(["init"]) == 0
    return path


@pytest.fixture
def initialised(cli, initialised_db, tmp_path):
    """The command on a database just initialised (a copy: `init` itself is tested above)."""
    # SQLite's backup copies what the write-ahead log holds too, whoever still has the file open.
    with sqlite3.connect(initialised_db) as source, sqlite3.connect(tmp_path / "cli.db") as target:
        source.backup(target)
    source.close()
    target.close()
    return cli


def test_init_deploys_library_and_lists_demo_users(cli):
    code, out, _ = cli("init")
    assert code == 0
    assert "emergency_patient v1 deployed" in out
    assert "password 'demo'" in out
    assert re.search(r"^  reception1 +王敏 · 接待员 Reception · nanshan$", out, re.M)  # whom to log in as
    assert re.search(r"^  auditor1 +审计员 · 审计员 Auditor · nanshan$", out, re.M)
    code, out, _ = cli("init")
    assert code == 0 and "emergency_patient v1 unchanged" in out


def test_lint_of_clean_library_exits_zero(cli):
    code, out, err = cli("lint")
    assert code == 0 and out == ""
    assert "0 errors" in err


def test_lint_prints_one_finding_per_line_and_exits_one(cli):
    code, out, _ = cli("lint", str(DIAGRAMS / "missing_clause.bpmn"))
    assert code == 1
    lines = out.strip().splitlines()
    assert lines and all(re.match(r"^[^:]+:\d+: [^:]+: (error|warning): .+", line) for line in lines)
    assert "missing_clause.bpmn" in lines[0]


def test_lint_of_missing_file_is_bad_input(cli):
    code, _, err = cli("lint", "no/such.bpmn")
    assert code == 2 and err.strip().count("\n") == 0 and "no such file" in err


def test_a_case_from_start_to_show(initialised):
    cli = initialised
    code, out, _ = cli("start", "emergency_patient", "--as", "reception1",
                       "--data", json.dumps({"caller": "林先生", "unit": "3-2-1201"}))
    assert code == 0 and out.startswith("JJ-")
    reference = out.split()[0]
    code, out, _ = cli("tasks", "--as", "reception1")
    task_id = out.split()[0]
    assert code == 0 and reference in out
    form = {"unit": "3-2-1201", "phone": "13800000000", "condition": "晕倒", "help_type": "call_120",
            "major": False}
    code, out, _ = cli("complete", task_id, "--as", "reception1", "--data", json.dumps(form))
    assert code == 0 and "了解病情并拨打120" in out
    code, out, _ = cli("show", reference)
    assert code == 0
    assert "executed: start → choose_help → gw_help_type" in out
    assert "Flow_call_120" in out
    code, out, _ = cli("audit", "verify")
    assert code == 0 and "intact" in out


def test_a_help_request_from_the_command_line_is_registered_then_routed(initialised):
    cli = initialised
    intake = {"caller": "林先生", "unit": "3-2-1201", "phone": "13800000000", "category": "repair",
              "description": "厨房水龙头漏水"}
    code, out, _ = cli("start", "help_request", "--as", "reception1", "--data", json.dumps(intake))
    assert code == 0 and out.startswith("QZ-") and "登记住户求助" in out
    task_id = cli("tasks", "--as", "reception1")[1].split()[0]
    code, out, _ = cli("complete", task_id, "--as", "reception1",
                       "--data", json.dumps({**intake, "received_at": "2026-11-23T09:05:00+08:00"}))
    assert code == 0 and "填写维修单" in out  # the repair procedure's first task


@pytest.mark.parametrize("args, message", [
    (("start", "no_such_process", "--as", "reception1"), "not deployed"),
    (("start", "emergency_patient", "--as", "nobody"), "unknown user"),
    (("start", "emergency_patient", "--as", "reception1", "--data", "{bad json"), "not valid JSON"),
    (("start", "emergency_patient", "--as", "reception1", "--data", "[1]"), "JSON object"),
    (("complete", "00000000-0000-0000-0000-000000000000", "--as", "reception1"), "does not exist"),
    (("send", "JJ-20261123-0001", "ambulance_arrived"), "does not exist"),
    (("show", "999"), "does not exist"),
])
def test_bad_input_prints_one_line_and_exits_two(initialised, args, message):
    code, out, err = initialised(*args)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_invalid_form_data_names_the_fields(initialised):
    cli = initialised
    cli("start", "emergency_patient", "--as", "reception1")
    task_id = cli("tasks", "--as", "reception1")[1].split()[0]
    code, _, err = cli("complete", task_id, "--as", "reception1", "--data", '{"help_type": "taxi"}')
    assert code == 2
    assert "help_type" in err and "unit" in err and len(err.strip().splitlines()) == 1


def test_message_nothing_waits_for_is_refused(initialised):
    cli = initialised
    reference = cli("start", "emergency_patient", "--as", "reception1")[1].split()[0]
    code, _, err = cli("send", reference, "ambulance_arrived")
    assert code == 2 and "not waiting" in err


def test_a_comment_goes_into_the_case_record(initialised):
    cli = initialised
    reference = cli("start", "emergency_patient", "--as", "reception1")[1].split()[0]
    code, out, _ = cli("comment", reference, "--text", "家属已到场", "--as", "guard1")
    assert code == 0 and out.startswith(f"{reference}: comment by guard1")
    code, out, _ = cli("show", reference)
    assert "comment_added" in out and "家属已到场" in out
    code, _, err = cli("comment", reference, "--text", " ", "--as", "guard1")
    assert code == 2 and "text" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("comment", reference, "--text", "看过了", "--as", "auditor1")
    assert code == 2 and "may not comment" in err


def test_usage_errors_exit_two():
    result = subprocess.run([sys.executable, "-m", "cli", "start"], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 2 and "usage:" in result.stderr and "Traceback" not in result.stderr


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "estatedesk"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "audit" in result.stdout


def test_worker_logs_a_failure_in_one_line_without_traceback():
    try:
        raise RuntimeError("disk full")
    except RuntimeError:
        record = logging.LogRecord("engine.runtime", logging.ERROR, __file__, 1,
                                   "firing the timers of case %s failed; they stay due", (7,), sys.exc_info())
    line = OneLineLogFormatter().format(record)
    assert "\n" not in line
    assert line.endswith("ERROR firing the timers of case 7 failed; they stay due (RuntimeError: disk full)")


def test_token_create_prints_it_once_and_stores_only_its_hash(initialised):
    cli = initialised
    code, out, err = cli("token", "create", "reception1", "--name", "phone-system")
    assert code == 0
    secret = out.strip()
    assert re.fullmatch(r"edk_[A-Za-z0-9_-]{40,}", secret)
    assert "shown once" in err
    code, out, _ = cli("token", "list")
    assert code == 0
    assert re.search(r"^1  reception1  phone-system  created \S+ \S+  active$", out, re.M)
    assert secret not in out
    from engine.accounts.tokens import hash_token
    from engine.store.db import Database
    from engine.store.models import ApiToken

    db = Database()
    with db.session() as session:
        stored = session.query(ApiToken).one()
    db.dispose()
    assert stored.token_hash == hash_token(secret) and secret not in stored.token_hash


def test_token_revoke_marks_it_revoked_and_audits_both(initialised):
    cli = initialised
    cli("token", "create", "guard1")
    code, out, _ = cli("token", "revoke", "1")
    assert code == 0 and "token 1 of guard1 revoked" in out
    assert re.search(r"^1  guard1  api  .*  revoked \S+ \S+$", cli("token", "list")[1], re.M)
    code, _, err = cli("token", "revoke", "1")
    assert code == 2 and "already revoked" in err
    from engine.store.db import Database
    from engine.store.models import Event

    db = Database()
    with db.session() as session:
        events = [(e.type, e.data.get("user")) for e in session.query(Event).filter(Event.type.like("token_%"))]
    db.dispose()
    assert events == [("token_created", "guard1"), ("token_revoked", "guard1")]
    assert cli("audit", "verify")[0] == 0


@pytest.mark.parametrize("args, message", [
    (("token", "create", "nobody"), "unknown user"),
    (("token", "revoke", "99"), "does not exist"),
])
def test_token_bad_input_exits_two(initialised, args, message):
    code, _, err = initialised(*args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1

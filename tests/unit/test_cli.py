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
from datetime import datetime, timezone
from pathlib import Path

import pytest

from cli.logs import OneLineLogFormatter
from cli.main import main
from engine import clock
from engine.clock import FakeClock, using_clock

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
        assert main(["init", "--demo"]) == 0
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


def test_init_demo_deploys_library_and_lists_demo_users(cli):
    code, out, _ = cli("init", "--demo")
    assert code == 0
    assert "emergency_patient v1 deployed" in out
    assert "password 'demo'" in out
    assert re.search(r"^  reception1 +王敏 · 接待员 Reception · nanshan$", out, re.M)  # whom to log in as
    assert re.search(r"^  auditor1 +审计员 · 审计员 Auditor · nanshan$", out, re.M)
    code, out, _ = cli("init", "--demo")
    assert code == 0 and "emergency_patient v1 unchanged" in out


def accounts() -> list[str]:
    """The usernames in the command's database that have a password (the demo accounts)."""
    from sqlalchemy import select

    from engine.accounts.users import NO_PASSWORD
    from engine.store.db import Database
    from engine.store.models import User

    db = Database()
    with db.read_session() as session:
        found = sorted(session.scalars(select(User.username).where(User.password_hash != NO_PASSWORD)))
    db.dispose()
    return found


def test_init_makes_no_demo_accounts_unless_asked(cli):
    code, out, _ = cli("init")
    assert code == 0 and "emergency_patient v1 deployed" in out
    assert "demo users" not in out and "no demo passwords" in out  # the staff are made, none can log in
    assert accounts() == []


@pytest.mark.parametrize("first", [(), ("--no-demo",)])
def test_a_database_set_up_without_demo_accounts_never_gets_them(cli, first):
    assert cli("init", *first)[0] == 0
    assert cli("init")[0] == 0
    code, out, err = cli("init", "--demo")
    assert code == 2 and out == ""
    assert "set up without the demo accounts (password 'demo'); they are never added to it later" in err
    assert accounts() == []


def test_a_demo_database_keeps_its_accounts_when_init_runs_again(initialised):
    assert "manager1" in accounts()
    assert initialised("init")[0] == 0
    assert "manager1" in accounts()


def test_lint_of_clean_library_exits_zero(cli):
    # On a day whose year and the next the installed holidays package has: later, lint warns
    # about the missing year until the package is upgraded (tests/unit/test_sla_policy.py).
    with using_clock(FakeClock(datetime(2025, 6, 2, tzinfo=timezone.utc))):
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
    assert "executed: start → choose_help → gw_major → gw_major_merge → gw_help_type" in out
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


@pytest.mark.parametrize("failure, code, message", [
    (RuntimeError("disk full"), 2, "estatedesk: unexpected error: RuntimeError: disk full"),
    (KeyboardInterrupt(), 130, "estatedesk: interrupted"),
])
def test_a_failure_inside_a_command_is_one_line_without_traceback(initialised, monkeypatch, failure, code, message):
    def fail(*_args):
        raise failure

    monkeypatch.setattr("cli.cases.Runtime.start_instance", fail)
    exit_code, _, err = initialised("start", "emergency_patient", "--as", "reception1")
    assert exit_code == code and err.strip() == message


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
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == ["usage: estatedesk start [OPTIONS] PROCESS",
                                          "estatedesk start: error: Missing argument 'PROCESS'."]


@pytest.mark.parametrize("args, message", [
    ((), "estatedesk: error: Missing command."),
    (("bogus",), "estatedesk: error: No such command 'bogus'."),
    (("audit",), "estatedesk audit: error: Missing command."),
    (("claim", "some-task"), "estatedesk claim: error: Missing option '--as'."),
    (("cancel", "JJ-20261123-0001", "--as", "manager1"), "Missing option '--reason'."),
    (("start", "emergency_patient", "--as", "reception1", "--version", "two"), "'two' is not a valid integer"),
    (("token", "revoke", "one"), "'one' is not a valid integer"),
    (("report", "--month", "2026-11", "--lang", "fr"), "'fr' is not one of 'zh', 'en'"),
])
def test_usage_error_prints_the_usage_and_what_is_wrong(cli, args, message):
    code, out, err = cli(*args)
    assert code == 2 and out == ""
    usage, error = err.splitlines()
    assert usage.startswith("usage: estatedesk") and message in error


def test_help_lists_every_command_in_working_order(cli):
    code, out, _ = cli("--help")
    assert code == 0
    listed = re.findall(r"^  ([a-z]+) ", out.split("Commands:")[1], re.M)
    assert listed == ["init", "migrate", "lint", "deploy", "import", "start", "tasks", "complete", "claim", "send",
                      "cancel", "retry", "comment", "show", "audit", "stats", "token", "user", "roster", "notify", "worker",
                      "report",
                      "serve"]


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


def test_times_are_printed_in_china_standard_time(initialised, monkeypatch):
    """Staff read the times the web app shows: 23:23 UTC on the 6th is 07:23 on the 7th in Shenzhen."""
    cli = initialised
    monkeypatch.setattr(clock.SystemClock, "now", lambda self: datetime(2026, 12, 6, 23, 23, 5, tzinfo=timezone.utc))
    intake = {"caller": "林先生", "unit": "3-2-1201", "phone": "13800000000", "description": "厨房水龙头漏水"}
    reference = cli("start", "repair", "--as", "reception1", "--data", json.dumps(intake))[1].split()[0]
    code, out, _ = cli("tasks", "--as", "reception1")
    assert code == 0 and re.search(r" due 2026-12-07 07:\d\d$", out, re.M)  # the repair form's deadline
    code, out, _ = cli("comment", reference, "--text", "住户不在家", "--as", "reception1")
    assert out.strip() == f"{reference}: comment by reception1 at 2026-12-07 07:23:05"
    code, out, _ = cli("show", reference)
    events = [line for line in out.splitlines() if re.match(r"\d{4}-", line)]
    assert events and all(line.startswith("2026-12-07 07:23:05  ") for line in events)
    cli("token", "create", "reception1")
    cli("token", "revoke", "1")
    code, out, _ = cli("token", "list")
    assert out.strip() == "1  reception1  api  created 2026-12-07 07:23  revoked 2026-12-07 07:23"
    assert "2026-12-06" not in out


def test_read_only_commands_answer_while_another_connection_holds_the_write_lock(initialised, tmp_path):
    """`show`, `tasks`, `token list`, `audit verify` and `report` never ask for SQLite's write lock, so
    a long step or a busy worker does not make them wait (for 30 seconds, then fail)."""
    cli = initialised
    reference = cli("start", "emergency_patient", "--as", "reception1")[1].split()[0]
    cli("token", "create", "reception1")
    writer, step = (sqlite3.connect(tmp_path / "cli.db", isolation_level=None, timeout=0) for _ in range(2))
    try:
        writer.execute("BEGIN IMMEDIATE")  # holds the write lock, as a step in progress does
        writer.execute("UPDATE instance SET unit = unit")
        with pytest.raises(sqlite3.OperationalError, match="locked"):  # a step would have to wait
            step.execute("BEGIN IMMEDIATE")
        for args, expected in [(("show", reference), f"{reference}  急救病人 v1  running"),
                               (("tasks", "--as", "reception1"), reference),
                               (("token", "list"), "1  reception1  api  created"),
                               (("audit", "verify"), "audit chain intact"),
                               (("report", "--month", "2026-11", "--out", str(tmp_path / "r.html")),
                                "report written")]:
            code, out, err = cli(*args)
            assert code == 0 and expected in out and "locked" not in err, args
    finally:
        writer.rollback()
        writer.close()
        step.close()


@pytest.fixture
def robots(monkeypatch):
    """The site's robot and SMS gateway played on loopback, their addresses in the environment."""
    from notify_peers import DINGTALK_SECRET, RobotPeer

    peer = RobotPeer().start()
    monkeypatch.setenv("NANSHAN_DINGTALK_WEBHOOK", peer.url("/dingtalk") + "?access_token=t")
    monkeypatch.setenv("NANSHAN_DINGTALK_SECRET", DINGTALK_SECRET)
    monkeypatch.setenv("NANSHAN_SMS_URL", peer.url("/sms"))
    monkeypatch.setenv("NANSHAN_SMS_TOKEN", "Bearer t")
    yield peer
    peer.stop()


def test_notify_test_sends_on_each_channel_of_the_person_and_says_how_it_went(initialised, robots):
    code, out, _ = initialised("notify", "test", "guard1")
    assert code == 0
    assert out.splitlines() == ["security_group (dingtalk): ok - sent", "sms (sms): ok - sent"]
    (post,) = robots.requests("/dingtalk")
    assert "测试消息" in post.json["text"]["content"] and post.json["at"]["atUserIds"] == ["guard1"]
    assert robots.requests("/sms")[0].json["phone"] == "13800000006"


def test_notify_test_exits_nonzero_when_a_channel_fails_or_is_not_configured(initialised, robots, monkeypatch):
    from notify_peers import Reply

    robots.then("/sms", Reply(500, "down"))
    monkeypatch.delenv("NANSHAN_DINGTALK_SECRET")
    code, out, _ = initialised("notify", "test", "guard1")
    assert code == 1
    assert out.splitlines() == [
        "security_group (dingtalk): FAILED - not configured: environment variable NANSHAN_DINGTALK_SECRET is not set",
        "sms (sms): FAILED - http://127.0.0.1:%d/sms answered HTTP 500: down" % robots.server_address[1]]
    assert robots.requests("/dingtalk") == []


def test_notify_test_of_someone_without_channels_or_account(initialised):
    code, out, err = initialised("notify", "test", "env1")
    assert code == 1 and out == "" and "env1 has no channel to test" in err
    code, _, err = initialised("notify", "test", "nobody")
    assert code == 2 and "unknown user 'nobody'" in err


def test_import_refuses_a_file_that_is_not_bpmn_and_imports_the_others(initialised, tmp_path):
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "a_page.bpmn").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    (folder / "b_valid.bpmn").write_bytes((DIAGRAMS / "non_executable.bpmn").read_bytes())
    code, out, err = initialised("import", str(folder))
    assert code == 2
    assert f"{folder / 'a_page.bpmn'}: refused: a_page.bpmn: not a BPMN diagram (its root element is <svg>)" in err
    assert f"{folder / 'b_valid.bpmn'}: lint_documentation v1 kept as documentation" in out



def test_migrate_upgrades_an_old_schema_and_then_says_it_is_current(cli, tmp_path):
    from engine.store.db import Database
    from engine.store.migrations import current_revision, head_revision, upgrade

    db = Database(f"sqlite:///{tmp_path / 'cli.db'}")
    upgrade(db.engine, "0010_site_scope")
    code, out, _ = cli("migrate")
    assert code == 0 and out.strip() == f"schema upgraded: 0010_site_scope → {head_revision()} (head {head_revision()})"
    assert current_revision(db.engine) == head_revision()
    code, out, _ = cli("migrate")
    assert code == 0 and out.strip() == f"schema already at {head_revision()}"

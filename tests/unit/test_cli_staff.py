"""Staff from the command line: `init` and `deploy` make the accounts match staff.yaml and
say who still needs a password; `user password` sets one, `user list` shows who cannot log in."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest

from cli.main import main

ROOT = Path(__file__).resolve().parents[2]
NEW_PERSON = "  - {username: tech2, name: 冯师傅, roles: [technician], site: binhai}\n"


@pytest.fixture
def processes(tmp_path) -> Path:
    """A copy of the library's processes/ to edit staff.yaml in."""
    return Path(shutil.copytree(ROOT / "processes", tmp_path / "processes"))


@pytest.fixture
def cli(tmp_path, processes, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.chdir(ROOT)

    def run(*args, stdin: str | None = None):
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["--processes", str(processes), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def edit_staff(processes: Path, edit) -> None:
    path = processes / "rules" / "staff.yaml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")


def test_deploy_applies_staff_yaml_and_names_who_needs_a_password(cli, processes):
    assert cli("init", "--demo")[0] == 0
    edit_staff(processes, lambda text: text.replace(
        "  - {username: env1, name: 郑洁, roles: [environment], site: nanshan}\n", "").replace(
        "name: 孙伟, roles: [guard]", "name: 孙伟, roles: [guard, security_lead]") + NEW_PERSON)
    code, out, _ = cli("deploy", "--note", "人员变动")
    assert code == 0, out
    assert "staff: changed guard2 孙伟: roles guard → guard, security_lead" in out
    assert ("staff: added tech2 冯师傅 (technician · binhai); no password yet: estatedesk user password tech2"
            in out)
    assert "staff: deactivated env1 郑洁 (no longer in staff.yaml; their history stays)" in out
    listed = cli("user", "list")[1]
    assert re.search(r"^tech2  冯师傅  technician  binhai  no password$", listed, re.M)
    assert re.search(r"^env1  郑洁  environment  nanshan  inactive$", listed, re.M)
    assert re.search(r"^guard2  孙伟  guard,security_lead  nanshan  active$", listed, re.M)
    again = cli("deploy")[1]
    assert "staff:" not in again  # applied once


def test_user_password_sets_it_from_stdin_and_refuses_bad_input(cli, processes):
    edit_staff(processes, lambda text: text + NEW_PERSON)
    assert cli("init", "--no-demo")[0] == 0
    assert "tech2  冯师傅  technician  binhai  no password" in cli("user", "list")[1]
    code, out, _ = cli("user", "password", "tech2", "--stdin", stdin="feng-new-password\n")
    assert code == 0 and out.strip() == "password of tech2 set"
    assert "tech2  冯师傅  technician  binhai  active" in cli("user", "list")[1]
    code, _, err = cli("user", "password", "tech2", "--stdin", stdin="short\n")
    assert code == 2 and "at least 8 characters" in err
    code, _, err = cli("user", "password", "nobody", "--stdin", stdin="a-long-password\n")
    assert code == 2 and "unknown user" in err
    assert cli("audit", "verify")[0] == 0


def test_init_without_demo_creates_the_staff_without_passwords(cli):
    code, out, _ = cli("init", "--no-demo")
    assert code == 0 and "password 'demo'" not in out
    assert "staff: added reception1 王敏 (reception · nanshan); no password yet" in out
    assert all(line.endswith("no password") for line in cli("user", "list")[1].splitlines())


def test_init_lists_as_demo_users_only_the_accounts_it_gave_the_demo_password(cli, processes):
    assert cli("init", "--demo")[0] == 0
    edit_staff(processes, lambda text: text + NEW_PERSON)
    code, out, _ = cli("init", "--demo")
    assert code == 0
    assert re.search(r"^demo users \(password 'demo'\):\n  tech2 +冯师傅 · 维修人员 Technician · binhai\n\Z", out, re.M), out

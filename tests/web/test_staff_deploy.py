"""A person added to processes/rules/staff.yaml works in the browser after a deploy, once an
administrator has set their password; a person taken out of it can no longer log in."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cli.main import main
from tests.unit.test_staff import without

NEW_GUARD = "  - {username: guard3, name: 韩磊, roles: [guard], site: nanshan}\n"


def edit_staff(processes_dir: Path, edit) -> None:
    path = processes_dir / "rules" / "staff.yaml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")


@pytest.fixture
def estatedesk(db_url, processes_dir, monkeypatch, capsys):
    """Run the estatedesk command on this test's database and the app's library folder."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    forms = Path(__file__).resolve().parents[2] / "forms"

    def run(*args, stdin: str | None = None) -> str:
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["--processes", str(processes_dir), "--forms", str(forms), *args])
        out, err = capsys.readouterr()
        assert code == 0, out + err
        return out

    return run


def test_a_new_staff_member_logs_in_after_deploy_and_a_password(web, estatedesk, processes_dir):
    edit_staff(processes_dir, lambda text: text + NEW_GUARD)
    assert "no password yet: estatedesk user password guard3" in estatedesk("deploy", "--note", "新护管员")
    for guess in ("demo", ""):
        assert web.login("guard3", guess).status_code == 401
    estatedesk("user", "password", "guard3", "--stdin", stdin="han-lei-2026\n")
    response = web.login("guard3", "han-lei-2026")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "韩磊" in web.get_text("/")


def test_a_person_taken_out_of_staff_yaml_is_logged_out_and_cannot_log_in(web, estatedesk, processes_dir):
    assert web.login("guard2").status_code == 302
    edit_staff(processes_dir, without("guard2"))
    assert "staff: deactivated guard2 孙伟" in estatedesk("deploy")
    assert web.client.get("/").headers["Location"].startswith("/login")  # the session ended with the account
    assert web.login("guard2").status_code == 401


def test_a_deploy_from_the_modeler_applies_staff_yaml_too(web, processes_dir, runtime):
    edit_staff(processes_dir, lambda text: text + NEW_GUARD)
    web.login("designer1")
    xml = (processes_dir / "water_leak.bpmn").read_text(encoding="utf-8").replace(
        'name="作好值班记录"', 'name="填写值班记录"', 1)
    response = web.client.post("/processes/water_leak/deploy", json={"xml": xml, "note": "改名"},
                               headers={"X-CSRFToken": web.token("/processes")})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["staff"] == [{"type": "staff_added", "username": "guard3", "name": "韩磊",
                                             "roles": ["guard"], "site": "nanshan", "password_set": False}]
    with runtime.db.session() as session:
        from engine.accounts.users import list_accounts

        [added] = [a for a in list_accounts(session) if a.username == "guard3"]
    assert added.active and not added.has_password
    web.logout()
    web.login("auditor1")
    rows = web.get_text("/audit/export.csv?type=staff_added").splitlines()
    assert len(rows) == 2 and ",staff_added,guard3," in rows[1] and ",designer1," in rows[1]

"""`estatedesk roster export/import` and `audit verify` on the duty log, on the test database."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from cli.context import Env
from cli.main import main
from engine.duty import logbook, roster
from engine.duty.roster_files import read_table
from engine.store.models import Event
from tests.scenario.duty_month import (
    MONTH,
    SITE,
    add_people,
    at,
    desk_clerk,
    full_assignments,
    publish_month,
    shift_id,
)


@pytest.fixture
def run(runtime, monkeypatch, capsys):
    """Run `estatedesk ARGS` on the test's database (SQLite file or PostgreSQL schema)."""
    monkeypatch.setattr(Env, "db", property(lambda env: runtime.db))

    def invoke(*args):
        code = main(list(args))
        return code, capsys.readouterr().out

    return invoke


def test_a_roster_exported_then_imported_is_the_same_roster(runtime, run, tmp_path):
    at(runtime, "2026-11-20 10:00")
    add_people(runtime)
    roster.save_roster(runtime, SITE, MONTH, full_assignments(runtime), "supervisor1")
    code, out = run("roster", "export", "--month", MONTH, "--site", SITE)
    assert code == 0 and out.splitlines()[0] == "date,site,post,username,name"
    assert "2026-12-01,nanshan,day,reception1,王敏" in out.splitlines()
    csv_file, xlsx_file = tmp_path / "roster.csv", tmp_path / "roster.xlsx"
    for target in (csv_file, xlsx_file):
        assert run("roster", "export", "--month", MONTH, "--site", SITE, "--out", str(target))[0] == 0
    assert read_table(xlsx_file.read_bytes(), "roster.xlsx") == read_table(csv_file.read_bytes(), "roster.csv")
    code, out = run("roster", "import", str(xlsx_file), "--as", "supervisor1", "--publish")
    assert (code, out.strip()) == (0, f"{SITE} {MONTH}: 178 of 178 shifts filled (published)")
    assert run("roster", "import", str(csv_file), "--as", "supervisor1")[0] == 2  # published: requests only
    with runtime.db.read_session() as session:
        view = roster.roster_view(session, SITE, MONTH)
    assert view.status == "published" and view.filled == view.slots


def test_audit_verify_names_a_duty_log_entry_altered_in_sql(runtime, run):
    at(runtime, "2026-11-20 10:00")
    view = publish_month(runtime)
    at(runtime, "2026-12-01 20:00")
    shift, clerk = shift_id(view, "2026-12-01", "duty"), desk_clerk(view, "2026-12-01", "duty")
    entry = logbook.write_entry(runtime, shift, clerk, "22:00 巡查地下车库", "正常")
    assert run("audit", "verify")[0] == 0
    with runtime.transaction() as session:
        session.execute(update(Event).where(Event.id == entry).values(actor="reception4"))
    code, out = run("audit", "verify")
    assert code == 1 and f"broken at event {entry}" in out

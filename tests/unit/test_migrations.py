"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from engine.store.models import Base


def test_migrated_database_matches_the_models(db):
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def _initialised_before_the_setting(db, with_accounts: bool) -> None:
    """A database as `estatedesk init` left it before 0007: library deployed, demo staff or none."""
    from engine.store.migrations import upgrade

    upgrade(db.engine, "0006_login_security")
    with db.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO process_version (process_id, version, name, content_hash, bpmn_file, bpmn_xml, spec_json,"
            " assets, executable, created_at, created_by, note) VALUES ('p', 1, 'p', 'h', 'p.bpmn', '', '', '{}',"
            " true, '2026-11-23 09:00:00+00:00', 'system', '')"))
        if with_accounts:
            connection.execute(text("INSERT INTO user_account (username, name, password_hash, active)"
                                    " VALUES ('manager1', 'm', 'x', true)"))


@pytest.mark.parametrize(("with_accounts", "recorded"), [(False, "no"), (True, "yes")])
def test_an_existing_database_keeps_whether_it_was_set_up_with_demo_accounts(tmp_path, with_accounts, recorded):
    from engine.store.db import Database
    from engine.store.migrations import upgrade

    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    _initialised_before_the_setting(db, with_accounts)
    upgrade(db.engine)
    with db.engine.connect() as connection:
        rows = connection.execute(text("SELECT name, value FROM database_setting")).all()
    db.dispose()
    assert [tuple(r) for r in rows] == [("demo_accounts", recorded)]

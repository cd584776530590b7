"""On PostgreSQL the event log is append-only for the role the app connects as:
`estatedesk audit lock-down --role ROLE` revokes UPDATE, DELETE and TRUNCATE (docs/audit.md)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from cli.main import main
from engine.audit import chain as audit
from engine.runtime.step import Runtime
from engine.store.db import Database
from tests.conftest import ON_POSTGRES

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="roles and grants are PostgreSQL's")


@pytest.fixture
def app_role(runtime):
    """A role with every right on this test's tables, as an app role is before the lock-down."""
    role, schema = f"estatedesk_app_{uuid.uuid4().hex[:8]}", runtime.db.schema
    with runtime.db.engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{role}" NOLOGIN')
        conn.exec_driver_sql(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
        conn.exec_driver_sql(f'GRANT ALL ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"')
        conn.exec_driver_sql(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}"')
    yield role
    with runtime.db.engine.begin() as conn:
        conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
        conn.exec_driver_sql(f'DROP ROLE "{role}"')


def test_after_lock_down_the_app_role_appends_but_cannot_rewrite(runtime, app_role, db_url, monkeypatch, capsys):
    started = runtime.start_instance("emergency_patient", {"caller": "林先生", "unit": "3-2-1201"}, "reception1")
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["audit", "lock-down", "--role", app_role]) == 0
    assert f'REVOKE UPDATE, DELETE, TRUNCATE ON event FROM {app_role}' in capsys.readouterr().out

    as_app = Database(f"{db_url}%20-crole%3D{app_role}")  # the app, connected as its own role
    try:
        for attempt in ("UPDATE event SET actor = 'mallory'", "DELETE FROM event", "TRUNCATE event",
                        "DELETE FROM audit_checkpoint"):
            with pytest.raises(ProgrammingError, match="permission denied"), as_app.engine.begin() as conn:
                conn.execute(text(attempt))
        app = Runtime(as_app, runtime.clock)  # and it still does its work
        task = started.open_tasks[0]
        app.complete_task(task.id, {"unit": "3-2-1201", "phone": "13800000000", "condition": "晕倒",
                                    "help_type": "call_120", "major": False}, "reception1")
        with as_app.read_session() as session:
            assert session.execute(text("SELECT current_user")).scalar() == app_role
            assert audit.verify_chain(session).ok
    finally:
        as_app.dispose()

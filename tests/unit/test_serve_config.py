"""`estatedesk serve` checks its configuration at start: on PostgreSQL, where several app
processes share the database, a missing session key is an error, not a per-process random key."""

from __future__ import annotations

import pytest

from cli.main import main
from engine.errors import SecretKeyMissing
from engine.store.db import Database
from tests.conftest import ON_POSTGRES
from web.serve import require_shared_secret

# Never connected to: the check reads the URL's dialect only.
UNREACHABLE_POSTGRES = "postgresql+psycopg://nobody@127.0.0.1:1/none"


def test_postgres_without_a_secret_key_is_refused(monkeypatch):
    monkeypatch.delenv("ESTATEDESK_SECRET_KEY", raising=False)
    with pytest.raises(SecretKeyMissing, match="ESTATEDESK_SECRET_KEY is not set"):
        require_shared_secret(Database(UNREACHABLE_POSTGRES))


def test_postgres_with_a_secret_key_and_sqlite_without_one_may_start(monkeypatch, tmp_path):
    monkeypatch.delenv("ESTATEDESK_SECRET_KEY", raising=False)
    require_shared_secret(Database(f"sqlite:///{tmp_path / 'one.db'}"))  # one process: its own key is fine
    monkeypatch.setenv("ESTATEDESK_SECRET_KEY", "ab" * 32)
    require_shared_secret(Database(UNREACHABLE_POSTGRES))


@pytest.mark.skipif(not ON_POSTGRES, reason="the check is PostgreSQL's")
def test_serve_on_postgres_refuses_to_start_without_the_secret_key(db_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("ESTATEDESK_SECRET_KEY", raising=False)
    assert main(["serve", "--no-worker", "--port", "8181"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "ESTATEDESK_SECRET_KEY is not set" in err

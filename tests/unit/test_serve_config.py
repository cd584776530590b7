"""`estatedesk serve` checks its configuration at start: on PostgreSQL, where several app
processes share the database, a missing session key is an error, not a per-process random key;
`serve --processes N` on SQLite gives its processes one key."""

from __future__ import annotations

import os

import pytest

from cli.main import main
from cli.supervisor import child_environment
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
@pytest.mark.parametrize("how", [["--no-worker"], ["--processes", "2"]])
def test_serve_on_postgres_refuses_to_start_without_the_secret_key(db_url, monkeypatch, capsys, how):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("ESTATEDESK_SECRET_KEY", raising=False)
    assert main(["serve", *how, "--port", "8181"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "ESTATEDESK_SECRET_KEY is not set" in err


def test_several_processes_on_sqlite_share_one_drawn_key_and_count_metrics_together(monkeypatch):
    """Without a configured key each process would draw its own; the supervisor draws one for all."""
    monkeypatch.delenv("ESTATEDESK_SECRET_KEY", raising=False)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    env, metrics_dir = child_environment(db_is_postgres=False)
    try:
        assert len(env["ESTATEDESK_SECRET_KEY"]) == 64 and env["PROMETHEUS_MULTIPROC_DIR"] == str(metrics_dir)
        assert metrics_dir.is_dir() and not any(metrics_dir.iterdir())
    finally:
        metrics_dir.rmdir()
    monkeypatch.setenv("ESTATEDESK_SECRET_KEY", "ab" * 32)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/run/estatedesk/metrics")
    assert child_environment(db_is_postgres=True) == (
        {**os.environ, "ESTATEDESK_SECRET_KEY": "ab" * 32, "PROMETHEUS_MULTIPROC_DIR": "/run/estatedesk/metrics"}, None)

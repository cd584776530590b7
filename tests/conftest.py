"""Shared fixtures: a clean database for each test (an SQLite file, or this run's test
schema when DATABASE_URL points at PostgreSQL) copied from a template made once per run
(tests/databases.py), the process library, a fake clock."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from engine.accounts.users import check_password
from engine.clock import FakeClock
from engine.definitions.library import Bundle, read_bundle
from engine.runtime.step import Runtime
from engine.store.db import Database
from tests.databases import DEPLOYED, CopiedDatabase, Templates, seed_for

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
POSTGRES_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = POSTGRES_URL.startswith("postgresql")


def pytest_report_header(config):
    return f"database: {'PostgreSQL ' + POSTGRES_URL if ON_POSTGRES else 'SQLite'} (a copy of a template per test)"


def pytest_collection_modifyitems(config, items):
    """Skip tests marked `postgres_only`, saying why, unless DATABASE_URL names PostgreSQL."""
    if ON_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs DATABASE_URL pointing at PostgreSQL")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def check_live_workflows(monkeypatch):
    """Every step that reuses a kept workflow also restores its stored state and compares the two."""
    monkeypatch.setattr(Runtime, "check_live_workflows", True)


# scrypt is slow on purpose (some 50 ms a check) and the demo staff share one hash, so a run
# checked the same few (password, hash) pairs at hundreds of logins. The check is a pure
# function: remembering its answers changes no outcome, and scrypt still checks each pair once.
_check_password_once = functools.lru_cache(maxsize=None)(check_password)


@pytest.fixture(autouse=True)
def check_each_password_once(monkeypatch):
    monkeypatch.setattr("web.auth.check_password", _check_password_once)


@pytest.fixture(scope="session")
def templates(tmp_path_factory, library):
    """The run's template databases (see tests/databases.py), removed at the end."""
    made = Templates(tmp_path_factory.mktemp("templates"), library, POSTGRES_URL if ON_POSTGRES else "")
    yield made
    made.close()


@pytest.fixture
def db_copy(request, templates, clock, tmp_path) -> CopiedDatabase:
    """This test's own database: a copy of the template of the richest seed its fixtures use."""
    copied = templates.copy(seed_for(request.fixturenames), clock, tmp_path)
    yield copied
    templates.release(copied)


@pytest.fixture
def db(db_copy) -> Database:
    """A clean database for one test: migrated, and seeded when a fixture it uses asks (`runtime`)."""
    return db_copy.db


@pytest.fixture
def db_url(db) -> str:
    """The URL by which another process (a worker, the CLI) reaches this test's database."""
    return db.url_with_schema


@pytest.fixture(scope="session")
def library() -> Bundle:
    """The project's process library as read from disk."""
    return read_bundle(ROOT / "processes", ROOT / "forms")


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def runtime(db_copy, clock) -> Runtime:
    """A runtime on a fresh database with the library deployed and the demo staff loaded."""
    assert DEPLOYED.name in db_copy.seeds, "ask for `runtime` as an argument, so the database starts deployed"
    return Runtime(db_copy.db, clock)


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared files not present at {SHARED}")
    return SHARED

"""Shared fixtures: a clean database for each test (an SQLite file, or this run's test
schema when DATABASE_URL points at PostgreSQL) copied from a template made once per run
(tests/databases.py), the process library, a fake clock."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from pathlib import Path

import pytest
from argon2 import PasswordHasher, profiles
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from cli import logs
from engine.accounts import users
from engine.clock import FakeClock
from engine.definitions.library import Bundle, read_bundle
from engine.runtime.step import Runtime
from engine.store.db import Database
from tests.databases import DEPLOYED, CopiedDatabase, Templates, seed_for

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
POSTGRES_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = POSTGRES_URL.startswith("postgresql")
# The key that seals the audit trail (engine/audit/seal.py); servers the tests start inherit it.
TEST_AUDIT_KEY = "test-audit-key"
os.environ.setdefault("ESTATEDESK_AUDIT_KEY", TEST_AUDIT_KEY)
# `make test` exports the key file `make run` uses; the tests seal with their own key only, and
# the tests of a missing key must find none.
os.environ.pop("ESTATEDESK_AUDIT_KEY_FILE", None)


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


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues():
    """Compile each gettext catalogue whose .mo is missing or older than its .po, as `make install` does.

    So a plain `pytest` after a `git clean` or an edit of a .po shows the English the .po has."""
    for po in (ROOT / "web" / "translations").glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source:
                catalog = read_po(source)
            with mo.open("wb") as target:
                write_mo(target, catalog)


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes():
    """Hash passwords with argon2's cheapest parameters: the tests log in hundreds of times, and
    the production cost (a third of a second here) would add minutes. Production never sees it."""
    production, users.PASSWORD_HASHER = users.PASSWORD_HASHER, PasswordHasher.from_parameters(profiles.CHEAPEST)
    yield production
    users.PASSWORD_HASHER = production


@pytest.fixture(autouse=True)
def app_loggers_restored():
    """Put the app's loggers back after each test: `serve` run in-process points them at the
    test's captured stderr, which pytest closes, and later records would fail to write there."""
    loggers = [logging.getLogger(name) for name in logs.LOGGERS]
    saved = [(logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    yield
    for logger, (handlers, level, propagate) in zip(loggers, saved, strict=True):
        logger.handlers[:], logger.level, logger.propagate = handlers, level, propagate


@pytest.fixture
def scrypt_hash():
    """Hash a password as EstateDesk did before argon2: "scrypt$<salt>$<digest>", n=2^14, r=8, p=1."""
    def make(password: str) -> str:
        salt = secrets.token_bytes(16)
        return f"scrypt${salt.hex()}${hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1).hex()}"

    return make


@pytest.fixture(autouse=True)
def check_live_workflows(monkeypatch):
    """Every step that reuses a kept workflow also restores its stored state and compares the two."""
    monkeypatch.setattr(Runtime, "check_live_workflows", True)


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

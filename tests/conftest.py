"""Shared fixtures: a fresh database per test (SQLite file, or a PostgreSQL schema of
this run when DATABASE_URL points at PostgreSQL), the process library, a fake clock."""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from pathlib import Path

import pytest
from argon2 import PasswordHasher, profiles
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from sqlalchemy import create_engine, text

from engine.accounts import users
from engine.accounts.users import load_demo_staff
from engine.clock import FakeClock
from engine.definitions.library import Bundle, deploy_bundle, read_bundle
from engine.definitions.rules import load_rules
from engine.runtime.step import Runtime
from engine.store.db import Database
from engine.store.models import Base

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
POSTGRES_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = POSTGRES_URL.startswith("postgresql")


def pytest_report_header(config):
    return f"database: {'PostgreSQL ' + POSTGRES_URL if ON_POSTGRES else 'SQLite (per-test file)'}"


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


@pytest.fixture(scope="session")
def pg_schema():
    """Create this run's own PostgreSQL schema, migrated once, and drop it at the end."""
    if not ON_POSTGRES:
        yield None
        return
    name = f"test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    db = Database(POSTGRES_URL, schema=name)
    db.migrate()
    db.dispose()
    yield name
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    admin.dispose()


def _truncate_all(db: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(text("INSERT INTO audit_head (id, last_event_id, last_hash) VALUES (1, 0, :h)"),
                     {"h": "0" * 64})


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes():
    """Hash passwords with argon2's cheapest parameters: the tests log in hundreds of times, and
    the production cost (a third of a second here) would add minutes. Production never sees it."""
    production, users.PASSWORD_HASHER = users.PASSWORD_HASHER, PasswordHasher.from_parameters(profiles.CHEAPEST)
    yield production
    users.PASSWORD_HASHER = production


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


@pytest.fixture
def db(tmp_path, pg_schema):
    """An empty, migrated database for one test."""
    if pg_schema:
        database = Database(POSTGRES_URL, schema=pg_schema)
        _truncate_all(database)
    else:
        database = Database(f"sqlite:///{tmp_path / 'test.db'}")
        database.migrate()
    yield database
    database.dispose()


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
def runtime(db, library, clock) -> Runtime:
    """A runtime on a fresh database with the library deployed and the demo staff loaded."""
    rt = Runtime(db, clock)
    with rt.transaction() as session:
        load_demo_staff(session, load_rules(library.rules))
        deploy_bundle(session, library, actor="system", note="test")
    return rt


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared files not present at {SHARED}")
    return SHARED

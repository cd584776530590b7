"""Database connection: SQLite by default, PostgreSQL through DATABASE_URL."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_SQLITE_PATH = Path("var/estatedesk.db")


def database_url() -> str:
    """Return DATABASE_URL, or the SQLite file under var/ (created on first use)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def existing_database_url() -> str | None:
    """The database to read if there is one already: DATABASE_URL, or the default SQLite file
    when it exists. None otherwise; unlike `database_url`, nothing is created."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{DEFAULT_SQLITE_PATH}" if DEFAULT_SQLITE_PATH.is_file() else None
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not (parsed.database and Path(parsed.database).is_file()):
        return None  # opening it would create an empty file
    return url


class Database:
    """An SQLAlchemy engine and the session factory the runtime opens steps with."""

    def __init__(self, url: str | None = None, schema: str | None = None):
        self.url = url or database_url()
        self.schema = schema
        self.engine: Engine = _make_engine(self.url, schema)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Reads begin a plain (deferred) transaction on SQLite: they neither wait for a step nor block one.
        self.read_sessions = sessionmaker(self.engine.execution_options(read_only=True), expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @property
    def url_with_schema(self) -> str:
        """The DATABASE_URL by which another process (a worker) reaches this database and schema."""
        if not self.schema:
            return self.url
        separator = "&" if "?" in self.url else "?"
        return f"{self.url}{separator}options=-csearch_path%3D{self.schema}"

    def session(self) -> Session:
        return self.sessions()

    def read_session(self) -> Session:
        """A session that only reads (the web views'): on SQLite it takes no write lock."""
        return self.read_sessions()

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest Alembic revision."""
        from engine.store.migrations import upgrade

        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


def _make_engine(url: str, schema: str | None) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # WAL lets the web app read while the worker writes; foreign keys are off by default.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
            # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it).
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin_immediate(connection):
            # Take the write lock at the start: a step reads then writes, and a deferred
            # transaction would fail at its first write if another step committed meanwhile.
            # Straight to the driver, like the pragmas: SQLAlchemy's statement machinery
            # cost more than the BEGIN itself, on every step. Read-only sessions need no lock.
            read_only = connection.get_execution_options().get("read_only", False)
            connection.connection.driver_connection.execute("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
    return create_engine(url, connect_args=connect_args, pool_pre_ping=True)

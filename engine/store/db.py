"""Database connection: SQLite by default, PostgreSQL through DATABASE_URL."""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import create_engine, event, exc, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_SQLITE_PATH = Path("var/estatedesk.db")
# A pooled PostgreSQL connection idle for longer is pinged before use (see _ping_when_idle).
PING_AFTER_IDLE_SECONDS = 2.0
# PostgreSQL connections kept open: one per thread that may use one at once (waitress's 8, the
# timer worker, a read beside a step). Past the pool, a connection is opened for one use and
# closed again: a new server process each time, under load on every other request.
POOL_SIZE = 12


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
        # On PostgreSQL they run in autocommit: at READ COMMITTED every statement of a transaction
        # takes its own snapshot anyway, so a BEGIN and a ROLLBACK would only cost two round trips
        # (and the ROLLBACK would drop the connection's prepared statements). A read that needs one
        # snapshot asks for REPEATABLE READ on its connection (engine/audit/verify.py).
        reads = {"isolation_level": "AUTOCOMMIT"} if self.is_postgres else {}
        self.read_sessions = sessionmaker(self.engine.execution_options(read_only=True, **reads),
                                          expire_on_commit=False)
        # A read fetched in batches (yield_per) holds a server-side cursor, which lives in a transaction.
        self.stream_sessions = sessionmaker(self.engine.execution_options(read_only=True), expire_on_commit=False)

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

    def read_session(self, stream: bool = False) -> Session:
        """A session that only reads (the web views'): on SQLite it takes no write lock.

        `stream`: for a read that fetches its rows in batches (`yield_per`), e.g. an export.
        """
        return self.stream_sessions() if stream else self.read_sessions()

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
    engine = create_engine(url, connect_args=connect_args, pool_size=POOL_SIZE)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection that sat idle before handing it out; replace it if dead.

    What `pool_pre_ping` does, without its round trip on every checkout (four per API
    completion): a connection back in the pool within the last PING_AFTER_IDLE_SECONDS was
    working then. One that broke since (PostgreSQL restarted that very moment) fails its
    request like any request in flight at a restart, and SQLAlchemy then replaces every
    connection of the pool.
    """

    @event.listens_for(engine, "connect")
    def _new(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _back(_dbapi_connection, record):
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _out(dbapi_connection, record, _proxy):
        if time.monotonic() - record.info.get("idle_since", 0.0) <= PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # noqa: BLE001 - any failure means: not this connection
            raise exc.DisconnectionError(f"pooled connection is dead: {error}") from error

"""Test databases copied from templates made once per run.

Each state a test can start from (migrated and empty; the library deployed with the demo
staff; a month of cases played) is a *seed*, set up once per run in a template database.
Every test gets its own copy of the template of the richest seed its fixtures ask for,
so no test sees another's writes and none replays what the seed did.

SQLite copies a file into the test's tmp_path. PostgreSQL keeps the run's templates in
schemas of their own and fills one more schema, the test's, with a template's rows before
each test; the run creates its schemas and drops them at the end, so a rerun starts clean.

Each copy is opened by a new engine and each test makes its own runtime, so the compiled
versions (kept per engine) and live workflows (kept per runtime) of one test are never
served to another.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from engine.accounts.users import load_demo_staff
from engine.clock import FakeClock
from engine.definitions.library import Bundle, deploy_bundle
from engine.definitions.rules import load_rules
from engine.runtime.step import Runtime
from engine.store.db import Database
from engine.store.models import Base


@dataclass(frozen=True)
class Seed:
    """A state set up once per run on a copy of `base`'s template (or the migrated one).

    `play(runtime, library)` sets it up through the runtime and returns what tests need
    to know of it (ids, references): each copy hands it on in `CopiedDatabase.played`.
    """

    name: str
    play: Callable[[Runtime, Bundle], object] = field(compare=False)
    base: Seed | None = None

    def chain(self) -> list[str]:
        """The names of this seed and the seeds under it, the bottom one first."""
        return (self.base.chain() if self.base else []) + [self.name]


# Fixture name -> the seed that the database of every test using that fixture starts from.
SEEDS: dict[str, Seed] = {}


def seeds_fixture(fixture_name: str, seed: Seed) -> Seed:
    """Start the database of every test that uses fixture `fixture_name` from `seed`."""
    if SEEDS.setdefault(fixture_name, seed) != seed:
        raise ValueError(f"fixture {fixture_name!r} already starts from seed {SEEDS[fixture_name].name!r}")
    return seed


def deploy_library(runtime: Runtime, library: Bundle) -> None:
    """As `estatedesk init` leaves a database: the demo staff loaded and the library deployed."""
    with runtime.transaction() as session:
        load_demo_staff(session, load_rules(library.rules))
        deploy_bundle(session, library, actor="system", note="test")


DEPLOYED = seeds_fixture("runtime", Seed("deployed", deploy_library))


def seed_for(fixture_names, seeds: dict[str, Seed] = SEEDS) -> Seed | None:
    """The richest seed among the fixtures a test uses; the others must lie under it."""
    used = [seeds[name] for name in fixture_names if name in seeds]
    richest = max(used, key=lambda seed: len(seed.chain()), default=None)
    for seed in used:
        if seed.name not in richest.chain():
            raise ValueError(f"a test cannot start from both seed {seed.name!r} and {richest.name!r}")
    return richest


@dataclass
class CopiedDatabase:
    """One test's own database and what the seeds it was copied from played."""

    db: Database
    seeds: list[str]
    played: dict[str, object]


def _clock_key(clock) -> tuple:
    # A fake clock's time is part of what a seed sets up (deploy and case times); the wall clock's is not.
    return ("fake", clock.now()) if isinstance(clock, FakeClock) else ("wall", type(clock).__name__)


def _template_clock(clock):
    return FakeClock(clock.now()) if isinstance(clock, FakeClock) else clock


class Templates:
    """The run's template databases, made on first use, and the copies tests get of them."""

    def __init__(self, folder: Path, library: Bundle, postgres_url: str = ""):
        self.library = library
        self.store = _PostgresSchemas(postgres_url) if postgres_url else _SqliteFiles(folder)
        self._made: dict[tuple, tuple[str, dict]] = {}  # (seed name, clock key) -> (template, played)

    def copy(self, seed: Seed | None, clock, folder: Path) -> CopiedDatabase:
        """A database for one test, copied from `seed`'s template as of `clock`."""
        template, played = self._template(seed, clock)
        return CopiedDatabase(self.store.copy(template, folder), seed.chain() if seed else [], played)

    def release(self, copied: CopiedDatabase) -> None:
        self.store.release(copied.db)

    def close(self) -> None:
        self.store.close()

    def _template(self, seed: Seed | None, clock) -> tuple[str, dict]:
        key = (seed and seed.name, _clock_key(clock))
        if key not in self._made:
            if seed is None:
                db, played = self.store.migrated(), {}
            else:
                base, played = self._template(seed.base, clock)
                db = self.store.copy(base)
                played = {**played, seed.name: seed.play(Runtime(db, _template_clock(clock)), self.library)}
            self._made[key] = (self.store.seal(db), played)
        return self._made[key]


class _SqliteFiles:
    """SQLite databases as files: templates in the run's folder, each test's in its tmp_path."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.count = 0

    def migrated(self) -> Database:
        db = Database(f"sqlite:///{self._template_path()}")
        db.migrate()
        return db

    def copy(self, template: str, folder: Path | None = None) -> Database:
        path = folder / "test.db" if folder else self._template_path()
        shutil.copyfile(template, path)
        return Database(f"sqlite:///{path}")

    def seal(self, db: Database) -> str:
        """Make `db` one self-contained file (the write-ahead log folded in); return its path."""
        connection = db.engine.raw_connection()  # outside a transaction, which SQLAlchemy's would begin
        try:
            connection.driver_connection.execute("PRAGMA journal_mode=DELETE")
        finally:
            connection.close()
        db.dispose()
        return make_url(db.url).database

    def release(self, db: Database) -> None:
        db.dispose()
        path = make_url(db.url).database
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _template_path(self) -> Path:
        self.count += 1
        return self.folder / f"template-{self.count}.db"


class _PostgresSchemas:
    """PostgreSQL schemas named after the run: one per template, and one each test's copy fills.

    A copy empties the test schema's tables and fills them, and the sequences, from the
    template's, in one transaction: far cheaper than migrating, deploying or truncating.
    All are dropped at the end of the run; a rerun makes new ones.
    """

    def __init__(self, url: str):
        self.url = url
        self.admin = create_engine(url, isolation_level="AUTOCOMMIT")
        self.run = f"test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.schemas: list[str] = []
        self.fill: dict[str, str] = {}  # template -> the SQL that makes a schema's rows the template's

    def migrated(self) -> Database:
        return self._new_schema(f"{self.run}_template_{len(self.schemas)}")

    def copy(self, template: str, folder: Path | None = None) -> Database:
        if folder is None:
            db = self._new_schema(f"{self.run}_template_{len(self.schemas)}")
        elif self.run not in self.schemas:
            db = self._new_schema(self.run)
        else:
            db = Database(self.url, schema=self.run)
        with db.engine.begin() as connection:
            connection.exec_driver_sql("SET LOCAL lock_timeout = '10s'")  # a leaked transaction fails, not hangs
            connection.connection.driver_connection.execute(self.fill[template].replace("{schema}", db.schema))
        return db

    def seal(self, db: Database) -> str:
        """Write down how to copy template `db`'s rows and sequences into another schema."""
        tables = [table.name for table in Base.metadata.sorted_tables]
        with db.engine.connect() as connection:
            sequences = connection.exec_driver_sql(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = %(schema)s ORDER BY 1",
                {"schema": db.schema}).scalars().all()
        db.dispose()
        source = db.schema
        self.fill[source] = "".join(
            [f'DELETE FROM "{{schema}}"."{table}";' for table in reversed(tables)]
            + [f'INSERT INTO "{{schema}}"."{table}" SELECT * FROM "{source}"."{table}";' for table in tables]
            + [f"""SELECT setval('"{{schema}}"."{name}"', last_value, is_called) FROM "{source}"."{name}";"""
               for name in sequences])
        return source

    def release(self, db: Database) -> None:
        db.dispose()  # the schema stays: the next test's copy replaces its rows

    def close(self) -> None:
        with self.admin.connect() as connection:
            for name in self.schemas:
                connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        self.admin.dispose()

    def _new_schema(self, name: str) -> Database:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        self.schemas.append(name)
        db = Database(self.url, schema=name)
        db.migrate()
        return db

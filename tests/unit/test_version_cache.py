"""The cache of compiled versions: bounded, least recently used out first, recompiling on demand."""

from __future__ import annotations

import gc
import weakref

import pytest
from sqlalchemy import select

from engine.definitions.compiled import VersionCache
from engine.definitions.library import deploy_bundle
from engine.errors import NotFound
from engine.store.db import Database
from engine.store.models import ProcessVersion

SIZE = 3


@pytest.fixture
def versions(db, library) -> list[ProcessVersion]:
    """The library deployed: one version per process, more of them than the cache holds."""
    with db.session() as session, session.begin():
        deploy_bundle(session, library, actor="system")
    with db.read_session() as session:
        rows = session.scalars(select(ProcessVersion).order_by(ProcessVersion.id)).all()
    assert len(rows) > SIZE
    return rows


def _kept(refs) -> int:
    gc.collect()
    return sum(ref() is not None for ref in refs)


def test_cache_keeps_no_more_versions_than_its_size(db, versions):
    cache = VersionCache(size=SIZE)
    with db.read_session() as session:
        refs = [weakref.ref(cache.get(session, row.id)) for row in versions]
    assert _kept(refs) == SIZE


def test_cache_drops_the_least_recently_used_version(db, versions):
    cache = VersionCache(size=SIZE)
    first, second, third, fourth = (row.id for row in versions[:4])
    with db.read_session() as session:
        kept = cache.get(session, first)
        dropped = weakref.ref(cache.get(session, second))
        cache.get(session, third)
        assert cache.get(session, first) is kept  # used again: now the most recent
        cache.get(session, fourth)
        gc.collect()
        assert dropped() is None
        assert cache.get(session, first) is kept


def test_an_evicted_version_is_compiled_again_on_demand(db, versions):
    cache = VersionCache(size=SIZE)
    with db.read_session() as session:
        evicted = weakref.ref(cache.get(session, versions[0].id))
        for row in versions[1:]:
            cache.get(session, row.id)
        gc.collect()
        assert evicted() is None
        again = cache.get(session, versions[0].id)
    row = versions[0]
    assert (again.id, again.process_id, again.version, again.content_hash) == (
        row.id, row.process_id, row.version, row.content_hash)
    assert again.spec.name == row.process_id
    assert again.rules is not None


def test_unknown_version_is_not_found(db, versions):
    with db.read_session() as session, pytest.raises(NotFound):
        VersionCache(size=SIZE).get(session, versions[-1].id + 1)


def test_a_database_gone_is_not_held_by_the_cache(tmp_path, library):
    """Tests (and tools) open many databases: the cache must not keep one alive after its last use."""
    cache = VersionCache(size=SIZE)
    gone = Database(f"sqlite:///{tmp_path / 'gone.db'}")
    gone.migrate()
    with gone.session() as session, session.begin():
        deploy_bundle(session, library, actor="system")
    with gone.read_session() as session:
        version_id = session.scalar(select(ProcessVersion.id).limit(1))
        cache.get(session, version_id)
        engines = [weakref.ref(session.get_bind())]
    engines.append(weakref.ref(gone.engine))
    gone.dispose()
    del gone, session
    gc.collect()
    assert [ref() for ref in engines] == [None, None]

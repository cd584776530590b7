"""What a load balancer and a monitor ask of a node: is the database there, is its schema the
one this code expects, and when was a timer worker last alive (`/healthz`).

Workers say they are alive by touching their `worker_heartbeat` row each pass of their loop
(`beat`); the age of the newest beat is what matters, since any worker fires any site's timers.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from engine.store.db import Database
from engine.store.migrations import current_revision, head_revision
from engine.store.operations import WorkerHeartbeat

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
# A worker sleeps at most RECHECK_SECONDS (10 s) between passes; four missed beats is not a hiccup.
STALE_AFTER_SECONDS = 60.0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(db: Database, now: datetime, name: str | None = None) -> None:
    """Record that the worker `name` (this process by default) is alive at `now`."""
    name = name or worker_name()
    with db.session() as session, session.begin():
        touched = session.execute(update(WorkerHeartbeat).where(WorkerHeartbeat.name == name)
                                  .values(beat_at=now, pid=os.getpid())).rowcount
        if not touched:
            session.add(WorkerHeartbeat(name=name, beat_at=now, pid=os.getpid()))


@dataclass(frozen=True)
class Health:
    database: bool
    revision: str | None
    head: str
    worker_age_seconds: float | None  # None: no worker ever beat

    @property
    def schema_current(self) -> bool:
        return self.revision == self.head

    @property
    def worker_alive(self) -> bool:
        return self.worker_age_seconds is not None and self.worker_age_seconds <= STALE_AFTER_SECONDS

    @property
    def serving(self) -> bool:
        """Whether this node can serve requests: what a load balancer routes on. A dead worker
        delays timers on every node alike, so it is reported, not a reason to drop the node."""
        return self.database and self.schema_current

    def as_dict(self) -> dict:
        return {
            "status": "ok" if self.serving and self.worker_alive else ("degraded" if self.serving else "failing"),
            "database": "ok" if self.database else "unreachable",
            "migrations": {"current": self.revision, "head": self.head, "at_head": self.schema_current},
            "worker": {"alive": self.worker_alive,
                       "heartbeat_age_seconds": None if self.worker_age_seconds is None
                       else round(self.worker_age_seconds, 1)},
        }


def check(db: Database, now: datetime) -> Health:
    head = head_revision()
    try:
        with db.read_session() as session:
            session.execute(text("SELECT 1"))
        revision = current_revision(db.engine)
        newest = None
        if revision == head:  # an older schema may not have the heartbeat table yet
            with db.read_session() as session:
                newest = session.scalar(select(func.max(WorkerHeartbeat.beat_at)))
    except SQLAlchemyError as error:
        log.warning("health check: the database did not answer (%s)", type(error).__name__)
        return Health(False, None, head, None)
    age = None if newest is None else max(0.0, (now - newest).total_seconds())
    return Health(True, revision, head, age)

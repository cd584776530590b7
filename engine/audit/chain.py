"""The audit trail: append-only events in one sha256 hash chain.

Each event's hash covers the previous event's hash and the event's canonical JSON,
so altering, deleting or inserting a row breaks the chain at that row. The single
`audit_head` row names the last event (so deleting the newest rows shows too) and is
locked while appending, which gives concurrent writers one order.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.orm import Session

from engine.audit.events import EventType
from engine.store.models import AuditHead, Event

GENESIS_HASH = "0" * 64

@dataclass(frozen=True)
class NewEvent:
    """An event to append; the chain fields are filled in by `append_events`."""

    type: EventType
    instance_id: int | None = None
    actor: str | None = None
    element_id: str | None = None
    data: dict | None = None


def canonical_json(instance_id, at: datetime, type_: str, actor, element_id, data) -> str:
    """The exact text an event's hash covers."""
    body = {
        "instance_id": instance_id,
        "at": at.isoformat(),
        "type": type_,
        "actor": actor,
        "element_id": element_id,
        "data": data,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def chain_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


# Built once: a step runs these every time, and building a statement costs more than running it.
_event = Event.__table__
_HEAD_FOR_UPDATE = (select(AuditHead.last_event_id, AuditHead.last_hash)
                    .where(AuditHead.id == 1).with_for_update())
# The head lock keeps every other writer out until commit, so the newest event id is ours.
_HEAD_ADVANCE = (update(AuditHead.__table__).where(AuditHead.__table__.c.id == 1)
                 .values(last_event_id=select(func.max(_event.c.id)).scalar_subquery()))
_EVENT_INSERT = insert(_event)


def lock_head(conn: Connection) -> tuple[int, str]:
    """Lock the head row for this transaction and return (last event id, last hash)."""
    head = conn.execute(_HEAD_FOR_UPDATE).first()
    if head is None:  # a database migrated by hand without the genesis row
        conn.execute(insert(AuditHead).values(id=1, last_event_id=0, last_hash=GENESIS_HASH))
        return 0, GENESIS_HASH
    return head.last_event_id, head.last_hash


def append_events(session: Session, events: list[NewEvent], at: datetime) -> list[dict]:
    """Append `events` to the chain inside the caller's transaction (never commits); return the
    rows as written, for what folds them further (the statistics' case facts)."""
    if not events:
        return []
    if not session.in_transaction():
        raise RuntimeError("append_events must run inside the step transaction")
    conn = session.connection()
    _, prev = lock_head(conn)
    rows = []
    for new in events:
        # Through JSON and back, so the hash covers exactly what the row will hold.
        data = json.loads(json.dumps(new.data or {}, ensure_ascii=False, default=str))
        digest = chain_hash(prev, canonical_json(new.instance_id, at, new.type, new.actor, new.element_id, data))
        rows.append({"instance_id": new.instance_id, "at": at, "type": new.type, "actor": new.actor,
                     "element_id": new.element_id, "data": data, "prev_hash": prev, "hash": digest})
        prev = digest
    # One executemany for the whole step, in chain order; no RETURNING, which SQLite
    # would answer one row at a time (the head takes the newest id instead).
    conn.execute(_EVENT_INSERT, rows)
    conn.execute(_HEAD_ADVANCE, {"last_hash": prev})
    return rows


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    reason: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.checked} events verified"
        return f"audit chain broken at event {self.first_broken_id}: {self.reason} ({self.checked} events checked)"


def verify_chain(session: Session, batch: int = 2000) -> VerifyResult:
    """Walk the whole chain in order and name the first row that does not fit."""
    prev, last_id, checked = GENESIS_HASH, 0, 0
    stmt = select(Event).order_by(Event.id).execution_options(yield_per=batch)
    for row in session.scalars(stmt):
        checked += 1
        if row.prev_hash != prev:
            reason = "previous hash does not match (a row before it was deleted, altered or inserted)"
            return VerifyResult(False, checked, row.id, reason)
        expected = chain_hash(prev, canonical_json(row.instance_id, row.at, row.type, row.actor,
                                                   row.element_id, row.data))
        if row.hash != expected:
            return VerifyResult(False, checked, row.id, "content does not match its hash (row altered)")
        prev, last_id = row.hash, row.id
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_event_id != last_id or head.last_hash != prev):
        return VerifyResult(False, checked, head.last_event_id,
                            f"chain ends at event {last_id} but the head names event {head.last_event_id}"
                            " (newest rows deleted)")
    return VerifyResult(True, checked)


def instance_events(session: Session, instance_id: int) -> list[Event]:
    """All events of one case, oldest first."""
    return list(session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.id)))


@dataclass(frozen=True)
class ExecutedPath:
    """What ran in a case: elements in completion order and the sequence flows taken."""

    elements: list[str]
    flows: list[str]
    steps: list[dict]  # element, type, actor, role, at — for the diagram view and tests


def executed_path(session: Session, instance_id: int, process_id: str | None = None) -> ExecutedPath:
    """Return the ordered executed elements and the taken sequence flow ids of a case.

    With `process_id`, only those of that process (a case's own diagram, or one it
    called), since element ids repeat across processes.
    """
    elements, flows, steps = [], [], []
    for event in instance_events(session, instance_id):
        if process_id is not None and (event.data or {}).get("process") != process_id:
            continue
        if event.type in (EventType.TASK_COMPLETED, EventType.ELEMENT_COMPLETED):
            elements.append(event.element_id)
            steps.append({"element": event.element_id, "process": (event.data or {}).get("process"),
                          "type": event.type, "actor": event.actor, "role": (event.data or {}).get("role"),
                          "at": event.at})
        elif event.type == EventType.FLOW_TAKEN:
            flows.append(event.element_id)
    return ExecutedPath(elements, flows, steps)

"""The audit trail: append-only events in sha256 hash chains, one chain per case.

Each case's events chain among themselves (`case:<id>`); events of no case go to a named
stream (`NewEvent.chain`, e.g. `site:<site>`; `global` when none is given). Each chain has
its own head row, locked while appending to it only, after the instance row the step
already holds — so steps of different cases never wait on one row. Every event and every
head is sealed with the audit key (engine/audit/seal.py), and sealed checkpoints anchor the
heads (engine/audit/anchors.py); `verify_chain` checks all of it. See docs/audit.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import correlation
from engine.audit.events import EventType
from engine.audit.hashing import GENESIS_HASH, canonical_json, chain_hash  # noqa: F401 - the chain's own hash
from engine.audit.seal import audit_key, event_seal, head_seal
from engine.audit.verify import VerifyResult, verify_chain  # noqa: F401 - what callers check the trail with
from engine.store.models import AuditChain, Event

GLOBAL_CHAIN = "global"  # events of no case whose writer names no stream


@dataclass(frozen=True)
class NewEvent:
    """An event to append; the chain fields are filled in by `append_events`.

    `chain` names the stream for an event of no case (`site:<site>`, a duty log's own…);
    left out, it is the case's chain, or `global` for an event of no case."""

    type: EventType
    instance_id: int | None = None
    actor: str | None = None
    element_id: str | None = None
    data: dict | None = None
    chain: str | None = None

    @property
    def chain_name(self) -> str:
        if self.chain:
            return self.chain
        return f"case:{self.instance_id}" if self.instance_id is not None else GLOBAL_CHAIN


# Built once: a step runs these every time, and building a statement costs more than running it.
_event, _head = Event.__table__, AuditChain.__table__
_HEAD_FOR_UPDATE = (select(_head.c.last_hash, _head.c.length)
                    .where(_head.c.chain == bindparam("chain")).with_for_update())
_HEAD_INSERT = insert(_head)
# The head's lock keeps every other writer of this chain out until commit, so its newest event is ours.
_CHAIN_LAST_ID = select(func.max(_event.c.id)).where(_event.c.chain == bindparam("chain"))
_HEAD_ADVANCE = (update(_head).where(_head.c.chain == bindparam("name"))
                 .values(last_event_id=bindparam("last_id"), last_hash=bindparam("last_hash"),
                         length=bindparam("new_length"), seal=bindparam("new_seal")))
_EVENT_INSERT = insert(_event)
# PostgreSQL answers the new ids in the INSERT itself: one statement for all rows, no query after.
_EVENT_INSERT_RETURNING = insert(_event).returning(_event.c.id, _event.c.chain)


def lock_head(session: Session, chain: str) -> tuple[str, int]:
    """Lock one chain's head for this transaction (making it if the chain is new) and return
    (last hash, length)."""
    conn = session.connection()
    head = conn.execute(_HEAD_FOR_UPDATE, {"chain": chain}).first()
    if head is not None:
        return head.last_hash, head.length
    try:
        with session.begin_nested():  # two writers may start the same stream at once
            conn.execute(_HEAD_INSERT, {"chain": chain, "last_event_id": 0, "last_hash": GENESIS_HASH,
                                        "length": 0, "seal": head_seal(audit_key(), chain, 0, GENESIS_HASH, 0)})
    except IntegrityError:
        head = conn.execute(_HEAD_FOR_UPDATE, {"chain": chain}).one()
        return head.last_hash, head.length
    return GENESIS_HASH, 0


def append_events(session: Session, events: list[NewEvent], at: datetime) -> list[dict]:
    """Append `events` to their chains inside the caller's transaction (never commits); return
    the rows as written, for what folds them further (the statistics' case facts)."""
    if not events:
        return []
    if not session.in_transaction():
        raise RuntimeError("append_events must run inside the step transaction")
    key = audit_key()
    request_id = correlation.current()
    by_chain: dict[str, list[NewEvent]] = {}
    for new in events:
        by_chain.setdefault(new.chain_name, []).append(new)
    rows, heads = [], []
    for chain in sorted(by_chain):  # one order for every writer, so two never wait on each other
        prev, length = lock_head(session, chain)
        for new in by_chain[chain]:
            # Through JSON and back, so the hash covers exactly what the row will hold.
            data = json.loads(json.dumps(new.data or {}, ensure_ascii=False, default=str))
            digest = chain_hash(prev, canonical_json(new.instance_id, at, new.type, new.actor, new.element_id, data,
                                                     request_id))
            rows.append({"instance_id": new.instance_id, "at": at, "type": new.type, "actor": new.actor,
                         "element_id": new.element_id, "data": data, "prev_hash": prev, "hash": digest,
                         "chain": chain, "seal": event_seal(key, chain, digest), "request_id": request_id})
            prev = digest
        heads.append((chain, prev, length + len(by_chain[chain])))
    conn = session.connection()
    last_ids = _insert_events(conn, rows)
    for chain, last_hash, length in heads:
        last_id = last_ids[chain] if last_ids is not None else conn.execute(_CHAIN_LAST_ID, {"chain": chain}).scalar_one()
        conn.execute(_HEAD_ADVANCE, {"name": chain, "last_id": last_id, "last_hash": last_hash,
                                     "new_length": length, "new_seal": head_seal(key, chain, last_id, last_hash, length)})
    return rows


def _insert_events(conn, rows: list[dict]) -> dict[str, int] | None:
    """Insert the step's events in one statement; on PostgreSQL return each chain's newest id.

    SQLite would answer RETURNING one row at a time, so there each head takes its chain's
    newest id with a query instead (None here).
    """
    if conn.dialect.name != "postgresql":
        conn.execute(_EVENT_INSERT, rows)
        return None
    last_ids: dict[str, int] = {}
    for event_id, chain in conn.execute(_EVENT_INSERT_RETURNING, rows):
        last_ids[chain] = max(event_id, last_ids.get(chain, 0))
    return last_ids


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

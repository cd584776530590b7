"""Checking the audit trail: every chain, every seal, every head and every checkpoint.

One pass over the events in id order, in batches (each chain's state kept as it goes), so
the first break named is the oldest event that does not fit. Then the heads (a chain with
no head, or a head that names another end or is not sealed by the key), the checkpoints
(each sealed, each chained to the one before, every head they anchored still there) and,
given, the exported checkpoint file. What each check catches: docs/audit.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.anchors import Anchored, checkpoint_seal, heads_digest, latest_anchors
from engine.audit.hashing import GENESIS_HASH, event_hash
from engine.audit.seal import audit_key, event_seal, head_seal, matches
from engine.store.models import AuditAnchor, AuditChain, AuditCheckpoint, Event

_EVENT = Event.__table__

# Each kind of break in the words of both languages; placeholders from `Break.values`.
BREAKS = {
    "prev": ("与上一条记录的哈希不符（其前的记录被删除、改动或插入）",
             "previous hash does not match (a row before it was deleted, altered or inserted)"),
    "altered": ("内容与其哈希不符（记录被改动）", "content does not match its hash (row altered)"),
    "seal": ("封印不符：记录被伪造，或被改动后重算了哈希",
             "seal does not match: the row was forged, or altered and re-hashed without the key"),
    "no_head": ("链 {chain} 的链头缺失（链头被删除）", "chain {chain} has no head (head deleted)"),
    "head_end": ("链 {chain} 止于第 {last} 条，链头却指向第 {head} 条（最新的记录被删除）",
                 "chain {chain} ends at event {last} but the head names event {head} (newest rows deleted)"),
    "head_seal": ("链 {chain} 的链头封印不符（链头被改写）",
                  "the head of chain {chain} does not match its seal (head rewritten)"),
    "headless_events": ("链头 {chain} 记有 {length} 条，链中却没有记录（整条链被删除）",
                        "head of chain {chain} names {length} events but the chain has none (chain deleted)"),
    "checkpoint_seal": ("检查点 {checkpoint} 与其封印不符（检查点被改动或删除）",
                        "checkpoint {checkpoint} does not match its seal (checkpoints altered or deleted)"),
    "anchor_gone": ("检查点 {checkpoint} 记录的链 {chain} 只剩 {found} 条，原有 {length} 条（记录被删除）",
                    "chain {chain} had {length} events at checkpoint {checkpoint}, now {found} (events deleted)"),
    "anchor_differs": ("链 {chain} 第 {length} 条与检查点 {checkpoint} 记录的不符（链被改写）",
                       "event {length} of chain {chain} is not the one checkpoint {checkpoint} anchored (chain rewritten)"),
    "file_missing": ("检查点文件中的检查点 {checkpoint} 在数据库中缺失或不符（检查点被删除或改写）",
                     "checkpoint {checkpoint} of the checkpoint file is missing or different in the database"
                     " (checkpoints deleted or rewritten)"),
    "file_seal": ("检查点文件中的检查点 {checkpoint} 与其封印不符（文件被改动）",
                  "checkpoint {checkpoint} in the checkpoint file does not match its seal (file altered)"),
}


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_id: int | None = None  # the event (or checkpoint, for a checkpoint break) named
    kind: str | None = None
    values: dict | None = None

    @property
    def reason(self) -> str | None:
        return BREAKS[self.kind][1].format(**(self.values or {})) if self.kind else None

    @property
    def reason_zh(self) -> str | None:
        return BREAKS[self.kind][0].format(**(self.values or {})) if self.kind else None

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.checked} events verified"
        return f"audit chain broken at event {self.first_broken_id}: {self.reason} ({self.checked} events checked)"


class _Broken(Exception):
    def __init__(self, event_id: int | None, kind: str, **values):
        super().__init__(kind)
        self.event_id, self.kind, self.values = event_id, kind, values


@dataclass
class _Chain:
    prev: str = GENESIS_HASH
    length: int = 0
    last_id: int = 0


def verify_chain(session: Session, batch: int = 2000, checkpoint_file: list[dict] | None = None) -> VerifyResult:
    """Check the whole trail; the result names the first break, if any.

    Reads one snapshot: steps committing during the walk would otherwise show as breaks (a
    head ahead of the events read, an event whose id was taken before the walk passed it but
    committed after). SQLite's read transaction is a snapshot already; PostgreSQL's becomes one
    at REPEATABLE READ, when the session has not begun yet."""
    if not session.in_transaction() and session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    key, checked = audit_key(), 0
    anchors = latest_anchors(session)
    chains: dict[str, _Chain] = {}
    try:
        after = 0
        while True:
            # Plain rows, not ORM objects: a walk over millions of events spends its time here.
            rows = session.execute(select(_EVENT).where(_EVENT.c.id > after).order_by(_EVENT.c.id).limit(batch)).all()
            for row in rows:
                checked += 1
                _check_event(key, chains.setdefault(row.chain, _Chain()), row, anchors.get(row.chain))
            if len(rows) < batch:
                break
            after = rows[-1].id
        _check_heads(key, session, chains)
        _check_anchors(anchors, chains)
        _check_checkpoints(key, session, checkpoint_file)
    except _Broken as broken:
        return VerifyResult(False, checked, broken.event_id, broken.kind, broken.values)
    return VerifyResult(True, checked)


def _check_event(key: bytes, chain: _Chain, row, anchor: tuple[int, Anchored] | None) -> None:
    if row.prev_hash != chain.prev:
        raise _Broken(row.id, "prev")
    if row.hash != event_hash(chain.prev, row):
        raise _Broken(row.id, "altered")
    if not matches(event_seal(key, row.chain, row.hash), row.seal):
        raise _Broken(row.id, "seal")
    chain.prev, chain.last_id, chain.length = row.hash, row.id, chain.length + 1
    if anchor is not None and anchor[1].length == chain.length and (
            anchor[1].last_event_id, anchor[1].last_hash) != (row.id, row.hash):
        raise _Broken(row.id, "anchor_differs", chain=row.chain, length=chain.length, checkpoint=anchor[0])


def _check_heads(key: bytes, session: Session, chains: dict[str, _Chain]) -> None:
    heads = {h.chain: h for h in session.scalars(select(AuditChain))}
    breaks = []
    for name, chain in chains.items():
        head = heads.get(name)
        if head is None:
            breaks.append(_Broken(chain.last_id, "no_head", chain=name))
        elif (head.last_event_id, head.last_hash, head.length) != (chain.last_id, chain.prev, chain.length):
            breaks.append(_Broken(head.last_event_id, "head_end", chain=name, last=chain.last_id,
                                  head=head.last_event_id))
        elif not matches(head_seal(key, name, head.last_event_id, head.last_hash, head.length), head.seal):
            breaks.append(_Broken(head.last_event_id, "head_seal", chain=name))
    for name, head in heads.items():
        if name not in chains and head.length:
            breaks.append(_Broken(head.last_event_id, "headless_events", chain=name, length=head.length))
    if breaks:
        raise min(breaks, key=lambda b: b.event_id or 0)


def _check_anchors(anchors: dict[str, tuple[int, Anchored]], chains: dict[str, _Chain]) -> None:
    for name, (checkpoint, anchored) in sorted(anchors.items(), key=lambda item: item[1][1].last_event_id):
        found = chains[name].length if name in chains else 0
        if found < anchored.length:
            raise _Broken(anchored.last_event_id, "anchor_gone", chain=name, length=anchored.length,
                          found=found, checkpoint=checkpoint)


def _check_checkpoints(key: bytes, session: Session, exported: list[dict] | None) -> None:
    """Each checkpoint sealed over its anchors and the one before; then the file's, if given."""
    prev_seal, stored = "", {}
    for checkpoint in session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)):
        heads = [Anchored(a.chain, a.last_event_id, a.last_hash, a.length) for a in session.scalars(
            select(AuditAnchor).where(AuditAnchor.checkpoint_id == checkpoint.id))]
        expected = checkpoint_seal(key, checkpoint.id, checkpoint.at, len(heads), heads_digest(heads), prev_seal)
        if checkpoint.id != len(stored) + 1 or not matches(expected, checkpoint.seal):
            raise _Broken(checkpoint.id, "checkpoint_seal", checkpoint=checkpoint.id)
        stored[checkpoint.id], prev_seal = checkpoint.seal, checkpoint.seal
    prev_seal = ""
    for record in exported or []:
        at = datetime.fromisoformat(record["at"])
        expected = checkpoint_seal(key, record["id"], at, record["chains"], record["digest"], prev_seal)
        if not matches(expected, record["seal"]):
            raise _Broken(record["id"], "file_seal", checkpoint=record["id"])
        if stored.get(record["id"]) != record["seal"]:
            raise _Broken(record["id"], "file_missing", checkpoint=record["id"])
        prev_seal = record["seal"]

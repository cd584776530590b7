"""Sealed checkpoints of the chains' heads: the global anchor.

Each checkpoint records every head that moved since the one before (an `audit_anchor`
row each), a sha256 digest over those heads, and a seal (HMAC with the audit key) over its
id, time, digest and the previous checkpoint's seal — a chain of checkpoints. Verifying
against them shows a case's chain deleted whole (head and all) or cut back to before a
checkpoint; the checkpoints exported to a file (`estatedesk audit checkpoint --out FILE`)
show checkpoints deleted from the database too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from engine.audit.seal import audit_key, head_seal, matches, seal
from engine.errors import BadInput
from engine.store.db import Database
from engine.store.models import AuditAnchor, AuditChain, AuditCheckpoint


@dataclass(frozen=True)
class Anchored:
    """A head as a checkpoint saw it."""

    chain: str
    last_event_id: int
    last_hash: str
    length: int


def heads_digest(heads: list[Anchored]) -> str:
    text = "".join(f"{h.chain}\x1f{h.last_event_id}\x1f{h.last_hash}\x1f{h.length}\n"
                   for h in sorted(heads, key=lambda h: h.chain))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def checkpoint_seal(key: bytes, checkpoint_id: int, at: datetime, chains: int, digest: str, prev_seal: str) -> str:
    return seal(key, "checkpoint", checkpoint_id, _utc(at), chains, digest, prev_seal)


def _utc(at: datetime) -> str:
    """The time as the file and the seal spell it, whatever zone the database hands it back in."""
    return at.astimezone(timezone.utc).isoformat()


def latest_anchors(session: Session) -> dict[str, tuple[int, Anchored]]:
    """Chain → (checkpoint id, the head as the newest checkpoint that anchored it saw it)."""
    newest = (select(AuditAnchor.chain, func.max(AuditAnchor.checkpoint_id).label("cp"))
              .group_by(AuditAnchor.chain).subquery())
    rows = session.execute(select(AuditAnchor).join(
        newest, (AuditAnchor.chain == newest.c.chain) & (AuditAnchor.checkpoint_id == newest.c.cp)))
    return {a.chain: (a.checkpoint_id, Anchored(a.chain, a.last_event_id, a.last_hash, a.length))
            for (a,) in rows}


def make_checkpoint(session: Session, at: datetime) -> AuditCheckpoint | None:
    """Anchor every sealed head that moved since the last checkpoint, in the caller's
    transaction; None when nothing moved. A head whose seal does not match is left out
    (verify reports it) rather than vouched for."""
    key = audit_key()
    last = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)
                           .with_for_update()).first()
    anchored = latest_anchors(session)
    moved = []
    for head in session.scalars(select(AuditChain)):
        seen = anchored.get(head.chain)
        if seen is not None and seen[1].length == head.length:
            continue
        if matches(head_seal(key, head.chain, head.last_event_id, head.last_hash, head.length), head.seal):
            moved.append(Anchored(head.chain, head.last_event_id, head.last_hash, head.length))
    if not moved:
        return None
    new_id = (last.id if last else 0) + 1
    digest = heads_digest(moved)
    checkpoint = AuditCheckpoint(id=new_id, at=at, chains=len(moved), digest=digest,
                                 seal=checkpoint_seal(key, new_id, at, len(moved), digest, last.seal if last else ""))
    session.add(checkpoint)
    session.flush()
    session.execute(insert(AuditAnchor), [{"checkpoint_id": new_id, **vars(h)} for h in moved])
    return checkpoint


def checkpoint_record(checkpoint: AuditCheckpoint) -> dict:
    """A checkpoint as one line of the exported file."""
    return {"id": checkpoint.id, "at": _utc(checkpoint.at), "chains": checkpoint.chains,
            "digest": checkpoint.digest, "seal": checkpoint.seal}


def read_checkpoint_file(path: Path) -> list[dict]:
    """The checkpoints exported to `path` (JSON lines, oldest first); none if it does not exist."""
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            records.append({k: record[k] for k in ("id", "at", "chains", "digest", "seal")})
        except (json.JSONDecodeError, KeyError, TypeError):
            raise BadInput(f"{path}:{number}: not a checkpoint record") from None
    return records


def export_checkpoints(session: Session, path: Path) -> int:
    """Append to `path` the checkpoints it does not hold yet; return how many. Never rewrites
    what the file holds, so checkpoints deleted from the database stay on record there."""
    held = read_checkpoint_file(path)
    after = held[-1]["id"] if held else 0
    new = session.scalars(select(AuditCheckpoint).where(AuditCheckpoint.id > after).order_by(AuditCheckpoint.id)).all()
    if new:
        with path.open("a", encoding="utf-8") as out:
            for checkpoint in new:
                out.write(json.dumps(checkpoint_record(checkpoint), sort_keys=True) + "\n")
    return len(new)


@dataclass(frozen=True)
class CheckpointDone:
    made: tuple[int, int] | None  # (checkpoint id, chains anchored), or None when no head moved
    exported: int  # checkpoints appended to the file


def checkpoint_and_export(db: Database, at: datetime, out: Path | None = None) -> CheckpointDone:
    """Make a checkpoint in a transaction of its own, then append the checkpoints `out` lacks to it:
    what `estatedesk audit checkpoint` and the worker's periodic checkpoint do."""
    with db.session() as session, session.begin():
        made = make_checkpoint(session, at)
        done = (made.id, made.chains) if made else None
    if out is None:
        return CheckpointDone(done, 0)
    with db.read_session() as session:
        return CheckpointDone(done, export_checkpoints(session, out))

"""The audit trail's heads and anchors (engine/audit/): one head per chain, and the sealed
checkpoints that anchor every head, so that a chain deleted whole still shows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Base


class AuditChain(Base):
    """Where one chain ends (`case:<id>`, `site:<site>`, `global`, `legacy`): locked while
    appending to that chain only, and sealed with the audit key (engine/audit/seal.py)."""

    __tablename__ = "audit_chain"

    chain: Mapped[str] = mapped_column(String(80), primary_key=True)
    last_event_id: Mapped[int]
    last_hash: Mapped[str] = mapped_column(String(64))
    length: Mapped[int]
    seal: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A sealed snapshot of the heads that moved since the checkpoint before it; each seal
    covers the one before, so the checkpoints form a chain of their own."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    chains: Mapped[int]  # heads anchored by this checkpoint
    digest: Mapped[str] = mapped_column(String(64))  # sha256 over those heads, sorted by chain
    seal: Mapped[str] = mapped_column(String(64))  # HMAC over id, at, chains, digest and the previous seal


class AuditAnchor(Base):
    """One head as a checkpoint saw it."""

    __tablename__ = "audit_anchor"
    __table_args__ = (Index("ix_audit_anchor_chain", "chain", "checkpoint_id"),)

    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("audit_checkpoint.id"), primary_key=True)
    chain: Mapped[str] = mapped_column(String(80), primary_key=True)
    last_event_id: Mapped[int]
    last_hash: Mapped[str] = mapped_column(String(64))
    length: Mapped[int]

"""The first answer to each API request sent with an Idempotency-Key (engine/runtime/idempotency.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Base


class IdempotencyKey(Base):
    """One caller's key: the request it was first sent with (a hash) and, once given, the answer."""

    __tablename__ = "idempotency_key"
    __table_args__ = (
        UniqueConstraint("username", "key"),
        Index("ix_idempotency_key_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of method, path and body
    created_at: Mapped[datetime]
    answer: Mapped[dict | None]  # {"status", "headers", "body"}; None while the first request runs

"""The tables of logging in: refused passwords, counted to slow guessing, and the browsers'
login sessions, which the server can end (engine/accounts/login.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Base


class LoginFailure(Base):
    """A refused password, counted per account and per address over a short window."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_username", "username", "at"),
        Index("ix_login_failure_address", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class LoginSession(Base):
    """A browser's login, until it logs out, its password changes or it expires; only the
    sha256 of the secret in the browser's cookie is stored."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]

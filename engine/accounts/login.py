"""Logging in: check a person's password against the stored hash, and keep the hash current.

The web app only renders what happens here. A password is hashed and checked outside any
write transaction (argon2 is slow on purpose, and on SQLite the write lock is the whole
database's); the transaction only stores what the check decided.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounts.users import check_password, rehashed, replace_password_hash
from engine.store.db import Database
from engine.store.models import User


class Transactions(Protocol):
    """Where logins read and write: the runtime's database and its step transaction."""

    db: Database

    def transaction(self) -> AbstractContextManager[Session]: ...


def password_hash(session: Session, username: str) -> str | None:
    """The stored hash of an active account, or None."""
    return session.scalar(select(User.password_hash).where(User.username == username, User.active.is_(True)))


def password_matches(transactions: Transactions, username: str, password: str) -> bool:
    """Check the password; a match on an outdated hash (old parameters, or scrypt) stores a fresh one."""
    with transactions.db.read_session() as session:
        stored = password_hash(session, username)
    if stored is None or not check_password(password, stored):
        return False
    fresh = rehashed(password, stored)
    if fresh is not None:  # hashed before the transaction: it holds the write lock only to store it
        with transactions.transaction() as session:
            replace_password_hash(session, username, stored, fresh)
    return True

"""Logging in and out: passwords checked slowly and evenly, guessing throttled, and login
sessions the server keeps, so logging out or a new password ends them for good.

The web app only renders what happens here. Everything that decides is in the database,
so every server process (and every worker beside them) agrees:

- Throttling. After `ACCOUNT_FAILURES` refused passwords for one username within
  `FAILURE_WINDOW`, or `ADDRESS_FAILURES` from one address (higher: a service centre's
  desks share one), further attempts are refused unchecked until the oldest of those
  failures leaves the window. Attempts refused that way are not counted, so a person
  who mistyped waits at most the window, and a guesser gets that many tries per window.
- Even timing. An unknown or inactive username is checked against a dummy hash made with
  the same hasher, so the answer takes as long as for a real account; a lock is the same
  for both, so neither tells which usernames exist.
- Sessions. A login gets a random secret for the browser's cookie; only its sha256 is
  stored, with an expiry. Every request looks it up; logging out deletes it, and a
  password change deletes every session of that person.

A password is hashed and checked outside any write transaction (argon2 is slow on
purpose, and on SQLite the write lock is the whole database's); the transaction only
stores what the check decided.
"""

from __future__ import annotations

import hashlib
import secrets
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from engine.accounts import users
from engine.accounts.users import (
    ACTIVE_ACTOR_ROWS,
    Actor,
    actor_from_rows,
    check_password,
    rehashed,
)
from engine.audit import chain as audit
from engine.audit.events import EventType
from engine.errors import BadInput
from engine.store.db import Database
from engine.store.logins import LoginFailure, LoginSession
from engine.store.models import User

ACCOUNT_FAILURES = 5
ADDRESS_FAILURES = 20
FAILURE_WINDOW = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD_LENGTH = 8
_NAME_LENGTH, _ADDRESS_LENGTH = 100, 64  # the columns' sizes; longer input is no account anyway


class Transactions(Protocol):
    """Where logins read and write: the runtime's database, clock and step transaction."""

    db: Database

    @property
    def clock(self): ...

    def transaction(self) -> AbstractContextManager[Session]: ...


@dataclass(frozen=True)
class Login:
    """What a login attempt came to: the new session's secret, or refused (and until when, if locked)."""

    token: str | None = None
    retry_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.token is not None


def password_hash(session: Session, username: str) -> str | None:
    """The stored hash of an active account, or None."""
    return session.scalar(select(User.password_hash).where(User.username == username, User.active.is_(True)))


def log_in(transactions: Transactions, username: str, password: str, address: str) -> Login:
    """Check `password` for `username` from `address`; on a match, open a login session."""
    username, address = username[:_NAME_LENGTH], address[:_ADDRESS_LENGTH]
    if not _password_checks(transactions, username, password, address):
        return Login(retry_at=_locked_until(transactions, username, address))
    return Login(token=_open_session(transactions, username))


def _password_checks(transactions: Transactions, username: str, password: str, address: str) -> bool:
    """Whether the password matches, counted as a failure if not; False unchecked while locked.

    A match on an outdated hash (old parameters, or scrypt) stores a fresh one.
    """
    now = transactions.clock.now()
    with transactions.db.read_session() as session:
        if _lock_end(session, username, address, now) is not None:
            return False
        stored = password_hash(session, username)
    matched = check_password(password, stored or _dummy_hash()) and stored is not None
    fresh = rehashed(password, stored) if matched else None  # hashed before the transaction, too
    with transactions.transaction() as session:
        if not matched:
            session.execute(delete(LoginFailure).where(LoginFailure.at < now - FAILURE_WINDOW))
            session.add(LoginFailure(username=username, address=address, at=now))
        else:
            session.execute(delete(LoginFailure).where(LoginFailure.username == username))
            if fresh is not None:
                users.replace_password_hash(session, username, stored, fresh)
    return matched


def _locked_until(transactions: Transactions, username: str, address: str) -> datetime | None:
    with transactions.db.read_session() as session:
        return _lock_end(session, username, address, transactions.clock.now())


def _lock_end(session: Session, username: str, address: str, now: datetime) -> datetime | None:
    """When the account's or the address's lock ends, or None when neither is locked."""
    ends = []
    for column, value, limit in ((LoginFailure.username, username, ACCOUNT_FAILURES),
                                 (LoginFailure.address, address, ADDRESS_FAILURES)):
        recent = session.scalars(select(LoginFailure.at).where(column == value, LoginFailure.at > now - FAILURE_WINDOW)
                                 .order_by(LoginFailure.at.desc()).limit(limit)).all()
        if len(recent) >= limit:
            ends.append(recent[-1] + FAILURE_WINDOW)  # when the oldest of the last `limit` leaves the window
    return max(ends, default=None)


_dummy_hashes: dict[int, str] = {}


def _dummy_hash() -> str:
    """A hash of a password nobody has, made by the hasher in use, checked for unknown usernames."""
    hasher = id(users.PASSWORD_HASHER)
    if hasher not in _dummy_hashes:
        _dummy_hashes[hasher] = users.hash_password(secrets.token_urlsafe(16))
    return _dummy_hashes[hasher]


# -- login sessions -------------------------------------------------------------------

def _token_hash(token: str) -> str:
    # 32 random bytes: a plain sha256 is as good as a slow hash and allows an indexed lookup.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _open_session(transactions: Transactions, username: str) -> str:
    token = secrets.token_urlsafe(32)
    now = transactions.clock.now()
    with transactions.transaction() as session:
        user_id = session.scalar(select(User.id).where(User.username == username))
        session.execute(delete(LoginSession).where(LoginSession.user_id == user_id, LoginSession.expires_at <= now))
        session.add(LoginSession(user_id=user_id, token_hash=_token_hash(token), created_at=now,
                                 expires_at=now + SESSION_LIFETIME))
    return token


# The session's user and roles in one query: every page asks this first.
_SESSION_ACTOR = (ACTIVE_ACTOR_ROWS.join(LoginSession, LoginSession.user_id == User.id)
                  .where(LoginSession.token_hash == bindparam("token_hash"), LoginSession.expires_at > bindparam("now")))


def actor_for_session(session: Session, token: str, now: datetime) -> Actor | None:
    """Who a live login session is, or None for an ended, expired or unknown one (or an inactive user)."""
    rows = session.connection().execute(_SESSION_ACTOR, {"token_hash": _token_hash(token), "now": now}).all()
    return actor_from_rows(rows) if rows else None


def log_out(transactions: Transactions, token: str) -> None:
    """End one login session: its cookie, kept or copied, no longer logs anyone in."""
    with transactions.transaction() as session:
        session.execute(delete(LoginSession).where(LoginSession.token_hash == _token_hash(token)))


# -- passwords ------------------------------------------------------------------------

def change_password(transactions: Transactions, username: str, current: str, new: str, address: str) -> Login:
    """A person's own change: `current` is checked (and throttled) as at login; then every
    session of theirs ends, this browser gets a fresh one, and the change is audited."""
    if len(new) < MIN_PASSWORD_LENGTH:
        raise BadInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    address = address[:_ADDRESS_LENGTH]
    if not _password_checks(transactions, username, current, address):
        return Login(retry_at=_locked_until(transactions, username, address))
    fresh = users.hash_password(new)
    with transactions.transaction() as session:
        session.execute(update(User).where(User.username == username).values(password_hash=fresh))
        ended = end_sessions(session, username)
        audit.append_events(session, [audit.NewEvent(EventType.PASSWORD_CHANGED, actor=username,
                                                     data={"user": username, "sessions_ended": ended})],
                            transactions.clock.now())
    return Login(token=_open_session(transactions, username))


def end_sessions(session: Session, username: str) -> int:
    """End every login session of `username`, in the caller's transaction; how many there were.

    Whatever sets a new password calls this, so a password someone else learnt stops working
    everywhere at once.
    """
    user_id = select(User.id).where(User.username == username).scalar_subquery()
    return session.execute(delete(LoginSession).where(LoginSession.user_id == user_id)).rowcount

"""API tokens: bearer secrets for integrations (a phone system, a mini-program), each
acting as one user so that user's roles apply.

A token is 32 random bytes, so a plain sha256 of it is as good as a slow password
hash and lets a request find its row by an indexed lookup; the token itself is shown
once, when it is made, and never stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine import clock
from engine.accounts.users import ACTIVE_ACTOR_ROWS, SYSTEM_ACTOR, Actor, actor_from_rows
from engine.audit import chain as audit
from engine.audit.events import EventType
from engine.errors import BadInput, NotFound
from engine.store.models import ApiToken, User

TOKEN_PREFIX = "edk_"  # tells a leaked EstateDesk token apart in logs and secret scanners
# Tokens are made and revoked on the server's command line, so the audit trail names "system".


@dataclass(frozen=True)
class TokenView:
    id: int
    username: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, username: str, name: str) -> tuple[TokenView, str]:
    """Make a token acting as `username`; return it with the secret, which is not kept."""
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        raise NotFound(f"unknown user {username!r}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=hash_token(secret), created_at=clock.now())
    session.add(row)
    session.flush()
    audit.append_events(session, [audit.NewEvent(EventType.TOKEN_CREATED, actor=SYSTEM_ACTOR,
                                                 data={"token_id": row.id, "user": username, "name": name})],
                        clock.now())
    return TokenView(row.id, username, name, row.created_at, None), secret


def revoke_token(session: Session, token_id: int) -> TokenView:
    """Stop a token from working from now on; the row stays for the record."""
    found = session.execute(select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
                            .where(ApiToken.id == token_id)).first()
    if found is None:
        raise NotFound(f"token {token_id} does not exist")
    row, username = found
    if row.revoked_at is not None:
        raise BadInput(f"token {token_id} was already revoked")
    row.revoked_at = clock.now()
    session.flush()
    audit.append_events(session, [audit.NewEvent(EventType.TOKEN_REVOKED, actor=SYSTEM_ACTOR,
                                                 data={"token_id": row.id, "user": username})], clock.now())
    return TokenView(row.id, username, row.name, row.created_at, row.revoked_at)


def list_tokens(session: Session) -> list[TokenView]:
    rows = session.execute(select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
                           .order_by(ApiToken.id))
    return [TokenView(t.id, username, t.name, t.created_at, t.revoked_at) for t, username in rows]


# The token's user and roles in one query: every API request asks this first.
_TOKEN_ACTOR = (ACTIVE_ACTOR_ROWS.join(ApiToken, ApiToken.user_id == User.id)
                .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None)))


def actor_for_token(session: Session, secret: str) -> Actor | None:
    """The user a live token acts as, or None for an unknown or revoked token or an inactive user."""
    rows = session.connection().execute(_TOKEN_ACTOR, {"token_hash": hash_token(secret)}).all()
    return actor_from_rows(rows) if rows else None

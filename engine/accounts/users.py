"""Staff accounts and their roles; passwords stored as argon2 hashes (argon2-cffi)."""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.audit import chain as audit
from engine.audit.events import EventType
from engine.definitions.rules import Rules
from engine.errors import BadInput, NotFound
from engine.store.models import User, UserRole

# argon2-cffi's defaults (RFC 9106's low-memory profile). Each hash records its parameters,
# so they can be raised: a login on a hash made with others stores a fresh one. The tests
# swap in a cheap hasher (tests/conftest.py); nothing else may.
PASSWORD_HASHER = PasswordHasher()
# Hashes made before argon2, "scrypt$<salt hex>$<digest hex>": they verify once, then are replaced.
_SCRYPT_PREFIX = "scrypt$"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
SYSTEM_ACTOR = "system"
# The stored hash of an account without a password: no password matches it (it is no argon2
# hash), so the account cannot log in until `estatedesk user password` sets one.
NO_PASSWORD = "!"
MIN_PASSWORD_LENGTH = 8
# Role groups the engine and the web app both check (role names from processes/rules/roles).
SUPERVISOR_ROLES = frozenset({"cs_supervisor", "manager"})
# Department heads (护管部主管, 工程部主管): they see and reassign their own department's tasks
# (departments.yaml), not the whole centre's as the supervisors above do.
DEPARTMENT_HEAD_ROLES = frozenset({"security_supervisor", "engineering_supervisor"})
# People who open requests for their own home and follow them (the mini-program): residents.
REQUESTER_ROLES = ("resident",)
# People who work on cases; auditors only read, residents and designers use other pages.
STAFF_ROLES = ("reception", "cs_supervisor", "manager", "security_supervisor", "security_lead", "guard",
               "engineering_supervisor", "technician", "environment", "finance")


def hash_password(password: str) -> str:
    return PASSWORD_HASHER.hash(password)


def check_password(password: str, stored: str) -> bool:
    """Whether `password` matches a stored hash (argon2, or scrypt from before); never raises."""
    if stored.startswith(_SCRYPT_PREFIX):
        return _check_scrypt(password, stored)
    try:
        return PASSWORD_HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _check_scrypt(password: str, stored: str) -> bool:
    try:
        _, salt_hex, digest_hex = stored.split("$")
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)


def has_password(stored: str) -> bool:
    return stored != NO_PASSWORD


def set_password(session: Session, username: str, password: str, actor: str) -> None:
    """Give the active account `username` a new password, in the caller's transaction; audited."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"unknown user {username!r}")
    if not user.active:
        raise BadInput(f"{username} is inactive (not in processes/rules/staff.yaml)")
    user.password_hash = hash_password(password)
    audit.append_events(session, [audit.NewEvent(EventType.PASSWORD_SET, actor=actor, element_id=username)],
                        clock.now())


def rehashed(password: str, stored: str) -> str | None:
    """A fresh hash of `password`, just checked against `stored`, if `stored` is outdated; else None."""
    if stored.startswith(_SCRYPT_PREFIX) or PASSWORD_HASHER.check_needs_rehash(stored):
        return hash_password(password)
    return None


def replace_password_hash(session: Session, username: str, stored: str, fresh: str) -> None:
    """Store `fresh` in place of `stored`, in the caller's transaction, unless the hash changed meanwhile."""
    if not session.in_transaction():
        raise RuntimeError("replace_password_hash must run inside a transaction")
    session.execute(update(User).where(User.username == username, User.password_hash == stored)
                    .values(password_hash=fresh))


@dataclass(frozen=True)
class Actor:
    """Who is acting: a username and the roles they hold."""

    username: str
    name: str
    roles: frozenset[str]
    site: str | None = None
    company_wide: bool = False  # declared in staff.yaml: every site's cases (engine/accounts/sites.py)


# The rows `actor_from_rows` reads: an active user's (username, name, site, company_wide, role), one per role.
ACTIVE_ACTOR_ROWS = (select(User.username, User.name, User.site, User.company_wide, UserRole.role)
                     .outerjoin(UserRole, UserRole.user_id == User.id).where(User.active.is_(True)))
_ACTOR_WITH_ROLES = ACTIVE_ACTOR_ROWS.where(User.username == bindparam("username"))


def load_actor(session: Session, username: str) -> Actor:
    """Return the active user `username` with roles, or raise `NotFound`."""
    if username == SYSTEM_ACTOR:
        return SYSTEM
    # On the connection: a plain row query needs none of the ORM's result machinery.
    rows = session.connection().execute(_ACTOR_WITH_ROLES, {"username": username}).all()
    if not rows:
        raise NotFound(f"unknown user {username!r}")
    return actor_from_rows(rows)


def actor_from_rows(rows) -> Actor:
    """An actor from rows of (username, name, site, company_wide, role), one per role held (role None for none)."""
    first = rows[0]
    return Actor(first.username, first.name, frozenset(r.role for r in rows if r.role), first.site,
                 bool(first.company_wide))


def user_names(session: Session, usernames=None) -> dict[str, str]:
    """username → name of the accounts named (of every account when `usernames` is None)."""
    stmt = select(User.username, User.name)
    if usernames is not None:
        stmt = stmt.where(User.username.in_(list(usernames)))
    return {username: name for username, name in session.execute(stmt)}


def person_label(username: str, name: str | None) -> str:
    """`王敏 (reception1)`, as people are shown everywhere; the username alone without a name."""
    return f"{name} ({username})" if name else username


def upsert_user(session: Session, username: str, name: str, roles, site: str | None, password_hash: str,
                company_wide: bool = False) -> User:
    """Create or update a user and set exactly `roles`; a new user gets `password_hash`
    (from `hash_password`), an existing one keeps their password."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, name=name, site=site, company_wide=company_wide,
                    password_hash=password_hash, active=True)
        session.add(user)
        session.flush()
    else:
        user.name, user.site, user.company_wide = name, site, company_wide
    session.execute(delete(UserRole).where(UserRole.user_id == user.id))
    session.add_all(UserRole(user_id=user.id, role=role) for role in sorted(set(roles)))
    return user


DEMO_PASSWORD = "demo"


@functools.cache
def demo_password_hash() -> str:
    """One hash of the demo password, made once per process, for every demo account.

    The accounts share a published password, so separate salts would protect nothing,
    while hashing it for each (argon2, on purpose slow) cost seconds per set-up.
    """
    return hash_password(DEMO_PASSWORD)


def load_demo_staff(session: Session, rules: Rules) -> list[str]:
    """Create the demo staff of `staff.yaml` (password "demo"); return their usernames."""
    for member in rules.staff:
        upsert_user(session, member.username, member.name, member.roles, member.site, demo_password_hash(),
                    member.company_wide)
    return [m.username for m in rules.staff]


# The server itself (timers, the CLI's steps): it serves every site.
SYSTEM = Actor(SYSTEM_ACTOR, "系统", frozenset(), company_wide=True)


@dataclass(frozen=True)
class Account:
    """An account as an operator lists it: never its password, only whether it has one."""

    username: str
    name: str
    roles: tuple[str, ...]
    site: str | None
    active: bool
    has_password: bool


def list_accounts(session: Session) -> list[Account]:
    """Every account, active or not, by username."""
    roles: dict[int, list[str]] = {}
    for user_id, role in session.execute(select(UserRole.user_id, UserRole.role).order_by(UserRole.role)):
        roles.setdefault(user_id, []).append(role)
    return [Account(u.username, u.name, tuple(roles.get(u.id, ())), u.site, u.active, has_password(u.password_hash))
            for u in session.scalars(select(User).order_by(User.username))]

"""The app's one `Runtime`, and read-only sessions on its database for the views."""

from __future__ import annotations

import contextlib

from flask import current_app
from sqlalchemy import select

from engine.runtime.step import Runtime
from engine.store.models import ProcessVersion, User, UserRole


def runtime() -> Runtime:
    return current_app.extensions["estatedesk"]


@contextlib.contextmanager
def reading():
    """A session for reads only; views never write outside the runtime's steps."""
    with runtime().db.read_session() as session:
        yield session


def now():
    """The engine clock's time (tests move a fake clock)."""
    return runtime().clock.now()


def is_deployed(session, process_id: str) -> bool:
    stmt = select(ProcessVersion.id).where(ProcessVersion.process_id == process_id,
                                           ProcessVersion.executable.is_(True))
    return session.scalar(stmt.limit(1)) is not None


def users_by_role(session, roles) -> dict[str, list[tuple[str, str]]]:
    """For each role, the active users holding it as (username, name), for the reassign select."""
    stmt = (select(UserRole.role, User.username, User.name).join(User, User.id == UserRole.user_id)
            .where(UserRole.role.in_(list(roles)), User.active.is_(True)).order_by(User.username))
    found: dict[str, list[tuple[str, str]]] = {}
    for role, username, name in session.execute(stmt):
        found.setdefault(role, []).append((username, name))
    return found


def password_hash(session, username: str) -> str | None:
    return session.scalar(select(User.password_hash).where(User.username == username, User.active.is_(True)))

"""The accounts made to match the bundle's `processes/rules/staff.yaml`, each change audited.

`staff.yaml` lists the people; every deploy (`estatedesk init`, `estatedesk deploy`, the
modeler's deploy) applies it: a new person gets an account, a changed name, role or site
is updated, and a person no longer listed is deactivated, never deleted, so the cases,
tasks and events that name them stay readable (listing them again reactivates them).

Passwords never come from the bundle, which is kept in version control. A new account
gets `new_password_hash` when the caller gives one (only `estatedesk init` does: the
demo password, for a demo database) and otherwise none: it cannot log in until
`estatedesk user password USER` sets one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine import clock
from engine.accounts.users import NO_PASSWORD
from engine.audit import chain as audit
from engine.audit.events import EventType
from engine.definitions.library import Bundle
from engine.definitions.rules import load_rules
from engine.store.models import User, UserRole


@dataclass(frozen=True)
class StaffChange:
    """One account made to match staff.yaml: what happened and the event's data."""

    type: EventType  # STAFF_ADDED, STAFF_CHANGED or STAFF_DEACTIVATED
    username: str
    name: str
    data: dict


def apply_staff(session: Session, bundle: Bundle, actor: str,
                new_password_hash: str | None = None) -> list[StaffChange]:
    """Make the accounts match the bundle's staff list, in the caller's transaction; return the changes.

    Raises `DefinitionError` when the bundle's rules are invalid (a deploy has refused it before).
    """
    staff = load_rules(bundle.rules).staff
    users = {user.username: user for user in session.scalars(select(User))}
    held: dict[int, set[str]] = {}
    for user_id, role in session.execute(select(UserRole.user_id, UserRole.role)):
        held.setdefault(user_id, set()).add(role)
    changes = []
    for member in staff:
        user = users.get(member.username)
        if user is None:
            changes.append(_add(session, member, new_password_hash))
        elif found := _differences(user, held.get(user.id, set()), member):
            user.name, user.site, user.company_wide, user.active = member.name, member.site, member.company_wide, True
            if "roles" in found:
                _set_roles(session, user.id, member.roles)
            changes.append(StaffChange(EventType.STAFF_CHANGED, user.username, user.name, {"changes": found}))
    listed = {member.username for member in staff}
    for username in sorted(set(users) - listed):
        user = users[username]
        if user.active:
            user.active = False  # roles stay: the record shows what they did as which role
            changes.append(StaffChange(EventType.STAFF_DEACTIVATED, username, user.name, {"name": user.name}))
    session.flush()
    audit.append_events(session, [audit.NewEvent(c.type, actor=actor, element_id=c.username, data=c.data)
                                  for c in changes], clock.now())
    return changes


def _add(session: Session, member, password_hash: str | None) -> StaffChange:
    user = User(username=member.username, name=member.name, site=member.site, company_wide=member.company_wide,
                password_hash=password_hash or NO_PASSWORD, active=True)
    session.add(user)
    session.flush()
    _set_roles(session, user.id, member.roles)
    return StaffChange(EventType.STAFF_ADDED, member.username, member.name,
                       {"name": member.name, "roles": sorted(set(member.roles)), "site": member.site,
                        **({"company_wide": True} if member.company_wide else {}),
                        "password_set": password_hash is not None})


def _differences(user: User, roles: set[str], member) -> dict[str, list]:
    """field → [now, in staff.yaml] for each field the account must change."""
    wanted = {"name": member.name, "roles": sorted(set(member.roles)), "site": member.site,
              "company_wide": member.company_wide, "active": True}
    current = {"name": user.name, "roles": sorted(roles), "site": user.site,
               "company_wide": bool(user.company_wide), "active": user.active}
    return {field: [current[field], value] for field, value in wanted.items() if current[field] != value}


def _set_roles(session: Session, user_id: int, roles) -> None:
    session.execute(delete(UserRole).where(UserRole.user_id == user_id))
    session.add_all(UserRole(user_id=user_id, role=role) for role in sorted(set(roles)))

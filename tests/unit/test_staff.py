"""Staff from the bundle (`engine.accounts.staff`): each deploy makes the accounts match
processes/rules/staff.yaml — people join, change, leave (deactivated, never deleted) — and
says so in the audit trail; passwords never come from the bundle."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from engine.accounts.staff import apply_staff
from engine.accounts.users import (
    NO_PASSWORD,
    check_password,
    demo_password_hash,
    list_accounts,
    load_actor,
    set_password,
    user_names,
)
from engine.audit.chain import verify_chain
from engine.audit.events import EventType
from engine.definitions.library import deploy_bundle
from engine.errors import BadInput, NotFound
from engine.runtime.queries import list_events
from engine.store.models import Event, User

NEW_PERSON = "  - {username: tech2, name: 冯师傅, roles: [technician], site: binhai}\n"


def staff_changed(library, text: str):
    """The library with staff.yaml edited by `text(current)`."""
    edited = text(library.rules["staff.yaml"])
    assert edited != library.rules["staff.yaml"], "the edit changed nothing"
    return replace(library, rules={**library.rules, "staff.yaml": edited})


def without(username: str):
    """staff.yaml without `username`'s entry (its first line and the lines continuing it)."""
    def edit(text: str) -> str:
        kept, dropping = [], False
        for line in text.splitlines(True):
            if line.startswith("  - "):
                dropping = f"username: {username}," in line
            if not dropping:
                kept.append(line)
        return "".join(kept)

    return edit


def accounts(runtime) -> dict:
    with runtime.db.session() as session:
        return {a.username: a for a in list_accounts(session)}


def staff_events(runtime) -> list[tuple]:
    with runtime.db.session() as session:
        rows = session.scalars(select(Event).where(Event.type.like("staff_%")).order_by(Event.id))
        return [(e.type, e.actor, e.element_id, e.data) for e in rows]


def test_a_deploy_adds_changes_and_deactivates_people_as_staff_yaml_says(runtime, library):
    bundle = staff_changed(library, lambda text: without("env1")(text).replace(
        "{username: guard2, name: 孙伟, roles: [guard], site: nanshan,",
        "{username: guard2, name: 孙伟, roles: [guard, security_lead], site: binhai,") + NEW_PERSON)
    with runtime.transaction() as session:
        changes = apply_staff(session, bundle, "designer1")
    assert [(c.type, c.username) for c in changes] == [
        (EventType.STAFF_CHANGED, "guard2"), (EventType.STAFF_ADDED, "tech2"), (EventType.STAFF_DEACTIVATED, "env1")]
    found = accounts(runtime)
    assert (found["tech2"].name, found["tech2"].roles, found["tech2"].site, found["tech2"].active) == (
        "冯师傅", ("technician",), "binhai", True)
    assert (found["guard2"].roles, found["guard2"].site) == (("guard", "security_lead"), "binhai")
    assert not found["env1"].active and found["env1"].roles == ("environment",)  # kept for the record
    assert staff_events(runtime) == [
        ("staff_changed", "designer1", "guard2",
         {"changes": {"roles": [["guard"], ["guard", "security_lead"]], "site": ["nanshan", "binhai"]}}),
        ("staff_added", "designer1", "tech2",
         {"name": "冯师傅", "roles": ["technician"], "site": "binhai", "password_set": False}),
        ("staff_deactivated", "designer1", "env1", {"name": "郑洁"}),
    ]
    with runtime.db.session() as session:
        assert verify_chain(session).ok
        assert apply_staff(session, bundle, "designer1") == []  # applied once, nothing left to change


def test_a_person_who_left_keeps_their_history_but_can_no_longer_act(runtime, library):
    case = runtime.start_instance("water_leak", {"caller": "林先生"}, "reception1").instance
    with runtime.transaction() as session:
        apply_staff(session, staff_changed(library, without("reception1")), "system")
    with runtime.db.session() as session:
        assert session.scalar(select(User).where(User.username == "reception1")) is not None  # never deleted
        assert user_names(session, ["reception1"]) == {"reception1": "王敏"}  # pages still name them
        assert [e.actor for e in list_events(session, case.id) if e.type == EventType.INSTANCE_STARTED] == ["reception1"]
        with pytest.raises(NotFound):
            load_actor(session, "reception1")
    with pytest.raises(NotFound):
        runtime.start_instance("water_leak", {"caller": "林先生"}, "reception1")


def test_a_person_listed_again_is_active_again(runtime, library):
    with runtime.transaction() as session:
        apply_staff(session, staff_changed(library, without("guard2")), "system")
    with runtime.transaction() as session:
        [change] = apply_staff(session, library, "system")
    assert (change.type, change.username, change.data) == (
        EventType.STAFF_CHANGED, "guard2", {"changes": {"active": [False, True]}})
    assert accounts(runtime)["guard2"].active


def test_a_new_person_has_no_password_until_an_administrator_sets_one(runtime, library):
    with runtime.transaction() as session:
        apply_staff(session, staff_changed(library, lambda text: text + NEW_PERSON), "system")
    with runtime.db.session() as session:
        stored = session.scalar(select(User.password_hash).where(User.username == "tech2"))
    assert stored == NO_PASSWORD and not accounts(runtime)["tech2"].has_password
    assert not any(check_password(guess, stored) for guess in ("", "demo", "!", NO_PASSWORD))
    with runtime.transaction() as session, pytest.raises(BadInput, match="at least 8"):
        set_password(session, "tech2", "short", "system")
    with runtime.transaction() as session:
        set_password(session, "tech2", "feng-new-password", "system")
    with runtime.db.session() as session:
        stored = session.scalar(select(User.password_hash).where(User.username == "tech2"))
        [event] = session.scalars(select(Event).where(Event.type == EventType.PASSWORD_SET))
    assert check_password("feng-new-password", stored)
    assert (event.element_id, event.data) == ("tech2", {})  # the hash is never in the audit trail


def test_only_the_caller_gives_new_people_a_password_and_never_the_existing_ones(runtime, library):
    with runtime.transaction() as session:
        set_password(session, "guard1", "guard1-own-password", "system")
        [added] = apply_staff(session, staff_changed(library, lambda text: text + NEW_PERSON), "system",
                              new_password_hash=demo_password_hash())
    assert added.data["password_set"] is True
    with runtime.db.session() as session:
        hashes = dict(session.execute(select(User.username, User.password_hash)
                                      .where(User.username.in_(["tech2", "guard1"]))).all())
    assert check_password("demo", hashes["tech2"]) and check_password("guard1-own-password", hashes["guard1"])


def test_passwords_are_set_only_for_active_accounts(runtime, library):
    with runtime.transaction() as session:
        apply_staff(session, staff_changed(library, without("guard2")), "system")
    with runtime.transaction() as session, pytest.raises(BadInput, match="inactive"):
        set_password(session, "guard2", "a-long-password", "system")
    with runtime.transaction() as session, pytest.raises(NotFound):
        set_password(session, "nobody", "a-long-password", "system")


def test_a_change_to_staff_yaml_makes_new_versions_that_carry_it(runtime, library):
    """Notifications read a person's contacts and language from the version's rules, and compiled
    versions are cached by content: a staff change must change the content."""
    bundle = staff_changed(library, lambda text: text + NEW_PERSON)
    with runtime.transaction() as session:
        results = deploy_bundle(session, bundle, "system")
        apply_staff(session, bundle, "system")
    assert results and all(r.created for r in results)
    assert "tech2" in accounts(runtime)

"""Helpers for the duty desk scenarios: people, a full roster of December 2026 at Nanshan, and
local China times (the office calendar's zone)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from engine.accounts.users import demo_password_hash, upsert_user
from engine.duty import roster
from engine.duty.policy import duty_policy
from engine.policy.duty_hours import DESK_DAY, DESK_DUTY

SITE, MONTH = "nanshan", "2026-12"
CHINA = ZoneInfo("Asia/Shanghai")
A, B, C = "reception1", "reception3", "reception4"  # 王敏, 周丽, 何芳: the desk clerks
ON_CALL = {"manager": "manager2", "cs_supervisor": "supervisor1", "security_supervisor": "secsup1",
           "engineering_supervisor": "engsup1"}


def local(text: str) -> datetime:
    """"2026-12-01 17:15" at the site, as aware UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=CHINA).astimezone(ZoneInfo("UTC"))


def add_people(runtime) -> None:
    """Two more clerks and a second manager, so the roster's choice is visible."""
    with runtime.transaction() as session:
        upsert_user(session, B, "周丽", ["reception"], SITE, demo_password_hash())
        upsert_user(session, C, "何芳", ["reception"], SITE, demo_password_hash())
        upsert_user(session, "manager2", "黄经理", ["manager"], SITE, demo_password_hash())


def full_assignments(runtime, month: str = MONTH) -> dict:
    """Every slot of the month: the desk alternating A and B in time order, the on-call posts fixed."""
    with runtime.db.read_session() as session:
        slots = duty_policy(session, SITE).month_slots(month)
    desk = sorted((s for s in slots if s.post in (DESK_DAY, DESK_DUTY)), key=lambda s: s.starts_at)
    found = {(s.day, s.post): (A, B)[i % 2] for i, s in enumerate(desk)}
    found.update({(s.day, s.post): ON_CALL[s.post] for s in slots if s.post in ON_CALL})
    return found


def publish_month(runtime, month: str = MONTH) -> roster.RosterView:
    add_people(runtime)
    roster.save_roster(runtime, SITE, month, full_assignments(runtime, month), "supervisor1")
    return roster.publish_roster(runtime, SITE, month, "supervisor1")


def desk_clerk(view: roster.RosterView, day: str, post: str) -> str:
    return next(cells[post].username for d, _, cells in view.days if d.isoformat() == day)


def shift_id(view: roster.RosterView, day: str, post: str) -> int:
    return next(cells[post].shift_id for d, _, cells in view.days if d.isoformat() == day)


def at(runtime, text: str, step: timedelta = timedelta(0)):
    runtime.clock.set(local(text) + step)

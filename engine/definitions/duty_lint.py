"""duty.yaml read against the rest of the rules: its calendar is a valid business calendar, its
roles are roles (engine/policy/duty_hours.py holds what the policy means)."""

from __future__ import annotations

from engine.errors import DefinitionError, Finding
from engine.policy.calendars import BusinessCalendar, CalendarError
from engine.policy.duty_hours import DutyPolicy
from engine.yamlfile import line_at

DUTY_FILE = "processes/rules/duty.yaml"


def load_duty_policy(data: dict, text: str, roles: dict) -> DutyPolicy:
    """Build the duty policy; raise `DefinitionError` naming each bad entry and its line."""
    findings, calendar = [], None
    try:
        calendar = BusinessCalendar.from_config(data["calendar"])
    except CalendarError as exc:
        where = ("calendar", *exc.path)
        findings.append(Finding(DUTY_FILE, line_at(text, where), ".".join(map(str, where)), "error", exc.message))
    named = [(("desk_role",), data["desk_role"]), (("roster", "remind"), data["roster"]["remind"]),
             (("roster", "escalate_to"), data["roster"]["escalate_to"])]
    named += [(("on_call", i), role) for i, role in enumerate(data["on_call"])]
    for where, role in named:
        if role not in roles:
            findings.append(Finding(DUTY_FILE, line_at(text, where), role, "error", f"unknown role {role!r}"))
    if findings:
        raise DefinitionError(findings)
    return DutyPolicy.from_config(data, calendar)

"""duty.yaml read against the rest of the rules: its calendar is one of sla.yaml's, its roles
are roles (engine/policy/duty_hours.py holds what the policy means)."""

from __future__ import annotations

from engine.errors import DefinitionError, Finding
from engine.policy.duty_hours import DutyPolicy
from engine.yamlfile import line_at

DUTY_FILE = "processes/rules/duty.yaml"


def load_duty_policy(data: dict, text: str, calendars: dict, roles: dict) -> DutyPolicy:
    """Build the duty policy; raise `DefinitionError` naming each bad reference and its line."""
    findings = []
    if data["calendar"] not in calendars:
        findings.append(Finding(DUTY_FILE, line_at(text, ("calendar",)), "calendar", "error",
                                f"calendar {data['calendar']!r} is not one of sla.yaml's calendars"))
    named = [(("desk_role",), data["desk_role"]), (("roster", "remind"), data["roster"]["remind"]),
             (("roster", "escalate_to"), data["roster"]["escalate_to"])]
    named += [(("on_call", i), role) for i, role in enumerate(data["on_call"])]
    for where, role in named:
        if role not in roles:
            findings.append(Finding(DUTY_FILE, line_at(text, where), role, "error", f"unknown role {role!r}"))
    if findings:
        raise DefinitionError(findings)
    return DutyPolicy.from_config(data, calendars[data["calendar"]])

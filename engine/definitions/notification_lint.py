"""Lint of `notifications.yaml`: the cross-references its JSON Schema cannot express.

Each finding points at its line. Building the policy (`load_notifications`) runs these
checks first, so a policy in use never routes to a channel no site has, names an unknown
role or site, or leans on a calendar sla.yaml does not define.
"""

from __future__ import annotations

from engine.errors import DefinitionError, Finding
from engine.policy.notifications import (
    ANY_ROLE,
    NOTIFICATIONS_FILE,
    NotificationPolicy,
    load_notification_policy,
)
from engine.yamlfile import line_at


def check_notifications(data: dict, text: str, rules) -> list[Finding]:
    """Cross-reference checks against the bundle's roles, sites and calendars, each at its line."""
    findings: list[Finding] = []

    def report(path: tuple, message: str) -> None:
        findings.append(Finding(NOTIFICATIONS_FILE, line_at(text, path), ".".join(map(str, path)), "error", message))

    sites = data.get("sites") or {}
    for site in sites:
        if site not in rules.sites:
            report(("sites", site), f"unknown site {site!r}")
    defined = {name for site in sites.values() for name in (site.get("channels") or {})}
    for kind, table in (data.get("routes") or {}).items():
        for role, names in table.items():
            if role != ANY_ROLE and role not in rules.roles:
                report(("routes", kind, role), f"unknown role {role!r}")
            for position, name in enumerate(names):
                if name not in defined:
                    report(("routes", kind, role, position), f"no site has a channel named {name!r}")
    if data.get("alert_role") and data["alert_role"] not in rules.roles:
        report(("alert_role",), f"unknown role {data['alert_role']!r}")
    calendar = data.get("after_hours_calendar")
    if calendar and calendar not in rules.sla.calendars:
        report(("after_hours_calendar",), f"sla.yaml has no calendar {calendar!r}")
    return findings


def load_notifications(data: dict, text: str, rules) -> NotificationPolicy:
    """Check `notifications.yaml` against the rest of the rules, then build its policy."""
    findings = check_notifications(data, text, rules)
    if findings:
        raise DefinitionError(findings)
    return load_notification_policy(data)

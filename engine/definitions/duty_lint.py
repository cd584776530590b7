"""duty.yaml read against the rest of the rules: its calendar is a valid business calendar, its
roles are roles (engine/policy/duty_hours.py holds what the policy means)."""

from __future__ import annotations

from datetime import date

from engine.definitions.sla_lint import calendars_missing_holiday_years
from engine.errors import DefinitionError, Finding
from engine.policy.calendars import BusinessCalendar, CalendarError
from engine.policy.duty_hours import DutyBook, DutyPolicy
from engine.yamlfile import line_at

DUTY_FILE = "processes/rules/duty.yaml"


def load_duty_policy(data: dict, text: str, roles: dict, sites: dict) -> DutyBook:
    """Build the duty policy of each site; raise `DefinitionError` naming each bad entry and its line."""
    findings: list[Finding] = []
    calendar = _calendar(data["calendar"], text, ("calendar",), findings)
    named = [(("desk_role",), data["desk_role"]), (("roster", "remind"), data["roster"]["remind"]),
             (("roster", "escalate_to"), data["roster"]["escalate_to"])]
    named += [(("on_call", i), role) for i, role in enumerate(data["on_call"])]
    for where, role in named:
        if role not in roles:
            findings.append(Finding(DUTY_FILE, line_at(text, where), role, "error", f"unknown role {role!r}"))
    overrides = data.get("sites") or {}
    calendars = {}
    for site, override in overrides.items():
        if site not in sites:
            findings.append(Finding(DUTY_FILE, line_at(text, ("sites", site)), site, "error",
                                    f"unknown site {site!r} (processes/rules/sites.yaml)"))
        elif "calendar" in override:
            calendars[site] = _calendar(override["calendar"], text, ("sites", site, "calendar"), findings)
    if findings:
        raise DefinitionError(findings)
    default = DutyPolicy.from_config(data, calendar)
    return DutyBook(default, {site: DutyPolicy.from_config({**data, **override}, calendars.get(site, calendar))
                              for site, override in overrides.items()})


def duty_holiday_findings(book: DutyBook, text: str, today: date) -> list[Finding]:
    """duty.yaml's calendars without this year's or next year's national arrangement (lint warnings)."""
    calendars = {("calendar", "country"): book.default.calendar}
    calendars.update({("sites", site, "calendar", "country"): policy.calendar for site, policy in book.sites.items()
                      if policy.calendar is not book.default.calendar})
    return calendars_missing_holiday_years(calendars, DUTY_FILE, text, today)


def _calendar(config: dict, text: str, where: tuple, findings: list[Finding]) -> BusinessCalendar | None:
    try:
        return BusinessCalendar.from_config(config)
    except CalendarError as exc:
        path = (*where, *exc.path)
        findings.append(Finding(DUTY_FILE, line_at(text, path), ".".join(map(str, path)), "error", exc.message))
        return None

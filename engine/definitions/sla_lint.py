"""Lint of `sla.yaml`: the cross-references its JSON Schema cannot express.

Each finding points at its line. Building the SLA book (`load_sla_book`) runs these
checks first, so a book in use never names an unknown calendar, chain, role or site.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.definitions.lint_expr import source_problem
from engine.errors import DefinitionError, Finding
from engine.policy.calendars import BusinessCalendar, CalendarError, split_duration
from engine.policy.public_holidays import PACKAGE_VERSION, national_year
from engine.policy.sla import ASSIGNEE, SLA_FILE, WORKING_DAYS, SlaBook
from engine.yamlfile import line_at


def check_sla(data: dict, text: str, roles, sites) -> list[Finding]:
    """Cross-reference checks the schema cannot express, each pointing at its line."""
    findings: list[Finding] = []

    def report(path: tuple, message: str) -> None:
        findings.append(Finding(SLA_FILE, line_at(text, path), ".".join(map(str, path)), "error", message))

    calendars, chains = data.get("calendars") or {}, data.get("escalations") or {}
    for name, config in calendars.items():
        try:
            BusinessCalendar.from_config(config)
        except CalendarError as exc:
            report(("calendars", name, *exc.path), exc.message)
    for name, levels in chains.items():
        for index, level in enumerate(levels):
            for position, role in enumerate(level.get("notify") or ()):
                if role not in roles and role != ASSIGNEE:
                    report(("escalations", name, index, "notify", position), f"unknown role {role!r}")
            if level.get("reassign") and level["reassign"] not in roles:
                report(("escalations", name, index, "reassign"), f"unknown role {level['reassign']!r}")
    layers = [(("targets", key), settings) for key, settings in data["targets"].items()]
    for site, overrides in (data.get("site_overrides") or {}).items():
        if site not in sites:
            report(("site_overrides", site), f"unknown site {site!r}")
        for key, override in overrides.items():
            if key not in data["targets"]:
                report(("site_overrides", site, key), f"override of unknown target {key!r}")
            elif isinstance(override, dict):
                layers.append((("site_overrides", site, key), override))
    for path, settings in layers:
        _check_settings(settings, path, calendars, chains, report)
    if not findings:  # the book can be built: check what each site ends up with
        book = SlaBook(data)
        _check_calendar_durations(book, report)
        _check_days(book, report)
    return findings


def _check_settings(settings: dict, path: tuple, calendars, chains, report) -> None:
    if settings.get("calendar") and settings["calendar"] not in calendars:
        report((*path, "calendar"), f"unknown calendar {settings['calendar']!r}")
    if settings.get("escalation") and settings["escalation"] not in chains:
        report((*path, "escalation"), f"unknown escalation chain {settings['escalation']!r}")
    zone = (settings.get("by") or {}).get("timezone")
    if zone and not _known_zone(zone):
        report((*path, "by", "timezone"), f"unknown time zone {zone!r}")
    when = (settings.get("pause") or {}).get("when")
    if when:
        problem = source_problem(when, "eval")
        if problem:
            report((*path, "pause", "when"), f"pause condition: {problem}")


def _check_calendar_durations(book: SlaBook, report) -> None:
    """A target counted on a calendar says its duration in days and time, at every site."""
    for site in (None, *book.site_overrides):
        for key in book.targets:
            settings = book.settings(key, site)
            if settings.get("by") and settings.get("calendar"):
                where = ("site_overrides", site, key) if site is not None else ("targets", key, "by")
                report(where, "a deadline (by) is a moment on the wall clock: it takes no calendar")
                continue
            if not settings.get("calendar"):
                continue
            try:
                split_duration(settings["duration"])
            except ValueError as exc:
                overridden = site is not None and "duration" in _as_settings(book.site_overrides[site].get(key))
                report(("site_overrides", site, key) if overridden else ("targets", key, "duration"), str(exc))


def _check_days(book: SlaBook, report) -> None:
    """A duration in days says which days it counts (the SOPs' "三天内" reads either way), at every site."""
    for site in (None, *book.site_overrides):
        for key in book.targets:
            settings = book.settings(key, site)
            own = _as_settings(book.site_overrides[site].get(key)) if site is not None else settings
            if site is not None and not {"duration", "days", "calendar"} & set(own):
                continue  # the site takes the target as it is: reported once, on the target
            where = ("site_overrides", site, key) if site is not None else ("targets", key)
            if "days" not in settings and _counts_days(settings.get("duration")):
                report((*where, "duration") if site is None else where,
                       f"{settings['duration']} counts days: say whether they are calendar days or working days "
                       "(days: calendar | working)")
            elif settings.get("days") == WORKING_DAYS and not settings.get("calendar"):
                report(where, "working days are a calendar's: name the calendar whose working days count")


def _counts_days(duration: str | None) -> bool:
    return bool(duration) and "D" in duration.split("T")[0]  # a deadline (`by`) has no duration


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return False
    return True


def _as_settings(override) -> dict:
    return {"duration": override} if isinstance(override, str) else (override or {})


def unknown_pause_elements(book: SlaBook, text: str, element_ids) -> list[Finding]:
    """Warnings for `while_open` entries that name no element of any diagram in the library."""
    layers = [(("targets", key), settings) for key, settings in book.targets.items()]
    layers += [(("site_overrides", site, key), override) for site, overrides in book.site_overrides.items()
               for key, override in overrides.items() if isinstance(override, dict)]
    findings = []
    for path, settings in layers:
        for index, element_id in enumerate((settings.get("pause") or {}).get("while_open") or ()):
            if element_id not in element_ids:
                where = (*path, "pause", "while_open", index)
                findings.append(Finding(SLA_FILE, line_at(text, where), ".".join(map(str, where)), "warning",
                                        f"pause names {element_id!r}, which is no element of any diagram"))
    return findings


def missing_holiday_years(book: SlaBook, text: str, today: date) -> list[Finding]:
    """Warnings for sla.yaml calendars whose country has no arrangement in the `holidays` package
    for this year or the next: their make-up days would be missed without a word."""
    calendars = {("calendars", name, "country"): calendar for name, calendar in book.calendars.items()}
    return calendars_missing_holiday_years(calendars, SLA_FILE, text, today)


def calendars_missing_holiday_years(calendars: dict, file: str, text: str, today: date) -> list[Finding]:
    """The same warnings for calendars given by the YAML path of their `country` in `file`."""
    findings = []
    for where, calendar in calendars.items():
        if not calendar.country:
            continue
        years = [year for year in (today.year, today.year + 1) if not national_year(calendar.country, year).arranged]
        if years:
            listed = " and ".join(map(str, years))
            findings.append(Finding(file, line_at(text, where), ".".join(where), "warning",
                                    f"the holidays package {PACKAGE_VERSION} has no {calendar.country} holiday "
                                    f"arrangement for {listed}: upgrade it, or list the days under this "
                                    "calendar's holidays and workdays"))
    return findings


def load_sla_book(data: dict, text: str, roles, sites) -> SlaBook:
    """Check and build the SLA book; raise `DefinitionError` with every finding."""
    findings = check_sla(data, text, roles, sites)
    if findings:
        raise DefinitionError(list(dict.fromkeys(findings)))
    return SlaBook(data)

"""SLA policy: what a named target (`help.reply`) means at a site, from `sla.yaml`.

A target has a duration, or a deadline by the clock or the month (`by`, see
engine/policy/deadlines.py), and, optionally, a business calendar (the duration counts
working time only); a duration in days says whether they are calendar days (round the
clock, the SOPs' plain "三天内") or the calendar's working days (`days:`), a pause rule (the clock stops while the case waits, e.g. for the
resident) and an escalation chain (notify or reassign at a share of the time). A site
may override any of these. A task's clock keeps a snapshot of its policy, so what was
met or breached stays so when the policy changes later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from engine.errors import NotFound
from engine.policy.calendars import CONTINUOUS, BusinessCalendar, iso_seconds, split_duration
from engine.policy.deadlines import Deadline

SLA_FILE = "processes/rules/sla.yaml"
ASSIGNEE = "assignee"  # in `notify`: whoever holds the task (its role when nobody does)
DEFAULT_CHANNEL = "web"
CALENDAR_DAYS, WORKING_DAYS = "calendar", "working"  # the values of a target's `days`
# Case data a procedure hands over with a case it opens (open_case): {own target: handed target}.
# In that case a task or timer that names the own target is timed by the handed one instead,
# so the opener's limit (patrol: report a broken facility within 2 hours, 001/第1篇 2.6) is
# the opened case's clock, without the opened diagram knowing who opened it.
SUBSTITUTES = "sla_substitutes"


def handed_target(key: str | None, data) -> str | None:
    """The SLA target that times `key` in a case whose data is `data` (itself unless handed another)."""
    substitutes = data.get(SUBSTITUTES) if isinstance(data, dict) else None
    if key and isinstance(substitutes, dict) and isinstance(substitutes.get(key), str):
        return substitutes[key]
    return key


@dataclass(frozen=True)
class EscalationLevel:
    """One step of a chain: at `percent` of the time (plus `plus`), notify and/or reassign."""

    percent: float
    plus: str | None = None
    notify: tuple[str, ...] = ()
    channel: str = DEFAULT_CHANNEL
    reassign: str | None = None

    @classmethod
    def from_config(cls, config: dict) -> EscalationLevel:
        return cls(float(config["at"].rstrip("%")), config.get("plus"), tuple(config.get("notify") or ()),
                   config.get("channel") or DEFAULT_CHANNEL, config.get("reassign"))

    def to_config(self) -> dict:
        config = {"at": self.label_percent, "notify": list(self.notify), "channel": self.channel}
        if self.plus:
            config["plus"] = self.plus
        if self.reassign:
            config["reassign"] = self.reassign
        return config

    @property
    def label_percent(self) -> str:
        return f"{self.percent:g}%"

    @property
    def label(self) -> str:
        """80% or 100% + PT10M, as written in sla.yaml."""
        return self.label_percent + (f" + {self.plus}" if self.plus else "")

    def offset(self, budget: timedelta) -> timedelta:
        """How much working time after the clock starts this level falls due."""
        _, plus = split_duration(self.plus) if self.plus else (0, timedelta(0))
        return budget * (self.percent / 100) + plus


@dataclass(frozen=True)
class PauseRule:
    """The clock stops while `when` holds over the case data or an element of `while_open` is open."""

    when: str | None = None
    while_open: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: dict | None) -> PauseRule | None:
        if not config:
            return None
        return cls(config.get("when"), tuple(config.get("while_open") or ()))

    def to_config(self) -> dict:
        return {"when": self.when, "while_open": list(self.while_open)}


@dataclass(frozen=True)
class SlaPolicy:
    """A target as it applies at one site."""

    key: str
    duration: str | None  # None: the target is a deadline (`by`)
    calendar_name: str | None = None
    calendar: BusinessCalendar | None = None
    pause: PauseRule | None = None
    escalation_name: str | None = None
    escalation: tuple[EscalationLevel, ...] = ()
    days: str | None = None
    by: Deadline | None = None

    @property
    def limit(self) -> str:
        """The limit as sla.yaml writes it: `PT3M`, or `by 17:00`."""
        return self.by.label if self.by else self.duration

    @property
    def clock(self):
        """The calendar time is counted in (wall-clock time when the target has none)."""
        return self.calendar or CONTINUOUS

    def due(self, start: datetime) -> datetime:
        """When the target falls due if the clock starts at `start` and never pauses."""
        if self.by is not None:
            return self.by.next_after(start)
        return self.clock.add_duration(start, self.duration)

    def budget(self, start: datetime) -> timedelta:
        """The working time the target allows, counted from `start`."""
        return self.clock.working_time(start, self.due(start))

    def snapshot(self) -> dict:
        """Everything a running clock needs, as JSON; `from_snapshot` reads it back."""
        snapshot = {
            "key": self.key, "duration": self.duration, "calendar_name": self.calendar_name,
            "calendar": self.calendar.to_config() if self.calendar else None,
            "pause": self.pause.to_config() if self.pause else None,
            "escalation_name": self.escalation_name,
            "escalation": [level.to_config() for level in self.escalation],
            "days": self.days,
        }
        return {**snapshot, "by": self.by.to_config()} if self.by else snapshot

    @classmethod
    def from_snapshot(cls, data: dict) -> SlaPolicy:
        return cls(
            key=data["key"], duration=data.get("duration"), calendar_name=data.get("calendar_name"),
            calendar=BusinessCalendar.from_config(data["calendar"]) if data.get("calendar") else None,
            pause=PauseRule.from_config(data.get("pause")), escalation_name=data.get("escalation_name"),
            escalation=tuple(EscalationLevel.from_config(level) for level in data.get("escalation") or ()),
            days=data.get("days"),
            by=Deadline.from_config(data["by"]) if data.get("by") else None,
        )


def snapshot_policy(snapshot: dict) -> SlaPolicy:
    """The policy a clock's snapshot describes, parsed once per distinct snapshot."""
    return _parse_snapshot(json.dumps(snapshot, sort_keys=True))


@lru_cache(maxsize=256)
def _parse_snapshot(text: str) -> SlaPolicy:
    return SlaPolicy.from_snapshot(json.loads(text))


class SlaDuration(str):
    """What `sla("key")` gives a diagram: an ISO-8601 duration that remembers its policy.

    Without a calendar it is the target's duration as written. With one it is the
    wall-clock time from now to the due moment (PT65H over a weekend), so a timer
    falls due when the working time runs out; `before()`/`after()` read the policy
    to count working days from a case date instead.
    """

    _policy: SlaPolicy

    @classmethod
    def of(cls, policy: SlaPolicy, now: datetime) -> SlaDuration:
        fixed = policy.calendar is None and policy.by is None
        text = policy.duration if fixed else iso_seconds(policy.due(now) - now)
        value = cls(text)
        value._policy = policy
        return value

    def __reduce__(self):
        # Copied or pickled (a script kept it in the case data) it is plain text.
        return (str, (str(self),))


def policy_of(duration) -> SlaPolicy | None:
    """The policy behind a value `sla()` returned, or None for any other text."""
    return getattr(duration, "_policy", None)


class SlaBook:
    """The targets, calendars and escalation chains of one `sla.yaml`, resolved per site."""

    def __init__(self, data: dict):
        self.targets: dict[str, dict] = data["targets"]
        self.site_overrides: dict[str, dict] = data.get("site_overrides") or {}
        self.calendars = {name: BusinessCalendar.from_config(config)
                          for name, config in (data.get("calendars") or {}).items()}
        self.escalations = {name: tuple(EscalationLevel.from_config(level) for level in levels)
                            for name, levels in (data.get("escalations") or {}).items()}

    def settings(self, key: str, site: str | None) -> dict:
        """The target's own settings with the site's overrides laid over them."""
        if key not in self.targets:
            raise NotFound(f"unknown SLA target {key!r}")
        merged = dict(self.targets[key])
        override = self.site_overrides.get(site or "", {}).get(key)
        if isinstance(override, str):
            override = {"duration": override}
        if override:
            # a site's duration replaces the target's deadline, and its deadline the duration
            for kind, other in (("duration", "by"), ("by", "duration")):
                if kind in override:
                    merged.pop(other, None)
            merged.update(override)
        return merged

    def policy(self, key: str, site: str | None) -> SlaPolicy:
        settings = self.settings(key, site)
        calendar, escalation, days = settings.get("calendar"), settings.get("escalation"), settings.get("days")
        if days == CALENDAR_DAYS:
            calendar = None  # calendar days run round the clock, weekends and holidays included
        return SlaPolicy(
            key=key, duration=settings.get("duration"), calendar_name=calendar,
            calendar=self.calendars[calendar] if calendar else None,
            pause=PauseRule.from_config(settings.get("pause")),
            escalation_name=escalation, escalation=self.escalations[escalation] if escalation else (),
            days=days,
            by=Deadline.from_config(settings["by"]) if settings.get("by") else None,
        )

"""Notification policy from `notifications.yaml`: which channels each site has, which kind of
message goes to which channels for each role, quiet hours, retries, and what is an emergency.

Pure data: channel settings are kept as written (credentials as `{env: ...}` or
`{secret: ...}` references, resolved only by the sender that uses them). A library
without the file has no external channels: messages stay in the app (and the log).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from engine.clock import LOCAL_TZ
from engine.policy.calendars import split_duration

NOTIFICATIONS_FILE = "processes/rules/notifications.yaml"
ANY_ROLE = "*"  # in `routes`: everyone whose roles have no route of their own
LOG_CHANNEL = "log"  # the channel every message takes when a site has no external channel
ROBOT_TYPES = frozenset({"wecom", "dingtalk", "feishu"})  # group robots: one post @-mentioning everyone
PERSONAL_TYPES = frozenset({"email", "sms"})  # one message to each person
CONTACT_OF = {"email": "email", "sms": "phone"}  # the contact a personal channel cannot go without
DEFAULT_ALERT_ROLE = "cs_supervisor"


class NotificationKind(enum.StrEnum):
    TASK_ASSIGNED = "task_assigned"  # a task for your role, given to you, or you were sent out
    ESCALATION = "escalation"  # an SLA escalation level (sla.yaml)
    OVERDUE = "overdue"  # a task you hold passed its time limit
    HANDOVER_DUE = "handover_due"  # a shift-handover task is yours
    ROSTER_PUBLISHED = "roster_published"  # the duty roster (issue #19) will send these
    DELIVERY_FAILED = "delivery_failed"  # an emergency message reached nobody: told to the supervisor
    TEST = "test"  # `estatedesk notify test`


@dataclass(frozen=True)
class QuietHours:
    """A daily span in China time, e.g. 22:00-07:00 (across midnight), when non-emergencies wait."""

    start: time
    end: time  # 24:00 is written as time.max

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        start, end = (part.strip() for part in text.split("-"))
        return cls(time.fromisoformat(start), time.max if end == "24:00" else time.fromisoformat(end))

    def until(self, moment: datetime) -> datetime | None:
        """When the quiet span `moment` falls in ends (UTC); None when it falls in none."""
        local = moment.astimezone(LOCAL_TZ)
        now, day = local.time(), local.date()
        if self.start <= self.end:
            inside, end_day = self.start <= now < self.end, day
        else:  # across midnight: the evening part ends tomorrow
            inside, end_day = now >= self.start or now < self.end, day + timedelta(days=now >= self.start)
        if not inside:
            return None
        if self.end == time.max:
            return datetime.combine(end_day + timedelta(days=1), time(0), LOCAL_TZ)
        return datetime.combine(end_day, self.end, LOCAL_TZ)


def parse_quiet_hours(text: str | None) -> QuietHours | None:
    return QuietHours.parse(text) if text and text != "none" else None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with a cap: `first`, then × `factor` after each failure, at most `max`."""

    attempts: int = 6
    first: timedelta = timedelta(seconds=30)
    factor: float = 2.0
    max: timedelta = timedelta(minutes=30)

    @classmethod
    def from_config(cls, config: dict | None, default: RetryPolicy) -> RetryPolicy:
        config = config or {}
        return cls(config.get("attempts", default.attempts),
                   _duration(config["first"]) if "first" in config else default.first,
                   float(config.get("factor", default.factor)),
                   _duration(config["max"]) if "max" in config else default.max)

    def delay(self, failures: int) -> timedelta:
        """How long to wait after the `failures`-th failed attempt (1 for the first)."""
        return min(self.max, self.first * self.factor ** max(0, failures - 1))


DEFAULT_RETRY = RetryPolicy()
DEFAULT_EMERGENCY_RETRY = RetryPolicy(attempts=4, first=timedelta(seconds=10), factor=2.0, max=timedelta(minutes=1))


@dataclass(frozen=True)
class DispatchRule:
    """A task whose form names the people sent out: each is told at once, with what to do."""

    task: str
    people: str  # the form field holding their names or usernames
    process: str | None = None
    zh: str | None = None  # what to do; {field} stands for a submitted value
    en: str | None = None


@dataclass(frozen=True)
class SiteChannels:
    base_url: str | None = None
    channels: dict[str, dict] = field(default_factory=dict)


@dataclass(frozen=True)
class NotificationPolicy:
    sites: dict[str, SiteChannels] = field(default_factory=dict)
    routes: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    emergencies: frozenset[str] = frozenset()
    handover: frozenset[str] = frozenset()
    alert_role: str = DEFAULT_ALERT_ROLE
    after_hours_calendar: str | None = None
    quiet_hours: QuietHours | None = None
    retry: RetryPolicy = DEFAULT_RETRY
    emergency_retry: RetryPolicy = DEFAULT_EMERGENCY_RETRY
    lease: timedelta = timedelta(minutes=5)  # a claimed delivery older than this: its worker died
    secrets_file: str | None = None
    dispatch: tuple[DispatchRule, ...] = ()

    def routes_for(self, kind: str, roles) -> tuple[str, ...]:
        """The channel names `kind` goes to for someone holding `roles` (the `*` route if none has one)."""
        table = self.routes.get(kind) or {}
        found = [name for role in sorted(roles) for name in table.get(role, ())]
        if not found:
            found = list(table.get(ANY_ROLE, ()))
        return tuple(dict.fromkeys(found))

    def is_routed(self, kind: str, role: str | None) -> bool:
        """Whether messages of `kind` for `role` go anywhere outside the app (so are worth writing)."""
        return bool(self.routes_for(kind, [role] if role else []))

    def channel(self, site: str | None, name: str) -> dict | None:
        """The settings of channel `name` at `site`, or None when the site has no such channel."""
        found = self.sites.get(site or "")
        return found.channels.get(name) if found else None

    def base_url(self, site: str | None) -> str | None:
        found = self.sites.get(site or "")
        return found.base_url if found else None

    def retry_for(self, emergency: bool) -> RetryPolicy:
        return self.emergency_retry if emergency else self.retry

    def dispatch_rule(self, process_id: str | None, element_id: str) -> DispatchRule | None:
        return next((r for r in self.dispatch if r.task == element_id and r.process in (None, process_id)), None)


NO_NOTIFICATIONS = NotificationPolicy()


def load_notification_policy(data: dict) -> NotificationPolicy:
    """The policy from validated `notifications.yaml` data."""
    sites = {name: SiteChannels(site.get("base_url", "").rstrip("/") or None, dict(site.get("channels") or {}))
             for name, site in (data.get("sites") or {}).items()}
    routes = {kind: {role: tuple(names) for role, names in table.items()}
              for kind, table in (data.get("routes") or {}).items()}
    return NotificationPolicy(
        sites=sites, routes=routes,
        emergencies=frozenset(data.get("emergencies") or ()), handover=frozenset(data.get("handover") or ()),
        alert_role=data.get("alert_role", DEFAULT_ALERT_ROLE),
        after_hours_calendar=data.get("after_hours_calendar"),
        quiet_hours=parse_quiet_hours(data.get("quiet_hours")),
        retry=RetryPolicy.from_config(data.get("retry"), DEFAULT_RETRY),
        emergency_retry=RetryPolicy.from_config(data.get("emergency_retry"), DEFAULT_EMERGENCY_RETRY),
        lease=_duration(data["lease"]) if "lease" in data else NO_NOTIFICATIONS.lease,
        secrets_file=data.get("secrets_file"),
        dispatch=tuple(DispatchRule(r["task"], r["people"], r.get("process"), r.get("zh"), r.get("en"))
                       for r in data.get("dispatch") or ()),
    )


def fill_template(template: str, values: dict[str, str]) -> str:
    """`{name}` replaced by `values[name]` (empty when missing); no other formatting happens."""
    return re.sub(r"\{([a-z_][a-z0-9_]*)\}", lambda m: values.get(m.group(1), ""), template)


def _duration(iso: str) -> timedelta:
    _days, delta = split_duration(iso)
    return delta

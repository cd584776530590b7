"""Follow-up visit (回访) sampling: site rates per category and a reproducible quota draw.

001/第2篇 1.3–1.5 ask for a visit to at least a share of each kind's cases ("回访率达50%"):
a floor for the month, not an average. Each case is drawn from its reference (the same
reference always draws the same number), and the month's running count tops the draw up:
a case the draw passes over is still visited when, without it, fewer than the floor of the
month's cases so far at its site would have been visited. So a month can end at no point
below the floor, and an auditor redoes every decision from the audit trail alone: the
reference, its ordinal in the site's month and how many were sampled before it. A site may
sample more than the SOP asks, never less: `followup.yaml` is refused below the floors.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass

from engine.errors import DefinitionError, Finding, NotFound
from engine.yamlfile import line_at

FOLLOWUP_FILE = "processes/rules/followup.yaml"
DATA_NAME = "followup"  # where a diagram keeps the decision; the audit trail copies it from there
# The SOP's minimum share per category, in percent, and the clause that sets it.
SOP_FLOORS = {
    "complaint": (50.0, "001/第2篇 1.3"),
    "repair": (30.0, "001/第2篇 1.4"),
    "community_event": (10.0, "001/第2篇 1.5"),
}


def percent(text: str) -> float:
    """"50%" -> 50.0, as written in followup.yaml (the schema checked the form)."""
    return float(str(text).rstrip("%"))


def draw(reference: str) -> float:
    """The case's draw in [0, 1): the first 32 bits of sha256 over the reference, as a fraction."""
    digest = hashlib.sha256(f"followup:{reference}".encode()).hexdigest()
    return int(digest[:8], 16) / 2**32


LEGACY_FIELDS = {"category", "rate", "draw", "sampled"}  # a decision made before the quota (main before 0019)


def quota(rate: float, decided: int) -> int:
    """The fewest of `decided` cases that must have been visited to stand at `rate` or above."""
    return math.ceil(rate * decided - 1e-9)  # the epsilon: 0.3 * 10 is 3.0000000000000004


@dataclass(frozen=True)
class FollowupDecision:
    """Whether a case gets a follow-up visit, and everything that decided it (`rate` as a fraction).

    `ordinal` is the case's place among the decisions of its site, kind and `month`;
    `sampled_before` how many of those before it were sampled; `by` says what sampled it:
    "draw" (its draw fell below the rate), "quota" (the floor needed it) or "" (not sampled).
    """

    category: str
    rate: float
    draw: float
    sampled: bool
    month: str
    ordinal: int
    sampled_before: int
    by: str

    def as_data(self) -> dict:
        """The decision as case data, and as the `followup_decided` audit event holds it."""
        return asdict(self)

    @classmethod
    def from_data(cls, data) -> FollowupDecision | None:
        """The decision a case already holds, or None when `data` is not one.

        A case drawn before the quota holds only category, rate, draw and sampled: still a
        decision (it is never drawn again), with no place in a month's count."""
        if not isinstance(data, dict):
            return None
        if set(data) == LEGACY_FIELDS:
            data = {**data, "month": "", "ordinal": 0, "sampled_before": 0, "by": "draw" if data["sampled"] else ""}
        if set(data) != set(cls.__dataclass_fields__):
            return None
        return cls(str(data["category"]), float(data["rate"]), float(data["draw"]), bool(data["sampled"]),
                   str(data["month"]), int(data["ordinal"]), int(data["sampled_before"]), str(data["by"]))


def decide(reference: str, category: str, rate: float, month: str, ordinal: int,
           sampled_before: int) -> FollowupDecision:
    """Sample `reference`, the `ordinal`-th case of its month, at `rate` (a fraction).

    Sampled when its draw falls below the rate, or when passing over it would leave the
    month's visits so far below the floor (quota)."""
    value = draw(reference)
    by = "draw" if value < rate else "quota" if sampled_before < quota(rate, ordinal) else ""
    return FollowupDecision(category, rate, value, bool(by), month, ordinal, sampled_before, by)


class FollowupPolicy:
    """The sampling rates of one `followup.yaml`, resolved per site."""

    def __init__(self, data: dict):
        self.rates = {category: percent(rate) / 100 for category, rate in data["rates"].items()}
        self.site_overrides = {site: {category: percent(rate) / 100 for category, rate in rates.items()}
                               for site, rates in (data.get("site_overrides") or {}).items()}

    def rate(self, site: str | None, category: str) -> float:
        """The share of `category` cases to visit at `site` (the default rate without an override)."""
        if category not in self.rates:
            raise NotFound(f"no follow-up rate for {category!r} (categories in {FOLLOWUP_FILE}: "
                           f"{', '.join(self.rates)})")
        return self.site_overrides.get(site or "", {}).get(category, self.rates[category])


def check_followup(data: dict, text: str, sites) -> list[Finding]:
    """The checks the schema cannot express: the SOP floors, known sites and categories."""
    findings: list[Finding] = []

    def report(path: tuple, message: str) -> None:
        findings.append(Finding(FOLLOWUP_FILE, line_at(text, path), ".".join(path), "error", message))

    layers = [(("rates",), data["rates"])]
    for site, rates in (data.get("site_overrides") or {}).items():
        if site not in sites:
            report(("site_overrides", site), f"unknown site {site!r}")
        for category in rates:
            if category not in data["rates"]:
                report(("site_overrides", site, category), f"override of unknown category {category!r}")
        layers.append((("site_overrides", site), rates))
    for path, rates in layers:
        for category, rate in rates.items():
            floor, clause = SOP_FLOORS.get(category, (0.0, None))
            if percent(rate) < floor:
                report((*path, category), f"{category} rate {rate} is below the SOP floor of {floor:g}% ({clause})")
    return findings


def load_followup_policy(data: dict, text: str, sites) -> FollowupPolicy:
    """Check and build the policy; raise `DefinitionError` with every finding."""
    findings = check_followup(data, text, sites)
    if findings:
        raise DefinitionError(findings)
    return FollowupPolicy(data)

"""Follow-up visit (回访) sampling: site rates per category and a reproducible draw.

001/第2篇 1.3 and 1.4 ask for a visit to at least a share of the cases of each kind.
Which cases get one is drawn from the case reference, not from a random generator:
the same reference always gives the same answer (an auditor can redo the draw), and
over many references the share sampled comes close to the rate. A site may sample
more than the SOP asks, never less: `followup.yaml` is refused below the floors.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

from engine.errors import DefinitionError, Finding, NotFound
from engine.yamlfile import line_at

FOLLOWUP_FILE = "processes/rules/followup.yaml"
DATA_NAME = "followup"  # where a diagram keeps the decision; the audit trail copies it from there
# The SOP's minimum share per category, in percent, and the clause that sets it.
SOP_FLOORS = {
    "complaint": (50.0, "001/第2篇 1.3"),
    "repair": (30.0, "001/第2篇 1.4"),
    "community_event": (10.0, "001/第2篇 1.4"),
}


def percent(text: str) -> float:
    """"50%" -> 50.0, as written in followup.yaml (the schema checked the form)."""
    return float(str(text).rstrip("%"))


def draw(reference: str) -> float:
    """The case's draw in [0, 1): the first 32 bits of sha256 over the reference, as a fraction."""
    digest = hashlib.sha256(f"followup:{reference}".encode()).hexdigest()
    return int(digest[:8], 16) / 2**32


@dataclass(frozen=True)
class FollowupDecision:
    """Whether a case gets a follow-up visit, and what decided it (`rate` as a fraction)."""

    category: str
    rate: float
    draw: float
    sampled: bool

    def as_data(self) -> dict:
        """The decision as case data, and as the `followup_decided` audit event holds it."""
        return asdict(self)

    @classmethod
    def from_data(cls, data) -> FollowupDecision | None:
        """The decision a case already holds, or None when `data` is not one."""
        if not isinstance(data, dict) or set(data) != {"category", "rate", "draw", "sampled"}:
            return None
        return cls(str(data["category"]), float(data["rate"]), float(data["draw"]), bool(data["sampled"]))


def decide(reference: str, category: str, rate: float) -> FollowupDecision:
    """Sample `reference` at `rate` (a fraction): sampled when its draw falls below the rate."""
    value = draw(reference)
    return FollowupDecision(category, rate, value, value < rate)


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

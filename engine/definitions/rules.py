"""Site rules from `processes/rules/*.yaml`: roles, departments, sites, SLA policy, staff and
their contacts, triage categories, prices, follow-up visit rates, notification channels and routes, duty hours.

Rules are part of a deployed bundle, so a case keeps running under the policy it was
started with; changing policy means deploying a new version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from engine.definitions.budget import DEFAULT_BUDGET, Budget
from engine.definitions.duty_lint import load_duty_policy
from engine.definitions.notification_lint import load_notifications
from engine.definitions.sla_lint import load_sla_book
from engine.errors import DefinitionError, Finding, NotFound
from engine.policy.duty_hours import DutyBook
from engine.policy.followup import FollowupPolicy, load_followup_policy
from engine.policy.notifications import NO_NOTIFICATIONS, NotificationPolicy, QuietHours
from engine.policy.sla import SlaBook, SlaPolicy
from engine.yamlfile import bundled_schema, line_at, load_yaml

RULE_FILES = ("roles", "sites", "sla", "staff")
# A library without paid services has no price list; one without follow-up visits no rates;
# one without a triage no categories; one without statistics by department no departments.
# Without notifications.yaml, messages stay in the app.
# Without duty.yaml there is no duty desk (no roster, no handovers opened by the roster).
OPTIONAL_RULE_FILES = ("prices", "followup", "departments", "categories", "notifications", "duty")


@dataclass(frozen=True)
class Role:
    id: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Department:
    id: str
    zh: str
    en: str
    roles: tuple[str, ...] = ()
    oversees: tuple[str, ...] = ()  # other departments its supervisors reassign tasks of


@dataclass(frozen=True)
class Category:
    """A kind of help request: the procedure the triage routes it to (None: the triage handles
    it), and whether it is special (danger to life, property or public order)."""

    id: str
    zh: str
    en: str
    process: str | None
    special: bool


@dataclass(frozen=True)
class StaffMember:
    username: str
    name: str
    roles: tuple[str, ...]
    site: str | None
    language: str = "zh"
    contacts: dict[str, str] = field(default_factory=dict)  # phone, email, wecom, dingtalk, feishu
    channels: tuple[str, ...] | None = None  # the channel types they take messages on; None: all
    quiet_hours: QuietHours | None | str = "default"  # "default": notifications.yaml's; None: never quiet
    company_wide: bool = False  # works on every site's cases (company manager, auditor, designer)

    @classmethod
    def from_config(cls, entry: dict) -> StaffMember:
        quiet = entry.get("quiet_hours")
        return cls(entry["username"], entry["name"], tuple(entry["roles"]), entry.get("site"),
                   entry.get("language", "zh"), dict(entry.get("contacts") or {}),
                   tuple(entry["channels"]) if "channels" in entry else None,
                   "default" if quiet is None else (None if quiet == "none" else QuietHours.parse(quiet)),
                   entry.get("company_wide", False))


@dataclass
class Rules:
    """The validated rules of one bundle."""

    roles: dict[str, Role]
    sites: dict[str, dict]
    default_site: str
    sla: SlaBook
    staff: list[StaffMember] = field(default_factory=list)
    prices: dict[str, dict] = field(default_factory=dict)  # item -> zh, en, price, unit, unit_en
    followup: FollowupPolicy = field(default_factory=lambda: FollowupPolicy({"rates": {}}))
    departments: dict[str, Department] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)  # in the order the intake offers them
    triage: str | None = None  # the procedure that routes requests by these categories
    notifications: NotificationPolicy = NO_NOTIFICATIONS
    duty: DutyBook | None = None  # duty.yaml per site; None: the library has no duty desk
    budgets: dict[str, Budget] = field(default_factory=dict)  # per site; "" is the bundle's default

    def budget(self, site: str | None = None) -> Budget:
        """The CPU-time and memory budget of diagram code at `site` (sites.yaml `budgets`)."""
        return self.budgets.get(site or self.default_site) or self.budgets.get("") or DEFAULT_BUDGET

    @cached_property
    def role_departments(self) -> dict[str, str]:
        """Each role's department id (roles no department lists have none)."""
        return {role: department.id for department in self.departments.values() for role in department.roles}

    @cached_property
    def staff_by_username(self) -> dict[str, StaffMember]:
        return {member.username: member for member in self.staff}

    @property
    def sla_targets(self) -> dict[str, dict]:
        return self.sla.targets

    @cached_property  # rules never change once loaded, and every new task asks
    def lane_roles(self) -> dict[str, str]:
        """Map every name a lane may carry (id, Chinese name, alias) to its role id."""
        names = {}
        for role in self.roles.values():
            for name in (role.id, role.zh, *role.aliases):
                names[name] = role.id
        return names

    def role_for_lane(self, lane_name: str | None) -> str | None:
        return self.lane_roles.get(lane_name) if lane_name else None

    def sla_policy(self, key: str, site: str | None = None) -> SlaPolicy:
        """Return SLA target `key` as it applies at `site` (the default site if None)."""
        return self.sla.policy(key, site or self.default_site)

    def sla_duration(self, key: str, site: str | None = None) -> str:
        """Return the ISO-8601 duration of SLA target `key` at `site` (default site if None)."""
        return self.sla_policy(key, site).duration

    def price(self, item: str) -> int | float:
        """Return the unit price of `item` on the paid-service price list."""
        if item not in self.prices:
            raise NotFound(f"{item!r} is not on the price list (processes/rules/prices.yaml)")
        return self.prices[item]["price"]


def _budgets(sites: dict) -> dict[str, Budget]:
    default = Budget.of(sites.get("budgets"))
    return {"": default, **{sid: Budget.of(site.get("budgets"), default) for sid, site in sites["sites"].items()}}


def load_rules(texts: dict[str, str]) -> Rules:
    """Validate and combine rule files given as {"roles.yaml": text, ...}."""
    data = {}
    findings: list[Finding] = []
    for name in RULE_FILES + OPTIONAL_RULE_FILES:
        filename = f"processes/rules/{name}.yaml"
        text = texts.get(f"{name}.yaml")
        if text is None:
            if name in RULE_FILES:
                findings.append(Finding(filename, None, None, "error", "rules file is missing"))
            continue
        try:
            data[name] = load_yaml(text, filename, bundled_schema(name))
        except DefinitionError as exc:
            findings.extend(exc.findings)
    if findings:
        raise DefinitionError(findings)
    roles = {rid: Role(rid, r["zh"], r["en"], tuple(r.get("aliases", ()))) for rid, r in data["roles"]["roles"].items()}
    rules = Rules(
        roles=roles,
        sites=data["sites"]["sites"],
        default_site=data["sites"]["default_site"],
        sla=load_sla_book(data["sla"], texts["sla.yaml"], roles, data["sites"]["sites"]),
        staff=[StaffMember.from_config(s) for s in data["staff"]["staff"]],
        prices=data.get("prices", {}).get("items") or {},
        departments={did: Department(did, d["zh"], d["en"], tuple(d["roles"]), tuple(d.get("oversees", ())))
                     for did, d in (data.get("departments") or {}).get("departments", {}).items()},
        categories={c["id"]: Category(c["id"], c["zh"], c["en"], c.get("process"), c["special"])
                    for c in (data.get("categories") or {}).get("categories", [])},
        triage=(data.get("categories") or {}).get("triage"),
        budgets=_budgets(data["sites"]),
    )
    if "followup" in data:
        rules.followup = load_followup_policy(data["followup"], texts["followup.yaml"], rules.sites)
    if "notifications" in data:
        rules.notifications = load_notifications(data["notifications"], texts["notifications.yaml"], rules)
    if "duty" in data:
        rules.duty = load_duty_policy(data["duty"], texts["duty.yaml"], roles, rules.sites)
    _check_references(rules, data, texts)
    return rules


def _check_references(rules: Rules, data: dict, texts: dict[str, str]) -> None:
    """Cross-file checks the schemas cannot express."""
    findings = []
    if rules.default_site not in rules.sites:
        findings.append(Finding("processes/rules/sites.yaml", None, "default_site", "error",
                                f"default_site {rules.default_site!r} is not a site"))
    for member in rules.staff:
        for role in member.roles:
            if role not in rules.roles:
                findings.append(Finding("processes/rules/staff.yaml", None, member.username, "error",
                                        f"unknown role {role!r}"))
        if member.site is not None and member.site not in rules.sites:
            findings.append(Finding("processes/rules/staff.yaml", None, member.username, "error",
                                    f"unknown site {member.site!r}"))
        elif member.site is None and not member.company_wide:  # would see no case: say so now
            findings.append(Finding("processes/rules/staff.yaml", None, member.username, "error",
                                    "give the site they work at, or declare them company_wide: true"))
    for department in rules.departments.values():
        for other in department.oversees:
            if other not in rules.departments:
                findings.append(Finding("processes/rules/departments.yaml", None, department.id, "error",
                                        f"oversees unknown department {other!r}"))
        for index, role in enumerate(department.roles):
            if role not in rules.roles:
                where = ("departments", department.id, "roles", index)
                findings.append(Finding("processes/rules/departments.yaml", line_at(texts.get("departments.yaml"), where),
                                        department.id, "error", f"unknown role {role!r}"))
    listed = [c["id"] for c in (data.get("categories") or {}).get("categories", [])]
    for index, category in enumerate(listed):
        if category in listed[:index]:
            findings.append(Finding("processes/rules/categories.yaml", line_at(texts.get("categories.yaml"),
                                    ("categories", index, "id")), category, "error", f"category {category!r} is listed twice"))
    if findings:
        raise DefinitionError(findings)

"""The names people read for the ids the statistics count by.

The facts, the drill filters and the URLs keep ids (`repair`, `engineering`,
`repair.order_written`, `reception1`): they are stable and fit a query string. The
tables show names instead, as `Text` labels, so the dashboard, the exports and the
report all read them from one place. `load_names` costs a few small reads per
`month_kpis`, whatever the month holds: each process's newest deployed version (its
BPMN name), the newest rules (each SLA target's `zh`) and the accounts of the month's
staff. Categories and departments are fixed vocabulary.

Past months read with today's names (a renamed procedure reads renamed everywhere).
An id without a name (a process no longer deployed, a category not in the list) shows
as itself; an empty one (no category) stays empty, which the tables show as —.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from engine.accounts.users import person_label, user_names
from engine.definitions.catalogue import procedures
from engine.definitions.compiled import current_rules
from engine.stats.labels import Text


@dataclass(frozen=True)
class Names:
    """The names behind the ids of one month's tables, as `Text` in both languages."""

    processes: dict[str, Text] = field(default_factory=dict)  # process id -> its names (the catalogue's)
    categories: dict[str, Text] = field(default_factory=dict)  # categories.yaml
    departments: dict[str, Text] = field(default_factory=dict)  # departments.yaml
    role_departments: dict[str, str] = field(default_factory=dict)  # role -> department id
    sla_targets: dict[str, str] = field(default_factory=dict)  # target key -> zh (sla.yaml has no English)
    people: dict[str, str] = field(default_factory=dict)  # username -> name

    def of(self, key: str, value: str) -> Text | str:
        """The name of a breakdown's group: `key` is "process", "category" or "department"."""
        return {"process": self.process, "category": self.category, "department": self.department}[key](value)

    def process(self, process_id: str) -> Text:
        return self.processes.get(process_id) or _same_in_both(process_id)

    def category(self, category: str) -> Text | str:
        return _named(self.categories, category)

    def department(self, department: str) -> Text | str:
        return _named(self.departments, department)

    def department_of_role(self, role: str | None) -> Text | str:
        return self.department(self.role_departments.get(role or "", ""))

    def sla_target(self, key: str) -> Text:
        return Text(self.sla_targets.get(key) or key, key)

    def staff(self, username: str) -> Text:
        return _same_in_both(person_label(username, self.people.get(username)))


def _named(names: dict[str, Text], value: str) -> Text | str:
    """The name of an id; an unknown id as itself; none ("": no category) stays "" (shown as —)."""
    if value in names:
        return names[value]
    return _same_in_both(value) if value else ""


def _same_in_both(text: str) -> Text:
    return Text(text, text)


def load_names(session: Session, usernames=()) -> Names:
    """The names of every deployed process, category, department and SLA target, and of the
    accounts `usernames`: all from the deployed bundle."""
    rules = current_rules(session)
    usernames = list(usernames)
    if rules is None:
        return Names(people=user_names(session, usernames) if usernames else {})
    return Names(
        processes={p.process_id: Text(p.name, p.name_en) for p in procedures(session).values()},
        categories={c.id: Text(c.zh, c.en) for c in rules.categories.values()},
        departments={d.id: Text(d.zh, d.en) for d in rules.departments.values()},
        role_departments=rules.role_departments,
        sla_targets={key: settings.get("zh") for key, settings in rules.sla_targets.items()},
        people=user_names(session, usernames) if usernames else {})

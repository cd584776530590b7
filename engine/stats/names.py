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

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.accounts.users import person_label, user_names
from engine.definitions.categories import CATEGORIES
from engine.definitions.compiled import current_rules
from engine.stats.labels import Text
from engine.stats.vocabulary import DEPARTMENTS
from engine.store.models import ProcessVersion


@dataclass(frozen=True)
class Names:
    """The names behind the ids of one month's tables, as `Text` in both languages."""

    processes: dict[str, str] = field(default_factory=dict)  # process id -> BPMN name
    sla_targets: dict[str, str] = field(default_factory=dict)  # target key -> zh (sla.yaml has no English)
    people: dict[str, str] = field(default_factory=dict)  # username -> name

    def of(self, key: str, value: str) -> Text | str:
        """The name of a breakdown's group: `key` is "process", "category" or "department"."""
        return {"process": self.process, "category": self.category, "department": self.department}[key](value)

    def process(self, process_id: str) -> Text:
        # A diagram's name reads as the diagram says in both languages, as on the case pages.
        return _same_in_both(self.processes.get(process_id) or process_id)

    def category(self, category: str) -> Text | str:
        return _from_vocabulary(CATEGORIES, category)

    def department(self, department: str) -> Text | str:
        return _from_vocabulary(DEPARTMENTS, department)

    def sla_target(self, key: str) -> Text:
        return Text(self.sla_targets.get(key) or key, key)

    def staff(self, username: str) -> Text:
        return _same_in_both(person_label(username, self.people.get(username)))


def _from_vocabulary(words: dict[str, tuple[str, str]], value: str) -> Text | str:
    """The word for an id; an unknown id as itself; none ("": no category) stays "" (shown as —)."""
    if value in words:
        return Text(*words[value])
    return _same_in_both(value) if value else ""


def _same_in_both(text: str) -> Text:
    return Text(text, text)


def load_names(session: Session, usernames=()) -> Names:
    """The names of every deployed process and SLA target, and of the accounts `usernames`."""
    rules = current_rules(session)
    sla_targets = {key: settings.get("zh") for key, settings in rules.sla_targets.items()} if rules else {}
    usernames = list(usernames)
    return Names(processes=process_names(session), sla_targets=sla_targets,
                 people=user_names(session, usernames) if usernames else {})


def process_names(session: Session) -> dict[str, str]:
    """process id -> the name in its newest deployed version (one row per process)."""
    newest = (select(func.max(ProcessVersion.id)).where(ProcessVersion.executable.is_(True))
              .group_by(ProcessVersion.process_id))
    stmt = select(ProcessVersion.process_id, ProcessVersion.name).where(ProcessVersion.id.in_(newest))
    return {process_id: name for process_id, name in session.execute(stmt)}

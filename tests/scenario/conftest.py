"""A small driver for scenario tests: play a case through the runtime API, step by
step (every step reloads the case from the database), then read its audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.audit import chain as audit
from engine.audit.events import EventType
from engine.clock import LOCAL_TZ
from engine.definitions.rules import load_rules
from engine.policy import followup
from engine.runtime.queries import get_instance_row, get_task, list_events, list_tasks
from engine.runtime.step import Runtime
from engine.store.followup_tally import FollowupTally, SessionTally

# Each site's own demo staff, by role: a site's cases are worked by its people (engine/accounts/sites.py).
SITE_STAFF = {
    "nanshan": {"reception": "reception1", "cs_supervisor": "supervisor1", "manager": "manager1",
                "environment": "env1"},
    "binhai": {"reception": "reception2", "cs_supervisor": "bhsup1", "manager": "bhmgr1", "environment": "bhenv1"},
}

@dataclass
class Case:
    runtime: Runtime
    instance_id: int
    reference: str

    def open_tasks(self):
        with self.runtime.db.session() as session:
            return list_tasks(session, instance_id=self.instance_id)

    def task(self, element_id: str):
        """The open task of `element_id`; fails the test if it is not open."""
        matches = [t for t in self.open_tasks() if t.element_id == element_id]
        open_ids = [t.element_id for t in self.open_tasks()]
        assert matches, f"{element_id} is not open; open tasks: {open_ids}"
        return matches[0]

    def complete(self, element_id: str, as_user: str, **form_data) -> Case:
        """Complete the open task `element_id` as `as_user` with form data."""
        self.runtime.complete_task(self.task(element_id).id, form_data, as_user)
        return self

    def send(self, name: str, payload: dict | None = None, as_user: str = "system") -> Case:
        self.runtime.send_message(self.instance_id, name, payload, as_user)
        return self

    def wait(self, **delta) -> int:
        """Let time pass on the fake clock and fire what fell due; return cases advanced."""
        self.runtime.clock.advance(**delta)
        return self.runtime.fire_due_timers()

    def task_view(self, element_id: str):
        with self.runtime.db.session() as session:
            return get_task(session, self.task(element_id).id)

    @property
    def status(self) -> str:
        with self.runtime.db.session() as session:
            return get_instance_row(session, self.instance_id).status.value

    def path(self, process_id: str | None = None) -> audit.ExecutedPath:
        """The executed path; with `process_id`, only that (called) process's part."""
        with self.runtime.db.session() as session:
            return audit.executed_path(session, self.instance_id, process_id)

    def human_trail(self) -> list[tuple[str, str, str]]:
        """(element, role, actor) of every task people completed, in order."""
        with self.runtime.db.session() as session:
            return [(e.element_id, e.data.get("role"), e.actor) for e in list_events(session, self.instance_id)
                    if e.type == EventType.TASK_COMPLETED]

    def events(self, type_: str | None = None):
        with self.runtime.db.session() as session:
            return [e for e in list_events(session, self.instance_id) if type_ is None or e.type == type_]


@pytest.fixture
def start_case(runtime):
    """Start a case: `start_case("emergency_patient", {...}, as_user="reception1")`."""

    def start(process_id: str, data: dict | None = None, as_user: str = "reception1") -> Case:
        result = runtime.start_instance(process_id, data or {}, as_user)
        return Case(runtime, result.instance.id, result.instance.reference)

    return start


@pytest.fixture
def followup_rate(library):
    """The follow-up visit rate (a fraction) of `category` at `site` (the default site)."""
    rules = load_rules(library.rules)
    return lambda category, site=None: rules.followup.rate(site or rules.default_site, category)


@pytest.fixture
def month_tally(runtime, library):
    """The follow-up tally of `category` at `site` this (fake) month: (decided, sampled) so far,
    and a way to record that an earlier case of the month was visited (`visited_before`)."""
    default_site = load_rules(library.rules).default_site

    class Tally:
        @staticmethod
        def key(category: str, site: str | None = None) -> tuple[str, str, str]:
            return site or default_site, category, runtime.clock.now().astimezone(LOCAL_TZ).strftime("%Y-%m")

        def __call__(self, category: str, site: str | None = None) -> tuple[int, int]:
            with runtime.db.session() as session:
                row = session.get(FollowupTally, self.key(category, site))
                return (row.decided, row.sampled) if row else (0, 0)

        def visited_before(self, category: str, site: str | None = None) -> None:
            with runtime.transaction() as session:
                tally = SessionTally(session)
                tally.take(*self.key(category, site))
                tally.mark_sampled(*self.key(category, site))

    return Tally()


@pytest.fixture
def start_drawn_case(start_case, runtime, followup_rate, month_tally):
    """Start a case that the follow-up draw samples (or, `sampled=False`, passes over).

    References are handed out in order and the month's tally is known, so the case that
    fits is fixed for a fresh database; it is found by computing the decision, not guessed.
    A case can only be passed over when the month's visits so far leave room above the
    floor: for `sampled=False` the month first gets earlier visited cases (as a real month
    would have). Cases started on a reference that does not fit are cancelled at once, so
    their timers never fire and they never reach the draw.
    """

    def start(process_id: str, data: dict | None = None, as_user: str = "reception1",
              sampled: bool = True, category: str | None = None) -> Case:
        kind, site = category or process_id, (data or {}).get("site")
        rate, month = followup_rate(kind, site), month_tally.key(kind, site)[2]
        while not sampled and month_tally(kind, site)[1] < followup.quota(rate, month_tally(kind, site)[0] + 1):
            month_tally.visited_before(kind, site)
        decided, before = month_tally(kind, site)
        for _ in range(64):
            case = start_case(process_id, data, as_user)
            if followup.decide(case.reference, kind, rate, month, decided + 1, before).sampled == sampled:
                return case
            runtime.cancel_instance(case.instance_id, "not the follow-up draw this test needs", as_user)
        pytest.fail(f"no {process_id} reference in 64 drawn {'in' if sampled else 'out'} at rate {rate}")

    return start


@pytest.fixture
def expected_decision(followup_rate, month_tally):
    """The `followup_decided` data a case's draw must have left, from its reference and the tally
    (in `month`, by default the clock's now)."""

    def expected(case: Case, category: str, sampled: bool, ordinal: int, sampled_before: int,
                 site: str | None = None, month: str | None = None) -> dict:
        rate, value = followup_rate(category, site), followup.draw(case.reference)
        by = "draw" if value < rate else "quota" if sampled else ""
        return {"category": category, "rate": rate, "draw": value, "sampled": sampled,
                "month": month or month_tally.key(category, site)[2], "ordinal": ordinal, "sampled_before": sampled_before,
                "by": by}

    return expected


@pytest.fixture
def sla_limit(library, clock):
    """The length of SLA target `key` at `site` (the default site), counted from the clock's now."""
    rules = load_rules(library.rules)

    def limit(key: str, site: str | None = None) -> timedelta:
        duration = TimerEventDefinition.parse_iso_duration(rules.sla_duration(key, site))
        return TimerEventDefinition.get_timedelta_from_start(duration, clock.now())

    return limit

"""The tests' own databases (tests/databases.py): every copy starts exactly as its
template was left, whatever the test before it wrote, and a test starts from the
richest seed its fixtures ask for."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.runtime.step import Runtime
from engine.store.models import Event, Instance
from tests.databases import DEPLOYED, Seed, seed_for

CALLER = {"caller": "林先生", "unit": "3-2-1201", "phone": "13800000000"}


def started(db, clock):
    result = Runtime(db, clock).start_instance("emergency_patient", CALLER, "reception1")
    return result.instance.id, result.instance.reference


def test_a_copy_starts_as_its_template_left_it_whatever_the_last_copy_wrote(templates, clock, tmp_path):
    first_folder, second_folder = tmp_path / "first", tmp_path / "second"
    first_folder.mkdir()
    second_folder.mkdir()
    first = templates.copy(DEPLOYED, clock, first_folder)
    with first.db.session() as session:
        template_events = session.scalar(select(func.count()).select_from(Event))
    case = started(first.db, clock)
    templates.release(first)

    second = templates.copy(DEPLOYED, clock, second_folder)
    try:
        with second.db.session() as session:
            assert session.scalar(select(func.count()).select_from(Instance)) == 0
            assert session.scalar(select(func.count()).select_from(Event)) == template_events
        assert started(second.db, clock) == case  # ids and reference numbers count on from the template's
    finally:
        templates.release(second)


def test_the_richest_seed_asked_for_wins_and_two_apart_are_refused():
    month = Seed("a month", lambda runtime, library: None, base=DEPLOYED)
    other = Seed("another month", lambda runtime, library: None, base=DEPLOYED)
    seeds = {"runtime": DEPLOYED, "month": month, "other": other}
    assert seed_for(["db", "clock"], seeds) is None
    assert seed_for(["runtime", "month", "db"], seeds) is month
    assert seed_for(["month", "runtime"], seeds) is month
    with pytest.raises(ValueError, match="cannot start from both"):
        seed_for(["month", "other"], seeds)

"""A case's timer rows follow its waiting timer events, and a step that leaves them as they were
does not write them again (benchmarks/bundle's `bench_timer`: five user tasks beside a timer
waiting for the site's help.reply limit, 5 minutes)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.accounts.users import load_demo_staff
from engine.audit.events import EventType
from engine.definitions.library import deploy_bundle, read_bundle
from engine.definitions.rules import load_rules
from engine.runtime.step import Runtime
from engine.store.models import Event, Timer

BENCH_BUNDLE = Path(__file__).resolve().parents[2] / "benchmarks" / "bundle"
REPLY_LIMIT = timedelta(minutes=5)


@pytest.fixture
def rt(db, library, clock) -> Runtime:
    bundle = read_bundle(BENCH_BUNDLE / "processes", BENCH_BUNDLE / "forms")
    bundle.rules = dict(library.rules)
    runtime = Runtime(db, clock)
    with runtime.transaction() as session:
        load_demo_staff(session, load_rules(bundle.rules))
        deploy_bundle(session, bundle, actor="designer1")
    return runtime


def timer_rows(rt, case_id: int) -> list[tuple[int, str, object]]:
    with rt.db.read_session() as session:
        return [tuple(r) for r in session.execute(select(Timer.id, Timer.element_id, Timer.due_at)
                                                  .where(Timer.instance_id == case_id))]


def complete(rt, task_id: str) -> str | None:
    result = rt.complete_task(task_id, {"note": "已处理"}, "reception1")
    return result.open_tasks[0].id if result.open_tasks else None


def test_steps_beside_a_waiting_timer_keep_its_row_and_firing_or_cancelling_removes_it(rt, clock):
    opened_at = clock.now()
    started = rt.start_instance("bench_timer", {"caller": "林先生", "unit": "3-2-1201"}, "reception1")
    case_id, task_id = started.instance.id, started.open_tasks[0].id
    [row] = timer_rows(rt, case_id)
    assert row[1:] == ("reply_due", opened_at + REPLY_LIMIT)

    clock.advance(minutes=1)
    task_id = complete(rt, task_id)
    assert timer_rows(rt, case_id) == [row]  # the same row: not deleted and inserted again

    clock.advance(minutes=5)
    assert rt.fire_due_timers() == 1
    assert timer_rows(rt, case_id) == []
    with rt.db.read_session() as session:
        fired = session.scalars(select(Event.element_id).where(Event.instance_id == case_id,
                                                               Event.type == EventType.TIMER_FIRED)).all()
    assert fired == ["reply_due"]
    assert complete(rt, task_id) is not None and timer_rows(rt, case_id) == []

    other = rt.start_instance("bench_timer", {"caller": "王女士", "unit": "1-1-101"}, "reception1")
    assert len(timer_rows(rt, other.instance.id)) == 1
    rt.cancel_instance(other.instance.id, "来电人撤回", "reception1")
    assert timer_rows(rt, other.instance.id) == []

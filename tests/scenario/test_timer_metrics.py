"""The timer worker's lateness, as `/metrics` exports it: how long after its due time a timer fired."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from tests.scenario.test_help_request import ask_supervisor, reply_limit


def sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def test_a_reply_timer_fired_30_seconds_late_is_measured_as_30_seconds(start_case, library, runtime):
    case = ask_supervisor(start_case)  # the clerk asked the supervisor: the reply limit runs
    due = case.task("reply_after_asking").due_at
    assert due == runtime.clock.now() + reply_limit(library, "nanshan")
    count, total = sample("estatedesk_timer_lateness_seconds_count"), sample("estatedesk_timer_lateness_seconds_sum")
    runtime.clock.set(due + timedelta(seconds=30))  # the worker was busy: it looks 30 s late
    assert runtime.fire_due_timers() == 1
    assert "timer_reply_overdue" in case.path().elements
    assert sample("estatedesk_timer_lateness_seconds_count") == count + 1
    assert sample("estatedesk_timer_lateness_seconds_sum") - total == pytest.approx(30, abs=0.01)

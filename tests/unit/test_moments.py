"""The timer helpers over case data: a date-time shifted by an ISO-8601 duration."""

import pytest

from engine.policy.moments import after, before


def test_before_subtracts_the_duration_keeping_the_offset():
    assert before("2026-11-26T09:00:00+08:00", "P3D") == "2026-11-23T09:00:00+08:00"


def test_a_month_before_counts_the_month_that_precedes_the_moment():
    assert before("2026-03-15T09:00:00+08:00", "P1M") == "2026-02-15T09:00:00+08:00"
    assert before("2026-01-15T09:00:00+08:00", "P1M") == "2025-12-15T09:00:00+08:00"


def test_a_month_after_counts_the_month_that_follows_the_moment():
    assert after("2026-01-15T09:00:00+08:00", "P1M") == "2026-02-15T09:00:00+08:00"


def test_after_adds_the_duration():
    assert after("2026-11-23T09:00:00+00:00", "PT15M") == "2026-11-23T09:15:00+00:00"


def test_a_time_without_offset_is_local_time():
    assert before("2026-11-26T09:00:00", "PT5M") == "2026-11-26T08:55:00+08:00"


def test_a_moment_that_is_not_a_date_time_is_refused():
    with pytest.raises(ValueError):
        before("next tuesday", "P3D")

"""sla.yaml deadlines (`by`): a time of day or a day of the month instead of a duration,
as 001/第8篇 4.1 7) writes its limits (每天下午17:00时前, 每月25日前)."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.clock import LOCAL_TZ, FakeClock, using_clock
from engine.definitions.compiled import _diagram_helpers
from engine.definitions.rules import load_rules
from engine.errors import DefinitionError
from engine.policy.deadlines import Deadline
from engine.policy.sla import SlaPolicy

BY = """\
calendars:
  office:
    hours: {mon: ["08:30-18:00"]}
targets:
  repair.copies_returned:
    by: {time: "17:00"}
    clause: 001/第8篇 4.1 7)
  repair.copy3_to_finance:
    by: {day: 25}
    clause: 001/第8篇 4.1 7)
  help.reply:
    duration: PT5M
    clause: 000 四.1(2)
site_overrides:
  binhai:
    repair.copies_returned: {by: {time: "16:30"}}
    help.reply: {by: {time: "18:00"}}
"""


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)


@pytest.mark.parametrize("start, due", [
    ("2026-11-23 09:05", "2026-11-23 17:00"),  # the same day
    ("2026-11-23 16:59", "2026-11-23 17:00"),
    ("2026-11-23 17:00", "2026-11-24 17:00"),  # at the deadline: the day's hand-in is missed
    ("2026-11-23 18:30", "2026-11-24 17:00"),  # after 17:00: the next day's
])
def test_a_time_of_day_is_the_same_days_or_the_next(start, due):
    assert Deadline.from_config({"time": "17:00"}).next_after(local(start)) == local(due)


@pytest.mark.parametrize("start, due", [
    ("2026-11-23 09:05", "2026-11-25 23:59:59"),  # by the end of the 25th
    ("2026-11-25 23:00", "2026-11-25 23:59:59"),
    ("2026-11-25 23:59:59", "2026-12-25 23:59:59"),
    ("2026-11-26 08:00", "2026-12-25 23:59:59"),  # past it: next month's
    ("2026-12-28 08:00", "2027-01-25 23:59:59"),  # over the year's end
])
def test_a_day_of_the_month_is_the_end_of_that_day(start, due):
    assert Deadline.from_config({"day": 25}).next_after(local(start)) == local(due)


def test_a_day_a_month_lacks_is_its_last_day_and_a_time_may_be_given():
    assert Deadline.from_config({"day": 31}).next_after(local("2027-02-10 10:00")) == local("2027-02-28 23:59:59")
    assert Deadline.from_config({"day": 25, "time": "12:00"}).next_after(local("2026-11-25 13:00")) == local(
        "2026-12-25 12:00")


def test_the_deadline_counts_in_the_time_zone_given():
    utc = Deadline.from_config({"time": "17:00", "timezone": "UTC"})
    assert utc.next_after(local("2026-11-23 09:05")) == datetime.fromisoformat("2026-11-23T17:00:00+00:00")


def test_a_deadline_target_falls_due_at_its_moment_at_each_site(library):
    rules = load_rules({**library.rules, "sla.yaml": BY})
    start = local("2026-11-23 09:05")
    policy = rules.sla_policy("repair.copies_returned", "nanshan")
    assert policy.due(start) == local("2026-11-23 17:00")
    assert policy.budget(start) == local("2026-11-23 17:00") - start
    assert policy.limit == "by 17:00"
    assert rules.sla_policy("repair.copies_returned", "binhai").due(start) == local("2026-11-23 16:30")
    assert rules.sla_policy("repair.copy3_to_finance").due(start) == local("2026-11-25 23:59:59")
    # a site's deadline replaces the target's duration
    assert rules.sla_policy("help.reply", "binhai").due(start) == local("2026-11-23 18:00")
    assert rules.sla_policy("help.reply", "nanshan").limit == "PT5M"
    assert SlaPolicy.from_snapshot(policy.snapshot()) == policy


@pytest.mark.parametrize("old, new, message", [
    ('by: {time: "17:00"}', 'by: {time: "17:00"}\n    duration: PT1H', "is not valid under any of the given schemas"),
    ('by: {time: "17:00"}', 'by: {time: "5pm"}', "does not match"),
    ('by: {day: 25}', 'by: {day: 32}', "32 is greater than the maximum of 31"),
    ('by: {day: 25}', 'by: {day: 25, timezone: Mars/Olympus}', "unknown time zone 'Mars/Olympus'"),
])
def test_a_bad_deadline_is_refused(library, old, new, message):
    with pytest.raises(DefinitionError) as refused:
        load_rules({**library.rules, "sla.yaml": BY.replace(old, new, 1)})
    assert any(message in f.message for f in refused.value.findings), refused.value.findings


def test_a_diagram_timer_on_a_deadline_target_waits_until_its_moment(library):
    helpers = _diagram_helpers(load_rules({**library.rules, "sla.yaml": BY}))
    with using_clock(FakeClock(local("2026-11-23 09:05"))):
        assert helpers({"site": "nanshan"})["sla"]("repair.copies_returned") == "PT7H55M"  # to 17:00
        assert helpers({"site": "binhai"})["sla"]("repair.copies_returned") == "PT7H25M"  # its own 16:30

"""duty.yaml: duty hours on the site's calendar (004 4.1.2), checked policy values (4.1.8)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from engine.clock import FakeClock, using_clock
from engine.definitions.library import check_bundle
from engine.definitions.rules import load_rules
from engine.errors import DefinitionError


def rules_with(library, old: str, new: str):
    text = library.rules["duty.yaml"]
    assert old in text
    return load_rules({**library.rules, "duty.yaml": text.replace(old, new)})


def test_a_working_day_has_a_day_desk_and_a_night_duty_from_17_30_to_08_30(library):
    policy = load_rules(library.rules).duty.policy("nanshan")
    slots = {s.post: s for s in policy.slots(date(2026, 12, 1))}  # a Tuesday
    assert (slots["day"].starts_at, slots["day"].ends_at) == (datetime(2026, 12, 1, 0, 30, tzinfo=timezone.utc),
                                                              datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc))
    assert (slots["duty"].kind, slots["duty"].starts_at, slots["duty"].ends_at) == (
        "night", datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc), datetime(2026, 12, 2, 0, 30, tzinfo=timezone.utc))
    assert slots["manager"].starts_at == slots["duty"].starts_at  # on call after hours (4.1.7)


@pytest.mark.parametrize("day", [date(2026, 12, 5), date(2026, 10, 1)])  # a Saturday, National Day
def test_a_day_off_has_24_hours_of_duty(library, day):
    policy = load_rules(library.rules).duty.policy("nanshan")
    slots = {s.post: s for s in policy.slots(day)}
    assert "day" not in slots and slots["duty"].kind == "holiday"
    assert slots["duty"].ends_at - slots["duty"].starts_at == timedelta(hours=24)


def test_after_hours_and_the_rosters_deadline(library):
    policy = load_rules(library.rules).duty.policy("nanshan")
    assert policy.after_hours(datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc))  # 18:00 in Shenzhen
    assert not policy.after_hours(datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc))  # 10:00
    assert policy.last_working_day("2026-10") == date(2026, 10, 30)


def test_the_retention_cannot_be_set_below_three_years(library):
    with pytest.raises(DefinitionError) as raised:
        rules_with(library, "retention_years: 3", "retention_years: 2")
    assert "retention_years" in str(raised.value)
    policy = load_rules(library.rules).duty.policy("nanshan")
    written = datetime(2026, 12, 1, tzinfo=timezone.utc)
    assert policy.keeps(written, written.replace(year=2029) - timedelta(seconds=1))
    assert not policy.keeps(written, written.replace(year=2029))


def test_a_bad_calendar_or_role_is_reported_at_its_line(library):
    with pytest.raises(DefinitionError) as raised:
        rules_with(library, "timezone: Asia/Shanghai", "timezone: Mars/Olympus")
    [finding] = raised.value.findings
    assert (finding.file, finding.element_id) == ("processes/rules/duty.yaml", "calendar.timezone")
    with pytest.raises(DefinitionError) as raised:
        rules_with(library, "escalate_to: manager", "escalate_to: mayor")
    assert "unknown role 'mayor'" in str(raised.value)


def test_a_site_may_keep_other_duty_hours_on_its_own_calendar(library):
    book = rules_with(library, "retention_years: 3", 'retention_years: 3\nsites:\n  binhai: {night_starts: "18:00"}').duty
    assert book.policy("binhai").night_starts.isoformat() == "18:00:00"
    assert book.policy("nanshan").night_starts.isoformat() == "17:30:00"
    with pytest.raises(DefinitionError) as raised:
        rules_with(library, "retention_years: 3", "retention_years: 3\nsites:\n  atlantis: {three_rings: 2}")
    assert "unknown site 'atlantis'" in str(raised.value)
    with pytest.raises(DefinitionError):  # nor below the retention floor at one site
        rules_with(library, "retention_years: 3", "retention_years: 3\nsites:\n  binhai: {retention_years: 1}")


def test_lint_warns_when_the_duty_calendar_lacks_a_years_holidays(library):
    with using_clock(FakeClock(datetime(2150, 3, 1, tzinfo=timezone.utc))):
        findings = [f for f in check_bundle(library).findings if f.file.endswith("duty.yaml")]
    assert [(f.element_id, f.severity) for f in findings] == [("calendar.country", "warning")]
    with using_clock(FakeClock(datetime(2025, 3, 1, tzinfo=timezone.utc))):
        assert [f for f in check_bundle(library).findings if f.file.endswith("duty.yaml")] == []

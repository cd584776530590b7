"""sla.yaml: targets with calendars, pauses and escalation chains per site, validated with
findings that point at the bad line; and what `sla()`, `before()` and `after()` give diagrams."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime, timedelta, timezone

import pytest

from engine.clock import LOCAL_TZ, FakeClock, using_clock
from engine.definitions.compiled import _diagram_helpers
from engine.definitions.library import Bundle, check_bundle
from engine.definitions.rules import load_rules
from engine.errors import DefinitionError
from engine.policy.moments import after, before
from engine.policy.sla import SlaPolicy

VALID = """\
calendars:
  office:
    hours:
      mon: ["08:30-12:00", "13:30-18:00"]
      tue: ["08:30-12:00", "13:30-18:00"]
      wed: ["08:30-12:00", "13:30-18:00"]
      thu: ["08:30-12:00", "13:30-18:00"]
      fri: ["08:30-12:00", "13:30-18:00"]
    holidays: [2026-12-25]
    workdays: {2026-12-26: ["09:00-12:00"]}
escalations:
  chain:
    - at: 80%
      notify: [cs_supervisor]
    - at: 100%
      plus: PT10M
      notify: [manager, assignee]
      reassign: cs_supervisor
targets:
  help.reply:
    duration: PT5M
    clause: 000 四.1(2)
    escalation: chain
  complaint.followup:
    duration: P3D
    clause: 001/第2篇 1.3
    calendar: office
    days: working
    pause:
      when: awaiting_resident
      while_open: [resident_sign]
site_overrides:
  binhai:
    help.reply: PT10M
    complaint.followup: {calendar: null, days: calendar}
"""


def rules_with(library, sla_text: str):
    return load_rules({**library.rules, "sla.yaml": sla_text})


def findings_for(library, sla_text: str):
    with pytest.raises(DefinitionError) as caught:
        rules_with(library, sla_text)
    return [(f.line, f.message) for f in caught.value.findings]


def local(*args) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ).astimezone(timezone.utc)


def test_the_projects_policy_loads(library):
    rules = load_rules(library.rules)
    assert rules.sla_policy("help.reply", "binhai").duration == "PT10M"
    followup = rules.sla_policy("complaint.followup")
    assert followup.calendar is not None and followup.escalation_name == "followup"
    assert followup.calendar.is_working_day(local(2026, 10, 10, 12).date())  # 调休: a Saturday worked
    # China's days come from the `holidays` package: the make-up Sunday 4 January, 2027's Spring Festival
    assert followup.calendar.hours_on(date(2026, 1, 4)) == followup.calendar.week[0]
    assert not followup.calendar.is_working_day(date(2027, 2, 8))


def test_sites_override_durations_and_calendars(library):
    rules = rules_with(library, VALID)
    assert rules.sla_policy("help.reply", "nanshan").duration == "PT5M"
    assert rules.sla_policy("help.reply", "binhai").duration == "PT10M"
    assert rules.sla_policy("help.reply", "binhai").escalation_name == "chain"  # kept from the target
    assert rules.sla_policy("complaint.followup", "nanshan").calendar_name == "office"
    assert rules.sla_policy("complaint.followup", "binhai").calendar is None  # round the clock there
    pause = rules.sla_policy("complaint.followup").pause
    assert (pause.when, pause.while_open) == ("awaiting_resident", ("resident_sign",))


@pytest.mark.parametrize("days, due", [
    ("calendar", local(2026, 11, 30, 17, 0)),  # Friday 17:00 + 3 days round the clock: Monday 17:00
    ("working", local(2026, 12, 2, 17, 0)),  # the weekend is closed: Monday, Tuesday, Wednesday 17:00
])
def test_three_days_are_calendar_or_working_days_as_the_target_says(library, days, due):
    """003 5.2 / 001/第2篇 1.3 "三天内": the same P3D target ends on different days by its `days`;
    calendar days run round the clock even where the target names a calendar."""
    text = VALID.replace("    days: working\n", f"    days: {days}\n", 1)
    policy = rules_with(library, text).sla_policy("complaint.followup", "nanshan")
    assert policy.days == days
    friday = local(2026, 11, 27, 17, 0)
    assert policy.due(friday) == due
    assert SlaPolicy.from_snapshot(policy.snapshot()).due(friday) == due  # a running clock keeps its kind of days


def test_a_site_may_count_working_days_where_the_target_counts_calendar_days(library):
    text = VALID.replace("    days: working\n", "    days: calendar\n", 1).replace(
        "{calendar: null, days: calendar}", "{days: working}")
    rules = rules_with(library, text)
    friday = local(2026, 11, 27, 17, 0)
    assert rules.sla_policy("complaint.followup", "nanshan").due(friday) == local(2026, 11, 30, 17, 0)
    assert rules.sla_policy("complaint.followup", "binhai").due(friday) == local(2026, 12, 2, 17, 0)


def test_escalation_levels_read_as_written(library):
    first, second = rules_with(library, VALID).sla_policy("help.reply").escalation
    assert (first.label, first.notify, first.reassign, first.channel) == ("80%", ("cs_supervisor",), None, "web")
    assert (second.label, second.reassign) == ("100% + PT10M", "cs_supervisor")
    assert second.offset(timedelta(minutes=5)) == timedelta(minutes=15)
    assert first.offset(timedelta(minutes=5)) == timedelta(minutes=4)


def test_a_snapshot_rebuilds_the_same_policy(library):
    policy = rules_with(library, VALID).sla_policy("complaint.followup")
    again = SlaPolicy.from_snapshot(policy.snapshot())
    assert again.snapshot() == policy.snapshot()
    start = local(2026, 12, 24, 17, 0)
    assert again.due(start) == policy.due(start) == local(2026, 12, 29, 17, 0)  # Fri a holiday, Sat a make-up morning


@pytest.mark.parametrize("old, new, line, message", [
    ("    calendar: office\n", "    calendar: ofice\n", 27, "unknown calendar 'ofice'"),
    ("    escalation: chain\n", "    escalation: chains\n", 23, "unknown escalation chain 'chains'"),
    ('      mon: ["08:30-12:00", "13:30-18:00"]', '      mon: ["08:30-12:00", "11:30-18:00"]', 4,
     "'11:30-18:00' overlaps or precedes the range before it"),
    ("    holidays: [2026-12-25]", "    holidays: [2026-12-32]", 9, "'2026-12-32' is not a date"),
    ("    holidays: [2026-12-25]", "    country: XX\n    holidays: [2026-12-25]", 9,
     "the holidays package knows no country 'XX'"),
    ("      notify: [manager, assignee]", "      notify: [manager, asignee]", 17, "unknown role 'asignee'"),
    ("      reassign: cs_supervisor", "      reassign: boss", 18, "unknown role 'boss'"),
    ("    duration: P3D\n", "    duration: P1M\n", 25, "months cannot be counted in working days"),
    ("      when: awaiting_resident", "      when: __import__('os')", 30, "pause condition: refused by the sandbox"),
    ("  binhai:\n", "  beihai:\n", 33, "unknown site 'beihai'"),
    ("    help.reply: PT10M\n", "    help.replied: PT10M\n", 34, "override of unknown target 'help.replied'"),
    ("    calendar: office\n", "    calender: office\n", 27, "Additional properties are not allowed ('calender'"),
    ("    - at: 80%", "    - at: eighty", 13, "'eighty' does not match"),
    ("      plus: PT10M", "      plus: P1D", 16, "'P1D' does not match"),
    ("    complaint.followup: {calendar: null", "    complaint.followup: {calendar: nope", 35,
     "unknown calendar 'nope'"),
    # 三天内 reads either way: a duration in days says which days, and working days need a calendar
    ("    days: working\n", "", 25, "P3D counts days: say whether they are calendar days or working days"),
    ("    calendar: office\n    days: working\n", "    days: working\n", 24,
     "working days are a calendar's: name the calendar"),
    ("    complaint.followup: {calendar: null, days: calendar}", "    complaint.followup: {calendar: null}", 35,
     "working days are a calendar's"),
])
def test_a_bad_policy_is_reported_at_its_line(library, old, new, line, message):
    assert old in VALID
    found = findings_for(library, VALID.replace(old, new, 1))
    assert any(at == line and message in text for at, text in found), found


def test_a_level_must_notify_or_reassign(library):
    found = findings_for(library, VALID.replace("      notify: [cs_supervisor]\n", "", 1))
    assert found[0][0] == 13 and "is not valid under any of the given schemas" in found[0][1]


def test_diagram_sla_gives_wall_clock_time_to_the_working_time_due(library):
    rules = rules_with(library, VALID.replace("    duration: P3D\n", "    duration: PT2H\n"))
    helpers = _diagram_helpers(rules)
    friday_evening = local(2026, 11, 27, 17, 0)
    with using_clock(FakeClock(friday_evening)):
        assert helpers({"site": "nanshan"})["sla"]("complaint.followup") == "PT64H30M"  # Monday 09:30
        assert helpers({"site": "binhai"})["sla"]("complaint.followup") == "PT2H"  # no calendar there
        assert helpers({"site": "nanshan"})["sla"]("help.reply") == "PT5M"


def test_an_sla_value_kept_in_case_data_copies_as_plain_text(library):
    sla = _diagram_helpers(rules_with(library, VALID))({"site": "nanshan"})["sla"]
    with using_clock(FakeClock(local(2026, 11, 27, 17, 0))):
        kept = copy.deepcopy({"limit": sla("complaint.followup")})["limit"]
    assert type(kept) is str and kept == "PT120H"  # Friday 17:00 to Wednesday 17:00
    assert json.dumps(kept) == '"PT120H"'


def test_before_and_after_count_working_days_for_a_calendar_target(library):
    rules = rules_with(library, VALID)
    sla = _diagram_helpers(rules)({"site": "nanshan"})["sla"]
    with using_clock(FakeClock(local(2026, 11, 23, 9, 0))):
        limit = sla("complaint.followup")
    deadline = "2026-11-30T10:00:00"  # a Monday, China time
    assert datetime.fromisoformat(before(deadline, limit)) == local(2026, 11, 25, 10, 0)  # Wed: Thu, Fri, Mon
    assert datetime.fromisoformat(after(deadline, limit)) == local(2026, 12, 3, 10, 0)
    assert datetime.fromisoformat(before(deadline, "P3D")) == local(2026, 11, 27, 10, 0)  # plain text: days


def test_lint_warns_when_a_pause_names_no_element(library):
    bundle = Bundle(library.bpmn, library.dmn, library.forms,
                    {**library.rules, "sla.yaml": VALID.replace("[resident_sign]", "[resident_sing]")})
    (finding,) = [f for f in check_bundle(bundle).findings if f.file.endswith("sla.yaml")]
    assert (finding.line, finding.severity) == (31, "warning") and "'resident_sing'" in finding.message
    bundle.rules["sla.yaml"] = VALID
    assert [f for f in check_bundle(bundle).findings if f.file.endswith("sla.yaml")] == []



def sla_findings_on(library, today: datetime):
    """The sla.yaml findings of the library with VALID's calendar on China's holidays, linted `today`."""
    text = VALID.replace("    holidays: [2026-12-25]", "    country: CN\n    holidays: [2026-12-25]")
    bundle = Bundle(library.bpmn, library.dmn, library.forms, {**library.rules, "sla.yaml": text})
    with using_clock(FakeClock(today)):
        return [f for f in check_bundle(bundle).findings if f.file.endswith("sla.yaml")]


def test_lint_warns_when_the_holidays_package_lacks_this_year_or_the_next(library):
    (finding,) = sla_findings_on(library, datetime(2150, 3, 1, tzinfo=timezone.utc))
    assert (finding.line, finding.element_id, finding.severity) == (9, "calendars.office.country", "warning")
    assert "no CN holiday arrangement for 2150 and 2151" in finding.message


def test_lint_is_quiet_for_years_the_holidays_package_has(library):
    assert sla_findings_on(library, datetime(2025, 3, 1, tzinfo=timezone.utc)) == []  # 2025 and 2026

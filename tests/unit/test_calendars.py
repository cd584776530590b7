"""Business calendars: working time, working days, holidays, make-up days (a site's own and
China's from the `holidays` package), and the laws that keep SLA due dates sane (monotone,
additive, inverse of each other)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engine.clock import LOCAL_TZ
from engine.policy.calendars import (
    CONTINUOUS,
    BusinessCalendar,
    CalendarError,
    iso_seconds,
    parse_hours,
    split_duration,
)

WEEKDAY = ["08:30-12:00", "13:30-18:00"]
OFFICE = BusinessCalendar.from_config({
    "hours": {"mon": WEEKDAY, "tue": WEEKDAY, "wed": WEEKDAY, "thu": WEEKDAY, "fri": WEEKDAY,
              "sat": ["09:00-12:00"]},
    "holidays": ["2026-10-01..2026-10-07", "2027-01-01"],
    "workdays": {"2026-10-10": WEEKDAY},  # 调休: a Saturday worked in full
})
# The same office on China's public holidays and make-up days, with none of its own.
NATIONAL = BusinessCalendar.from_config({"country": "CN", "hours": OFFICE.to_config()["hours"]})
ROUND_THE_CLOCK = BusinessCalendar.from_config({"hours": {d: ["00:00-24:00"] for d in
                                                          ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}})
NIGHTS = BusinessCalendar.from_config({"timezone": "Europe/Berlin",  # has daylight saving, unlike China
                                       "hours": {"mon": ["20:00-24:00"], "tue": ["00:00-06:00", "22:00-24:00"],
                                                 "sun": ["10:00-11:30"]}})


def local(*args) -> datetime:
    """A China-time moment, as the engine holds it (aware UTC)."""
    return datetime(*args, tzinfo=LOCAL_TZ).astimezone(timezone.utc)


# -- examples -------------------------------------------------------------------------

@pytest.mark.parametrize("start, work, due", [
    (local(2026, 11, 23, 9, 0), timedelta(hours=2), local(2026, 11, 23, 11, 0)),      # inside the morning
    (local(2026, 11, 23, 11, 0), timedelta(hours=2), local(2026, 11, 23, 14, 30)),    # over lunch
    (local(2026, 11, 27, 17, 0), timedelta(hours=2), local(2026, 11, 28, 10, 0)),     # Friday → Saturday morning
    (local(2026, 11, 28, 11, 0), timedelta(hours=2), local(2026, 11, 30, 9, 30)),     # Saturday → over Sunday
    (local(2026, 11, 28, 20, 0), timedelta(minutes=5), local(2026, 11, 30, 8, 35)),   # after hours
    (local(2026, 9, 30, 17, 0), timedelta(hours=2), local(2026, 10, 8, 9, 30)),       # over the National Day week
    (local(2026, 10, 9, 17, 30), timedelta(hours=1), local(2026, 10, 10, 9, 0)),      # into the make-up Saturday
    (local(2026, 11, 23, 12, 0), timedelta(0), local(2026, 11, 23, 12, 0)),           # nothing to add
])
def test_add_counts_only_working_time(start, work, due):
    assert OFFICE.add(start, work) == due
    assert OFFICE.working_time(start, due) == work


@pytest.mark.parametrize("start, iso, due", [
    (local(2026, 11, 23, 17, 0), "P1D", local(2026, 11, 24, 17, 0)),
    (local(2026, 11, 27, 17, 0), "P1D", local(2026, 11, 28, 12, 0)),    # Saturday is short: its closing
    (local(2026, 11, 27, 17, 0), "P2D", local(2026, 11, 30, 17, 0)),    # Sat, then Monday
    (local(2026, 11, 27, 20, 0), "P1D", local(2026, 11, 28, 12, 0)),    # after hours: the next working day whole
    (local(2026, 9, 29, 10, 0), "P3D", local(2026, 10, 9, 10, 0)),      # Wed, (holidays), Thu 8, Fri 9
    (local(2026, 11, 23, 17, 0), "P1DT2H", local(2026, 11, 25, 9, 30)),  # a day, then two hours over the night
    (local(2026, 11, 23, 9, 0), "PT30M", local(2026, 11, 23, 9, 30)),
])
def test_add_duration_counts_working_days(start, iso, due):
    assert OFFICE.add_duration(start, iso) == due


def test_subtract_duration_counts_back_over_a_weekend():
    deadline = local(2026, 11, 30, 10, 0)  # a Monday
    assert OFFICE.subtract_duration(deadline, "P3D") == local(2026, 11, 26, 10, 0)  # back over Sat, Fri, Thu
    assert OFFICE.subtract_duration(deadline, "PT2H") == local(2026, 11, 28, 11, 30)  # 1.5 h Mon, 0.5 h Sat


def test_working_time_skips_nights_weekends_and_holidays():
    assert OFFICE.working_time(local(2026, 11, 23, 0, 0), local(2026, 11, 24, 0, 0)) == timedelta(hours=8)
    assert OFFICE.working_time(local(2026, 11, 28, 0, 0), local(2026, 11, 30, 0, 0)) == timedelta(hours=3)
    assert OFFICE.working_time(local(2026, 10, 1, 0, 0), local(2026, 10, 8, 0, 0)) == timedelta(0)
    assert OFFICE.working_time(local(2026, 11, 24), local(2026, 11, 23)) == timedelta(0)


def test_holidays_and_make_up_days():
    assert not OFFICE.is_working_day(date(2026, 10, 1)) and not OFFICE.is_working_day(date(2026, 10, 7))
    assert OFFICE.is_working_day(date(2026, 10, 8))
    assert OFFICE.hours_on(date(2026, 10, 10)) == OFFICE.week[0]  # the make-up Saturday works full hours
    assert not OFFICE.is_working_day(date(2026, 11, 29))  # Sunday


@pytest.mark.parametrize("calendar", [OFFICE, NATIONAL], ids=["own days", "country"])
def test_config_round_trips(calendar):
    again = BusinessCalendar.from_config(calendar.to_config())
    assert again.to_config() == calendar.to_config()
    assert again.add_duration(local(2026, 9, 30, 17, 0), "P2DT3H") == calendar.add_duration(
        local(2026, 9, 30, 17, 0), "P2DT3H")


# -- China's holidays and make-up days, from the `holidays` package ------------------------

# The State Council's notice for 2026: six weekend days worked in exchange for days off.
MAKE_UP_DAYS_2026 = [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9),
                     date(2026, 9, 20), date(2026, 10, 10)]


@pytest.mark.parametrize("day", MAKE_UP_DAYS_2026, ids=str)
def test_the_make_up_days_of_2026_are_full_working_days(day):
    assert day.weekday() in (5, 6)  # a Saturday or a Sunday
    assert NATIONAL.hours_on(day) == NATIONAL.week[0]


def test_a_break_closes_every_day_of_it_saturdays_included():
    spring_festival = [date(2026, 2, 15) + timedelta(days=n) for n in range(9)]  # 2月15日至23日放假
    assert not any(NATIONAL.is_working_day(day) for day in spring_festival)
    assert NATIONAL.is_working_day(date(2026, 2, 24))
    assert not NATIONAL.is_working_day(date(2026, 6, 20))  # the Saturday of 端午 6月19日至21日
    assert not NATIONAL.is_working_day(date(2026, 1, 3))  # 元旦 1月1日至3日, a Saturday
    assert NATIONAL.hours_on(date(2026, 11, 28)) == NATIONAL.week[5]  # an ordinary Saturday
    # Over the National Day week, into the make-up Saturday 10 October.
    assert NATIONAL.add(local(2026, 9, 30, 17, 0), timedelta(hours=2)) == local(2026, 10, 8, 9, 30)
    assert NATIONAL.add_duration(local(2026, 10, 9, 17, 0), "P1D") == local(2026, 10, 10, 17, 0)


def test_the_2027_spring_festival_is_a_holiday():
    eve, third_day = date(2027, 2, 5), date(2027, 2, 8)  # 除夕 (a Friday) to 初三 (a Monday)
    assert not any(NATIONAL.is_working_day(eve + timedelta(days=n)) for n in range(4))
    assert OFFICE.is_working_day(eve) and OFFICE.is_working_day(third_day)  # no country: open
    assert NATIONAL.add(local(2027, 2, 4, 17, 0), timedelta(hours=2)) > local(2027, 2, 8, 18, 0)


def test_a_sites_own_days_win_over_the_countrys():
    site = BusinessCalendar.from_config({**NATIONAL.to_config(), "holidays": ["2026-02-28"],
                                         "workdays": {"2026-10-07": ["09:00-12:00"]}})
    assert not site.is_working_day(date(2026, 2, 28))  # a make-up Saturday this centre stays closed
    assert site.hours_on(date(2026, 10, 7)) == parse_hours(["09:00-12:00"])  # open on a holiday
    assert site.is_working_day(date(2026, 1, 4)) and not site.is_working_day(date(2026, 10, 6))


@pytest.mark.parametrize("config, path, message", [
    ({"hours": {}}, ("hours",), "at least one weekday"),
    ({"hours": {"mon": ["9:00-12:00"]}}, ("hours", "mon", 0), "is not a range"),
    ({"hours": {"mon": ["12:00-09:00"]}}, ("hours", "mon", 0), "ends before it starts"),
    ({"hours": {"mon": ["08:00-12:00", "11:00-13:00"]}}, ("hours", "mon", 1), "overlaps"),
    ({"hours": {"mon": ["08:00-24:30"]}}, ("hours", "mon", 0), "not a time of day"),
    ({"hours": {"mon": WEEKDAY}, "holidays": ["2026-02-30"]}, ("holidays", 0), "is not a date"),
    ({"hours": {"mon": WEEKDAY}, "holidays": ["2026-10-07..2026-10-01"]}, ("holidays", 0), "ends before"),
    ({"hours": {"mon": WEEKDAY}, "timezone": "Mars/Olympus"}, ("timezone",), "unknown time zone"),
    ({"hours": {"mon": WEEKDAY}, "country": "XX"}, ("country",), "knows no country 'XX'"),
])
def test_bad_calendars_name_the_entry(config, path, message):
    with pytest.raises(CalendarError) as caught:
        BusinessCalendar.from_config(config)
    assert caught.value.path == path and message in caught.value.message


def test_a_calendar_that_never_works_again_gives_up_with_a_message():
    only_holidays = BusinessCalendar.from_config({"hours": {"mon": WEEKDAY}})
    stuck = BusinessCalendar(only_holidays.week, frozenset(date(2026, 11, 23) + timedelta(days=n)
                                                           for n in range(0, 4000, 7)))
    with pytest.raises(ValueError, match="no working time"):
        stuck.add(local(2026, 11, 22, 9, 0), timedelta(hours=1))


@pytest.mark.parametrize("iso, refused", [("P1M", "months"), ("P1W", "weeks"), ("P1Y", "years")])
def test_calendar_durations_refuse_months_weeks_and_years(iso, refused):
    with pytest.raises(ValueError, match=refused):
        split_duration(iso)


def test_iso_seconds_rounds_up_to_whole_seconds():
    assert iso_seconds(timedelta(hours=65, minutes=10)) == "PT65H10M"
    assert iso_seconds(timedelta(seconds=0.2)) == "PT1S"
    assert iso_seconds(timedelta(0)) == "PT0S"


def test_continuous_calendar_is_wall_clock_with_months():
    start = local(2026, 1, 31, 12, 0)
    assert CONTINUOUS.add_duration(start, "P1M") == start + timedelta(days=31)
    assert CONTINUOUS.add(start, timedelta(hours=5)) == start + timedelta(hours=5)
    assert CONTINUOUS.working_time(start, start - timedelta(hours=1)) == timedelta(0)


# -- laws -------------------------------------------------------------------------------

CALENDARS = st.sampled_from([OFFICE, NATIONAL, ROUND_THE_CLOCK, NIGHTS])
MOMENTS = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),
                       timezones=st.just(timezone.utc))
WORK = st.integers(min_value=0, max_value=60 * 60 * 40).map(lambda s: timedelta(seconds=s))


@settings(max_examples=150, deadline=None)
@given(CALENDARS, MOMENTS, WORK)
def test_add_gives_exactly_the_working_time_asked_for(calendar, start, work):
    due = calendar.add(start, work)
    assert due >= start
    assert calendar.working_time(start, due) == work
    if work:  # and no earlier moment does: just before it, a little is still missing
        assert calendar.working_time(start, due - timedelta(microseconds=1)) < work


@settings(max_examples=150, deadline=None)
@given(CALENDARS, MOMENTS, WORK)
def test_subtract_is_the_mirror_of_add(calendar, end, work):
    begin = calendar.subtract(end, work)
    assert begin <= end
    assert calendar.working_time(begin, end) == work


@settings(max_examples=100, deadline=None)
@given(CALENDARS, MOMENTS, WORK, WORK)
def test_add_is_additive(calendar, start, first, second):
    assert calendar.add(calendar.add(start, first), second) == calendar.add(start, first + second)


@settings(max_examples=100, deadline=None)
@given(CALENDARS, MOMENTS, MOMENTS, WORK)
def test_a_later_start_is_never_due_earlier(calendar, a, b, work):
    early, late = sorted((a, b))
    assert calendar.add(early, work) <= calendar.add(late, work)


@settings(max_examples=100, deadline=None)
@given(CALENDARS, MOMENTS, MOMENTS, MOMENTS)
def test_working_time_adds_up_over_a_split(calendar, a, b, c):
    first, middle, last = sorted((a, b, c))
    assert calendar.working_time(first, last) == (calendar.working_time(first, middle)
                                                  + calendar.working_time(middle, last))


@settings(max_examples=100, deadline=None)
@given(CALENDARS, MOMENTS, st.integers(min_value=1, max_value=15))
def test_working_days_end_in_working_time_and_grow_with_the_count(calendar, start, days):
    due = calendar.add_duration(start, f"P{days}D")
    assert due > start
    assert calendar.previous_working_moment(due) == due  # in working hours, or at a closing
    assert calendar.add_duration(start, f"P{days + 1}D") > due
    assert calendar.subtract_duration(due, f"P{days}D") <= calendar.next_working_moment(start)


@settings(max_examples=100, deadline=None)
@given(CALENDARS, MOMENTS, MOMENTS, st.integers(min_value=0, max_value=10), WORK)
def test_durations_are_monotone_in_the_start(calendar, a, b, days, work):
    early, late = sorted((a, b))
    iso = f"P{days}DT{int(work.total_seconds())}S"
    assume(iso != "P0DT0S")
    assert calendar.add_duration(early, iso) <= calendar.add_duration(late, iso)
    assert calendar.subtract_duration(early, iso) <= calendar.subtract_duration(late, iso)


@settings(max_examples=100, deadline=None)
@given(MOMENTS, WORK)
def test_a_calendar_open_round_the_clock_is_the_wall_clock(start, work):
    assert ROUND_THE_CLOCK.add(start, work) == start + work
    assert ROUND_THE_CLOCK.working_time(start, start + work) == work

"""A country's public holidays and 调休 make-up working days, from the `holidays` package.

China's yearly arrangement (放假调休) comes from a State Council notice published late
in the year before; the package carries the notices, so a new year arrives by
upgrading it. For a year it has no notice for, the package still computes the
statutory holidays but knows none of that year's make-up days: `arranged` says so,
and lint warns (`engine/policy/sla.py`).

The package lists holidays and the weekend days worked in exchange. Where it moves
working days, a break (放假) also takes in the weekend days joined to its holidays, as
the notices count them ("6月19日至21日放假，共3天"): a calendar open on Saturdays is
closed on those too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays

PACKAGE_VERSION = holidays.__version__


@dataclass(frozen=True)
class NationalYear:
    """One year of a country's days off and make-up working days."""

    closed: frozenset[date]  # every day of every break, weekend days joined to its holidays included
    makeup: frozenset[date]  # weekend days worked in exchange for days off (调休上班)
    arranged: bool  # the package has this year's arrangement, not only what it can compute


def is_known_country(country: str) -> bool:
    return country in holidays.list_supported_countries()


@lru_cache(maxsize=64)
def national_year(country: str, year: int) -> NationalYear:
    """The breaks and make-up days of `country` in `year` (an ISO 3166 code the package knows)."""
    # The years either side too: a break may run over New Year. Public holidays only: the
    # half-day ones (妇女节 for women, 青年节 for youths) do not close an office.
    book = holidays.country_holidays(country, years=(year - 1, year, year + 1),
                                     categories=holidays.PUBLIC, expand=False)
    arranges = book.has_substituted_holidays
    closed = set(book)
    if arranges:  # the package moves working days (China): the government arranges breaks
        for holiday in book:
            closed.update(_weekend_joined(book, holiday))
    makeup = frozenset(day for day in book.weekend_workdays if day.year == year)
    # A year's arrangement always moves some working days; elsewhere any holiday is data.
    arranged = bool(makeup) if arranges else any(day.year == year for day in book)
    return NationalYear(frozenset(day for day in closed if day.year == year), makeup, arranged)


def _weekend_joined(book: holidays.HolidayBase, holiday: date):
    """The days off next to `holiday`, on either side, up to the first working day."""
    for step in (timedelta(days=1), timedelta(days=-1)):
        day = holiday + step
        while not book.is_working_day(day):
            yield day
            day += step

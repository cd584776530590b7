"""Statistics months: local calendar months of the service centres, as "YYYY-MM".

A case belongs to the month it was opened in, counted in the centres' own time zone
(a case opened at 23:30 on 30 November in Shenzhen is a November case even though it
is 15:30 UTC). All sites are in one zone today; a per-site zone would go here.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from engine.errors import BadInput

STATS_ZONE = ZoneInfo("Asia/Shanghai")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def month_of(moment: datetime) -> str:
    """The local month "YYYY-MM" of an aware moment."""
    return moment.astimezone(STATS_ZONE).strftime("%Y-%m")


def check_month(month: str) -> str:
    if not isinstance(month, str) or not _MONTH.match(month):
        raise BadInput(f"month must look like 2026-11, not {month!r}")
    return month


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The first moment of `month` and of the month after, in UTC."""
    year, mon = (int(part) for part in check_month(month).split("-"))
    start = datetime(year, mon, 1, tzinfo=STATS_ZONE)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=STATS_ZONE)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def months_back(last: str, count: int) -> list[str]:
    """`count` months ending with `last`, oldest first."""
    year, mon = (int(part) for part in check_month(last).split("-"))
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{mon:02d}")
        year, mon = (year - 1, 12) if mon == 1 else (year, mon - 1)
    return out[::-1]

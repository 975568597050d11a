"""Working days of the Vietnamese civil service, for statutory processing times.

Processing times of land procedures are counted in working days (DOMAIN.md,
"First-time certificate procedure").  The ``holidays`` package knows the
fixed public holidays but not the government's dated day swaps, so those live
in the two override tables below, each with its source.  Kept small and pure
so that ``certificates/deadlines.py`` can adopt it unchanged.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Final

import holidays

# Dated overrides (DOMAIN.md): extra days off decided by the government, and
# Saturdays worked in exchange.  Tết for public servants is wider than the
# statutory five days.
EXTRA_DAYS_OFF: Final[frozenset[date]] = frozenset(
    {
        date(2025, 1, 27),  # Tết 2025 for public servants: 25 Jan - 2 Feb
        date(2025, 5, 2),  # swapped with Sat 26 April 2025
        date(2026, 2, 16),  # Tết 2026 for public servants: 14 - 22 Feb
        date(2026, 2, 17),
        date(2026, 2, 18),
        date(2026, 2, 19),
        date(2026, 2, 20),
        date(2026, 8, 31),  # swapped with Sat 22 August 2026
    }
)
SATURDAYS_WORKED: Final[frozenset[date]] = frozenset({date(2025, 4, 26), date(2026, 8, 22)})


@lru_cache(maxsize=16)
def _public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("VN", years=year))


def is_working_day(day: date) -> bool:
    """True on a day the ward's one-stop desk counts towards a statutory time."""
    if day in SATURDAYS_WORKED:
        return True
    if day.weekday() >= 5 or day in EXTRA_DAYS_OFF:
        return False
    return day not in _public_holidays(day.year)


def add_working_days(start: date, days: int) -> date:
    """The day on which ``days`` working days after ``start`` have elapsed.

    Counting starts on the first working day after ``start`` (the day a file
    is received does not count), so a file received on a holiday or a
    weekend starts on the next working day.
    """
    if days < 0:
        raise ValueError("days must be >= 0")
    current, left = start, days
    while left:
        current += timedelta(days=1)
        if is_working_day(current):
            left -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
    count, current = 0, start
    while current < end:
        current += timedelta(days=1)
        count += is_working_day(current)
    return count


def working_days_in(first: date, last: date) -> list[date]:
    """Every working day from ``first`` to ``last`` inclusive, in order."""
    out, current = [], first
    while current <= last:
        if is_working_day(current):
            out.append(current)
        current += timedelta(days=1)
    return out

"""The working-day calendar of 2025–2026, written out day by day.

Statutory deadlines count working days, so a day that silently turns into a day off (or
back) moves every due date near it.  The days off come from the statutory calendar's
settings (``config.tables.CALENDAR_TABLE``: Labour Code Art. 112 rules, the official Tết and
swap tables); this test fails if a row changes what the service counts.  The lists below
were checked against DOMAIN.md ("Working days") and the official notices the rows cite.
"""

from __future__ import annotations

from datetime import date, timedelta

from certificates.deadlines import calendar
from config.tables import CALENDAR_TABLE, CERTIFICATES_TABLE

WEEKDAYS_OFF = [
    # 2025
    date(2025, 1, 1),   # New Year's Day (Labour Code 2019 Art. 112)
    date(2025, 1, 27),  # Tết for public servants 25 Jan–2 Feb 2025 (override; 29 Chạp)
    date(2025, 1, 28),  # Tết: New Year's Eve (Art. 112, Tết 5 days)
    date(2025, 1, 29),  # Tết: 1st day of the lunar year (Art. 112)
    date(2025, 1, 30),  # Tết: 2nd day (Art. 112)
    date(2025, 1, 31),  # Tết: 3rd day (Art. 112); the 4th day falls on Saturday 1 Feb
    date(2025, 4, 7),   # Hùng Kings' day, 10/3 lunar (Art. 112)
    date(2025, 4, 30),  # Reunification Day (Art. 112)
    date(2025, 5, 1),   # International Labour Day (Art. 112)
    date(2025, 5, 2),   # swap: Friday off, Saturday 26 April worked (override table)
    date(2025, 9, 1),   # National Day's adjacent day (Art. 112: 2/9 plus an adjacent day)
    date(2025, 9, 2),   # National Day (Art. 112)
    # 2026
    date(2026, 1, 1),   # New Year's Day (Art. 112)
    date(2026, 2, 16),  # Tết for public servants 14–22 Feb 2026; New Year's Eve (Art. 112)
    date(2026, 2, 17),  # Tết: 1st day (Art. 112)
    date(2026, 2, 18),  # Tết: 2nd day (Art. 112)
    date(2026, 2, 19),  # Tết: 3rd day (Art. 112)
    date(2026, 2, 20),  # Tết: 4th day (Art. 112)
    date(2026, 4, 27),  # Hùng Kings' day falls on Sunday 26 April: moved to Monday (Art. 112)
    date(2026, 4, 30),  # Reunification Day (Art. 112)
    date(2026, 5, 1),   # International Labour Day (Art. 112)
    date(2026, 8, 31),  # swap: Monday off, Saturday 22 August worked (override table)
    date(2026, 9, 1),   # National Day's adjacent day (Art. 112)
    date(2026, 9, 2),   # National Day (Art. 112)
]

WEEKEND_DAYS_WORKED = [
    date(2025, 4, 26),  # Saturday worked in exchange for Friday 2 May 2025 (override table)
    date(2026, 8, 22),  # Saturday worked in exchange for Monday 31 August 2026 (override table)
]


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def test_days_off_and_weekend_days_worked_in_2025_and_2026_are_pinned() -> None:
    cal = calendar(CERTIFICATES_TABLE, CALENDAR_TABLE)
    days = _days(date(2025, 1, 1), date(2026, 12, 31))
    weekdays_off = [d for d in days if d.weekday() < 5 and not cal.is_working_day(d)]
    weekend_worked = [d for d in days if d.weekday() >= 5 and cal.is_working_day(d)]
    assert weekdays_off == WEEKDAYS_OFF
    assert weekend_worked == WEEKEND_DAYS_WORKED
    # what that makes of each year: 261 and 261 weekdays, less the days off, plus Saturdays
    assert len(cal.working_days_in(date(2025, 1, 1), date(2025, 12, 31))) == 261 - 12 + 1
    assert len(cal.working_days_in(date(2026, 1, 1), date(2026, 12, 31))) == 261 - 12 + 1


def test_vietnam_culture_day_2026_is_a_working_day() -> None:
    """24 November 2026 (a Tuesday): no legal act makes it a day off (see calendar.toml)."""
    cal = calendar(CERTIFICATES_TABLE, CALENDAR_TABLE)
    assert cal.is_working_day(date(2026, 11, 24))
    assert cal.days.why_off(date(2026, 11, 24)) is None

"""The statutory calendar's rows cross-checked against the ``holidays`` package.

The service never reads the package (it follows the law's rows in ``config/calendar.toml``);
this test compares the two for 2024-2030 so that a lunar date typed wrong, or a notice the
package knows and the settings miss, shows up.  Every difference must be one the settings
explain: a day the package gives off that no Vietnamese legal act does (Vietnam Culture Day),
or weekend days the package lists inside Tết.
"""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest

from certificates.deadlines import calendar
from config.tables import CALENDAR_TABLE, CERTIFICATES_TABLE

YEARS = range(2024, 2031)


def _weekdays(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [d for d in (first + timedelta(n) for n in range(366))
            if d.year == year and d.weekday() < 5]


@pytest.mark.parametrize("year", YEARS)
def test_lunar_rows_match_the_package(year: int) -> None:
    """The first day of the lunar year and Hùng Kings' day agree with the package."""
    cal = calendar(CERTIFICATES_TABLE, CALENDAR_TABLE).days
    new_year, hung_kings = cal.lunar[year]
    names = {d: n for d, n in holidays.country_holidays("VN", years=year,
                                                        language="en_US").items()}
    assert names[new_year] == "Lunar New Year"
    assert names[hung_kings] == "Hung Kings' Commemoration Day"


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_weekdays_off_match_the_package_but_for_culture_day(year: int) -> None:
    """In years with official notices, the weekdays off agree day by day, except
    24 November, which the package adds from 2026 citing a Party resolution and the law
    does not (yet) give off."""
    ours = {d for d in _weekdays(year)
            if not calendar(CERTIFICATES_TABLE, CALENDAR_TABLE).is_working_day(d)}
    pkg = {d for d in holidays.country_holidays("VN", years=year) if d.weekday() < 5}
    assert ours - pkg == set()
    assert pkg - ours == ({date(2026, 11, 24)} if year == 2026 else set())

"""The statutory working-day calendar, computed from dated settings (``config/calendar.toml``).

A day is a working day of the one-stop desk unless the law or an official notice made
under it gives it off: the weekly rest days (Decision 188/1999/QĐ-TTg), the public holidays
of Labour Code 2019 Art. 112(1) moved by Art. 111(3) when they fall on a rest day, the Tết
days and the National Day's adjacent day the Prime Minister fixes each year (Art. 112(3)),
and the official day swaps.  A day the law does not give off is a working day (24 November
2026 is one: no legal act making Vietnam Culture Day a day off was found).

Every day off carries the name and source of the row that makes it so (:meth:`why_off`), so
a due date can be explained.  Pure: no database, no ``holidays`` package (tests use that
only as a cross-check).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Any


class CalendarError(ValueError):
    """The calendar settings cannot answer: a year without lunar dates, a malformed row."""


@dataclass(frozen=True)
class DayOff:
    """Why a day is off: the holiday's names and the row's legal source."""

    day: date
    name_vi: str
    name_en: str
    source: str


@dataclass(frozen=True)
class SolarHoliday:
    month: int
    day: int
    name_vi: str
    name_en: str
    valid_from: date
    valid_to: date | None
    source: str

    def on(self, year: int) -> date | None:
        d = date(year, self.month, self.day)
        if d < self.valid_from or (self.valid_to is not None and d >= self.valid_to):
            return None
        return d


@dataclass(frozen=True)
class Row:
    """A yearly row of an official table (Tết days, the National Day's adjacent day)."""

    days: tuple[date, ...]
    source: str


@dataclass(frozen=True)
class StatutoryCalendar:
    """Days off by year, built from the settings' rows."""

    rest_weekdays: frozenset[int]
    rest_source: str
    compensate: bool
    compensation_source: str
    solar: tuple[SolarHoliday, ...]
    lunar: Mapping[int, tuple[date, date]]
    """year -> (first day of the lunar year, 10th day of the 3rd lunar month)"""
    tet: Mapping[int, Row]
    national_day: Mapping[int, Row]
    swaps_off: Mapping[date, str]
    swaps_worked: Mapping[date, str]
    version: str = ""
    timezone: str = "Asia/Ho_Chi_Minh"
    _years: dict[int, dict[date, DayOff]] = field(default_factory=dict, compare=False,
                                                  repr=False)

    # -- the questions ------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        if day in self.swaps_worked:
            return True
        if day.weekday() in self.rest_weekdays:
            return False
        return day not in self.days_off(day.year)

    def why_off(self, day: date) -> DayOff | None:
        """The reason ``day`` is not a working day (None when it is one)."""
        if self.is_working_day(day):
            return None
        if day.weekday() in self.rest_weekdays and day not in self.days_off(day.year):
            return DayOff(day, "ngày nghỉ hằng tuần", "weekly rest day", self.rest_source)
        return self.days_off(day.year)[day]

    def days_off(self, year: int) -> Mapping[date, DayOff]:
        """Every weekday given off in ``year`` (rest days are not listed), with its reason."""
        if year not in self._years:
            self._years[year] = self._build(year)
        return self._years[year]

    @cached_property
    def years(self) -> tuple[int, int]:
        """The first and last year the lunar table covers."""
        return min(self.lunar), max(self.lunar)

    # -- building a year ----------------------------------------------------------------

    def _build(self, year: int) -> dict[date, DayOff]:
        if year not in self.lunar:
            first, last = self.years
            raise CalendarError(
                f"the statutory calendar has no lunar dates for {year} (it covers {first}-"
                f"{last}): add the year's [[lunar]] row to the calendar settings")
        new_year, hung_kings = self.lunar[year]
        art112: list[DayOff] = []
        for sh in self.solar:
            d = sh.on(year)
            if d is not None:
                art112.append(DayOff(d, sh.name_vi, sh.name_en, sh.source))
        nd = self.national_day.get(year)
        if nd is not None:
            art112 += [DayOff(d, "Quốc khánh (ngày liền kề)", "National Day (adjacent day)",
                              nd.source) for d in nd.days]
        else:
            art112.append(DayOff(date(year, 9, 1), "Quốc khánh (ngày liền kề)",
                                 "National Day (adjacent day, provisional: no notice row)",
                                 "Labour Code 2019 Art. 112(1)(đ): the day before 2 September "
                                 "until the year's notice fixes it"))
        art112.append(DayOff(hung_kings, "Giỗ Tổ Hùng Vương", "Hùng Kings' Commemoration Day",
                             "Labour Code 2019 Art. 112(1)(e): 10th day of the 3rd lunar month"))
        tet = self.tet.get(year)
        if tet is None:  # the lunar year's last day and the new year's first four days
            art112 += [DayOff(new_year + timedelta(days=k), "Tết Âm lịch",
                              "Lunar New Year (provisional: no official table row)",
                              "Labour Code 2019 Art. 112(1)(b): five days")
                       for k in range(-1, 4)]
        off: dict[date, DayOff] = {}
        taken: set[date] = set()
        for h in sorted(art112, key=lambda x: x.day):
            if h.day.year != year:
                continue
            day = h.day
            if day.weekday() in self.rest_weekdays and self.compensate:
                day = self._next_free(day, taken | {x.day for x in art112})
                h = DayOff(day, f"{h.name_vi} (nghỉ bù)", f"{h.name_en} (compensated)",
                           f"{h.source}; {self.compensation_source}")
            taken.add(day)
            if day.weekday() not in self.rest_weekdays:
                off[day] = h
        if tet is not None:
            for d in tet.days:
                off[d] = DayOff(d, "Tết Âm lịch", "Lunar New Year", tet.source)
        for d, source in self.swaps_off.items():
            if d.year == year:
                off[d] = DayOff(d, "ngày nghỉ hoán đổi", "day off swapped with a rest day",
                                source)
        return dict(sorted(off.items()))

    def _next_free(self, day: date, taken: set[date]) -> date:
        d = day + timedelta(days=1)
        while d.weekday() in self.rest_weekdays or d in taken:
            d += timedelta(days=1)
        return d


def calendar_from(data: Mapping[str, Any]) -> StatutoryCalendar:
    """Build the calendar from a mapping shaped like ``config/calendar.toml``; refuse gaps."""
    try:
        rest = data["weekly_rest"]
        comp = data.get("compensation", {})
        solar = tuple(SolarHoliday(int(r["month"]), int(r["day"]), str(r["name_vi"]),
                                   str(r["name_en"]), r["valid_from"], r.get("valid_to"),
                                   str(r["source"])) for r in data.get("solar_holidays", []))
        lunar = {int(r["year"]): (r["new_year"], r["hung_kings"]) for r in data["lunar"]}
        tet = {int(r["year"]): Row(tuple(r["days"]), str(r["source"]))
               for r in data.get("tet", [])}
        national = {int(r["year"]): Row((r["adjacent"],), str(r["source"]))
                    for r in data.get("national_day", [])}
        off = {r["day_off"]: str(r["source"]) for r in data.get("swaps", [])}
        worked = {r["day_worked"]: str(r["source"]) for r in data.get("swaps", [])}
        cal = StatutoryCalendar(
            rest_weekdays=frozenset(int(d) for d in rest["weekdays"]),
            rest_source=str(rest["source"]), compensate=bool(comp.get("next_working_day")),
            compensation_source=str(comp.get("source", "")), solar=solar, lunar=lunar, tet=tet,
            national_day=national, swaps_off=off, swaps_worked=worked,
            version=str(data["settings"]["version"]),
            timezone=str(data["settings"].get("timezone", "Asia/Ho_Chi_Minh")))
    except (KeyError, TypeError, ValueError) as exc:
        raise CalendarError(f"calendar settings are incomplete or malformed: {exc!r} "
                            "(see config/calendar.toml)") from exc
    for y, (ny, hk) in lunar.items():
        if not (isinstance(ny, date) and isinstance(hk, date)) or ny.year != y or hk.year != y:
            raise CalendarError(f"lunar row {y}: new_year and hung_kings must be dates of {y}")
    for y, row in tet.items():
        if len(row.days) != 5 or any(d.weekday() in cal.rest_weekdays for d in row.days):
            raise CalendarError(f"Tết {y}: five working weekdays expected (Art. 112(1)(b))")
    for d in worked:
        if d.weekday() not in cal.rest_weekdays:
            raise CalendarError(f"swap: {d} is worked in exchange but is not a rest day")
    return cal

"""Statutory processing times and working-day arithmetic: the one place for both.

Processing times of land procedures are counted in working days from a complete file
(DOMAIN.md, "First-time certificate procedure").  The figures are dated settings with
their legal source (``config/certificates.toml``): the row in force on the day the file
became complete applies, and a provincial row (a province's own decision under Decree
49/2026) replaces the national one where both are in force.  Which days are working days
is the statutory calendar's (:mod:`certificates.calendar`, ``config/calendar.toml``).

Pure functions with no database, so that the demo generator (``data/``) counts days
exactly as the service does.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from certificates.calendar import StatutoryCalendar
from certificates.calendar import calendar_from as statutory_calendar_from
from config.tables import CALENDAR_TABLE, CERTIFICATES_TABLE


def settings_path() -> Path:
    """``CADASTRE_CERTIFICATES_FILE`` when set (an administrator's copy), else the shipped
    ``config/certificates.toml`` (deadlines, excluded periods, verification rules)."""
    return Path(os.environ.get("CADASTRE_CERTIFICATES_FILE") or CERTIFICATES_TABLE)


def calendar_path() -> Path:
    """``CADASTRE_CALENDAR_FILE`` when set, else the shipped ``config/calendar.toml``."""
    return Path(os.environ.get("CADASTRE_CALENDAR_FILE") or CALENDAR_TABLE)


@lru_cache(maxsize=8)
def read_settings(path: Path | None = None) -> dict[str, Any]:
    """The parsed settings file (cached: it changes only with a deployment)."""
    with open(path or settings_path(), "rb") as fh:
        return tomllib.load(fh)


class DeadlineError(ValueError):
    """No statutory time is set for this procedure on this date."""


@dataclass(frozen=True)
class StatutoryTime:
    """A processing time in force from ``valid_from`` (inclusive) to ``valid_to`` (exclusive).

    ``level`` is ``national`` (a decree) or ``province`` (the province's own decision under
    Decree 49/2026/NĐ-CP): a provincial row in force replaces the national one.
    """

    procedure: str
    working_days: int
    valid_from: date
    valid_to: date | None
    source: str
    level: str = "national"
    uncertain: bool = False

    def in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


@dataclass(frozen=True)
class StepTime:
    """A dated figure of one step: the posting's calendar days, the survey's working days."""

    step: str
    days: int
    unit: str
    """``calendar`` or ``working`` days."""
    valid_from: date
    valid_to: date | None
    source: str
    uncertain: bool = False

    def in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


@dataclass(frozen=True)
class Calendar:
    """Working-day arithmetic on the statutory calendar, and the dated statutory times."""

    days: StatutoryCalendar
    times: tuple[StatutoryTime, ...]
    steps: tuple[StepTime, ...] = ()
    excluded: tuple[str, ...] = ()
    """Kinds of period the count leaves out (Decree 151/2025 Annex I)."""
    excluded_source: str = ""
    remote_extra_days: int = 0
    due_soon_working_days: int = 5
    timezone: str = "Asia/Ho_Chi_Minh"
    earliest_receipt: date | None = None
    """No receipt may be dated before this day (settings ``earliest_receipt``)."""

    # -- days ---------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        """True on a day the ward's one-stop desk counts towards a statutory time."""
        return self.days.is_working_day(day)

    def add_working_days(self, start: date, days: int) -> date:
        """The day on which ``days`` working days after ``start`` have elapsed.

        The day of receipt does not count, so a file received on a weekend or holiday
        starts on the next working day.
        """
        if days < 0:
            raise ValueError("days must be >= 0")
        current, left = start, days
        while left:
            current += timedelta(days=1)
            if self.is_working_day(current):
                left -= 1
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
        count, current = 0, start
        while current < end:
            current += timedelta(days=1)
            count += self.is_working_day(current)
        return count

    def working_days_in(self, first: date, last: date) -> list[date]:
        """Every working day from ``first`` to ``last`` inclusive, in order."""
        out, current = [], first
        while current <= last:
            if self.is_working_day(current):
                out.append(current)
            current += timedelta(days=1)
        return out

    # -- statutory times ----------------------------------------------------------------

    def statutory_time(self, procedure: str, received_on: date) -> StatutoryTime:
        """The processing time in force for ``procedure`` on ``received_on``: the province's
        row where one is in force, else the national one."""
        found = [t for t in self.times if t.procedure == procedure and t.in_force(received_on)]
        for level in ("province", "national"):
            for t in found:
                if t.level == level:
                    return t
        raise DeadlineError(f"no statutory processing time is set for {procedure!r} on "
                            f"{received_on.isoformat()}: add one to the certificates settings")

    def step_time(self, step: str, on: date) -> StepTime:
        """The dated figure of a step (``posting``, ``survey_extract``) in force on ``on``."""
        for t in self.steps:
            if t.step == step and t.in_force(on):
                return t
        raise DeadlineError(f"no figure is set for the step {step!r} on {on.isoformat()}: "
                            "add one to the certificates settings")

    def due_date(self, procedure: str, received_on: date, *, paused_working_days: int = 0) -> date:
        """Due date of a file complete on ``received_on``, extended by working days the
        clock was stopped."""
        t = self.statutory_time(procedure, received_on)
        return self.add_working_days(
            received_on, t.working_days + self.remote_extra_days + paused_working_days)

    def local_date(self, moment: datetime) -> date:
        """The ward's calendar date of a moment (a file received at 23:30 UTC is tomorrow)."""
        if moment.tzinfo is None:
            return moment.date()
        return moment.astimezone(ZoneInfo(self.timezone)).date()


def calendar_from(data: dict[str, Any], days: StatutoryCalendar) -> Calendar:
    """Build from a settings mapping shaped like ``config/certificates.toml`` and the
    statutory calendar."""
    dl = data.get("deadlines", {})
    times = tuple(StatutoryTime(procedure=p["procedure"], working_days=int(p["working_days"]),
                                valid_from=p["valid_from"], valid_to=p.get("valid_to"),
                                source=p["source"], level=p.get("level", "national"),
                                uncertain=bool(p.get("uncertain", False)))
                  for p in dl.get("procedures", []))
    for t in times:
        if t.working_days <= 0:
            raise DeadlineError(f"{t.procedure}: working_days must be positive")
        if t.level not in ("national", "province"):
            raise DeadlineError(f"{t.procedure}: level must be national or province")
    steps = tuple(StepTime(step=r["step"], days=int(r["days"]), unit=r["unit"],
                           valid_from=r["valid_from"], valid_to=r.get("valid_to"),
                           source=r["source"], uncertain=bool(r.get("uncertain", False)))
                  for r in dl.get("steps", []))
    for st in steps:
        if st.unit not in ("calendar", "working") or st.days <= 0:
            raise DeadlineError(f"step {st.step}: unit calendar|working and positive days")
    ex = dl.get("excluded", {})
    return Calendar(days=days, times=times, steps=steps, excluded=tuple(ex.get("kinds", ())),
                    excluded_source=str(ex.get("source", "")),
                    remote_extra_days=int(dl.get("remote_extra_days", 0)),
                    due_soon_working_days=int(dl.get("due_soon_working_days", 5)),
                    timezone=data.get("settings", {}).get("timezone", "Asia/Ho_Chi_Minh"),
                    earliest_receipt=data.get("settings", {}).get("earliest_receipt"))


@lru_cache(maxsize=4)
def calendar(path: Path | None = None, days_path: Path | None = None) -> Calendar:
    """The calendar of the settings files in use."""
    return calendar_from(read_settings(path),
                         statutory_calendar_from(read_settings(days_path or calendar_path())))


def is_working_day(day: date) -> bool:
    return calendar().is_working_day(day)


def add_working_days(start: date, days: int) -> date:
    return calendar().add_working_days(start, days)


def working_days_between(start: date, end: date) -> int:
    return calendar().working_days_between(start, end)


def working_days_in(first: date, last: date) -> list[date]:
    return calendar().working_days_in(first, last)


def statutory_days(procedure: str, received_on: date) -> int:
    """Working days allowed for ``procedure`` received on ``received_on``."""
    return calendar().statutory_time(procedure, received_on).working_days

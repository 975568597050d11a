"""Statutory processing times and the working-day calendar: the one place for both.

Processing times of land procedures are counted in working days from a complete file
(DOMAIN.md, "First-time certificate procedure").  The figures are dated settings with
their legal source (``config/certificates.toml``): the one in force on the day of receipt
applies.  Working days exclude weekends and the public holidays of the ``holidays``
package's Vietnam calendar; the government's dated day swaps and the public servants'
wider Tết are overrides in the same settings file, since the package knows no swaps.

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

import holidays

from config.tables import CERTIFICATES_TABLE


def settings_path() -> Path:
    """``CADASTRE_CERTIFICATES_FILE`` when set (an administrator's copy), else the shipped
    ``config/certificates.toml`` (deadlines, calendar overrides, verification rules)."""
    return Path(os.environ.get("CADASTRE_CERTIFICATES_FILE") or CERTIFICATES_TABLE)


@lru_cache(maxsize=4)
def read_settings(path: Path | None = None) -> dict[str, Any]:
    """The parsed settings file (cached: it changes only with a deployment)."""
    with open(path or settings_path(), "rb") as fh:
        return tomllib.load(fh)


class DeadlineError(ValueError):
    """No statutory time is set for this procedure on this date."""


@dataclass(frozen=True)
class StatutoryTime:
    """A processing time in force from ``valid_from`` (inclusive) to ``valid_to`` (exclusive)."""

    procedure: str
    working_days: int
    valid_from: date
    valid_to: date | None
    source: str

    def in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


@dataclass(frozen=True)
class Calendar:
    """Working days: weekends and public holidays off, with dated overrides."""

    days_off: frozenset[date]
    days_worked: frozenset[date]
    times: tuple[StatutoryTime, ...]
    remote_extra_days: int = 0
    due_soon_working_days: int = 5
    timezone: str = "Asia/Ho_Chi_Minh"
    earliest_receipt: date | None = None
    """No receipt may be dated before this day (settings ``earliest_receipt``)."""

    # -- days ---------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        """True on a day the ward's one-stop desk counts towards a statutory time."""
        if day in self.days_worked:
            return True
        if day.weekday() >= 5 or day in self.days_off:
            return False
        return day not in _public_holidays(day.year)

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
        """The processing time in force for ``procedure`` on the day of receipt."""
        for t in self.times:
            if t.procedure == procedure and t.in_force(received_on):
                return t
        raise DeadlineError(f"no statutory processing time is set for {procedure!r} on "
                            f"{received_on.isoformat()}: add one to the certificates settings")

    def due_date(self, procedure: str, received_on: date, *, paused_working_days: int = 0) -> date:
        """Due date of a file received on ``received_on``, extended by days spent waiting."""
        t = self.statutory_time(procedure, received_on)
        return self.add_working_days(
            received_on, t.working_days + self.remote_extra_days + paused_working_days)

    def local_date(self, moment: datetime) -> date:
        """The ward's calendar date of a moment (a file received at 23:30 UTC is tomorrow)."""
        if moment.tzinfo is None:
            return moment.date()
        return moment.astimezone(ZoneInfo(self.timezone)).date()


@lru_cache(maxsize=16)
def _public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("VN", years=year))


def calendar_from(data: dict[str, Any]) -> Calendar:
    """Build the calendar from a settings mapping shaped like ``config/certificates.toml``."""
    dl = data.get("deadlines", {})
    off = {o["date"] for o in dl.get("overrides", []) if not o["working"]}
    worked = {o["date"] for o in dl.get("overrides", []) if o["working"]}
    times = tuple(StatutoryTime(procedure=p["procedure"], working_days=int(p["working_days"]),
                                valid_from=p["valid_from"], valid_to=p.get("valid_to"),
                                source=p["source"]) for p in dl.get("procedures", []))
    for t in times:
        if t.working_days <= 0:
            raise DeadlineError(f"{t.procedure}: working_days must be positive")
    return Calendar(days_off=frozenset(off), days_worked=frozenset(worked), times=times,
                    remote_extra_days=int(dl.get("remote_extra_days", 0)),
                    due_soon_working_days=int(dl.get("due_soon_working_days", 5)),
                    timezone=data.get("settings", {}).get("timezone", "Asia/Ho_Chi_Minh"),
                    earliest_receipt=data.get("settings", {}).get("earliest_receipt"))


@lru_cache(maxsize=4)
def calendar(path: Path | None = None) -> Calendar:
    """The calendar of the settings file in use."""
    return calendar_from(read_settings(path))


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

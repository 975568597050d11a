"""The service's one clock: every "now" and "today" of the ward is read here.

A statutory date (received, due, decided) is a date in the ward's time zone, not the host's:
a decision at 23:30 UTC falls on the ward's next day.  So nothing in the service calls
``date.today()``, ``datetime.now()`` or the database's ``now()`` for an instant it stores or
counts days from; it calls :func:`now` and passes the instant into its SQL.

Tests set the clock with ``time-machine``, which moves what :func:`now` reads.  A deployment
may start the clock at another instant (``CADASTRE_CLOCK_START``, ISO 8601 with an offset):
the demo ward's files are dated 2025, so the demo runs its clock from the end of the seed's
period and time then moves on normally from there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

WARD_TIMEZONE: Final = ZoneInfo("Asia/Ho_Chi_Minh")
"""Kim Long's time zone (UTC+7, no daylight saving): the ward's dates are taken here."""

_offset = timedelta(0)


def now() -> datetime:
    """The current instant, timezone-aware (UTC), shifted when the clock was started elsewhere."""
    return datetime.now(UTC) + _offset


def ward_date(moment: datetime) -> date:
    """The ward's calendar date of an instant (a naive instant is taken as the ward's time)."""
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(WARD_TIMEZONE).date()


def today() -> date:
    """The ward's date now."""
    return ward_date(now())


def start_at(moment: datetime | None) -> None:
    """Run the clock from ``moment`` onwards (``None``: the real time again).

    Only an entry point calls this (the demo, ``CADASTRE_CLOCK_START``): the service reads
    the shifted instant everywhere through :func:`now`.
    """
    global _offset
    if moment is not None and moment.tzinfo is None:
        raise ValueError("the clock's start needs a UTC offset, e.g. 2025-08-26T08:00:00+07:00")
    _offset = timedelta(0) if moment is None else moment - datetime.now(UTC)


def start_from_environment() -> None:
    """Apply ``CADASTRE_CLOCK_START`` when it is set (called once by each entry point)."""
    value = os.environ.get("CADASTRE_CLOCK_START")
    if value:
        start_at(datetime.fromisoformat(value))


@contextmanager
def running_at(moment: datetime) -> Iterator[None]:
    """Run the clock from ``moment`` inside the block, then as it was before (the demo
    loader stamps the synthetic registry at a fixed instant before the demo's "today")."""
    global _offset
    saved = _offset
    start_at(moment)
    try:
        yield
    finally:
        _offset = saved

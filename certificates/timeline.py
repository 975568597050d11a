"""The statutory clock of one file, recomputed from its stored events.

Decree 151/2025/NĐ-CP counts a procedure's working days from a **complete** file and leaves
out the public posting, the financial obligations, the handling of violations, expert
assessment and inheritance division; a file waiting for the applicant's supplement is not
complete.  Each such period is a start event and an end event in ``application_event``; the
working days after the start day up to and including the end day are not counted.  The
posting is 15 calendar days from the day after it opens (Civil Code 2015 Art. 147–148):
closing it late does not stretch the excluded period.

:func:`compute` is pure: the procedure, the day of receipt, the events (action, ward date,
detail) and today in; the due date, the working days counted, left or overdue, and each
excluded period out.  ``application.due_on`` is only this answer stored at every transition
so that the queue can filter and sort on it; nothing else sets it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final

from certificates.deadlines import Calendar, StatutoryTime

# Which events open and close each excluded period (kind: (opening actions, closing actions)).
PERIODS: Final[Mapping[str, tuple[frozenset[str], frozenset[str]]]] = {
    "waiting_applicant": (frozenset({"request_supplement"}), frozenset({"supplement_received"})),
    "public_posting": (frozenset({"open_posting"}), frozenset({"close_posting"})),
    "financial_obligations": (frozenset({"send_tax_info"}), frozenset({"obligations_met"})),
}
STOP: Final = "stop_clock"
RESUME: Final = "resume_clock"
"""The other excluded kinds (violation handling, expert assessment, inheritance division)
open with ``stop_clock`` (its ``kind`` in the detail) and close with ``resume_clock``."""


@dataclass(frozen=True)
class Event:
    """What the clock reads of a stored event: the act, the ward's date, its detail."""

    action: str
    day: date
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Period:
    """An excluded period: its kind, the day it opened, the day it closed (None: open), and
    the last day it excludes (the planned end of an open posting, today for another open
    period)."""

    kind: str
    start: date
    end: date | None
    excludes_through: date
    working_days: int

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "start": self.start.isoformat(),
                "end": self.end.isoformat() if self.end else None,
                "excludes_through": self.excludes_through.isoformat(),
                "working_days": self.working_days}


@dataclass(frozen=True)
class Clock:
    """Where a file stands against its statutory time."""

    statutory: StatutoryTime
    complete_on: date | None
    """The day the file became complete (None: still waiting for the applicant)."""
    due_on: date
    counted: int
    """Working days counted so far (up to today, or up to the day the result was returned)."""
    left: int
    """Working days left until the due date; negative when overdue."""
    running: bool
    """False while an excluded period is open (the file is not overdue then)."""
    stopped_by: str | None
    periods: tuple[Period, ...]
    excluded_working_days: int
    posting_ends_on: date | None = None
    survey_due_on: date | None = None

    @property
    def overdue_days(self) -> int:
        """Working days past the due date (0 when not overdue or the clock is stopped)."""
        return max(0, -self.left) if self.running else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "due_on": self.due_on.isoformat(), "complete_on": self.complete_on.isoformat()
            if self.complete_on else None,
            "statutory_working_days": self.statutory.working_days,
            "statutory_source": self.statutory.source,
            "counted_working_days": self.counted, "working_days_left": self.left,
            "overdue_working_days": self.overdue_days, "clock_running": self.running,
            "stopped_by": self.stopped_by, "excluded_working_days": self.excluded_working_days,
            "excluded_periods": [p.as_dict() for p in self.periods],
            "posting_ends_on": self.posting_ends_on.isoformat() if self.posting_ends_on else None,
            "survey_due_on": self.survey_due_on.isoformat() if self.survey_due_on else None,
        }


def _periods(events: Sequence[Event], today: date, cal: Calendar) -> list[tuple[str, date,
                                                                               date | None]]:
    """(kind, start, end) of every excluded period, in order; ``end`` None while open."""
    out: list[tuple[str, date, date | None]] = []
    open_: dict[str, int] = {}
    for e in events:
        kind: str | None = None
        opening = closing = False
        for k, (starts, ends) in PERIODS.items():
            if e.action in starts:
                kind, opening = k, True
            elif e.action in ends:
                kind, closing = k, True
        if e.action == "receive" and e.detail.get("complete") is False:
            kind, opening = "waiting_applicant", True
        if e.action == STOP:
            kind, opening = str(e.detail.get("kind")), True
        if e.action == RESUME:
            kind = next((k for k in open_ if k not in PERIODS), None)
            closing = kind is not None
        if kind is None:
            continue
        if opening and kind not in open_:
            open_[kind] = len(out)
            out.append((kind, e.day, None))
        elif closing and kind in open_:
            i = open_.pop(kind)
            out[i] = (out[i][0], out[i][1], e.day)
    return out


def compute(*, procedure: str, received_on: date, events: Iterable[Event], today: date,
            cal: Calendar, returned_on: date | None = None) -> Clock:
    """The file's clock from its events, as of ``today`` (or the day its result went back)."""
    evs = sorted(events, key=lambda e: e.day)
    as_of = returned_on or today
    raw = _periods(evs, as_of, cal)
    periods: list[Period] = []
    excluded: set[date] = set()
    posting_end = None
    for kind, start, end in raw:
        if kind == "public_posting":
            posting = cal.step_time("public_posting", start)
            planned = start + timedelta(days=posting.days)
            through = planned if end is None else min(end, planned)
            posting_end = planned
        else:
            through = end if end is not None else max(as_of, start)
        days = {d for d in _days_after(start, through) if cal.is_working_day(d)}
        excluded |= days
        periods.append(Period(kind, start, end, through, len(days)))
    complete_on: date | None = received_on
    waits = [p for p in periods if p.kind == "waiting_applicant" and p.start == received_on]
    if waits:
        complete_on = waits[0].end  # None while the first supplement is awaited
    statutory = cal.statutory_time(procedure, complete_on or as_of)
    target = statutory.working_days + cal.remote_extra_days
    due, counted, n = received_on, 0, 0
    d = received_on
    while n < target:
        d += timedelta(days=1)
        if cal.is_working_day(d) and d not in excluded:
            n += 1
            if d <= as_of:
                counted += 1
    due = d
    open_periods = [p for p in periods if p.end is None]
    running = not open_periods
    left = -_working_days_after(due, as_of, cal, excluded) if as_of > due else \
        target - counted
    survey_due = None
    for e in evs:
        if e.action == "order_survey":
            survey = cal.step_time("survey_extract", e.day)
            survey_due = cal.add_working_days(e.day, survey.days)
    return Clock(statutory=statutory, complete_on=complete_on, due_on=due, counted=counted,
                 left=left, running=running,
                 stopped_by=open_periods[-1].kind if open_periods else None,
                 periods=tuple(periods), excluded_working_days=len(excluded),
                 posting_ends_on=posting_end, survey_due_on=survey_due)


def _days_after(start: date, through: date) -> list[date]:
    return [start + timedelta(days=k) for k in range(1, (through - start).days + 1)]


def _working_days_after(due: date, today: date, cal: Calendar, excluded: set[date]) -> int:
    return sum(1 for d in _days_after(due, today) if cal.is_working_day(d) and d not in excluded)

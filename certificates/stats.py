"""How the ward is doing: received, online share, finished on time or late, pending, overdue.

Computed from the stored applications only (never from constants), for files received
in a period.  Rates are shares of the files received in the period, as the ward
publishes them ("more than 92% finished on time, about 2.3% late").  A file is finished
when its result went back to the applicant (the certificate handed over, or the refusal)
and on time when that day is on or before its due date (which already leaves out the
excluded periods: the posting, the financial obligations, the waits for the applicant).
Overdue files are those not returned at the end of the period whose clock runs and whose
due date has passed.  ``origin`` keeps the desk's files or the inherited backlog only.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from certificates.deadlines import Calendar, calendar
from certificates.errors import InvalidApplication
from certificates.workflow import CLOCK_STOPPED, ORIGINS


@dataclass
class Figures:
    """Counts and rates of one group of applications."""

    received: int = 0
    online: int = 0
    finished: int = 0
    on_time: int = 0
    late: int = 0
    pending: int = 0
    overdue: int = 0
    online_share: float = 0.0
    on_time_rate: float = 0.0
    late_rate: float = 0.0
    median_processing_working_days: float | None = None
    _days: list[int] = field(default_factory=list, repr=False)

    def close(self) -> None:
        n = self.received or 1
        self.online_share = round(self.online / n, 4)
        self.on_time_rate = round(self.on_time / n, 4)
        self.late_rate = round(self.late / n, 4)
        self.median_processing_working_days = (float(statistics.median(self._days))
                                               if self._days else None)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("_days")
        return d


@dataclass(frozen=True)
class Stats:
    ward_code: str
    date_from: date
    date_to: date
    total: Figures
    by_procedure: dict[str, Figures]
    origin: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ward_code": self.ward_code, "from": self.date_from.isoformat(),
                "to": self.date_to.isoformat(), "origin": self.origin, **self.total.as_dict(),
                "by_procedure": {k: v.as_dict() for k, v in sorted(self.by_procedure.items())},
                "definitions": {
                    "period": "applications received from 'from' to 'to' inclusive "
                              "(ward local dates)",
                    "on_time_rate": "result returned (certificate handed over or refusal) on "
                                    "or before the due date, share of received",
                    "late_rate": "result returned after the due date, share of received",
                    "overdue": "not returned on 'to', due date passed, clock running",
                    "median_processing_working_days": "receipt to return, working days",
                    "origin": "desk (received here), inherited (former units' backlog) or "
                              "both when not given",
                }}


def application_stats(session: Session, *, ward_code: str, date_from: date, date_to: date,
                      origin: str | None = None, cal: Calendar | None = None) -> Stats:
    """Figures for the applications received between two dates (inclusive)."""
    if date_from > date_to:
        raise InvalidApplication("'from' is after 'to'", field="from")
    if origin is not None and origin not in ORIGINS:
        raise InvalidApplication(f"origin is {' or '.join(ORIGINS)}, not {origin!r}",
                                 field="origin")
    cal = cal or calendar()
    rows = session.execute(text(
        "SELECT procedure, channel, state, received_on, due_on, returned_at "
        "FROM application WHERE ward_code = :w AND received_on BETWEEN :a AND :b "
        "AND (CAST(:o AS text) IS NULL OR origin = :o)"),
        {"w": ward_code, "a": date_from, "b": date_to, "o": origin}).all()
    total = Figures()
    groups: dict[str, Figures] = defaultdict(Figures)
    for r in rows:
        decided = cal.local_date(r.returned_at) if r.returned_at is not None else None
        finished = decided is not None and decided <= date_to
        for fig in (total, groups[r.procedure]):
            fig.received += 1
            fig.online += r.channel == "online"
            if finished:
                assert decided is not None
                fig.finished += 1
                if decided <= r.due_on:
                    fig.on_time += 1
                else:
                    fig.late += 1
                fig._days.append(cal.working_days_between(r.received_on, decided))
            else:
                fig.pending += 1
                if r.state not in CLOCK_STOPPED and r.due_on < date_to:
                    fig.overdue += 1
    total.close()
    for fig in groups.values():
        fig.close()
    return Stats(ward_code=ward_code, date_from=date_from, date_to=date_to, total=total,
                 by_procedure=dict(groups), origin=origin)

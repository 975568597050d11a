"""Weekly figures of the one-stop desk: received and finished per week, and the on-time trend.

A week runs Monday to Sunday (ward dates).  *Received* counts the files received that
week; *finished* counts the files decided that week, whenever they were received, and
*on time* those of them decided on or before their due date (the due date already
carries the days the clock stood still).  Weeks are cut to the period asked for, so the
first and last may be short; each says how many days it covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from certificates.deadlines import Calendar, calendar
from certificates.errors import InvalidApplication
from db.engine import sql

FINISHED = ("approved", "rejected", "certificate_issued")
MAX_WEEKS = 260
"""Five years of weeks: a longer period is refused (the chart would be unreadable)."""


@dataclass(frozen=True)
class Week:
    start: date
    days: int
    received: int
    finished: int
    on_time: int

    @property
    def on_time_share(self) -> float | None:
        return round(self.on_time / self.finished, 4) if self.finished else None


def weekly(session: Session, *, ward_code: str, date_from: date, date_to: date,
           cal: Calendar | None = None) -> list[Week]:
    """One :class:`Week` per calendar week touching ``date_from``..``date_to`` (inclusive)."""
    if date_from > date_to:
        raise InvalidApplication("'from' is after 'to'", field="from")
    if (date_to - date_from).days > MAX_WEEKS * 7:
        raise InvalidApplication(f"a period of at most {MAX_WEEKS} weeks", field="to")
    cal = cal or calendar()
    first_monday = date_from - timedelta(days=date_from.weekday())
    n = (date_to - first_monday).days // 7 + 1
    received = [0] * n
    finished = [0] * n
    on_time = [0] * n
    # Decisions are instants; a day's decisions are those between its local midnights, so
    # the read takes a day more on each side and each is placed by its ward date.
    rows = session.execute(sql(
        "SELECT received_on, due_on, state, decided_at FROM application WHERE ward_code = :w "
        "AND (received_on BETWEEN :a AND :b OR (decided_at >= :a0 AND decided_at < :b1))"),
        {"w": ward_code, "a": date_from, "b": date_to, "a0": date_from - timedelta(days=1),
         "b1": date_to + timedelta(days=2)}).all()
    for r in rows:
        if date_from <= r.received_on <= date_to:
            received[(r.received_on - first_monday).days // 7] += 1
        if r.state in FINISHED and r.decided_at is not None:
            decided = cal.local_date(r.decided_at)
            if date_from <= decided <= date_to:
                k = (decided - first_monday).days // 7
                finished[k] += 1
                on_time[k] += decided <= r.due_on
    weeks = []
    for k in range(n):
        start = first_monday + timedelta(days=7 * k)
        lo, hi = max(start, date_from), min(start + timedelta(days=6), date_to)
        weeks.append(Week(start=lo, days=(hi - lo).days + 1, received=received[k],
                          finished=finished[k], on_time=on_time[k]))
    return weeks

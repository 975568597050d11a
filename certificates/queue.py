"""The land officer's queue: applications filtered and sorted, paged by position, not offset.

Paging is by *keyset*: a page ends at a (sort value, id) and the next page starts after
it.  Files received, decided or re-filtered while an officer reads the queue never shift
a row onto two pages or off every page, as an offset would.  Each row carries what the
queue shows: the working days left before the statutory due date (negative when
overdue; none while the clock stands still for the applicant or once decided) and the
verdict of the latest verification report.
"""

from __future__ import annotations

import base64
import json
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final, Literal

from sqlalchemy.orm import Session

from certificates.applications import CHANNELS, FINISHED, PENDING, PROCEDURES
from certificates.deadlines import Calendar, calendar
from certificates.errors import InvalidApplication
from config import clock
from db.engine import sql

SORTS: Final = {
    "due": "a.due_on",
    "received": "a.received_at",
    "key": "coalesce(a.application_key, '')",
    "applicant": "a.applicant_name",
}
"""Sortable columns (never null: a keyset on a nullable column would skip rows)."""
CLOCK_RUNNING: Final = tuple(s for s in PENDING if s != "waiting_applicant")
MAX_PAGE: Final = 200


@dataclass(frozen=True)
class QueueFilter:
    state: str | None = None
    overdue: bool = False
    due_within: int | None = None
    """Pending files due within this many working days from today (clock running)."""
    channel: str | None = None
    procedure: str | None = None
    received_from: date | None = None
    received_to: date | None = None
    text: str | None = None
    """A receipt number, or part of the applicant's name."""


@dataclass(frozen=True)
class QueueRow:
    id: int
    application_key: str
    procedure: str
    applicant_name: str
    channel: str
    state: str
    former_unit: str | None
    sheet_no: int | None
    parcel_no: int | None
    received_at: datetime
    due_on: date
    working_days_left: int | None
    verdict: str | None

    @property
    def overdue(self) -> bool:
        return self.working_days_left is not None and self.working_days_left < 0


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int
    next_cursor: str | None
    prev_cursor: str | None
    today: date


def encode_cursor(value: Any, row_id: int) -> str:
    raw = json.dumps([value.isoformat() if isinstance(value, date | datetime) else value,
                      row_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    """The (sort value, id) a page boundary names; InvalidApplication if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, row_id = json.loads(raw)
        if not isinstance(row_id, int) or not isinstance(value, str):
            raise ValueError
        if sort == "due":
            return date.fromisoformat(value), row_id
        if sort == "received":
            return datetime.fromisoformat(value), row_id
        return value, row_id
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise InvalidApplication("the page position in the link is not valid; start from the "
                                 "first page", field="after") from exc


def _check(f: QueueFilter, sort: str, limit: int) -> None:
    if sort not in SORTS:
        raise InvalidApplication(f"sort by one of {', '.join(SORTS)}", field="sort")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidApplication(f"a page has 1 to {MAX_PAGE} rows", field="limit")
    if f.state is not None and f.state not in (*PENDING, *FINISHED):
        raise InvalidApplication(f"unknown state {f.state!r}", field="state")
    if f.channel is not None and f.channel not in CHANNELS:
        raise InvalidApplication(f"unknown channel {f.channel!r}", field="channel")
    if f.procedure is not None and f.procedure not in PROCEDURES:
        raise InvalidApplication(f"unknown procedure {f.procedure!r}", field="procedure")
    if f.due_within is not None and not 0 <= f.due_within <= 60:
        raise InvalidApplication("due within 0 to 60 working days", field="due_within")
    if f.received_from and f.received_to and f.received_from > f.received_to:
        raise InvalidApplication("'received from' is after 'received to'", field="received_from")


def _where(f: QueueFilter, today: date, cal: Calendar) -> tuple[list[str], dict[str, Any]]:
    where = ["a.ward_code = :w"]
    params: dict[str, Any] = {}
    if f.state:
        where.append("a.state = :state")
        params["state"] = f.state
    if f.channel:
        where.append("a.channel = :channel")
        params["channel"] = f.channel
    if f.procedure:
        where.append("a.procedure = :procedure")
        params["procedure"] = f.procedure
    if f.overdue or f.due_within is not None:
        where.append("a.state = ANY(:running)")
        params["running"] = list(CLOCK_RUNNING)
    if f.overdue:
        where.append("a.due_on < :today")
        params["today"] = today
    if f.due_within is not None:
        where.append("a.due_on >= :today AND a.due_on <= :due_by")
        params["today"] = today
        params["due_by"] = cal.add_working_days(today, f.due_within)
    if f.received_from:
        where.append("a.received_on >= :rf")
        params["rf"] = f.received_from
    if f.received_to:
        where.append("a.received_on <= :rt")
        params["rt"] = f.received_to
    if f.text and f.text.strip():
        text = f.text.strip()
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append("(a.application_key = :key OR a.applicant_name ILIKE :like)")
        params.update(key=text, like=like)
    return where, params


def days_left(cal: Calendar, state: str, due: date, today: date,
              working: list[date] | None = None) -> int | None:
    """Working days until the due date, negative past it; None while the clock stands still
    (waiting for the applicant) or once the file is decided.  ``working``: the calendar's
    working days over a span holding both dates (a page counts from one list)."""
    if state not in CLOCK_RUNNING:
        return None
    first, last = min(due, today), max(due, today)
    if working is None:
        between = cal.working_days_between(first, last)
    else:  # working days after ``first`` up to and including ``last``
        between = bisect_right(working, last) - bisect_right(working, first)
    return between if due >= today else -between


def queue(session: Session, *, ward_code: str, filters: QueueFilter,
          sort: Literal["due", "received", "key", "applicant"] | str = "due",
          descending: bool = False, after: str | None = None, before: str | None = None,
          limit: int = 50, today: date | None = None, cal: Calendar | None = None) -> QueuePage:
    """One page of the queue: rows after the ``after`` cursor (or before ``before``)."""
    _check(filters, sort, limit)
    cal = cal or calendar()
    today = today or cal.local_date(clock.now())
    where, params = _where(filters, today, cal)
    params["w"] = ward_code
    column = SORTS[sort]
    total = int(session.execute(sql(
        f"SELECT count(*) FROM application a WHERE {' AND '.join(where)}"),
        params).scalar_one())
    backwards = before is not None
    page_where = list(where)
    if after is not None or before is not None:
        value, row_id = decode_cursor(after if after is not None else before or "", sort)
        # forwards past the boundary in the page's order; backwards the other way
        greater = descending == backwards
        page_where.append(f"({column}, a.id) {'>' if greater else '<'} (:cv, :cid)")
        params.update(cv=value, cid=row_id)
    way = "ASC" if descending == backwards else "DESC"
    order = f"{column} {way}, a.id {way}"
    # The page's rows first, then the latest verdict of those rows only: a LATERAL join
    # before the sort would probe the reports of every file the filter keeps.
    rows = session.execute(sql(
        "WITH page AS (SELECT a.id, a.application_key, a.procedure, a.applicant_name, "
        "a.channel, a.state, a.former_unit, a.sheet_no, a.parcel_no, a.received_at, a.due_on, "
        f"{column} AS sort_value FROM application a WHERE {' AND '.join(page_where)} "
        f"ORDER BY {order} LIMIT :lim) "
        "SELECT page.*, r.verdict FROM page LEFT JOIN LATERAL (SELECT verdict "
        "FROM verification_report v WHERE v.application_id = page.id "
        "ORDER BY v.id DESC LIMIT 1) r ON true "
        f"ORDER BY page.sort_value {way}, page.id {way}"),
        {**params, "lim": limit + 1}).all()
    more = len(rows) > limit
    rows = list(rows[:limit])
    if backwards:
        rows.reverse()
    dues = [r.due_on for r in rows]
    working = cal.working_days_in(min([*dues, today]), max([*dues, today])) if rows else []
    items = [QueueRow(id=r.id, application_key=r.application_key, procedure=r.procedure,
                      applicant_name=r.applicant_name, channel=r.channel, state=r.state,
                      former_unit=r.former_unit, sheet_no=r.sheet_no, parcel_no=r.parcel_no,
                      received_at=r.received_at, due_on=r.due_on,
                      working_days_left=days_left(cal, r.state, r.due_on, today, working),
                      verdict=r.verdict) for r in rows]
    first, last = (rows[0], rows[-1]) if rows else (None, None)
    has_next = more if not backwards else True
    has_prev = (after is not None) if not backwards else more
    return QueuePage(
        rows=items, total=total, today=today,
        next_cursor=encode_cursor(last.sort_value, last.id) if last and has_next else None,
        prev_cursor=encode_cursor(first.sort_value, first.id) if first and has_prev else None)

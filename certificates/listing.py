"""The API's listing of applications (filters, total, each file's statutory clock), their
events, pending claims for maps.  The pages' queue, paged by keyset, is
:mod:`certificates.queue`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from certificates import timeline
from certificates.deadlines import Calendar, calendar
from certificates.errors import (
    InvalidApplication,
)
from certificates.models import Application, ApplicationEvent
from certificates.workflow import (
    CLOCK_STOPPED,
    FINISHED,
    ORIGINS,
    PENDING,
    clocks_of,
    ward_today,
)
from gis import crs as gcrs

SORTS: Final = ("id", "due", "received")
"""``due``: by due date, the most overdue first (ties by id); ``received``: oldest first."""


@dataclass(frozen=True)
class AppPage:
    items: list[Application]
    limit: int
    offset: int
    has_more: bool
    total: int = 0
    """How many applications match the filters (all pages)."""
    clocks: dict[int, timeline.Clock] = field(default_factory=dict)
    """Each item's statutory clock: working days left, overdue, stopped."""


def list_applications(session: Session, *, ward_code: str, state: str | None = None,
                      overdue: bool = False, due_within: int | None = None,
                      received_from: date | None = None, received_to: date | None = None,
                      procedure: str | None = None, origin: str | None = None,
                      sort: str | None = None, today: date | None = None,
                      limit: int = 100, offset: int = 0, cal: Calendar | None = None) -> AppPage:
    """Applications filtered, with the total that match and each one's clock.

    ``overdue`` and ``due_within`` (working days) look at pending files whose clock runs: a
    file waiting for the applicant, posted publicly or waiting for the financial
    obligations is never overdue.  ``origin``: ``desk`` or ``inherited``.  ``sort``: ``id``
    (default), ``due`` (the most overdue first; the default of the overdue and due-soon
    lists) or ``received``.
    """
    cal = cal or calendar()
    if not 1 <= limit <= 1000:
        raise InvalidApplication("limit must be between 1 and 1000", field="limit")
    if offset < 0:
        raise InvalidApplication("offset must not be negative", field="offset")
    if state is not None and state not in (*PENDING, *FINISHED):
        raise InvalidApplication(f"unknown state {state!r}", field="state")
    if origin is not None and origin not in ORIGINS:
        raise InvalidApplication(f"origin is {' or '.join(ORIGINS)}, not {origin!r}",
                                 field="origin")
    if sort is not None and sort not in SORTS:
        raise InvalidApplication(f"sort is one of {', '.join(SORTS)}, not {sort!r}",
                                 field="sort")
    if due_within is not None and due_within < 0:
        raise InvalidApplication("due_within must not be negative", field="due_within")
    if received_from and received_to and received_from > received_to:
        raise InvalidApplication("received_from is after received_to", field="received_from")
    today = today or ward_today(cal)
    q = select(Application).where(Application.ward_code == ward_code)
    if state:
        q = q.where(Application.state == state)
    if procedure:
        q = q.where(Application.procedure == procedure)
    if origin:
        q = q.where(Application.origin == origin)
    clock_running = [s for s in PENDING if s not in CLOCK_STOPPED]
    if overdue:
        q = q.where(Application.state.in_(clock_running), Application.due_on < today)
    if due_within is not None:
        q = q.where(Application.state.in_(clock_running), Application.due_on >= today,
                    Application.due_on <= cal.add_working_days(today, due_within))
    if received_from:
        q = q.where(Application.received_on >= received_from)
    if received_to:
        q = q.where(Application.received_on <= received_to)
    sort = sort or ("due" if overdue or due_within is not None else "id")
    order = {"id": (Application.id,), "due": (Application.due_on, Application.id),
             "received": (Application.received_at, Application.id)}[sort]
    total = session.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    rows = list(session.execute(q.order_by(*order).limit(limit + 1).offset(offset)).scalars())
    items = rows[:limit]
    return AppPage(items=items, limit=limit, offset=offset, has_more=len(rows) > limit,
                   total=int(total), clocks=clocks_of(session, items, today=today, cal=cal))


def events(session: Session, *, application_id: int) -> list[ApplicationEvent]:
    return list(session.execute(select(ApplicationEvent).where(
        ApplicationEvent.application_id == application_id).order_by(ApplicationEvent.id)
    ).scalars())


def pending_claims(session: Session, *, ward_code: str,
                   bbox: tuple[float, float, float, float] | None = None,
                   application_id: int | None = None, limit: int = 100,
                   offset: int = 0, bbox_srid: int = gcrs.WGS84) -> tuple[list[Application], bool]:
    """Pending applications with a claimed geometry, optionally in a bbox (for maps/OGC; x/y
    order in ``bbox_srid``, WGS 84 by default)."""
    q = select(Application).where(Application.ward_code == ward_code,
                                  Application.state.in_(PENDING), Application.geom.is_not(None))
    if application_id is not None:
        q = q.where(Application.id == application_id)
    if bbox is not None:
        q = q.where(Application.geom.op("&&")(func.ST_Transform(
            func.ST_MakeEnvelope(bbox[0], bbox[1], bbox[2], bbox[3], bbox_srid), gcrs.WARD)))
    rows = list(session.execute(q.order_by(Application.id).limit(limit + 1).offset(offset))
                .scalars())
    return rows[:limit], len(rows) > limit

"""The queue: applications listed and filtered, their events, pending claims for maps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from certificates.deadlines import Calendar, calendar
from certificates.errors import (
    InvalidApplication,
)
from certificates.models import Application, ApplicationEvent
from certificates.workflow import (
    FINISHED,
    PENDING,
    ward_today,
)
from gis import crs as gcrs


@dataclass(frozen=True)
class AppPage:
    items: list[Application]
    limit: int
    offset: int
    has_more: bool


def list_applications(session: Session, *, ward_code: str, state: str | None = None,
                      overdue: bool = False, due_within: int | None = None,
                      received_from: date | None = None, received_to: date | None = None,
                      procedure: str | None = None, today: date | None = None,
                      limit: int = 100, offset: int = 0, cal: Calendar | None = None) -> AppPage:
    """Applications filtered; ``overdue`` and ``due_within`` (working days) look at pending ones.

    A file waiting for the applicant is never overdue: its clock is stopped.
    """
    cal = cal or calendar()
    if not 1 <= limit <= 1000:
        raise InvalidApplication("limit must be between 1 and 1000", field="limit")
    if offset < 0:
        raise InvalidApplication("offset must not be negative", field="offset")
    if state is not None and state not in (*PENDING, *FINISHED):
        raise InvalidApplication(f"unknown state {state!r}", field="state")
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
    clock_running = [s for s in PENDING if s != "waiting_applicant"]
    if overdue:
        q = q.where(Application.state.in_(clock_running), Application.due_on < today)
    if due_within is not None:
        q = q.where(Application.state.in_(clock_running), Application.due_on >= today,
                    Application.due_on <= cal.add_working_days(today, due_within))
    if received_from:
        q = q.where(Application.received_on >= received_from)
    if received_to:
        q = q.where(Application.received_on <= received_to)
    order = (Application.due_on, Application.id) if overdue or due_within is not None else \
        (Application.id,)
    rows = list(session.execute(q.order_by(*order).limit(limit + 1).offset(offset)).scalars())
    return AppPage(items=rows[:limit], limit=limit, offset=offset, has_more=len(rows) > limit)


def events(session: Session, *, application_id: int) -> list[ApplicationEvent]:
    return list(session.execute(select(ApplicationEvent).where(
        ApplicationEvent.application_id == application_id).order_by(ApplicationEvent.id)
    ).scalars())


def pending_claims(session: Session, *, ward_code: str,
                   bbox: tuple[float, float, float, float] | None = None,
                   application_id: int | None = None, limit: int = 100,
                   offset: int = 0) -> tuple[list[Application], bool]:
    """Pending applications with a claimed geometry, optionally in a WGS 84 bbox (for maps/OGC)."""
    q = select(Application).where(Application.ward_code == ward_code,
                                  Application.state.in_(PENDING), Application.geom.is_not(None))
    if application_id is not None:
        q = q.where(Application.id == application_id)
    if bbox is not None:
        q = q.where(Application.geom.op("&&")(func.ST_Transform(
            func.ST_MakeEnvelope(bbox[0], bbox[1], bbox[2], bbox[3], 4326), gcrs.WARD)))
    rows = list(session.execute(q.order_by(Application.id).limit(limit + 1).offset(offset))
                .scalars())
    return rows[:limit], len(rows) > limit

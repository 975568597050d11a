"""The application workflow's states and the one way a state changes.

States (one table, :data:`TRANSITIONS`): received → verifying → field_check →
approved | rejected → certificate_issued, and waiting_applicant (a supplement was
requested), which pauses the statutory clock and returns to the state it left.  Every
transition is made by a land officer (the receiving clerk is one too), writes an
``application_event`` and an audit event in the caller's transaction, and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from certificates import verification
from certificates.deadlines import Calendar
from certificates.errors import (
    ApplicationNotFound,
    WrongState,
)
from certificates.models import Application, ApplicationEvent
from config import clock
from db import audit
from db.audit import Actor
from db.errors import Forbidden

PROCEDURES: Final = ("first_certificate", "transfer", "split_merge", "correction", "exchange",
                     "reissue")
CHANNELS: Final = ("online", "counter")
PENDING: Final = verification.PENDING_STATES
FINISHED: Final = ("approved", "rejected", "certificate_issued")
OFFICER: Final = "land_officer"

TRANSITIONS: Final[Mapping[str, tuple[frozenset[str], str | None]]] = {
    # action: (states it may start from, state it leads to; None = see the action)
    "verify": (frozenset({"received", "verifying", "field_check"}), None),
    "field_check": (frozenset({"verifying", "field_check"}), "field_check"),
    "request_supplement": (frozenset({"received", "verifying", "field_check"}),
                           "waiting_applicant"),
    "supplement_received": (frozenset({"waiting_applicant"}), None),
    "approve": (frozenset({"field_check"}), "approved"),
    "reject": (frozenset({"received", "verifying", "field_check"}), "rejected"),
    "issue_certificate": (frozenset({"approved"}), "certificate_issued"),
}
"""Every allowed transition; each is a land officer's act."""

# ------------------------------------------------------------------------ helpers


def require_officer(actor: Actor) -> None:
    if actor.role != OFFICER:
        raise Forbidden(f"role {actor.role!r} may not act on applications; only a land officer "
                        "may", role=actor.role)


def ward_today(cal: Calendar) -> date:
    """The ward's date on the service clock, in the calendar's time zone."""
    return cal.local_date(clock.now())


def get(session: Session, *, ward_code: str, application_id: int,
        for_update: bool = False) -> Application:
    """One application of the ward, or :class:`ApplicationNotFound`."""
    q = select(Application).where(Application.id == application_id,
                                  Application.ward_code == ward_code)
    if for_update:
        q = q.with_for_update()
    app = session.execute(q).scalar_one_or_none()
    if app is None:
        raise ApplicationNotFound(f"no application {application_id} in ward {ward_code}",
                                  application_id=application_id)
    return app


def transition(session: Session, app: Application, *, actor: Actor, action: str,
                to_state: str | None = None, reason: str | None = None,
                detail: Mapping[str, Any] | None = None) -> None:
    allowed, default_to = TRANSITIONS[action]
    if app.state not in allowed:
        raise WrongState(
            f"application {app.id} is {app.state}: '{action}' is allowed only when it is "
            + " or ".join(sorted(allowed)), state=app.state, action=action,
            allowed_states=sorted(allowed))
    target = to_state or default_to or app.state
    now = clock.now()
    session.add(ApplicationEvent(application_id=app.id, ward_code=app.ward_code, action=action,
                                 from_state=app.state, to_state=target, at=now,
                                 actor=actor.username, reason=reason, detail=dict(detail or {})))
    audit.record(session, actor=actor, action=action, entity="application",
                 entity_ids=[app.id], reason=reason,
                 detail={"from": app.state, "to": target, **dict(detail or {})})
    if target != app.state:
        app.state = target
        app.state_changed_at = now

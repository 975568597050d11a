"""Supplements: the file waits for the applicant and the statutory clock stops."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from certificates.deadlines import Calendar, calendar
from certificates.errors import (
    InvalidApplication,
)
from certificates.models import Application
from certificates.workflow import (
    get,
    require_officer,
    transition,
    ward_today,
)
from config import clock
from db.audit import Actor


def request_supplement(session: Session, *, actor: Actor, application_id: int, reason: str,
                       documents: Sequence[str] = ()) -> Application:
    """Ask the applicant for more; the statutory clock stops until the file is complete."""
    require_officer(actor)
    if not reason.strip():
        raise InvalidApplication("say what the applicant must supply", field="reason")
    app = get(session, ward_code=actor.ward_code, application_id=application_id,
              for_update=True)
    previous = app.state
    transition(session, app, actor=actor, action="request_supplement", reason=reason,
                detail={"documents": list(documents)})
    app.resume_state = previous
    app.waiting_since = clock.now()
    return app


def supplement_received(session: Session, *, actor: Actor, application_id: int,
                        note: str | None = None, documents: Sequence[str] = (),
                        cal: Calendar | None = None) -> Application:
    """The applicant completed the file: the clock restarts and the due date moves."""
    require_officer(actor)
    cal = cal or calendar()
    app = get(session, ward_code=actor.ward_code, application_id=application_id,
              for_update=True)
    since = app.waiting_since
    resume = app.resume_state or "received"
    if app.state == "waiting_applicant":
        assert since is not None
        paused = cal.working_days_between(cal.local_date(since), ward_today(cal))
        app.paused_days += paused
        app.due_on = cal.due_date(app.procedure, app.received_on,
                                  paused_working_days=app.paused_days)
    else:
        paused = 0
    transition(session, app, actor=actor, action="supplement_received", to_state=resume,
                reason=note, detail={"paused_working_days": paused,
                                     "due_on": app.due_on.isoformat(),
                                     "documents": list(documents)})
    app.waiting_since = None
    app.resume_state = None
    app.documents = [*app.documents, *documents]
    return app

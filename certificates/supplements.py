"""Pauses: the file waits for the applicant's supplement, or the clock stops for an excluded
period (violation handling, expert assessment, inheritance division), and returns to the
step it left.  The working days in between are not counted (:mod:`certificates.timeline`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from certificates.deadlines import calendar
from certificates.errors import InvalidApplication
from certificates.models import Application
from certificates.timeline import PERIODS
from certificates.workflow import get, require_officer, transition
from config import clock
from db.audit import Actor


def request_supplement(session: Session, *, actor: Actor, application_id: int | str,
                       reason: str, documents: Sequence[str] = ()) -> Application:
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


def supplement_received(session: Session, *, actor: Actor, application_id: int | str,
                        note: str | None = None,
                        documents: Sequence[str] = ()) -> Application:
    """The applicant completed the file: the clock restarts and the due date moves."""
    require_officer(actor)
    app = get(session, ward_code=actor.ward_code, application_id=application_id,
              for_update=True)
    before = app.paused_days
    transition(session, app, actor=actor, action="supplement_received",
               to_state=app.resume_state or "received", reason=note,
               detail={"documents": list(documents)})
    _record_pause(app, before)
    app.waiting_since = None
    app.resume_state = None
    app.documents = [*app.documents, *documents]
    return app


def stop_clock(session: Session, *, actor: Actor, application_id: int | str, kind: str,
               reason: str) -> Application:
    """Stop the statutory clock for an excluded period of another kind than a supplement,
    the posting or the financial obligations (those have their own acts)."""
    require_officer(actor)
    kinds = [k for k in calendar().excluded if k not in PERIODS]
    if kind not in kinds:
        raise InvalidApplication(f"the clock stops only for {', '.join(kinds)} (the supplement, "
                                 f"the posting and the financial obligations have their own "
                                 f"acts), not {kind!r}", field="kind")
    if not reason.strip():
        raise InvalidApplication("say why the clock stops", field="reason")
    app = get(session, ward_code=actor.ward_code, application_id=application_id,
              for_update=True)
    previous = app.state
    transition(session, app, actor=actor, action="stop_clock", reason=reason,
               detail={"kind": kind})
    app.resume_state = previous
    app.waiting_since = clock.now()
    return app


def resume_clock(session: Session, *, actor: Actor, application_id: int | str,
                 note: str | None = None) -> Application:
    """The excluded period is over: the clock runs again from the step the file left."""
    require_officer(actor)
    app = get(session, ward_code=actor.ward_code, application_id=application_id,
              for_update=True)
    before = app.paused_days
    transition(session, app, actor=actor, action="resume_clock",
               to_state=app.resume_state or "received", reason=note)
    _record_pause(app, before)
    app.waiting_since = None
    app.resume_state = None
    return app


def _record_pause(app: Application, before: int) -> None:
    """Nothing to store: :func:`certificates.workflow.refresh_clock` has set the due date and
    the excluded days from the events; kept as the place a pause's end is explained."""
    assert app.paused_days >= before

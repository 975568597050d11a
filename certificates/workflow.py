"""The application workflow's states and the one way a state changes.

A first-time certificate goes through the ward's steps as the law runs them (Decree
151/2025/NĐ-CP Annex I, DOMAIN.md): received → verifying (checks against the registry) →
[survey_extract: a licensed surveyor's extract ordered, 5 working days] → field_check →
posting (the result posted publicly for 15 days, complaints recorded and settled) → posted
→ eligible (the eligibility decision; not eligible is ``rejected``) → financial_obligations
(tax information sent, forms 19) → obligations_met → approved (the certificate signed: the
registry written) → certificate_issued (handed over: the result is returned).  Two states
stop the statutory clock and return to the state they left: waiting_applicant (a
supplement) and clock_stopped (violation handling, expert assessment, inheritance division).

Every transition is one row of :data:`TRANSITIONS`, made by a land officer (the receiving
clerk is one too), writes an ``application_event`` and an audit event in the caller's
transaction, and recomputes the statutory clock from the stored events
(:mod:`certificates.timeline`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from certificates import timeline, verification
from certificates.deadlines import Calendar, DeadlineError, calendar
from certificates.errors import ApplicationNotFound, InvalidApplication, WrongState
from certificates.models import Application, ApplicationEvent
from config import clock
from db import audit
from db.audit import Actor
from db.errors import Forbidden, StaleVersion
from parcels.registry import lock_ward

PROCEDURES: Final = ("first_certificate", "transfer", "split_merge", "correction", "exchange",
                     "reissue")
CHANNELS: Final = ("online", "counter")
ORIGINS: Final = ("desk", "inherited")
PENDING: Final = verification.PENDING_STATES
FINISHED: Final = ("approved", "rejected", "certificate_issued")
"""Decided: no act but handing the certificate over is left (the result is returned when
``returned_at`` is set: the certificate handed over, or the refusal)."""
OFFICER: Final = "land_officer"
STEPS: Final = ("received", "verifying", "survey_extract", "field_check", "posted", "eligible",
                "obligations_met")
"""States the clock may be stopped from (and returned to)."""
_OPEN: Final = frozenset(PENDING) - {"waiting_applicant", "clock_stopped"}

TRANSITIONS: Final[Mapping[str, tuple[frozenset[str], str | None]]] = {
    # action: (states it may start from, state it leads to; None = see the action)
    "verify": (frozenset({"received", "verifying", "field_check"}), None),
    "order_survey": (frozenset({"received", "verifying", "field_check"}), "survey_extract"),
    "survey_received": (frozenset({"survey_extract"}), "verifying"),
    "field_check": (frozenset({"verifying", "field_check"}), "field_check"),
    "add_evidence": (_OPEN | {"waiting_applicant", "clock_stopped"}, None),
    "request_supplement": (frozenset(STEPS), "waiting_applicant"),
    "supplement_received": (frozenset({"waiting_applicant"}), None),
    "stop_clock": (frozenset(STEPS), "clock_stopped"),
    "resume_clock": (frozenset({"clock_stopped"}), None),
    "open_posting": (frozenset({"field_check"}), "posting"),
    "record_complaint": (frozenset({"posting"}), None),
    "settle_complaint": (frozenset({"posting", "posted"}), None),
    "close_posting": (frozenset({"posting"}), "posted"),
    "decide_eligibility": (frozenset({"posted"}), None),
    "send_tax_info": (frozenset({"eligible"}), "financial_obligations"),
    "obligations_met": (frozenset({"financial_obligations"}), "obligations_met"),
    "approve": (frozenset({"obligations_met"}), "approved"),
    "reject": (_OPEN, "rejected"),
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


def get(session: Session, *, ward_code: str, application_id: int | str,
        for_update: bool = False) -> Application:
    """One application of the ward by id or by receipt number, or
    :class:`ApplicationNotFound`.

    ``application_id`` may be the id (``42``, ``"42"``) or the desk's receipt number
    (``"A000001"``, ``"000.00.19.H57-250701-0001"``): a reference of digits only is an id.
    """
    ref = str(application_id).strip()
    q = select(Application).where(Application.ward_code == ward_code)
    if ref.isdigit():
        q = q.where(Application.id == int(ref))
    else:
        q = q.where(Application.application_key == ref)
    if for_update:
        q = q.with_for_update()
    app = session.execute(q).scalar_one_or_none()
    if app is None:
        raise ApplicationNotFound(f"no application {ref} in ward {ward_code} (neither an id "
                                  "nor a receipt number of the ward)", application_id=ref)
    return app


def version_of(session: Session, *, application_id: int) -> int:
    """The application's version: how many events it has (every act writes one, and
    events are never changed or deleted)."""
    return int(session.execute(select(func.count()).select_from(ApplicationEvent).where(
        ApplicationEvent.application_id == application_id)).scalar_one())


def application_etag(application_id: int, version: int) -> str:
    """The entity tag of an application's version (HTTP ETag / If-Match)."""
    return f'"application-{application_id}-r{version}"'


def require_version(session: Session, *, actor: Actor, application_id: int | str,
                    expected: int | None) -> None:
    """Refuse an act based on another version of the application than the current one.

    Takes the ward's lock and then the application's row, the order an approval takes
    them in, and holds both until the caller's transaction ends: the act that follows in
    that transaction works on the version checked here.
    """
    if expected is None:
        return
    lock_ward(session, actor.ward_code)
    app = get(session, ward_code=actor.ward_code, application_id=application_id,
              for_update=True)
    current = version_of(session, application_id=app.id)
    if current != expected:
        raise StaleVersion(
            f"application {app.id} is at version {current}, not {expected}: another "
            "officer acted on it since you read it; read it again",
            application_id=app.id, current_version=current, expected_version=expected,
            etag=application_etag(app.id, current))


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
    session.flush()
    refresh_clock(session, app)


CLOCK_STOPPED: Final = frozenset({"waiting_applicant", "clock_stopped", "posting",
                                  "financial_obligations"})
"""States in which an excluded period is open: the file is never overdue then."""


def clock_of(session: Session, app: Application, *, today: date | None = None,
             cal: Calendar | None = None) -> timeline.Clock:
    """The file's statutory clock recomputed from its stored events."""
    return clocks_of(session, [app], today=today, cal=cal)[app.id]


def clocks_of(session: Session, apps: Sequence[Application], *, today: date | None = None,
              cal: Calendar | None = None) -> dict[int, timeline.Clock]:
    """The clocks of several files from one read of their events."""
    cal = cal or calendar()
    today = today or ward_today(cal)
    by_app: dict[int, list[timeline.Event]] = {a.id: [] for a in apps}
    if apps:
        rows = session.execute(select(ApplicationEvent.application_id, ApplicationEvent.action,
                                      ApplicationEvent.at, ApplicationEvent.detail)
                               .where(ApplicationEvent.application_id.in_(list(by_app)))
                               .order_by(ApplicationEvent.id)).all()
        for r in rows:
            by_app[r.application_id].append(
                timeline.Event(r.action, cal.local_date(r.at), r.detail or {}))
    return {a.id: timeline.compute(
        procedure=a.procedure, received_on=a.received_on, events=by_app[a.id], today=today,
        cal=cal, returned_on=cal.local_date(a.returned_at) if a.returned_at else None)
        for a in apps}


def refresh_clock(session: Session, app: Application, *, cal: Calendar | None = None,
                  today: date | None = None) -> timeline.Clock:
    """Store the recomputed due date (the queue filters and sorts on it) and the working
    days excluded so far."""
    try:
        c = clock_of(session, app, cal=cal, today=today)
    except DeadlineError as exc:
        raise InvalidApplication(str(exc), field="procedure") from exc
    app.due_on = c.due_on
    app.paused_days = c.excluded_working_days
    return c

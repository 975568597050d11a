"""The application workflow: receipt, verification, field check, decision, certificate.

States (one table, :data:`TRANSITIONS`): received → verifying → field_check →
approved | rejected → certificate_issued, and waiting_applicant (a supplement was
requested), which pauses the statutory clock and returns to the state it left.  Every
transition is made by a land officer (the receiving clerk is one too), writes an
``application_event`` and an audit event in the caller's transaction, and nothing else.

Approval is the one write that depends on a spatial check: it takes the ward's registry
lock (:func:`parcels.registry.lock_ward`), re-runs the verification against the registry
as it is now, and only then writes the parcel version, the holder's use right and the
certificate as source document.  Two officers approving overlapping claims at the same
moment are serialised by the lock; the second sees the first one's certified parcel and
gets :class:`~certificates.errors.ApprovalConflict`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from certificates import verification
from certificates.deadlines import Calendar, DeadlineError, calendar
from certificates.errors import (
    ApplicationNotFound,
    ApprovalConflict,
    DuplicateApplicationKey,
    InvalidApplication,
    InvalidClaim,
    NotVerified,
    WrongState,
)
from certificates.models import Application, ApplicationEvent, VerificationReport
from certificates.rules import VerificationSettings, load_settings
from config import clock
from db import audit
from db.audit import Actor
from db.errors import Forbidden, StaleVersion
from gis import crs as gcrs
from gis.convert import from_db, to_db
from parcels.numbers import next_number, subject_by_number
from parcels.registry import (
    Amendment,
    ParcelSpec,
    Source,
    amend_parcel,
    lock_ward,
    record_source,
    register_parcel,
)
from parcels.rights import PartyDetails, grant_use_right
from parcels.stated import place

PROCEDURES: Final = ("first_certificate", "transfer", "split_merge", "correction", "exchange",
                     "reissue")
CHANNELS: Final = ("online", "counter")
PENDING: Final = verification.PENDING_STATES
FINISHED: Final = ("approved", "rejected", "certificate_issued")
OFFICER: Final = "land_officer"
MAX_DECLARED_AREA: Final = Decimal(10) ** 13
"""What application.declared_area (numeric(14, 1)) holds; 1e27 m² made quantize() raise, a 500
(found by the schemathesis run at length)."""

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

approval_checked: Callable[[int], None] | None = None
"""Test seam, always None in the service: called with the application id when an approval
has passed its re-verification under the ward lock and has not written anything yet.
``tests/certificates/test_race.py`` holds two approvals here to show that the lock, not
timing, keeps two overlapping claims from both being certified."""


@dataclass(frozen=True)
class Intake:
    """What the one-stop desk records on receipt; geometry in ``srid`` (default WGS 84)."""

    procedure: str
    applicant_name: str
    channel: str
    declared_area: float | Decimal | None = None
    declared_land_use: str | None = None
    geometry: BaseGeometry | None = None
    srid: int = gcrs.WGS84
    applicant_id_number: str | None = None
    applicant_address: str | None = None
    former_unit: str | None = None
    sheet_no: int | None = None
    parcel_no: int | None = None
    received_at: datetime | None = None
    """Only for a back-dated receipt (a paper file entered later): the service clock's
    instant otherwise.  Needs ``received_at_reason``; never in the future, never before
    the settings' ``earliest_receipt``."""
    received_at_reason: str | None = None
    documents: Sequence[str] = ()
    application_key: str | None = None
    survey_batch_id: int | None = None


@dataclass(frozen=True)
class Decision:
    approve: bool
    reason: str
    override_warnings: bool = False
    certificate_no: str | None = None


@dataclass(frozen=True)
class FieldCheck:
    notes: str
    geometry: BaseGeometry | None = None
    srid: int = gcrs.WGS84
    former_unit: str | None = None
    sheet_no: int | None = None
    parcel_no: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------ helpers


def _require_officer(actor: Actor) -> None:
    if actor.role != OFFICER:
        raise Forbidden(f"role {actor.role!r} may not act on applications; only a land officer "
                        "may", role=actor.role)


def _today(cal: Calendar) -> date:
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


def version_of(session: Session, *, application_id: int) -> int:
    """The application's version: how many events it has (every act writes one, and
    events are never changed or deleted)."""
    return int(session.execute(select(func.count()).select_from(ApplicationEvent).where(
        ApplicationEvent.application_id == application_id)).scalar_one())


def application_etag(application_id: int, version: int) -> str:
    """The entity tag of an application's version (HTTP ETag / If-Match)."""
    return f'"application-{application_id}-r{version}"'


def require_version(session: Session, *, actor: Actor, application_id: int,
                    expected: int | None) -> None:
    """Refuse an act based on another version of the application than the current one.

    Takes the ward's lock and then the application's row, the order an approval takes
    them in, and holds both until the caller's transaction ends: the act that follows in
    that transaction works on the version checked here.
    """
    if expected is None:
        return
    lock_ward(session, actor.ward_code)
    get(session, ward_code=actor.ward_code, application_id=application_id, for_update=True)
    current = version_of(session, application_id=application_id)
    if current != expected:
        raise StaleVersion(
            f"application {application_id} is at version {current}, not {expected}: another "
            "officer acted on it since you read it; read it again",
            application_id=application_id, current_version=current, expected_version=expected,
            etag=application_etag(application_id, current))


def _transition(session: Session, app: Application, *, actor: Actor, action: str,
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


def prepare_claim(session: Session, *, ward_code: str, geometry: BaseGeometry | None,
                  srid: int) -> BaseGeometry:
    """Read a claimed geometry into EPSG:9214, keeping an invalid polygon as claimed.

    Refused (nothing stored): an unknown CRS, a geometry that is not one polygon, empty
    or non-finite coordinates, degrees stated as metres, a claim too far from the ward to
    be anything but another CRS.  A self-intersecting polygon, or one partly outside the
    ward, is accepted: verification reports where it is wrong and offers a repair.
    """
    return place(session, ward_code=ward_code, geometry=geometry, srid=srid, where="near",
                 keep_invalid=True, invalid=InvalidClaim)


# ------------------------------------------------------------------------ receipt


def _receipt_time(intake: Intake, cal: Calendar) -> tuple[datetime, bool]:
    """When the file was received, and whether that is back-dated.

    A receipt is the desk's act: the service clock's instant, unless a land officer enters
    a paper file received earlier, with a reason, no later than now and no earlier than the
    settings' ``earliest_receipt`` (a client once stored 9999-12-20 and a due date in 9999).
    """
    now = clock.now()
    if intake.received_at is None:
        return now, False
    when = intake.received_at
    if when.tzinfo is None:  # a wall-clock time at the desk is the ward's
        when = when.replace(tzinfo=ZoneInfo(cal.timezone))
    reason = (intake.received_at_reason or "").strip()
    if len(reason) < 3:
        raise InvalidApplication("a receipt is dated by the service's clock; a back-dated one "
                                 "(a paper file entered later) needs received_at_reason",
                                 field="received_at_reason")
    try:
        future = when > now
    except OverflowError:  # 9999-12-31T23:59-12:00 is past what a datetime holds in UTC
        future = True
    if future:
        raise InvalidApplication(f"received_at {when.isoformat()} is in the future",
                                 field="received_at", now=now.isoformat())
    earliest = cal.earliest_receipt
    if earliest is not None and cal.local_date(when) < earliest:
        raise InvalidApplication(f"received_at {when.isoformat()} is before "
                                 f"{earliest.isoformat()}, the earliest receipt the settings "
                                 "allow", field="received_at", earliest=earliest.isoformat())
    return when, when != now


def receive(session: Session, *, actor: Actor, intake: Intake,
            cal: Calendar | None = None) -> Application:
    """Record a file at the one-stop desk; the due date is set now, from the day received."""
    _require_officer(actor)
    cal = cal or calendar()
    if intake.procedure not in PROCEDURES:
        raise InvalidApplication(f"unknown procedure {intake.procedure!r}; one of "
                                 + ", ".join(PROCEDURES), field="procedure")
    if intake.channel not in CHANNELS:
        raise InvalidApplication(f"channel must be online or counter, not {intake.channel!r}",
                                 field="channel")
    key = intake.application_key
    if key is not None and (not key.strip() or key != key.strip()):
        raise InvalidApplication("the application key (the desk's receipt number) must not be "
                                 "blank or start or end with spaces", field="application_key")
    if not intake.applicant_name.strip():
        raise InvalidApplication("the applicant's name is required", field="applicant_name")
    declared = None
    if intake.declared_area is not None:
        declared = Decimal(str(intake.declared_area))
        if not (declared.is_finite() and 0 < declared < MAX_DECLARED_AREA):
            raise InvalidApplication(
                f"declared area must be positive and under {MAX_DECLARED_AREA:,} m², got "
                f"{intake.declared_area}", field="declared_area")
        declared = declared.quantize(Decimal("0.1"))
    land_use = intake.declared_land_use.strip().upper() if intake.declared_land_use else None
    geom = None
    if intake.procedure == "first_certificate":
        if intake.geometry is None and intake.survey_batch_id is None:
            raise InvalidApplication("a first-time certificate application needs the claimed "
                                     "parcel geometry", field="geometry")
        if declared is None:
            raise InvalidApplication("a first-time certificate application needs the declared "
                                     "area", field="declared_area")
    if intake.geometry is not None:
        geom = prepare_claim(session, ward_code=actor.ward_code, geometry=intake.geometry,
                             srid=intake.srid)
    received_at, backdated = _receipt_time(intake, cal)
    received_on = cal.local_date(received_at)
    try:
        due = cal.due_date(intake.procedure, received_on)
    except DeadlineError as exc:
        raise InvalidApplication(str(exc), field="procedure") from exc
    app = Application(
        ward_code=actor.ward_code, application_key=intake.application_key,
        procedure=intake.procedure, applicant_name=intake.applicant_name.strip(),
        applicant_id_number=intake.applicant_id_number, applicant_address=intake.applicant_address,
        channel=intake.channel, received_at=received_at, received_on=received_on, due_on=due,
        paused_days=0, state="received", declared_area=declared, declared_land_use=land_use,
        former_unit=intake.former_unit, sheet_no=intake.sheet_no, parcel_no=intake.parcel_no,
        parcel_id=subject_by_number(session, ward_code=actor.ward_code,
                                    former_unit=intake.former_unit, sheet_no=intake.sheet_no,
                                    parcel_no=intake.parcel_no),
        geom=to_db(geom, gcrs.WARD) if geom is not None else None,
        geom_valid=bool(geom is not None and geom.is_valid),
        claimed_srid=intake.srid if intake.geometry is not None else None,
        survey_batch_id=intake.survey_batch_id, documents=list(intake.documents),
        created_by=actor.username)
    session.add(app)
    try:
        session.flush()
    except IntegrityError as exc:
        if "uq_application_key" in str(exc.orig):
            raise DuplicateApplicationKey(
                f"application key {intake.application_key!r} is already used in ward "
                f"{actor.ward_code}: each file at the one-stop desk has its own receipt number",
                application_key=intake.application_key) from exc
        raise
    if app.application_key is None:
        app.application_key = f"{actor.ward_code}-{received_on.year}-{app.id:06d}"
    session.add(ApplicationEvent(application_id=app.id, ward_code=app.ward_code, action="receive",
                                 from_state=None, to_state="received", at=received_at,
                                 actor=actor.username, detail={"due_on": due.isoformat()}))
    audit.record(session, actor=actor, action="receive_backdated" if backdated else "receive",
                 entity="application", entity_ids=[app.id],
                 reason=intake.received_at_reason if backdated else None,
                 detail={"procedure": app.procedure, "channel": app.channel,
                         "due_on": due.isoformat(), "valid_geometry": app.geom_valid,
                         **({"received_at": received_at.isoformat(),
                             "entered_at": clock.now().isoformat()} if backdated else {})})
    session.flush()
    return app


# ------------------------------------------------------------------- verification


def claim_of(app: Application) -> verification.Claim:
    return verification.Claim(
        geometry=from_db(app.geom), application_id=app.id, application_key=app.application_key,
        received_at=app.received_at,
        declared_area=float(app.declared_area) if app.declared_area is not None else None,
        land_use=app.declared_land_use, former_unit=app.former_unit, sheet_no=app.sheet_no,
        parcel_no=app.parcel_no)


def _store(session: Session, app: Application, outcome: verification.Outcome, *, actor: Actor,
           purpose: str, elapsed_ms: float, settings: VerificationSettings) -> VerificationReport:
    report = VerificationReport(
        application_id=app.id, ward_code=app.ward_code, purpose=purpose,
        verdict=outcome.verdict, registry_version=outcome.registry_version,
        created_by=actor.username, settings_version=settings.version,
        measured_area=outcome.measured_area,
        declared_area=app.declared_area, subject_parcel_id=outcome.subject_parcel_id,
        counts=outcome.counts(), findings=[verification.finding_dict(f) for f in outcome.findings],
        geom=app.geom, elapsed_ms=round(elapsed_ms, 2))
    session.add(report)
    session.flush()
    return report


def verify(session: Session, *, actor: Actor, application_id: int, purpose: str = "verify",
           settings: VerificationSettings | None = None) -> VerificationReport:
    """Check the claim against the registry now and store a new report."""
    _require_officer(actor)
    settings = settings or load_settings()
    app = get(session, ward_code=actor.ward_code, application_id=application_id,
              for_update=True)
    if app.geom is None:
        raise InvalidApplication(f"application {app.id} has no claimed geometry to verify",
                                 field="geometry")
    to = "verifying" if app.state == "received" else None
    outcome, ms = verification.run(session, ward_code=app.ward_code, claim=claim_of(app),
                                   settings=settings)
    if outcome.subject_parcel_id is not None and app.parcel_id is None:
        app.parcel_id = outcome.subject_parcel_id
    report = _store(session, app, outcome, actor=actor, purpose=purpose, elapsed_ms=ms,
                    settings=settings)
    _transition(session, app, actor=actor, action="verify", to_state=to,
                detail={"report_id": report.id, "verdict": report.verdict,
                        "registry_version": report.registry_version})
    return report


def reports(session: Session, *, ward_code: str, application_id: int) -> list[VerificationReport]:
    """Every stored report of the application, newest first."""
    get(session, ward_code=ward_code, application_id=application_id)
    return list(session.execute(
        select(VerificationReport).where(VerificationReport.application_id == application_id)
        .order_by(VerificationReport.id.desc())).scalars())


def latest_report(session: Session, app: Application) -> VerificationReport | None:
    return session.execute(
        select(VerificationReport).where(VerificationReport.application_id == app.id)
        .order_by(VerificationReport.id.desc()).limit(1)).scalar_one_or_none()


def record_field_check(session: Session, *, actor: Actor, application_id: int, check: FieldCheck,
                       settings: VerificationSettings | None = None) -> VerificationReport:
    """Record the field visit; a re-measured boundary replaces the claim and is re-verified."""
    _require_officer(actor)
    app = get(session, ward_code=actor.ward_code, application_id=application_id,
              for_update=True)
    allowed, _ = TRANSITIONS["field_check"]
    if app.state not in allowed:  # checked before the geometry is touched
        _transition(session, app, actor=actor, action="field_check")
    if not check.notes.strip():
        raise InvalidApplication("field-check notes are required", field="notes")
    detail: dict[str, Any] = {"notes": check.notes, **dict(check.extra)}
    if check.geometry is not None:
        geom = prepare_claim(session, ward_code=actor.ward_code, geometry=check.geometry,
                             srid=check.srid)
        old = from_db(app.geom)
        detail["previous_geometry_wkt"] = old.wkt if old is not None else None
        app.geom = to_db(geom, gcrs.WARD)
        app.geom_valid = bool(geom.is_valid)
        app.claimed_srid = check.srid
        detail["geometry_corrected"] = True
    for name in ("former_unit", "sheet_no", "parcel_no"):
        value = getattr(check, name)
        if value is not None:
            setattr(app, name, value)
            detail[name] = value
    if check.sheet_no is not None and check.parcel_no is not None:
        app.parcel_id = subject_by_number(session, ward_code=app.ward_code,
                                          former_unit=app.former_unit, sheet_no=app.sheet_no,
                                          parcel_no=app.parcel_no)
    app.field_check = {**detail, "by": actor.username}
    session.flush()
    settings = settings or load_settings()
    outcome, ms = verification.run(session, ward_code=app.ward_code, claim=claim_of(app),
                                   settings=settings)
    report = _store(session, app, outcome, actor=actor, purpose="field_check", elapsed_ms=ms,
                    settings=settings)
    _transition(session, app, actor=actor, action="field_check", reason=check.notes,
                detail={"report_id": report.id, "verdict": report.verdict,
                        "geometry_corrected": check.geometry is not None})
    return report


# -------------------------------------------------------------------- supplements


def request_supplement(session: Session, *, actor: Actor, application_id: int, reason: str,
                       documents: Sequence[str] = ()) -> Application:
    """Ask the applicant for more; the statutory clock stops until the file is complete."""
    _require_officer(actor)
    if not reason.strip():
        raise InvalidApplication("say what the applicant must supply", field="reason")
    app = get(session, ward_code=actor.ward_code, application_id=application_id,
              for_update=True)
    previous = app.state
    _transition(session, app, actor=actor, action="request_supplement", reason=reason,
                detail={"documents": list(documents)})
    app.resume_state = previous
    app.waiting_since = clock.now()
    return app


def supplement_received(session: Session, *, actor: Actor, application_id: int,
                        note: str | None = None, documents: Sequence[str] = (),
                        cal: Calendar | None = None) -> Application:
    """The applicant completed the file: the clock restarts and the due date moves."""
    _require_officer(actor)
    cal = cal or calendar()
    app = get(session, ward_code=actor.ward_code, application_id=application_id,
              for_update=True)
    since = app.waiting_since
    resume = app.resume_state or "received"
    if app.state == "waiting_applicant":
        assert since is not None
        paused = cal.working_days_between(cal.local_date(since), _today(cal))
        app.paused_days += paused
        app.due_on = cal.due_date(app.procedure, app.received_on,
                                  paused_working_days=app.paused_days)
    else:
        paused = 0
    _transition(session, app, actor=actor, action="supplement_received", to_state=resume,
                reason=note, detail={"paused_working_days": paused,
                                     "due_on": app.due_on.isoformat(),
                                     "documents": list(documents)})
    app.waiting_since = None
    app.resume_state = None
    app.documents = [*app.documents, *documents]
    return app


# ----------------------------------------------------------------------- decision


def decide(session: Session, *, actor: Actor, application_id: int, decision: Decision,
           settings: VerificationSettings | None = None) -> Application:
    """Approve (registry write, under the ward lock) or reject with a reason."""
    _require_officer(actor)
    if not decision.reason.strip():
        raise InvalidApplication("a decision needs a reason", field="reason")
    if not decision.approve:
        app = get(session, ward_code=actor.ward_code, application_id=application_id,
                  for_update=True)
        _transition(session, app, actor=actor, action="reject", reason=decision.reason)
        app.decided_at = clock.now()
        app.decision_reason = decision.reason
        return app
    return _approve(session, actor=actor, application_id=application_id, decision=decision,
                    settings=settings or load_settings())


def _approve(session: Session, *, actor: Actor, application_id: int, decision: Decision,
             settings: VerificationSettings) -> Application:
    lock_ward(session, actor.ward_code)  # check and write atomic against other approvals
    app = get(session, ward_code=actor.ward_code, application_id=application_id,
              for_update=True)
    allowed, _ = TRANSITIONS["approve"]
    if app.state not in allowed:
        _transition(session, app, actor=actor, action="approve")  # raises WrongState
    if app.procedure != "first_certificate":
        raise InvalidApplication("only first-time certificate applications are approved here")
    last = latest_report(session, app)
    if last is None:
        raise NotVerified(f"application {app.id} has never been verified: verify it first")
    if last.verdict == "fail":
        raise NotVerified(f"the latest verification (report {last.id}) failed: correct the claim "
                          "at the field check and verify again, or reject",
                          report_id=last.id, verdict=last.verdict)
    if last.verdict == "review" and not decision.override_warnings:
        raise NotVerified(f"the latest verification (report {last.id}) has warnings: approve "
                          "with override_warnings after looking at them", report_id=last.id,
                          verdict=last.verdict)
    outcome, ms = verification.run(session, ward_code=app.ward_code, claim=claim_of(app),
                                   settings=settings)
    errors = outcome.errors()
    if errors:
        parcels = sorted({p["parcel_id"] for f in errors for p in f.parcels})
        raise ApprovalConflict(
            f"the claim now conflicts with the registry ({', '.join(f.rule for f in errors)}): "
            + "; ".join(f.message_en for f in errors[:3]),
            conflicting_parcels=parcels, findings=[verification.finding_dict(f) for f in errors],
            registry_version=outcome.registry_version)
    if approval_checked is not None:
        approval_checked(app.id)
    report = _store(session, app, outcome, actor=actor, purpose="approval", elapsed_ms=ms,
                    settings=settings)
    geom = from_db(app.geom)
    assert geom is not None
    now = clock.now()
    issued_on = clock.ward_date(now)
    cert_no = decision.certificate_no or f"{app.ward_code}-{issued_on.year}-{app.id:06d}"
    source = Source(kind="certificate", number=cert_no, issued_on=issued_on,
                    issued_by=f"UBND phường, ward {app.ward_code}",
                    description=f"first-time certificate, application {app.application_key}")
    reason = f"first-time certificate, application {app.application_key}: {decision.reason}"
    area = Decimal(str(round(geom.area, 1)))
    if app.parcel_id is not None and outcome.subject_parcel_id == app.parcel_id:
        version = amend_parcel(session, actor=actor, parcel_id=app.parcel_id, reason=reason,
                               source=source, amendment=Amendment(
                                   geometry=geom, srid=gcrs.WARD, legal_area=area,
                                   land_use=app.declared_land_use))
    else:
        if not (app.former_unit and app.sheet_no):
            raise InvalidApplication("the claim is not a map parcel and has no former unit and "
                                     "sheet: record them at the field check", field="sheet_no")
        number = app.parcel_no or next_number(session, ward_code=app.ward_code,
                                              former_unit=app.former_unit,
                                              sheet_no=app.sheet_no)
        version = register_parcel(session, actor=actor, reason=reason, source=source,
                                  spec=ParcelSpec(former_unit=app.former_unit,
                                                  sheet_no=app.sheet_no, parcel_no=number,
                                                  land_use=app.declared_land_use or "ODT",
                                                  geometry=geom, srid=gcrs.WARD,
                                                  legal_area=area))
    source_id = version.source_document_id or record_source(session, actor, source)
    party_id = grant_use_right(
        session, ward_code=app.ward_code, parcel_id=version.parcel_id,
        holder=PartyDetails(full_name=app.applicant_name, id_number=app.applicant_id_number,
                            address=app.applicant_address),
        party_id=app.applicant_party_id, certificate_no=cert_no, issued_on=issued_on,
        source_id=source_id, recorded_by=actor.username)
    _transition(session, app, actor=actor, action="approve", reason=decision.reason,
                detail={"report_id": report.id, "parcel_id": version.parcel_id,
                        "parcel_version": version.version, "certificate_no": cert_no,
                        "override_warnings": decision.override_warnings})
    app.parcel_id = version.parcel_id
    app.applicant_party_id = party_id
    app.certificate_no = cert_no
    app.decided_at = now
    app.decision_reason = decision.reason
    session.flush()
    return app


def issue_certificate(session: Session, *, actor: Actor, application_id: int,
                      note: str | None = None) -> Application:
    """The certificate was handed to the applicant: the file is closed."""
    _require_officer(actor)
    app = get(session, ward_code=actor.ward_code, application_id=application_id,
              for_update=True)
    _transition(session, app, actor=actor, action="issue_certificate", reason=note,
                detail={"certificate_no": app.certificate_no})
    app.certificate_issued_at = clock.now()
    return app


# -------------------------------------------------------------------------- lists


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
    today = today or _today(cal)
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

"""Receipt at the one-stop desk: what the desk records, the claim read into the ward's CRS."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo

from shapely.geometry.base import BaseGeometry
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from certificates.deadlines import Calendar, calendar, read_settings
from certificates.errors import (
    DuplicateApplicationKey,
    InvalidApplication,
    InvalidClaim,
)
from certificates.models import Application, ApplicationEvent
from certificates.workflow import CHANNELS, PROCEDURES, refresh_clock, require_officer
from config import clock
from db import audit
from db.audit import Actor
from gis import crs as gcrs
from gis.convert import to_db
from parcels.errors import UnknownLandUse
from parcels.numbers import subject_by_number
from parcels.registry import check_land_use
from parcels.rights import PartyDetails
from parcels.stated import place

MAX_DECLARED_AREA: Final = Decimal(10) ** 13
"""What application.declared_area (numeric(14, 1)) holds; 1e27 m² made quantize() raise, a 500
(found by the schemathesis run at length)."""


@dataclass(frozen=True)
class Intake:
    """What the one-stop desk records on receipt; geometry in ``srid`` (default WGS 84).

    ``received_at`` is the service clock's instant unless a land officer enters a paper file
    received earlier, with ``received_at_reason`` (audited as ``receive_backdated``), never
    in the future nor before the settings' ``earliest_receipt``.  An inherited
    file (``origin="inherited"``) keeps the former unit's receipt: ``inherited_from``,
    ``old_receipt_no`` and ``old_received_on`` (its clock runs from that day).  A file
    received incomplete (``complete=False``) waits for the applicant from receipt: the count
    starts when it is complete.
    """

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
    received_at_reason: str | None = None
    documents: Sequence[str] = ()
    application_key: str | None = None
    survey_batch_id: int | None = None
    complete: bool = True
    origin: str = "desk"
    inherited_from: str | None = None
    old_receipt_no: str | None = None
    old_received_on: date | None = None
    co_applicants: Sequence[PartyDetails] = ()


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


def receive(session: Session, *, actor: Actor, intake: Intake,
            cal: Calendar | None = None) -> Application:
    """Record a file at the one-stop desk; the due date is set now, from the day received."""
    require_officer(actor)
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
    received_at, backdated = _received_at(intake, cal)
    received_on = cal.local_date(received_at)
    if land_use is not None:
        try:
            land_use = check_land_use(land_use)
        except UnknownLandUse as exc:
            raise InvalidApplication(exc.detail, field="declared_land_use",
                                     land_use=exc.extra.get("land_use")) from exc
    co = [{"name": p.full_name.strip(), "id_number": p.id_number, "address": p.address}
          for p in intake.co_applicants]
    if any(not c["name"] for c in co):
        raise InvalidApplication("every co-applicant needs a name", field="co_applicants")
    app = Application(
        ward_code=actor.ward_code, application_key=intake.application_key,
        procedure=intake.procedure, applicant_name=intake.applicant_name.strip(),
        applicant_id_number=intake.applicant_id_number, applicant_address=intake.applicant_address,
        channel=intake.channel, received_at=received_at, received_on=received_on,
        due_on=received_on, origin=intake.origin, inherited_from=intake.inherited_from,
        old_receipt_no=intake.old_receipt_no, old_received_on=intake.old_received_on,
        co_applicants=co,
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
    state = "received" if intake.complete else "waiting_applicant"
    if not intake.complete:
        app.state, app.resume_state, app.waiting_since = state, "received", received_at
    detail = {"complete": intake.complete, "form": procedure_forms().get("receive"),
              "origin": intake.origin, **({"backdated": backdated} if backdated else {})}
    session.add(ApplicationEvent(application_id=app.id, ward_code=app.ward_code, action="receive",
                                 from_state=None, to_state=state, at=received_at,
                                 actor=actor.username, reason=intake.received_at_reason,
                                 detail=detail))
    session.flush()
    refresh_clock(session, app, cal=cal)
    audit.record(session, actor=actor, action="receive_backdated" if backdated else "receive",
                 entity="application", entity_ids=[app.id],
                 reason=intake.received_at_reason if backdated else None,
                 detail={"procedure": app.procedure, "channel": app.channel,
                         "due_on": app.due_on.isoformat(), "valid_geometry": app.geom_valid,
                         **detail, **(backdated or {})})
    session.flush()
    return app


def _received_at(intake: Intake, cal: Calendar) -> tuple[datetime, dict[str, str] | None]:
    """The receipt instant, and what back-dating it was (None: not back-dated).

    A receipt is the desk's act: the service clock's instant, unless a land officer enters
    a paper file received earlier, with a reason, no later than now and no earlier than the
    settings' ``earliest_receipt`` (a client once stored 9999-12-20 and a due date in 9999).
    An inherited file keeps the former unit's receipt (``old_received_on``, within the same
    bounds): its clock runs from that day.
    """
    now = clock.now()
    if intake.origin not in ("desk", "inherited"):
        raise InvalidApplication(f"origin is desk or inherited, not {intake.origin!r}",
                                 field="origin")
    if intake.origin == "inherited":
        missing = [n for n in ("inherited_from", "old_receipt_no", "old_received_on")
                   if not getattr(intake, n)]
        if missing:
            raise InvalidApplication("an inherited file needs " + ", ".join(missing) +
                                     " (the former unit's receipt)", field=missing[0])
        assert intake.old_received_on is not None
        at = _ward_time(intake.received_at, cal) if intake.received_at else datetime.combine(
            intake.old_received_on, time(8, 0), clock.WARD_TIMEZONE)
        if cal.local_date(at) != intake.old_received_on:
            raise InvalidApplication("an inherited file's receipt is the former unit's: "
                                     "received_at must fall on old_received_on",
                                     field="received_at")
        _bounded(at, now, cal)
        return at, None
    if intake.inherited_from or intake.old_receipt_no or intake.old_received_on:
        raise InvalidApplication("a former unit's receipt belongs to an inherited file "
                                 "(origin=inherited)", field="origin")
    if intake.received_at is None:
        return now, None
    at = _ward_time(intake.received_at, cal)
    if len((intake.received_at_reason or "").strip()) < 3:
        raise InvalidApplication("a receipt is dated by the service's clock; a back-dated one "
                                 "(a paper file entered later) needs received_at_reason",
                                 field="received_at_reason")
    _bounded(at, now, cal)
    return at, {"received_at": at.isoformat(), "entered_at": now.isoformat()}


def _ward_time(at: datetime, cal: Calendar) -> datetime:
    """A wall-clock time at the desk without an offset is the ward's."""
    return at if at.tzinfo is not None else at.replace(tzinfo=ZoneInfo(cal.timezone))


def _bounded(at: datetime, now: datetime, cal: Calendar) -> None:
    """A receipt is never in the future, nor before the settings' ``earliest_receipt``
    (the first day the statutory times in the settings cover)."""
    try:
        future = at > now
    except OverflowError:  # 9999-12-31T23:59-12:00 is past what a datetime holds in UTC
        future = True
    if future:
        raise InvalidApplication(f"received_at {at.isoformat()} is in the future",
                                 field="received_at", now=now.isoformat())
    earliest = cal.earliest_receipt
    if earliest is not None and cal.local_date(at) < earliest:
        raise InvalidApplication(f"received_at {at.isoformat()} is before "
                                 f"{earliest.isoformat()}, the earliest receipt the settings "
                                 "allow", field="received_at", earliest=earliest.isoformat())


def procedure_forms() -> dict[str, str]:
    """The form each act records (``[procedure.forms]`` of the certificates settings)."""
    return {k: str(v) for k, v in read_settings().get("procedure", {}).get("forms", {}).items()
            if k != "source"}

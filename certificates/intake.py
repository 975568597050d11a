"""Receipt at the one-stop desk: what the desk records, the claim read into the ward's CRS."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shapely.geometry.base import BaseGeometry
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from certificates.deadlines import Calendar, DeadlineError, calendar
from certificates.errors import (
    DuplicateApplicationKey,
    InvalidApplication,
    InvalidClaim,
)
from certificates.models import Application, ApplicationEvent
from certificates.workflow import (
    CHANNELS,
    PROCEDURES,
    require_officer,
)
from config import clock
from db import audit
from db.audit import Actor
from gis import crs as gcrs
from gis.convert import to_db
from parcels.numbers import subject_by_number
from parcels.stated import place


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
    documents: Sequence[str] = ()
    application_key: str | None = None
    survey_batch_id: int | None = None


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
        declared = Decimal(str(intake.declared_area)).quantize(Decimal("0.1"))
        if not declared > 0:
            raise InvalidApplication(f"declared area must be positive, got {intake.declared_area}",
                                     field="declared_area")
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
    received_at = intake.received_at or clock.now()
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
    audit.record(session, actor=actor, action="receive", entity="application",
                 entity_ids=[app.id],
                 detail={"procedure": app.procedure, "channel": app.channel,
                         "due_on": due.isoformat(), "valid_geometry": app.geom_valid})
    session.flush()
    return app

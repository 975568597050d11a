"""Verification and the field check: stored reports of a claim judged against the registry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from certificates import verification
from certificates.errors import (
    InvalidApplication,
)
from certificates.intake import prepare_claim
from certificates.models import Application, VerificationReport
from certificates.rules import VerificationSettings, load_settings
from certificates.workflow import (
    TRANSITIONS,
    get,
    require_officer,
    transition,
)
from db.audit import Actor
from gis import crs as gcrs
from gis.convert import from_db, to_db
from parcels.numbers import subject_by_number


@dataclass(frozen=True)
class FieldCheck:
    notes: str
    geometry: BaseGeometry | None = None
    srid: int = gcrs.WGS84
    former_unit: str | None = None
    sheet_no: int | None = None
    parcel_no: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def claim_of(app: Application) -> verification.Claim:
    return verification.Claim(
        geometry=from_db(app.geom), application_id=app.id, application_key=app.application_key,
        received_at=app.received_at,
        declared_area=float(app.declared_area) if app.declared_area is not None else None,
        land_use=app.declared_land_use, former_unit=app.former_unit, sheet_no=app.sheet_no,
        parcel_no=app.parcel_no)


def store_report(session: Session, app: Application, outcome: verification.Outcome, *, actor: Actor,
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


def verify(session: Session, *, actor: Actor, application_id: int | str, purpose: str = "verify",
           settings: VerificationSettings | None = None) -> VerificationReport:
    """Check the claim against the registry now and store a new report."""
    require_officer(actor)
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
    report = store_report(session, app, outcome, actor=actor, purpose=purpose, elapsed_ms=ms,
                    settings=settings)
    transition(session, app, actor=actor, action="verify", to_state=to,
                detail={"report_id": report.id, "verdict": report.verdict,
                        "registry_version": report.registry_version})
    return report


def reports(session: Session, *, ward_code: str,
            application_id: int | str) -> list[VerificationReport]:
    """Every stored report of the application, newest first."""
    app = get(session, ward_code=ward_code, application_id=application_id)
    return list(session.execute(
        select(VerificationReport).where(VerificationReport.application_id == app.id)
        .order_by(VerificationReport.id.desc())).scalars())


def latest_report(session: Session, app: Application) -> VerificationReport | None:
    return session.execute(
        select(VerificationReport).where(VerificationReport.application_id == app.id)
        .order_by(VerificationReport.id.desc()).limit(1)).scalar_one_or_none()


def replace_claim(session: Session, app: Application, geometry: BaseGeometry,
                  srid: int) -> dict[str, Any]:
    """A re-measured boundary replaces the claim; what was replaced goes into the event."""
    geom = prepare_claim(session, ward_code=app.ward_code, geometry=geometry, srid=srid)
    old = from_db(app.geom)
    app.geom = to_db(geom, gcrs.WARD)
    app.geom_valid = bool(geom.is_valid)
    app.claimed_srid = srid
    return {"previous_geometry_wkt": old.wkt if old is not None else None,
            "geometry_corrected": True}


def survey_received(session: Session, *, actor: Actor, application_id: int | str,
                    surveyor: str, extract_no: str, geometry: BaseGeometry | None = None,
                    srid: int = gcrs.WGS84,
                    settings: VerificationSettings | None = None) -> VerificationReport:
    """The licensed surveyor's extract is back: its boundary (when given) replaces the
    claim, and the claim is verified again."""
    require_officer(actor)
    if not surveyor.strip() or not extract_no.strip():
        raise InvalidApplication("name the surveyor and the extract's number",
                                 field="extract_no")
    app = get(session, ward_code=actor.ward_code, application_id=application_id,
              for_update=True)
    allowed, _ = TRANSITIONS["survey_received"]
    if app.state not in allowed:  # checked before the geometry is touched
        transition(session, app, actor=actor, action="survey_received")
    detail: dict[str, Any] = {"surveyor": surveyor, "extract_no": extract_no}
    if geometry is not None:
        detail.update(replace_claim(session, app, geometry, srid))
    session.flush()
    settings = settings or load_settings()
    outcome, ms = verification.run(session, ward_code=app.ward_code, claim=claim_of(app),
                                   settings=settings)
    report = store_report(session, app, outcome, actor=actor, purpose="verify", elapsed_ms=ms,
                          settings=settings)
    transition(session, app, actor=actor, action="survey_received",
               detail={**detail, "report_id": report.id, "verdict": report.verdict})
    return report


def record_field_check(session: Session, *, actor: Actor, application_id: int | str,
                       check: FieldCheck,
                       settings: VerificationSettings | None = None) -> VerificationReport:
    """Record the field visit; a re-measured boundary replaces the claim and is re-verified."""
    require_officer(actor)
    app = get(session, ward_code=actor.ward_code, application_id=application_id,
              for_update=True)
    allowed, _ = TRANSITIONS["field_check"]
    if app.state not in allowed:  # checked before the geometry is touched
        transition(session, app, actor=actor, action="field_check")
    if not check.notes.strip():
        raise InvalidApplication("field-check notes are required", field="notes")
    detail: dict[str, Any] = {"notes": check.notes, **dict(check.extra)}
    if check.geometry is not None:
        detail.update(replace_claim(session, app, check.geometry, check.srid))
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
    report = store_report(session, app, outcome, actor=actor, purpose="field_check", elapsed_ms=ms,
                    settings=settings)
    transition(session, app, actor=actor, action="field_check", reason=check.notes,
                detail={"report_id": report.id, "verdict": report.verdict,
                        "geometry_corrected": check.geometry is not None})
    return report

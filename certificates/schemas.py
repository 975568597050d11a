"""Request and response shapes of applications, reports, statistics and disputes."""

from __future__ import annotations

import builtins
from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from certificates.applications import Decision, Evidence, FieldCheck, Intake
from certificates.errors import InvalidClaim
from certificates.models import Application, Dispute, VerificationReport
from certificates.timeline import Clock
from gis import crs as gcrs
from gis.convert import from_db
from gis.errors import DomainError
from gis.geojson import geometry_to_geojson
from parcels.rights import PartyDetails
from parcels.schemas import Area, GeoJSONGeometry

LAND_USE = r"^[A-Za-z]{3}(\+[A-Za-z]{3})*$"
"""The shape of a code; whether it is in the land-use list is the domain's check (a 422
naming the code)."""


class ClaimGeometry(GeoJSONGeometry):
    """A claimed parcel as GeoJSON; coordinates in the CRS named by ``srid`` (default WGS 84)."""

    unreadable: ClassVar[builtins.type[DomainError]] = InvalidClaim


class CoApplicantIn(BaseModel):
    name: str = Field(min_length=2, max_length=200)
    id_number: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=500)


class ApplicationIn(BaseModel):
    procedure: Literal["first_certificate", "transfer", "split_merge", "correction", "exchange",
                       "reissue"] = "first_certificate"
    applicant_name: str = Field(min_length=2, max_length=200)
    applicant_id_number: str | None = Field(default=None, max_length=40)
    applicant_address: str | None = Field(default=None, max_length=500)
    channel: Literal["online", "counter"]
    declared_area: Area | None = Field(default=None, description="m², as on the papers")
    declared_land_use: str | None = Field(default=None, pattern=LAND_USE)
    geometry: ClaimGeometry | None = None
    srid: int = Field(default=gcrs.WGS84, description="EPSG code of the geometry's coordinates")
    former_unit: str | None = Field(default=None, max_length=40)
    sheet_no: int | None = Field(default=None, gt=0, lt=100_000)
    parcel_no: int | None = Field(default=None, gt=0, lt=1_000_000)
    received_at: datetime | None = Field(
        default=None, description="only to enter a paper file received earlier (land "
        "officers, with received_at_reason), or an inherited file's old receipt: otherwise "
        "the service clock dates the receipt")
    received_at_reason: str | None = Field(default=None, min_length=3, max_length=2000)
    documents: list[str] = Field(default_factory=list, max_length=100)
    application_key: str | None = Field(default=None, max_length=60)
    complete: bool = Field(default=True, description="false: the file waits for the "
                           "applicant from receipt; the count starts when it is complete")
    origin: Literal["desk", "inherited"] = "desk"
    inherited_from: str | None = Field(default=None, max_length=200,
                                       description="the former unit that received the file")
    old_receipt_no: str | None = Field(default=None, max_length=60)
    old_received_on: date | None = None
    co_applicants: list[CoApplicantIn] = Field(default_factory=list, max_length=10,
                                               description="other holders, e.g. the spouse")

    def to_intake(self) -> Intake:
        return Intake(procedure=self.procedure, applicant_name=self.applicant_name,
                      applicant_id_number=self.applicant_id_number,
                      applicant_address=self.applicant_address, channel=self.channel,
                      declared_area=self.declared_area, declared_land_use=self.declared_land_use,
                      geometry=self.geometry.to_shape() if self.geometry else None,
                      srid=self.srid, former_unit=self.former_unit, sheet_no=self.sheet_no,
                      parcel_no=self.parcel_no, received_at=self.received_at,
                      received_at_reason=self.received_at_reason,
                      documents=tuple(self.documents), application_key=self.application_key,
                      complete=self.complete, origin=self.origin,
                      inherited_from=self.inherited_from, old_receipt_no=self.old_receipt_no,
                      old_received_on=self.old_received_on,
                      co_applicants=tuple(PartyDetails(c.name, c.id_number, c.address)
                                          for c in self.co_applicants))


class FieldCheckIn(BaseModel):
    notes: str = Field(min_length=3, max_length=5000)
    geometry: ClaimGeometry | None = Field(default=None, description="re-measured boundary")
    srid: int = gcrs.WGS84
    former_unit: str | None = Field(default=None, max_length=40)
    sheet_no: int | None = Field(default=None, gt=0, lt=100_000)
    parcel_no: int | None = Field(default=None, gt=0, lt=1_000_000)

    def to_check(self) -> FieldCheck:
        return FieldCheck(notes=self.notes,
                          geometry=self.geometry.to_shape() if self.geometry else None,
                          srid=self.srid, former_unit=self.former_unit, sheet_no=self.sheet_no,
                          parcel_no=self.parcel_no)


class DecisionIn(BaseModel):
    decision: Literal["approve", "reject"]
    reason: str = Field(min_length=3, max_length=5000)
    override_warnings: bool = Field(default=False, description="approve despite warnings "
                                    "(never despite errors)")
    certificate_no: str | None = Field(default=None, max_length=40,
                                       description="serial of the certificate blank (số phát "
                                       "hành); a synthetic ward's is made up and says so")
    term_of_use: str | None = Field(default=None, max_length=200)
    use_origin: str | None = Field(default=None, max_length=500,
                                   description="origin of use (nguồn gốc sử dụng)")

    def to_decision(self) -> Decision:
        return Decision(approve=self.decision == "approve", reason=self.reason,
                        override_warnings=self.override_warnings,
                        certificate_no=self.certificate_no, term_of_use=self.term_of_use,
                        use_origin=self.use_origin)


class SurveyOrderIn(BaseModel):
    surveyor: str = Field(min_length=2, max_length=200, description="licensed surveyor")
    reason: str | None = Field(default=None, max_length=2000)


class SurveyReceivedIn(BaseModel):
    surveyor: str = Field(min_length=2, max_length=200)
    extract_no: str = Field(min_length=1, max_length=60)
    geometry: ClaimGeometry | None = Field(default=None, description="the extract's boundary")
    srid: int = gcrs.WGS84


class EvidenceIn(BaseModel):
    kind: Literal["use", "papers"] = Field(description="use: a dated document showing the land "
                                           "in use; papers: a land-use right paper (Art. 137)")
    dated: date
    title: str = Field(min_length=3, max_length=500)
    number: str | None = Field(default=None, max_length=100)
    issuer: str | None = Field(default=None, max_length=200)

    def to_evidence(self) -> Evidence:
        return Evidence(kind=self.kind, dated=self.dated, title=self.title, number=self.number,
                        issuer=self.issuer)


class PostingIn(BaseModel):
    place: str = Field(min_length=3, max_length=500, description="where the result is posted")


class NoteIn(BaseModel):
    note: str | None = Field(default=None, max_length=5000)


class ComplaintIn(BaseModel):
    complainant: str = Field(min_length=2, max_length=200)
    text: str = Field(min_length=3, max_length=5000)


class SettleIn(BaseModel):
    outcome: str = Field(min_length=3, max_length=5000)
    upheld: bool


class EligibilityIn(BaseModel):
    eligible: bool
    reason: str = Field(min_length=3, max_length=5000)
    override_warnings: bool = False


class TaxInfoIn(BaseModel):
    tax_office: str = Field(min_length=3, max_length=200)
    note: str | None = Field(default=None, max_length=5000)


class ObligationsIn(BaseModel):
    receipt: str | None = Field(default=None, max_length=100,
                                description="the payment receipt's number")
    exempt_reason: str | None = Field(default=None, max_length=2000)


class ClockStopIn(BaseModel):
    kind: Literal["violation_handling", "expert_assessment", "inheritance_division"]
    reason: str = Field(min_length=3, max_length=5000)


class SupplementIn(BaseModel):
    reason: str = Field(min_length=3, max_length=5000)
    documents: list[str] = Field(default_factory=list, max_length=50)


class ResumeIn(BaseModel):
    note: str | None = Field(default=None, max_length=5000)
    documents: list[str] = Field(default_factory=list, max_length=50)


class IssueIn(BaseModel):
    note: str | None = Field(default=None, max_length=5000)


class DisputeIn(BaseModel):
    parcel_ids: list[int] = Field(min_length=1, max_length=20)
    claimant: str = Field(min_length=2, max_length=200)
    respondent: str | None = Field(default=None, max_length=200)
    description: str = Field(min_length=3, max_length=5000)
    opened_on: date


class DisputeStateIn(BaseModel):
    state: Literal["open", "mediation", "resolved", "withdrawn"]
    on: date
    reason: str = Field(min_length=3, max_length=5000)


def application_out(app: Application, *, with_geometry: bool = True,
                    clock: Clock | None = None) -> dict[str, Any]:
    """What a land officer reads about one application (geometry in WGS 84), with its
    statutory clock when given."""
    geom = from_db(app.geom) if with_geometry else None
    extra: dict[str, Any] = {}
    if clock is not None:
        extra = {"clock": clock.as_dict(), "working_days_left": clock.left,
                 "overdue_working_days": clock.overdue_days,
                 "clock_running": clock.running}
    return {**extra,
        "id": app.id, "application_key": app.application_key, "procedure": app.procedure,
        "state": app.state, "state_changed_at": app.state_changed_at.isoformat(),
        "applicant": {"name": app.applicant_name, "id_number": app.applicant_id_number,
                      "address": app.applicant_address, "party_id": app.applicant_party_id},
        "channel": app.channel, "received_at": app.received_at.isoformat(),
        "received_on": app.received_on.isoformat(),
        "due_on": (clock.due_on if clock is not None else app.due_on).isoformat(),
        "paused_working_days": app.paused_days,
        "waiting_since": app.waiting_since.isoformat() if app.waiting_since else None,
        "declared_area_m2": float(app.declared_area) if app.declared_area is not None else None,
        "declared_land_use": app.declared_land_use, "former_unit": app.former_unit,
        "sheet_no": app.sheet_no, "parcel_no": app.parcel_no, "parcel_id": app.parcel_id,
        "geometry_valid": app.geom_valid, "claimed_srid": app.claimed_srid,
        "geometry": geometry_to_geojson(geom, gcrs.WARD) if geom is not None and
        geom.is_valid else (_raw_wgs84(geom) if geom is not None else None),
        "documents": app.documents, "field_check": app.field_check,
        "decided_at": app.decided_at.isoformat() if app.decided_at else None,
        "decision_reason": app.decision_reason, "certificate_no": app.certificate_no,
        "certificate_issued_at": app.certificate_issued_at.isoformat()
        if app.certificate_issued_at else None,
        "returned_at": app.returned_at.isoformat() if app.returned_at else None,
        "origin": app.origin, "inherited_from": app.inherited_from,
        "old_receipt_no": app.old_receipt_no,
        "old_received_on": app.old_received_on.isoformat() if app.old_received_on else None,
        "co_applicants": app.co_applicants or [],
    }


def _raw_wgs84(geom: Any) -> dict[str, Any]:
    """An invalid claim as claimed (GeoJSON allows invalid rings; nothing is repaired)."""
    from shapely.geometry import mapping

    return dict(mapping(gcrs.to_wgs84(geom, gcrs.WARD)))


def report_out(r: VerificationReport) -> dict[str, Any]:
    return {
        "id": r.id, "application_id": r.application_id, "purpose": r.purpose,
        "verdict": r.verdict, "checked_at": r.checked_at.isoformat(),
        "registry_version": r.registry_version, "settings_version": r.settings_version,
        "checked_by": r.created_by,
        "measured_area_m2": round(r.measured_area, 2) if r.measured_area is not None else None,
        "declared_area_m2": float(r.declared_area) if r.declared_area is not None else None,
        "area_crs": "EPSG:9214", "subject_parcel_id": r.subject_parcel_id, "counts": r.counts,
        "findings": r.findings, "elapsed_ms": r.elapsed_ms,
    }


def dispute_out(d: Dispute) -> dict[str, Any]:
    return {"id": d.id, "parcel_ids": list(d.parcel_ids), "claimant": d.claimant,
            "respondent": d.respondent, "description": d.description,
            "opened_on": d.opened_on.isoformat(), "state": d.state,
            "closed_on": d.closed_on.isoformat() if d.closed_on else None,
            "recorded_by": d.recorded_by}

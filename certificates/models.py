"""ORM mapping of the certificate tables (the schema itself comes from migration 0003)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, stamped
from gis.crs import WARD


class Application(Base):
    """A file at the one-stop desk: who asks for what, the claim, and where it stands."""

    __tablename__ = "application"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ward_code: Mapped[str] = mapped_column(String)
    application_key: Mapped[str | None] = mapped_column(String)
    procedure: Mapped[str] = mapped_column(String)
    applicant_party_id: Mapped[int | None] = mapped_column(BigInteger)
    applicant_name: Mapped[str] = mapped_column(String)
    applicant_id_number: Mapped[str | None] = mapped_column(String)
    applicant_address: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    paused_days: Mapped[int] = mapped_column(Integer, default=0)
    waiting_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resume_state: Mapped[str | None] = mapped_column(String)
    state: Mapped[str] = mapped_column(String)
    state_changed_at: Mapped[datetime] = stamped()
    declared_area: Mapped[Decimal | None] = mapped_column(Numeric(14, 1))
    declared_land_use: Mapped[str | None] = mapped_column(String)
    former_unit: Mapped[str | None] = mapped_column(String)
    sheet_no: Mapped[int | None] = mapped_column(Integer)
    parcel_no: Mapped[int | None] = mapped_column(Integer)
    parcel_id: Mapped[int | None] = mapped_column(BigInteger)
    geom: Mapped[WKBElement | None] = mapped_column(
        Geometry("GEOMETRY", srid=WARD, spatial_index=False))
    geom_valid: Mapped[bool] = mapped_column(Boolean, default=False)
    claimed_srid: Mapped[int | None] = mapped_column(Integer)
    survey_batch_id: Mapped[int | None] = mapped_column(BigInteger)
    documents: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    field_check: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    certificate_no: Mapped[str | None] = mapped_column(String)
    certificate_issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When the result went back to the applicant (certificate handed over, or refusal)."""
    origin: Mapped[str] = mapped_column(String, default="desk")
    """``desk`` (received here) or ``inherited`` (from a former unit's backlog)."""
    inherited_from: Mapped[str | None] = mapped_column(String)
    old_receipt_no: Mapped[str | None] = mapped_column(String)
    old_received_on: Mapped[date | None] = mapped_column(Date)
    co_applicants: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    """Other holders on the file (a spouse): ``{name, id_number, address}`` each."""
    created_by: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = stamped()


class ApplicationEvent(Base):
    """One state transition of an application (insert-only)."""

    __tablename__ = "application_event"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    application_id: Mapped[int] = mapped_column(BigInteger)
    ward_code: Mapped[str] = mapped_column(String)
    action: Mapped[str] = mapped_column(String)
    from_state: Mapped[str | None] = mapped_column(String)
    to_state: Mapped[str] = mapped_column(String)
    at: Mapped[datetime] = stamped()
    actor: Mapped[str] = mapped_column(String)
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class VerificationReport(Base):
    """A stored verification (insert-only): re-verifying makes a new one."""

    __tablename__ = "verification_report"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    application_id: Mapped[int] = mapped_column(BigInteger)
    ward_code: Mapped[str] = mapped_column(String)
    purpose: Mapped[str] = mapped_column(String)
    verdict: Mapped[str] = mapped_column(String)
    registry_version: Mapped[int] = mapped_column(BigInteger)
    checked_at: Mapped[datetime] = stamped()
    created_by: Mapped[str] = mapped_column(String)
    settings_version: Mapped[str] = mapped_column(String)
    measured_area: Mapped[float | None] = mapped_column(Float)
    declared_area: Mapped[Decimal | None] = mapped_column(Numeric(14, 1))
    subject_parcel_id: Mapped[int | None] = mapped_column(BigInteger)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    findings: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    geom: Mapped[WKBElement | None] = mapped_column(
        Geometry("GEOMETRY", srid=WARD, spatial_index=False))
    elapsed_ms: Mapped[float | None] = mapped_column(Float)


class Dispute(Base):
    """An entry of the ward's dispute register: who, which parcels, since when, state."""

    __tablename__ = "dispute"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ward_code: Mapped[str] = mapped_column(String)
    parcel_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    claimant: Mapped[str] = mapped_column(String)
    respondent: Mapped[str | None] = mapped_column(String)
    description: Mapped[str] = mapped_column(Text)
    opened_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String, default="open")
    closed_on: Mapped[date | None] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = stamped()

"""ORM mapping of the registry tables (the schema itself comes from the migrations)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    BigInteger,
    Boolean,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, stamped
from gis.crs import WARD


class Ward(Base):
    __tablename__ = "ward"

    code: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    boundary: Mapped[WKBElement] = mapped_column(
        Geometry("MULTIPOLYGON", srid=WARD, spatial_index=False)
    )
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = stamped()


class FormerUnit(Base):
    __tablename__ = "former_unit"

    ward_code: Mapped[str] = mapped_column(ForeignKey("ward.code"), primary_key=True)
    code: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    boundary: Mapped[WKBElement | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=WARD, spatial_index=False)
    )


class MapSheet(Base):
    __tablename__ = "map_sheet"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ward_code: Mapped[str] = mapped_column(String)
    former_unit: Mapped[str] = mapped_column(String)
    sheet_no: Mapped[int] = mapped_column(Integer)
    scale: Mapped[int] = mapped_column(Integer)
    extent: Mapped[WKBElement | None] = mapped_column(
        Geometry("POLYGON", srid=WARD, spatial_index=False)
    )


class SourceDocument(Base):
    __tablename__ = "source_document"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ward_code: Mapped[str] = mapped_column(ForeignKey("ward.code"))
    kind: Mapped[str] = mapped_column(String)
    number: Mapped[str | None] = mapped_column(String)
    issued_on: Mapped[date | None] = mapped_column(Date)
    issued_by: Mapped[str | None] = mapped_column(String)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = stamped()
    created_by: Mapped[str] = mapped_column(String)


class Parcel(Base):
    """A parcel's stable identity; everything that changes lives in its versions."""

    __tablename__ = "parcel"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ward_code: Mapped[str] = mapped_column(ForeignKey("ward.code"))
    geohash: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = stamped()


class ParcelVersion(Base):
    __tablename__ = "parcel_version"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcel.id"))
    ward_code: Mapped[str] = mapped_column(ForeignKey("ward.code"))
    version: Mapped[int] = mapped_column(Integer)
    former_unit: Mapped[str] = mapped_column(String)
    sheet_no: Mapped[int] = mapped_column(Integer)
    parcel_no: Mapped[int] = mapped_column(Integer)
    land_use: Mapped[str] = mapped_column(String)
    geom: Mapped[WKBElement] = mapped_column(Geometry("POLYGON", srid=WARD, spatial_index=False))
    measured_area: Mapped[float] = mapped_column(Float, Computed("ST_Area(geom)", persisted=True))
    legal_area: Mapped[Decimal | None] = mapped_column(Numeric(14, 1))
    address: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String)
    change_kind: Mapped[str] = mapped_column(String)
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = stamped()
    recorded_by: Mapped[str] = mapped_column(String)
    reason: Mapped[str] = mapped_column(Text)
    source_document_id: Mapped[int | None] = mapped_column(ForeignKey("source_document.id"))


class ParcelLineage(Base):
    __tablename__ = "parcel_lineage"

    parent_parcel_id: Mapped[int] = mapped_column(ForeignKey("parcel.id"), primary_key=True)
    child_parcel_id: Mapped[int] = mapped_column(ForeignKey("parcel.id"), primary_key=True)
    ward_code: Mapped[str] = mapped_column(ForeignKey("ward.code"))
    kind: Mapped[str] = mapped_column(String)
    recorded_at: Mapped[datetime] = stamped()
    source_document_id: Mapped[int | None] = mapped_column(ForeignKey("source_document.id"))


class Party(Base):
    __tablename__ = "party"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ward_code: Mapped[str] = mapped_column(ForeignKey("ward.code"))
    kind: Mapped[str] = mapped_column(String, default="person")
    full_name: Mapped[str] = mapped_column(String)
    id_number: Mapped[str | None] = mapped_column(String)
    address: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = stamped()


class ParcelRight(Base):
    """LA_RRR: a use right, ownership of attached assets, or a restriction."""

    __tablename__ = "parcel_right"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ward_code: Mapped[str] = mapped_column(ForeignKey("ward.code"))
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcel.id"))
    party_id: Mapped[int | None] = mapped_column(ForeignKey("party.id"))
    kind: Mapped[str] = mapped_column(String)
    share: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal(1))
    certificate_no: Mapped[str | None] = mapped_column(String)
    issued_on: Mapped[date | None] = mapped_column(Date)
    serial: Mapped[str | None] = mapped_column(String)
    """The certificate blank's serial (số phát hành)."""
    register_no: Mapped[str | None] = mapped_column(String)
    """The number in the register of certificates issued (số vào sổ cấp GCN)."""
    term_of_use: Mapped[str | None] = mapped_column(String)
    use_origin: Mapped[str | None] = mapped_column(String)
    use_form: Mapped[str | None] = mapped_column(String)
    """``rieng`` (one user: a person, a household, a married couple) or ``chung``."""
    source_document_id: Mapped[int | None] = mapped_column(ForeignKey("source_document.id"))
    valid_from: Mapped[datetime] = stamped()
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String)

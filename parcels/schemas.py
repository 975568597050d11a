"""Request and response shapes of the registry, and the GeoJSON form of a parcel."""

from __future__ import annotations

import builtins
from datetime import date
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field
from shapely.geometry.base import BaseGeometry

from gis import crs as gcrs
from gis.errors import DomainError
from gis.geojson import GeoJSONError, geometries_to_geojson, geometry_from_geojson
from parcels.errors import InvalidGeometry
from parcels.records import ParcelRecord
from parcels.registry import Amendment, ParcelSpec, Source

SYNTHETIC_NOTE = "Synthetic demo data: not real cadastral records / Dữ liệu mô phỏng"
MAX_AREA_M2: Final = 100_000_000.0
"""100 km²: more than the whole ward (about 90 km²), so no real parcel is refused."""
Area = Annotated[float, Field(gt=0, le=MAX_AREA_M2, allow_inf_nan=False,
                              description="m², at most 100 km²")]
"""An area a person states (legal, declared): positive, finite, at most the ward's size.
``1e308`` and ``Infinity`` once passed ``gt=0`` and answered 500."""


class GeoJSONGeometry(BaseModel):
    """A GeoJSON geometry; coordinates in the CRS named by ``srid`` (default WGS 84 lon/lat)."""

    model_config = ConfigDict(extra="allow")
    type: str
    coordinates: Any
    unreadable: ClassVar[builtins.type[DomainError]] = InvalidGeometry
    """The error a malformed geometry raises (subclasses name their own problem type)."""

    def to_shape(self) -> BaseGeometry:
        try:
            return geometry_from_geojson(self.model_dump())
        except GeoJSONError as exc:
            raise self.unreadable(str(exc)) from exc


class SourceIn(BaseModel):
    kind: str = Field(min_length=2, max_length=40, examples=["decision"])
    number: str | None = Field(default=None, max_length=80)
    issued_on: date | None = None
    issued_by: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)

    def to_source(self) -> Source:
        return Source(**self.model_dump())


class ParcelIn(BaseModel):
    former_unit: str = Field(min_length=2, max_length=40, examples=["kim_long"])
    sheet_no: int = Field(gt=0, lt=100_000)
    parcel_no: int = Field(gt=0, lt=1_000_000)
    land_use: str = Field(pattern=r"^[A-Za-z]{3}(\+[A-Za-z]{3})*$", examples=["ODT"])
    legal_area: Area | None = None
    address: str | None = Field(default=None, max_length=500)
    geometry: GeoJSONGeometry
    srid: int = Field(default=gcrs.WGS84, description="EPSG code of the geometry's coordinates")

    def to_spec(self) -> ParcelSpec:
        return ParcelSpec(former_unit=self.former_unit, sheet_no=self.sheet_no,
                          parcel_no=self.parcel_no, land_use=self.land_use,
                          geometry=self.geometry.to_shape(), srid=self.srid,
                          legal_area=self.legal_area, address=self.address)


class RegisterIn(ParcelIn):
    reason: str = Field(min_length=3, max_length=2000)
    source: SourceIn | None = None


class AmendIn(BaseModel):
    geometry: GeoJSONGeometry | None = None
    srid: int = gcrs.WGS84
    land_use: str | None = Field(default=None, pattern=r"^[A-Za-z]{3}(\+[A-Za-z]{3})*$")
    legal_area: Area | None = None
    address: str | None = Field(default=None, max_length=500)
    sheet_no: int | None = Field(default=None, gt=0, lt=100_000)
    parcel_no: int | None = Field(default=None, gt=0, lt=1_000_000)
    former_unit: str | None = Field(default=None, min_length=2, max_length=40)
    reason: str = Field(min_length=3, max_length=2000)
    source: SourceIn | None = None
    expected_version: int | None = Field(
        default=None, ge=1, description="the version your change is based on (or send "
        "If-Match with the ETag of your read): a stale one gets 412 and nothing is written")

    def to_amendment(self) -> Amendment:
        return Amendment(geometry=self.geometry.to_shape() if self.geometry else None,
                         srid=self.srid, land_use=self.land_use, legal_area=self.legal_area,
                         address=self.address, sheet_no=self.sheet_no, parcel_no=self.parcel_no,
                         former_unit=self.former_unit)


class MergeWithIn(BaseModel):
    part: int = Field(ge=1, le=200, description="the part, counted from 1")
    parcel_id: int = Field(ge=1, description="the neighbouring parcel merged with it")


class SplitIn(BaseModel):
    parts: list[ParcelIn] = Field(min_length=2, max_length=200)
    reason: str = Field(min_length=3, max_length=2000)
    source: SourceIn | None = None
    expected_version: int | None = Field(
        default=None, ge=1, description="the version your change is based on (or send "
        "If-Match with the ETag of your read): a stale one gets 412 and nothing is written")
    merge_with: list[MergeWithIn] = Field(
        default_factory=list, max_length=200,
        description="parts merged with a neighbour in the same act (Land Law 2024 Art. 220): "
                    "each such lot is judged merged")

    def merges(self) -> dict[int, int]:
        return {m.part - 1: m.parcel_id for m in self.merge_with}


class MergeIn(BaseModel):
    parcel_ids: list[int] = Field(min_length=2, max_length=50)
    former_unit: str | None = None
    sheet_no: int | None = Field(default=None, gt=0)
    parcel_no: int | None = Field(default=None, gt=0)
    land_use: str | None = Field(default=None, pattern=r"^[A-Za-z]{3}(\+[A-Za-z]{3})*$")
    legal_area: Area | None = None
    address: str | None = None
    reason: str = Field(min_length=3, max_length=2000)
    source: SourceIn | None = None
    expected_versions: dict[int, int] | None = Field(
        default=None, description="parcel id → the version the merge is based on (or send "
        "If-Match with the ETags of your reads)")


class RetireIn(BaseModel):
    reason: str = Field(min_length=3, max_length=2000)
    source: SourceIn | None = None
    expected_version: int | None = Field(
        default=None, ge=1, description="the version your change is based on (or send "
        "If-Match with the ETag of your read): a stale one gets 412 and nothing is written")


class Feature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: int
    geometry: dict[str, Any]
    properties: dict[str, Any]


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature]
    links: list[dict[str, str]] = []
    numberReturned: int = 0
    note: str | None = None


def properties(rec: ParcelRecord) -> dict[str, Any]:
    """What a land officer reads about one parcel version; areas in m² (EPSG:9214).

    ``holders`` is there only when the read fetched them (one parcel): a listing leaves
    the field out rather than show a certified lot with an empty list of holders.
    """
    out: dict[str, Any] = {
        "parcel_id": rec.parcel_id,
        "version": rec.version,
        "former_unit": rec.former_unit,
        "sheet_no": rec.sheet_no,
        "parcel_no": rec.parcel_no,
        "land_use": rec.land_use,
        "measured_area_m2": round(rec.measured_area, 2),
        "legal_area_m2": float(rec.legal_area) if rec.legal_area is not None else None,
        "address": rec.address,
        "status": rec.status,
        "change_kind": rec.change_kind,
        "valid_from": rec.valid_from.isoformat(),
        "valid_to": rec.valid_to.isoformat() if rec.valid_to else None,
        "recorded_at": rec.recorded_at.isoformat(),
        "recorded_by": rec.recorded_by,
        "reason": rec.reason,
        "source_document_id": rec.source_document_id,
        "geohash": rec.geohash,
        "area_crs": "EPSG:9214",
    }
    if rec.holders is not None:
        out["holders"] = [
            {"name": h.full_name, "right": h.right, "share": float(h.share),
             "certificate_no": h.certificate_no,
             "issued_on": h.issued_on.isoformat() if h.issued_on else None,
             "register_no": h.register_no, "term_of_use": h.term_of_use,
             "use_origin": h.use_origin, "use_form": h.use_form}
            for h in rec.holders
        ]
    return out


def feature(rec: ParcelRecord) -> dict[str, Any]:
    """A GeoJSON Feature (EPSG:4326) as a plain dict, ready to serialise."""
    return features([rec])[0]


def features(recs: list[ParcelRecord]) -> list[dict[str, Any]]:
    """Features for a page of parcels, geometries reprojected together."""
    geoms = geometries_to_geojson([r.geometry for r in recs], gcrs.WARD)
    return [{"type": "Feature", "id": r.parcel_id, "geometry": g, "properties": properties(r)}
            for r, g in zip(recs, geoms, strict=True)]


def feature_collection(features: list[dict[str, Any]], *,
                       links: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features, "links": links or [],
            "numberReturned": len(features)}

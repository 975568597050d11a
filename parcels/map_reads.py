"""Registry reads the map views need: parcels near a geometry, vector tiles, the ward's
outline, sheets and projects, and which demo data set is loaded.

Plain SQL with bound parameters, on current versions only (``valid_to IS NULL``, the
partial indexes' condition).  Geometries come back in EPSG:9214; tiles are Mapbox Vector
Tiles made by PostGIS (``ST_AsMVT``) in Web Mercator.
"""

# ruff: noqa: S608 (only constant SQL fragments are interpolated; values are bound parameters)
from __future__ import annotations

from dataclasses import dataclass

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from db.engine import sql


@dataclass(frozen=True)
class NearParcel:
    """A current registered parcel near a map's subject, with its holders' names."""

    parcel_id: int
    former_unit: str
    sheet_no: int
    parcel_no: int
    land_use: str
    measured_area: float
    address: str | None
    certified: bool
    holders: tuple[str, ...]
    geometry: BaseGeometry


def parcels_near(session: Session, *, ward_code: str, geometry: BaseGeometry,
                 distance_m: float, exclude: int | None = None) -> list[NearParcel]:
    """Current registered parcels within ``distance_m`` of ``geometry`` (EPSG:9214), by id.

    ``geometry`` may be invalid (a claim that crosses itself): the distance is taken to
    its envelope then, which PostGIS measures without complaint.
    """
    probe = geometry if geometry.is_valid else geometry.envelope
    rows = session.execute(sql("""
        SELECT v.parcel_id, v.former_unit, v.sheet_no, v.parcel_no, v.land_use,
               v.measured_area, v.address, ST_AsBinary(v.geom) AS wkb,
               coalesce(h.names, '{}') AS names, coalesce(h.certified, false) AS certified
        FROM parcel_version v
        LEFT JOIN LATERAL (
            SELECT array_agg(y.full_name ORDER BY r.id) FILTER (WHERE y.full_name IS NOT NULL)
                       AS names,
                   bool_or(r.certificate_no IS NOT NULL) AS certified
            FROM parcel_right r LEFT JOIN party y ON y.id = r.party_id
            WHERE r.parcel_id = v.parcel_id AND r.valid_to IS NULL AND r.kind = 'use_right'
        ) h ON true
        WHERE v.ward_code = :w AND v.valid_to IS NULL AND v.status = 'registered'
          AND ST_DWithin(v.geom, ST_GeomFromWKB(:g, 9214), :d)
          AND v.parcel_id <> coalesce(CAST(:x AS bigint), -1)
        ORDER BY v.parcel_id"""),
        {"w": ward_code, "g": shapely.to_wkb(probe), "d": distance_m, "x": exclude}).all()
    return [NearParcel(r.parcel_id, r.former_unit, r.sheet_no, r.parcel_no, r.land_use,
                       float(r.measured_area), r.address, bool(r.certified), tuple(r.names),
                       shapely.from_wkb(bytes(r.wkb))) for r in rows]


def registry_version(session: Session, *, ward_code: str) -> int:
    """The ward's newest parcel version id: changes whenever any parcel does (tile caches)."""
    found = session.execute(sql(
        "SELECT id FROM parcel_version WHERE ward_code = :w ORDER BY id DESC LIMIT 1"),
        {"w": ward_code}).scalar_one_or_none()
    return int(found or 0)


TILE_EXTENT = 4096


def parcel_tile(session: Session, *, ward_code: str, z: int, x: int, y: int,
                min_area_m2: float) -> bytes:
    """The current parcels crossing tile z/x/y as a Mapbox Vector Tile (layer ``parcels``).

    Parcels smaller than ``min_area_m2`` are left out (at low zoom they are under a pixel);
    each feature carries id, sheet, number, land use and area.
    """
    row = session.execute(sql(f"""
        WITH bounds AS (
            SELECT ST_TileEnvelope(:z, :x, :y) AS b3857,
                   ST_Transform(ST_TileEnvelope(:z, :x, :y), 9214) AS b9214
        ), mvt AS (
            SELECT v.parcel_id AS id, v.sheet_no, v.parcel_no, v.former_unit, v.land_use,
                   round(v.measured_area::numeric, 1)::float8 AS area_m2,
                   ST_AsMVTGeom(ST_Transform(v.geom, 3857), bounds.b3857, {TILE_EXTENT}, 64,
                                true) AS geom
            FROM parcel_version v, bounds
            WHERE v.ward_code = :w AND v.valid_to IS NULL AND v.status = 'registered'
              AND v.geom && bounds.b9214 AND v.measured_area >= :min_area
        )
        SELECT ST_AsMVT(mvt, 'parcels', {TILE_EXTENT}, 'geom') FROM mvt
        WHERE geom IS NOT NULL"""),
        {"w": ward_code, "z": z, "x": x, "y": y, "min_area": min_area_m2}).scalar_one()
    return bytes(row) if row is not None else b""


@dataclass(frozen=True)
class WardInfo:
    code: str
    name: str
    synthetic: bool
    boundary: BaseGeometry


def ward(session: Session, *, ward_code: str) -> WardInfo | None:
    row = session.execute(sql(
        "SELECT code, name, synthetic, ST_AsBinary(boundary) AS wkb FROM ward WHERE code = :w"),
        {"w": ward_code}).one_or_none()
    if row is None:
        return None
    return WardInfo(row.code, row.name, bool(row.synthetic), shapely.from_wkb(bytes(row.wkb)))


@dataclass(frozen=True)
class Sheet:
    former_unit: str
    sheet_no: int
    scale: int
    extent: BaseGeometry


def map_sheets(session: Session, *, ward_code: str) -> list[Sheet]:
    rows = session.execute(sql(
        "SELECT former_unit, sheet_no, scale, ST_AsBinary(extent) AS wkb FROM map_sheet "
        "WHERE ward_code = :w AND extent IS NOT NULL ORDER BY former_unit, sheet_no"),
        {"w": ward_code}).all()
    return [Sheet(r.former_unit, r.sheet_no, r.scale, shapely.from_wkb(bytes(r.wkb)))
            for r in rows]


def sheet_scale(session: Session, *, ward_code: str, former_unit: str, sheet_no: int
                ) -> int | None:
    return session.execute(sql(
        "SELECT scale FROM map_sheet WHERE ward_code = :w AND former_unit = :u "
        "AND sheet_no = :s"), {"w": ward_code, "u": former_unit, "s": sheet_no}
    ).scalar_one_or_none()


def former_unit_names(session: Session, *, ward_code: str) -> dict[str, str]:
    rows = session.execute(sql("SELECT code, name FROM former_unit WHERE ward_code = :w"),
                           {"w": ward_code}).all()
    return {r.code: r.name for r in rows}


@dataclass(frozen=True)
class ProjectOutline:
    code: str
    name_vi: str
    name_en: str
    synthetic: bool
    redline: BaseGeometry | None


def projects(session: Session, *, ward_code: str, code: str | None = None
             ) -> list[ProjectOutline]:
    rows = session.execute(sql(
        "SELECT code, name_vi, name_en, synthetic, ST_AsBinary(redline) AS wkb FROM project "
        "WHERE ward_code = :w AND (CAST(:c AS text) IS NULL OR code = :c) ORDER BY code"),
        {"w": ward_code, "c": code}).all()
    return [ProjectOutline(r.code, r.name_vi, r.name_en, bool(r.synthetic),
                           shapely.from_wkb(bytes(r.wkb)) if r.wkb is not None else None)
            for r in rows]


def demo_fingerprint(session: Session, *, ward_code: str) -> str | None:
    """The fingerprint of the synthetic demo load, which names its generated folder."""
    found: str | None = session.execute(sql(
        "SELECT number FROM source_document WHERE kind = 'demo_load' AND ward_code = :w "
        "ORDER BY id DESC LIMIT 1"), {"w": ward_code}).scalar_one_or_none()
    return found


def land_uses(session: Session, *, ward_code: str) -> list[str]:
    """The land-use codes of the ward's current parcels, most common first."""
    rows = session.execute(sql(
        "SELECT land_use FROM parcel_version WHERE ward_code = :w AND valid_to IS NULL "
        "AND status = 'registered' GROUP BY land_use ORDER BY count(*) DESC, land_use"),
        {"w": ward_code}).all()
    return [r.land_use for r in rows]

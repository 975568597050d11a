"""Zones that constrain parcels: river corridor, heritage zones, road red lines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.convert import from_db
from gis.crs import WARD, WGS84


@dataclass(frozen=True)
class ZoneRecord:
    id: int
    zone_key: str
    kind: str
    name: str
    project_code: str | None
    synthetic: bool
    geometry: BaseGeometry  # EPSG:9214

    @property
    def area_m2(self) -> float:
        return float(self.geometry.area)


def list_zones(session: Session, *, ward_code: str,
               bbox: tuple[float, float, float, float] | None = None,
               as_of: datetime | None = None, zone_id: int | None = None,
               limit: int = 100, offset: int = 0,
               bbox_srid: int = WGS84) -> tuple[list[ZoneRecord], bool]:
    """Zones in force (now or at ``as_of``), optionally within a bbox (x/y order, in
    ``bbox_srid``: WGS 84 longitude/latitude by default)."""
    rows = session.execute(text(
        "SELECT id, zone_key, kind, name, project_code, synthetic, ST_AsBinary(geom) AS wkb "
        "FROM zone WHERE ward_code = :w "
        "AND (CAST(:id AS bigint) IS NULL OR id = :id) "
        "AND (CAST(:x0 AS float8) IS NULL OR geom && ST_Transform("
        "     ST_MakeEnvelope(:x0, :y0, :x1, :y1, :bbox_srid), :srid)) "
        "AND (CASE WHEN CAST(:t AS timestamptz) IS NULL THEN valid_to IS NULL "
        "     ELSE valid_from <= :t AND (valid_to IS NULL OR valid_to > :t) END) "
        "ORDER BY id LIMIT :lim OFFSET :off"),
        {"w": ward_code, "id": zone_id, "t": as_of, "lim": limit + 1, "off": offset, "srid": WARD,
         "bbox_srid": bbox_srid,
         "x0": bbox[0] if bbox else None, "y0": bbox[1] if bbox else None,
         "x1": bbox[2] if bbox else None, "y1": bbox[3] if bbox else None}).all()
    out = [ZoneRecord(r.id, r.zone_key, r.kind, r.name, r.project_code, r.synthetic,
                      from_db(r.wkb)) for r in rows[:limit]]
    return out, len(rows) > limit

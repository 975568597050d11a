"""Road projects' corridors: centreline segments with planned red-line widths per side."""

from __future__ import annotations

from dataclasses import dataclass

from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.convert import from_db
from gis.crs import WARD


@dataclass(frozen=True)
class SegmentRecord:
    id: int
    project_code: str
    project_name: str
    segment_no: int
    name: str | None
    left_width_m: float
    right_width_m: float
    existing_width_m: float | None
    synthetic: bool
    centreline: BaseGeometry  # EPSG:9214


def list_segments(session: Session, *, ward_code: str,
                  bbox: tuple[float, float, float, float] | None = None,
                  segment_id: int | None = None, limit: int = 100,
                  offset: int = 0) -> tuple[list[SegmentRecord], bool]:
    rows = session.execute(text(
        "SELECT s.id, s.project_code, p.name_vi, s.segment_no, s.name, s.left_width_m, "
        "s.right_width_m, s.existing_width_m, p.synthetic, ST_AsBinary(s.centreline) AS wkb "
        "FROM project_segment s JOIN project p ON p.ward_code = s.ward_code "
        "AND p.code = s.project_code WHERE s.ward_code = :w "
        "AND (CAST(:id AS bigint) IS NULL OR s.id = :id) "
        "AND (CAST(:x0 AS float8) IS NULL OR s.centreline && ST_Transform("
        "     ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326), :srid)) "
        "ORDER BY s.id LIMIT :lim OFFSET :off"),
        {"w": ward_code, "id": segment_id, "lim": limit + 1, "off": offset, "srid": WARD,
         "x0": bbox[0] if bbox else None, "y0": bbox[1] if bbox else None,
         "x1": bbox[2] if bbox else None, "y1": bbox[3] if bbox else None}).all()
    out = [SegmentRecord(r.id, r.project_code, r.name_vi, r.segment_no, r.name,
                         r.left_width_m, r.right_width_m, r.existing_width_m, r.synthetic,
                         from_db(r.wkb)) for r in rows[:limit]]
    return out, len(rows) > limit

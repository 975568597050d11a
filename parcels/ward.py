"""The ward: its outline (the frame every parcel lies in), and whether a geometry is inside.

Every statement on the ``ward``, ``ward_piece``, ``former_unit`` and ``map_sheet`` tables
lives here (:func:`record_frame` sets them up).  The outline row
is the record; ``ward_piece`` holds it cut into indexed pieces of at most 128 vertices
(rebuilt by a trigger), so that a check near one claim clips only the pieces around it.
"""

# ruff: noqa: S608 (only the SRID constant is interpolated; values are bound parameters)
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from config import clock
from db.engine import sql
from gis.convert import from_db, from_db_many, to_ewkb
from gis.crs import WARD
from gis.errors import OutsideWard
from gis.frame import Zone
from parcels.errors import InvalidInput, WrongCRS

WARD_EDGE_TOLERANCE_M: Final = 1.0
"""A parcel may stick out of the ward outline by this much (digitising noise of the outline)."""
WRONG_CRS_DISTANCE_M: Final = 10_000.0
"""A geometry this far from the ward is in another CRS than stated, not a real parcel."""


@dataclass(frozen=True)
class FormerUnit:
    """A former commune or ward merged into this one; sheet numbering restarts in each."""

    code: str
    name: str
    boundary: BaseGeometry | None = None  # EPSG:9214


@dataclass(frozen=True)
class MapSheet:
    former_unit: str
    sheet_no: int
    scale: int
    extent: BaseGeometry | None = None  # EPSG:9214


def record_frame(session: Session, *, ward_code: str, name: str, boundary: BaseGeometry,
                 synthetic: bool, units: Sequence[FormerUnit],
                 sheets: Sequence[MapSheet]) -> None:
    """Record a ward's outline, its former units and its map sheets, set-based.  A ward or
    former unit already recorded is kept as it is (a test database seeds the ward first)."""
    session.execute(sql(
        "INSERT INTO ward (code, name, boundary, synthetic, created_at) VALUES (:c, :n, "
        "ST_Multi(ST_GeomFromEWKB(:g)), :syn, :t) ON CONFLICT (code) DO NOTHING"),
        {"c": ward_code, "n": name, "g": to_ewkb(boundary, WARD), "syn": synthetic,
         "t": clock.now()})
    session.execute(sql(
        "INSERT INTO former_unit (ward_code, code, name, boundary) "
        "SELECT :w, t.c, t.n, ST_Multi(ST_GeomFromEWKB(t.g)) FROM unnest(CAST(:c AS text[]), "
        "CAST(:n AS text[]), CAST(:g AS bytea[])) AS t(c, n, g) ON CONFLICT DO NOTHING"),
        {"w": ward_code, "c": [u.code for u in units], "n": [u.name for u in units],
         "g": [to_ewkb(u.boundary, WARD) if u.boundary is not None else None for u in units]})
    session.execute(sql(
        "INSERT INTO map_sheet (ward_code, former_unit, sheet_no, scale, extent) "
        "SELECT :w, u, n, sc, ST_GeomFromEWKB(g) FROM unnest("
        "CAST(:u AS text[]), CAST(:n AS int[]), CAST(:sc AS int[]), "
        "CAST(:g AS bytea[])) AS t(u, n, sc, g)"),
        {"w": ward_code, "u": [m.former_unit for m in sheets],
         "n": [m.sheet_no for m in sheets], "sc": [m.scale for m in sheets],
         "g": [to_ewkb(m.extent, WARD) if m.extent is not None else None for m in sheets]})


def ward_exists(session: Session, ward_code: str) -> bool:
    return session.execute(sql("SELECT 1 FROM ward WHERE code = :w"),
                           {"w": ward_code}).first() is not None


def former_units(session: Session, ward_code: str) -> dict[str, str]:
    """The former units merged into the ward (sheet numbering restarted in each): code → name,
    by code."""
    rows = session.execute(sql("SELECT code, name FROM former_unit WHERE ward_code = :w "
                               "ORDER BY code"), {"w": ward_code}).all()
    return {str(r.code): str(r.name) for r in rows}


def require_former_unit(session: Session, ward_code: str, former_unit: str) -> None:
    """Refuse a former unit the ward does not have, naming those it has (a parcel's number
    is only unique within its former unit, so an unknown one is not a number at all)."""
    known = former_units(session, ward_code)
    if former_unit not in known:
        raise InvalidInput(f"unknown former unit {former_unit!r}; known: {', '.join(known)}",
                           field="former_unit")


def former_units_at(session: Session, ward_code: str,
                    points: Sequence[BaseGeometry]) -> dict[int, str]:
    """The former unit whose boundary covers each point (by index; points in no unit are left
    out): set-based, one statement for a whole batch."""
    rows = session.execute(sql(
        "SELECT t.i, u.code FROM unnest(CAST(:i AS int[]), CAST(:g AS bytea[])) AS t(i, g) "
        "JOIN former_unit u ON u.ward_code = :w AND u.boundary IS NOT NULL "
        "AND ST_Covers(u.boundary, ST_GeomFromEWKB(t.g))"),
        {"w": ward_code, "i": list(range(len(points))),
         "g": list(to_ewkb(np.asarray(points, dtype=object), WARD))}).all()
    return {int(i): code for i, code in rows}


def ward_name(session: Session, ward_code: str) -> str | None:
    """The ward's name as recorded (None for an unknown ward)."""
    name: str | None = session.execute(sql("SELECT name FROM ward WHERE code = :w"),
                                       {"w": ward_code}).scalar_one_or_none()
    return name


def map_sheets(session: Session, ward_code: str) -> list[MapSheet]:
    """The ward's map sheets whose extent is known, by former unit and number."""
    rows = session.execute(sql(
        "SELECT former_unit, sheet_no, scale, ST_AsBinary(extent) AS wkb FROM map_sheet "
        "WHERE ward_code = :w AND extent IS NOT NULL ORDER BY former_unit, sheet_no"),
        {"w": ward_code}).all()
    return [MapSheet(r.former_unit, r.sheet_no, r.scale, from_db(r.wkb)) for r in rows]


def is_synthetic(session: Session, ward_code: str) -> bool:
    """Whether the ward's records are the synthetic demo (pages must say so)."""
    return bool(session.execute(sql("SELECT synthetic FROM ward WHERE code = :w"),
                                {"w": ward_code}).scalar_one_or_none())


def extent_wgs84(session: Session,
                 ward_code: str) -> tuple[float, float, float, float] | None:
    """The ward's bounding box in WGS 84 (minlon, minlat, maxlon, maxlat); None if unknown."""
    x0, y0, x1, y1 = session.execute(sql(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM ("
        "SELECT ST_Extent(ST_Transform(boundary, 4326)) AS e FROM ward WHERE code = :w) t"),
        {"w": ward_code}).one()
    return None if x0 is None else (x0, y0, x1, y1)


@dataclass(frozen=True)
class WardSummary:
    """A ward as a map introduces it."""

    code: str
    name: str
    synthetic: bool
    bounds: tuple[float, float, float, float] | None
    """Its outline's bounds in EPSG:9214."""


def ward_summary(session: Session, *, ward_code: str) -> WardSummary | None:
    """The ward's name, whether it is synthetic, and its extent in EPSG:9214."""
    row = session.execute(sql(
        "SELECT name, synthetic, ST_XMin(boundary) AS x0, ST_YMin(boundary) AS y0, "
        "ST_XMax(boundary) AS x1, ST_YMax(boundary) AS y1 FROM ward WHERE code = :w"),
        {"w": ward_code}).one_or_none()
    if row is None:
        return None
    bounds = None if row.x0 is None else (row.x0, row.y0, row.x1, row.y1)
    return WardSummary(code=ward_code, name=row.name, synthetic=row.synthetic, bounds=bounds)


def boundary(session: Session, ward_code: str) -> BaseGeometry | None:
    """The ward's whole outline in EPSG:9214 (None for an unknown ward)."""
    wkb = session.execute(sql("SELECT ST_AsBinary(boundary) FROM ward WHERE code = :w"),
                          {"w": ward_code}).scalar_one_or_none()
    return from_db(wkb)


FRAME_NEAR: Final = (
    "SELECT ST_AsBinary(coalesce(ST_Union(ST_Intersection(wp.geom, b.box)), "
    f"ST_GeomFromText('POLYGON EMPTY', {WARD}))) "
    "FROM (SELECT ST_Expand(ST_Envelope(ST_GeomFromEWKB(:g)), :margin) AS box) b "
    "LEFT JOIN ward_piece wp ON wp.ward_code = :w AND wp.geom && b.box "
    "WHERE b.box IS NOT NULL")
"""The outline clipped to a window around a geometry, from the indexed pieces: a
verification clips a few pieces (0.1 ms) instead of the whole outline (1 ms)."""


def require_inside(session: Session, ward_code: str,
                   geoms: Sequence[BaseGeometry] | NDArray[Any]) -> None:
    """Refuse geometries that stick out of the ward by more than the edge tolerance.

    One geometry is judged by PostGIS, which also says how far away it is (beyond
    :data:`WRONG_CRS_DISTANCE_M` the coordinates are in another CRS than stated) and how
    much lies outside.  Many (a bulk load, a survey commit) are judged here at once,
    vectorised against the buffered outline: one query per parcel would cost minutes.
    """
    if len(geoms) == 1:
        _require_one_inside(session, ward_code, geoms[0])
        return
    frame = boundary(session, ward_code)
    if frame is None:
        raise InvalidInput(f"ward {ward_code} is not in the registry")
    frame = shapely.buffer(frame, WARD_EDGE_TOLERANCE_M)
    shapely.prepare(frame)
    outside = np.flatnonzero(~shapely.covered_by(np.asarray(geoms, dtype=object), frame))
    if outside.size:
        raise OutsideWard(f"{outside.size} parcels lie partly outside ward {ward_code}; "
                          f"first: row {int(outside[0])}", rows=[int(x) for x in outside[:20]])


def _require_one_inside(session: Session, ward_code: str, geom: BaseGeometry) -> None:
    row = session.execute(
        sql(
            "SELECT ST_CoveredBy(ST_GeomFromEWKB(:g), ST_Buffer(boundary, :tol)), "
            "ST_Distance(ST_GeomFromEWKB(:g), boundary), "
            "ST_Area(ST_Difference(ST_GeomFromEWKB(:g), boundary)) "
            "FROM ward WHERE code = :w"
        ),
        {"g": to_ewkb(geom, WARD), "tol": WARD_EDGE_TOLERANCE_M, "w": ward_code},
    ).one_or_none()
    if row is None:
        raise InvalidInput(f"ward {ward_code} is not in the registry")
    inside, distance, outside_area = row
    if not inside:
        _refuse_far(ward_code, distance, "parcel")
        raise OutsideWard(
            f"{outside_area:.1f} m² of the parcel lies outside ward {ward_code}",
            area_outside_m2=round(outside_area, 2),
        )


def require_near(session: Session, ward_code: str, geom: BaseGeometry) -> None:
    """Refuse a geometry too far from the ward to be anything but a wrong CRS.

    A claim partly outside the ward is kept (verification reports it); one tens of
    kilometres away has its coordinates in another CRS than stated.
    """
    d = session.execute(sql(
        "SELECT ST_Distance(boundary, ST_GeomFromEWKB(:g)) FROM ward WHERE code = :w"),
        {"g": to_ewkb(shapely.envelope(geom), WARD), "w": ward_code}).scalar_one_or_none()
    if d is None:
        raise InvalidInput(f"ward {ward_code} is not in the registry")
    _refuse_far(ward_code, d, "claim")


def _refuse_far(ward_code: str, distance: float, what: str) -> None:
    if distance > WRONG_CRS_DISTANCE_M:
        raise WrongCRS(f"the {what} is {distance / 1000:.0f} km from ward {ward_code}: the "
                       "coordinates are probably in another CRS than stated (swapped axes, "
                       "another zone?)", distance_m=round(float(distance), 1))


NEIGHBOUR_REACH_M: Final = 50.0
"""How near another ward's outline must come to this one's to be its neighbour."""


def neighbours(session: Session, ward_code: str) -> list[Zone]:
    """The other wards of the registry whose outline comes within :data:`NEIGHBOUR_REACH_M`
    of this one's, as frames a finding can name ("sang phường Phú Xuân")."""
    rows = session.execute(sql(
        "SELECT n.code, n.name, ST_AsBinary(n.boundary) AS wkb FROM ward w JOIN ward n "
        "ON n.code <> w.code AND ST_DWithin(n.boundary, w.boundary, :reach) "
        "WHERE w.code = :w ORDER BY n.code"), {"w": ward_code, "reach": NEIGHBOUR_REACH_M}).all()
    return [Zone(id=str(r.code), kind="ward", geometry=g, name=str(r.name))
            for r, g in zip(rows, from_db_many(r.wkb for r in rows), strict=True)
            if g is not None]


@dataclass(frozen=True)
class WardRelation:
    """Where a geometry lies against the ward's outline."""

    intersects: bool
    outside_m2: float
    distance_m: float


def ward_relation(session: Session, *, ward_code: str, geom: BaseGeometry) -> WardRelation:
    """Whether ``geom`` meets the ward, how much of it lies outside, and how far it is."""
    row = session.execute(sql(
        "WITH a AS (SELECT ST_GeomFromEWKB(:g) AS g) "
        "SELECT ST_Intersects(boundary, a.g), ST_Area(ST_Difference(a.g, boundary)), "
        "ST_Distance(boundary, a.g) FROM ward, a WHERE code = :w"),
        {"g": to_ewkb(geom, WARD), "w": ward_code}).one_or_none()
    if row is None:
        raise InvalidInput(f"ward {ward_code} is not in the registry")
    return WardRelation(bool(row[0]), float(row[1] or 0.0), float(row[2] or 0.0))

"""Registered parcels around something: a claim, a survey batch, a sheet, the whole ward.

Every check reads the registry through these functions, and every one of them answers
:class:`~parcels.records.MapParcel` rows (identity, land use, geometry in EPSG:9214,
the map sheet's scale, and the holders where asked), so that a verification, a survey
intake and the registry audit judge the same parcels the same way.
"""

# ruff: noqa: S608 (only constant SQL fragments are interpolated; values are bound parameters)
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from db.engine import sql
from gis.convert import from_db, from_db_many, to_ewkb
from gis.crs import WARD
from parcels.queries import LATEST_VERSION, VERSION_COLUMNS, in_force
from parcels.records import MapParcel, ParcelRecord, holders_from_json, holders_sql, record
from parcels.ward import FRAME_NEAR

COLUMNS: Final = ("v.parcel_id, v.id AS version_id, v.former_unit, v.sheet_no, v.parcel_no, "
                  "v.land_use, ST_AsBinary(v.geom) AS wkb, s.scale, u.name AS unit_name, "
                  "v.measured_area, v.address")
JOINS: Final = ("LEFT JOIN map_sheet s ON s.ward_code = v.ward_code "
                "AND s.former_unit = v.former_unit AND s.sheet_no = v.sheet_no "
                "LEFT JOIN former_unit u ON u.ward_code = v.ward_code AND u.code = v.former_unit")
"""The map sheet (its scale) and the former unit (its name) of a version ``v``."""
FROM: Final = f"FROM parcel_version v {JOINS}"
CURRENT: Final = "v.valid_to IS NULL AND v.status = 'registered'"


def _parcels(rows: Sequence[Any], *, with_holders: bool = False) -> list[MapParcel]:
    """Rows of :data:`COLUMNS` as map parcels; the WKB is parsed in one vectorised call."""
    geoms = from_db_many(r.wkb for r in rows)
    return [MapParcel(parcel_id=r.parcel_id, version_id=r.version_id, former_unit=r.former_unit,
                      sheet_no=r.sheet_no, parcel_no=r.parcel_no, land_use=r.land_use,
                      geometry=g, scale=None if r.scale is None else int(r.scale),
                      unit_name=r.unit_name,
                      holders=holders_from_json(r.holders) if with_holders else None,
                      measured_area=float(r.measured_area), address=r.address)
            for r, g in zip(rows, geoms, strict=True)]


# ------------------------------------------------------------------------- a claim


@dataclass(frozen=True)
class Head:
    """What a check around one geometry is pinned to."""

    registry_version: int
    """The ward's newest parcel version id: a later write makes a later version."""
    scale: int | None
    """The scale of the map sheet the geometry is on (by number, else by position)."""
    frame: BaseGeometry | None
    """The ward outline clipped to a window around the geometry."""


def head(session: Session, *, ward_code: str, geometry: BaseGeometry | None,
         former_unit: str | None, sheet_no: int | None, frame_margin_m: float) -> Head:
    """The registry version, the map scale and the nearby frame, in one statement.

    The version is a backward primary-key scan (:data:`parcels.queries.LATEST_VERSION`);
    the frame is clipped from the outline's indexed pieces (see
    :data:`parcels.ward.FRAME_NEAR`).
    """
    usable = geometry is not None and not geometry.is_empty and geometry.is_valid
    row = session.execute(sql(f"""
        SELECT ({LATEST_VERSION}) AS version,
               coalesce((SELECT scale FROM map_sheet WHERE ward_code = :w
                         AND former_unit = CAST(:u AS text) AND sheet_no = CAST(:s AS int)),
                        (SELECT scale FROM map_sheet WHERE ward_code = :w
                         AND extent IS NOT NULL AND ST_Covers(extent, ST_GeomFromEWKB(:p))
                         ORDER BY scale LIMIT 1)) AS scale,
               ({FRAME_NEAR}) AS frame"""),
        {"w": ward_code, "u": former_unit, "s": sheet_no, "margin": frame_margin_m,
         "g": to_ewkb(geometry, WARD) if usable and geometry is not None else None,
         "p": _point_inside(geometry)}).one()
    return Head(registry_version=int(row.version or 0),
                scale=int(row.scale) if row.scale is not None else None,
                frame=from_db(row.frame))


def _point_inside(geom: BaseGeometry | None) -> bytes | None:
    """A point inside the geometry, to find the map sheet under it when its number is unknown."""
    if geom is None or geom.is_empty:
        return None
    pt = geom.representative_point() if geom.is_valid else shapely.centroid(geom)
    return to_ewkb(pt, WARD)


def near_geometry(session: Session, *, ward_code: str, geometry: BaseGeometry, distance: float,
                  former_unit: str | None = None, sheet_no: int | None = None,
                  parcel_no: int | None = None) -> list[MapParcel]:
    """Current registered parcels within ``distance`` of a geometry, plus the one with the
    given number wherever it lies, each with its current holders; ordered by parcel id.

    ``geometry`` may be invalid (a claim that crosses itself, drawn on a map as filed): the
    distance is taken to its envelope then, which PostGIS measures without complaint.
    """
    probe = geometry if geometry.is_valid else geometry.envelope
    rows = session.execute(sql(f"""
        WITH near AS (
            SELECT v.parcel_id FROM parcel_version v
            WHERE v.ward_code = :w AND {CURRENT}
              AND ST_DWithin(v.geom, ST_GeomFromEWKB(:g), :d)
            UNION
            SELECT v.parcel_id FROM parcel_version v
            WHERE v.ward_code = :w AND {CURRENT}
              AND v.former_unit = CAST(:u AS text) AND v.sheet_no = CAST(:s AS int)
              AND v.parcel_no = CAST(:n AS int))
        SELECT {COLUMNS}, {holders_sql()} AS holders
        FROM near JOIN parcel_version v ON v.parcel_id = near.parcel_id AND v.valid_to IS NULL
        {JOINS}
        ORDER BY v.parcel_id"""),
        {"w": ward_code, "g": to_ewkb(probe, WARD), "d": distance, "u": former_unit,
         "s": sheet_no, "n": parcel_no}).all()
    return _parcels(rows, with_holders=True)


# ------------------------------------------------------------------- a survey batch


NEAR_BATCH: Final = (
    "SELECT DISTINCT v.id FROM survey_feature f JOIN parcel_version v "
    f"ON v.ward_code = :w AND {CURRENT} "
    "AND ST_DWithin(v.geom, f.geom, :d) WHERE f.batch_id = :b")
"""Current versions near a batch's features, driven from the features so that each probes
the registry's spatial index (an EXISTS from the registry side scans the batch per parcel
when the planner has no statistics on freshly staged rows)."""


def near_batch(session: Session, *, ward_code: str, batch_id: int,
               distance: float) -> list[MapParcel]:
    """Current registered parcels within ``distance`` of any feature of a staged batch."""
    rows = session.execute(sql(f"SELECT {COLUMNS} {FROM} WHERE v.id IN ({NEAR_BATCH}) "
                               "ORDER BY v.parcel_id"),
                           {"w": ward_code, "b": batch_id, "d": distance}).all()
    return _parcels(rows)


def near_batch_versions(session: Session, *, ward_code: str, batch_id: int,
                        distance: float) -> list[int]:
    """The ids of the versions :func:`near_batch` would read (what a batch was checked with)."""
    return list(session.execute(sql(NEAR_BATCH), {"w": ward_code, "b": batch_id,
                                                  "d": distance}).scalars())


# ----------------------------------------------------------------- sheets, the ward


def in_force_with_context(session: Session, *, ward_code: str, reach: float,
                          sheet_no: int | None = None, former_unit: str | None = None,
                          as_of: datetime | None = None) -> tuple[list[MapParcel], int]:
    """Registered parcels in force (of a sheet and/or former unit), then their neighbours
    within ``reach`` as context; returns both and how many of them were asked for.

    The neighbours are found from the parcels asked for, each probing the spatial index
    (0.4 s for a former unit of 12,000 parcels); the earlier ``EXISTS`` from every parcel
    of the ward scanned the whole subset per parcel and ran past the statement timeout.
    """
    where = ["v.ward_code = :w", "v.status = 'registered'", in_force(as_of)]
    params: dict[str, Any] = {"w": ward_code, "as_of": as_of}
    if sheet_no is not None:
        where.append("v.sheet_no = :sheet")
        params["sheet"] = sheet_no
    if former_unit is not None:
        where.append("v.former_unit = :unit")
        params["unit"] = former_unit
    cond = " AND ".join(where)
    rows = list(session.execute(
        sql(f"SELECT {COLUMNS} {FROM} WHERE {cond} ORDER BY v.parcel_id"), params).all())
    n_focus = len(rows)
    if (sheet_no is not None or former_unit is not None) and rows:
        params["reach"] = reach
        near = cond.replace("v.", "n.")
        rows += session.execute(sql(
            f"SELECT {COLUMNS} {FROM} WHERE v.id IN ("
            f"  SELECT DISTINCT n.id FROM parcel_version v JOIN parcel_version n"
            f"    ON n.ward_code = :w AND n.status = 'registered'"
            f"   AND {in_force(as_of).replace('v.', 'n.')}"
            f"   AND ST_DWithin(n.geom, v.geom, :reach)"
            f"  WHERE {cond} AND NOT ({near}))"
            " ORDER BY v.parcel_id"), params).all()
    return _parcels(rows), n_focus


def by_ids(session: Session, *, ward_code: str, parcel_ids: Sequence[int],
           as_of: datetime | None = None) -> list[MapParcel]:
    """The registered versions of these parcels in force (now or at ``as_of``), by id."""
    if not parcel_ids:
        return []
    rows = session.execute(sql(
        f"SELECT {COLUMNS} {FROM} WHERE v.ward_code = :w AND v.status = 'registered' "
        f"AND {in_force(as_of)} AND v.parcel_id = ANY(:ids) ORDER BY v.parcel_id"),
        {"w": ward_code, "ids": sorted(set(parcel_ids)), "as_of": as_of}).all()
    return _parcels(rows)


# ----------------------------------------------------------------- a road corridor


def touching(session: Session, *, ward_code: str, area: BaseGeometry,
             as_of: datetime | None = None) -> list[ParcelRecord]:
    """Registered parcels in force (now, or at ``as_of``) whose geometry meets ``area`` (its
    interior or boundary), with the holders of that instant: what a road corridor touches,
    read as the registry stood on the day of a decision.  One statement, the holders as a
    JSON array per row."""
    holders = holders_sql(None if as_of is None else ":as_of")
    rows = session.execute(sql(
        f"SELECT {VERSION_COLUMNS}, {holders} AS holders_json FROM parcel_version v "
        "JOIN parcel p ON p.id = v.parcel_id "
        f"WHERE v.ward_code = :w AND v.status = 'registered' AND {in_force(as_of)} "
        "AND v.geom && ST_GeomFromEWKB(:g) AND ST_Intersects(v.geom, ST_GeomFromEWKB(:g)) "
        "ORDER BY v.parcel_id"),
        {"w": ward_code, "as_of": as_of, "g": to_ewkb(area, WARD)}).all()
    geoms = from_db_many(r.wkb for r in rows)
    return [record(r._mapping, g, holders_from_json(r.holders_json))
            for r, g in zip(rows, geoms, strict=True)]


def road_parcels_near(session: Session, *, ward_code: str, parcels: Sequence[BaseGeometry],
                      uses: tuple[str, ...], distance_m: float,
                      as_of: datetime | None = None) -> list[tuple[int, BaseGeometry]]:
    """Parcels of the given land uses (roads) within ``distance_m`` of any of ``parcels``:
    the roads the parcels a corridor touches may front.

    One index probe per parcel's bounding box in SQL, the exact distance here: PostGIS's
    ST_DWithin per pair of parcels cost 0.9 ms each on the full demo ward (300 ms for Ring
    Road 3), the boxes and a shapely tree a few milliseconds.
    """
    if not uses or not parcels:
        return []
    bounds = shapely.bounds(np.asarray(parcels, dtype=object))
    pad = distance_m
    rows = session.execute(sql(
        "WITH hit AS (SELECT DISTINCT v.id FROM unnest(CAST(:x0 AS float8[]), "
        "CAST(:y0 AS float8[]), CAST(:x1 AS float8[]), CAST(:y1 AS float8[])) AS b(x0, y0, x1, y1) "
        "JOIN parcel_version v ON v.geom && ST_MakeEnvelope(b.x0, b.y0, b.x1, b.y1, :srid) "
        f"WHERE v.ward_code = :w AND v.status = 'registered' AND {in_force(as_of)} "
        "AND v.land_use = ANY(:uses)) "
        "SELECT v.parcel_id, ST_AsBinary(v.geom) AS wkb FROM hit JOIN parcel_version v "
        "ON v.id = hit.id ORDER BY v.parcel_id"),
        {"w": ward_code, "as_of": as_of, "uses": list(uses), "srid": WARD,
         "x0": (bounds[:, 0] - pad).tolist(), "y0": (bounds[:, 1] - pad).tolist(),
         "x1": (bounds[:, 2] + pad).tolist(), "y1": (bounds[:, 3] + pad).tolist()}).all()
    if not rows:
        return []
    found = [(r.parcel_id, from_db(r.wkb)) for r in rows]
    tree = shapely.STRtree([g for _, g in found])
    near = set(tree.query(np.asarray(parcels, dtype=object), predicate="dwithin",
                          distance=distance_m)[1].tolist())
    return [found[i] for i in sorted(near)]

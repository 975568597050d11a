"""The registry as Mapbox Vector Tiles: current parcels cut to a Web Mercator tile by PostGIS.

``ST_AsMVT`` makes the tile in the database (one statement, the geometries never leave
it as WKB); :mod:`maps.tiles` caches the bytes, keyed by
:func:`parcels.queries.registry_version`.
"""

# ruff: noqa: S608 (only constant SQL fragments are interpolated; values are bound parameters)
from __future__ import annotations

from typing import Final

from sqlalchemy.orm import Session

from db.engine import sql
from gis.crs import WARD
from parcels.nearby import CURRENT

TILE_EXTENT: Final = 4096
"""Tile coordinates per side (the MVT default)."""


def parcel_tile(session: Session, *, ward_code: str, z: int, x: int, y: int,
                min_area_m2: float) -> bytes:
    """The current parcels crossing tile z/x/y as a Mapbox Vector Tile (layer ``parcels``).

    Parcels smaller than ``min_area_m2`` are left out (at low zoom they are under a pixel);
    each feature carries id, sheet, number, land use and area.
    """
    row = session.execute(sql(f"""
        WITH bounds AS (
            SELECT ST_TileEnvelope(:z, :x, :y) AS b3857,
                   ST_Transform(ST_TileEnvelope(:z, :x, :y), {WARD}) AS b_ward
        ), mvt AS (
            SELECT v.parcel_id AS id, v.sheet_no, v.parcel_no, v.former_unit, v.land_use,
                   round(v.measured_area::numeric, 1)::float8 AS area_m2,
                   ST_AsMVTGeom(ST_Transform(v.geom, 3857), bounds.b3857, {TILE_EXTENT}, 64,
                                true) AS geom
            FROM parcel_version v, bounds
            WHERE v.ward_code = :w AND {CURRENT}
              AND v.geom && bounds.b_ward AND v.measured_area >= :min_area
        )
        SELECT ST_AsMVT(mvt, 'parcels', {TILE_EXTENT}, 'geom') FROM mvt
        WHERE geom IS NOT NULL"""),
        {"w": ward_code, "z": z, "x": x, "y": y, "min_area": min_area_m2}).scalar_one()
    return bytes(row) if row is not None else b""

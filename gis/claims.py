"""A geometry as someone stated it (coordinates and the CRS they named), read into the
ward's CRS or refused with a reason: the one way a parcel or a claim enters the service.

Pure: whether it also lies in (or near) the ward is the registry's question
(:mod:`parcels.stated`).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from gis import crs as gcrs

Refusal = Literal["unknown_crs", "wrong_crs", "invalid"]


class StatedGeometryError(ValueError):
    """Why a stated geometry is refused, with the figures that show it."""

    def __init__(self, kind: Refusal, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.detail = detail


def _degrees(coords: np.ndarray) -> bool:
    return bool((abs(coords[:, 0]) <= 180).all() and (abs(coords[:, 1]) <= 90).all())


def ward_polygon(geometry: BaseGeometry | None, srid: int, *,
                 keep_invalid: bool = False) -> Polygon:
    """One polygon in EPSG:9214, exterior counter-clockwise, from a geometry in ``srid``.

    Refused, never repaired silently: a CRS the service does not accept, an empty geometry
    or one that is not one polygon, NaN, infinite or absurd coordinates, fewer than three
    distinct corners, degrees stated as metres (or metres as degrees).  An invalid
    polygon (a self-intersecting ring) is refused unless ``keep_invalid``: a claim keeps
    its invalid drawing, so that verification can show where it is wrong and offer a
    repair.
    """
    if srid not in gcrs.SUPPORTED:
        raise StatedGeometryError(
            "unknown_crs", f"EPSG:{srid} is not accepted; use one of "
            + ", ".join(f"EPSG:{c} ({n})" for c, n in gcrs.SUPPORTED.items()), srid=srid)
    if geometry is None or geometry.is_empty:
        raise StatedGeometryError("invalid", "the geometry is empty")
    if isinstance(geometry, MultiPolygon) and len(geometry.geoms) == 1:
        geometry = geometry.geoms[0]
    if not isinstance(geometry, Polygon):
        raise StatedGeometryError("invalid", f"a parcel is one polygon, got {geometry.geom_type}",
                                  geometry_type=geometry.geom_type)
    coords = shapely.get_coordinates(geometry)
    if not coords.size or not np.isfinite(coords).all() or not (np.abs(coords) < 1e9).all():
        raise StatedGeometryError("invalid", "the geometry has NaN, infinite or absurd "
                                  "coordinates")
    if len({tuple(c) for c in coords}) < 3:
        raise StatedGeometryError("invalid", "a polygon ring needs at least 4 points "
                                  "(3 distinct corners, closed)")
    if geometry.has_z:
        geometry = shapely.force_2d(geometry)
    if not keep_invalid and not geometry.is_valid:
        reason = shapely.is_valid_reason(geometry)
        raise StatedGeometryError("invalid", f"the polygon is not valid: {reason}", reason=reason)
    if srid == gcrs.WARD and _degrees(coords):
        raise StatedGeometryError(
            "wrong_crs", "the coordinates look like longitude/latitude degrees but were given "
            "as EPSG:9214 metres; send srid 4326 (WGS 84) or 4756 (VN-2000 geographic)")
    if srid in (gcrs.WGS84, gcrs.VN2000_GEO) and not _degrees(coords):
        raise StatedGeometryError(
            "wrong_crs", f"EPSG:{srid} coordinates are degrees, but these are not: state the "
            "projected CRS (9214, 3405 or 3406) in 'srid'")
    projected = gcrs.to_ward(geometry, srid)
    assert isinstance(projected, Polygon)
    if keep_invalid:
        return projected
    if not projected.is_valid:
        raise StatedGeometryError("invalid", "the polygon becomes invalid once projected to "
                                  "EPSG:9214")
    return orient(projected, sign=1.0)

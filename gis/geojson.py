"""GeoJSON at the edge: always WGS 84 longitude/latitude (RFC 7946), 8 decimals (≈ 1 mm)."""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from gis.crs import WARD, to_wgs84

DECIMALS = 8


class GeoJSONError(ValueError):
    """Not a GeoJSON geometry we can read."""


def geometry_to_geojson(geom: BaseGeometry, srid: int = WARD) -> dict[str, Any]:
    """A GeoJSON geometry object in EPSG:4326 from a geometry in ``srid``."""
    out = shapely.set_precision(to_wgs84(geom, srid), 10.0**-DECIMALS, mode="pointwise")
    return dict(mapping(out))


def geometry_from_geojson(obj: Any) -> BaseGeometry:
    """A shapely geometry from a GeoJSON geometry (or Feature) object, checked for shape."""
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        obj = obj.get("geometry")
    if not isinstance(obj, dict) or "type" not in obj or "coordinates" not in obj:
        raise GeoJSONError("expected a GeoJSON geometry object with 'type' and 'coordinates'")
    try:
        return shape(obj)
    except Exception as exc:  # shapely raises several kinds for malformed coordinates
        raise GeoJSONError(f"malformed GeoJSON {obj.get('type')}: {exc}") from exc

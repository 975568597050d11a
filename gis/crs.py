"""Coordinate reference systems of the ward and the transforms between them.

This is the only module that builds pyproj objects.  Every transformer is built
with ``always_xy=True`` so that coordinates are always (x, y) = (easting,
northing) or (longitude, latitude), whatever axis order the EPSG definition
declares.  Never round-trip a CRS through a proj4 string: ``CRS.to_proj4()`` of
EPSG:9214 silently drops the VN-2000 datum shift (≈ 200 m at Hue).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final, TypeVar

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

WARD: Final = 9214
"""VN-2000 / TM-3 107-00, the Thua Thien Hue cadastral zone: all storage and measurement."""
WGS84: Final = 4326
"""WGS 84 geographic (GeoJSON, the web)."""
VN2000_GEO: Final = 4756
"""VN-2000 geographic."""
VN2000_UTM48: Final = 3405
VN2000_UTM49: Final = 3406

SUPPORTED: Final[dict[int, str]] = {
    WARD: "VN-2000 / TM-3 107-00 (Thừa Thiên Huế)",
    WGS84: "WGS 84",
    VN2000_GEO: "VN-2000 geographic",
    VN2000_UTM48: "VN-2000 / UTM zone 48N",
    VN2000_UTM49: "VN-2000 / UTM zone 49N",
}

# The official VN-2000 -> WGS 84 seven parameters (Decision 05/2007/QD-BTNMT) in
# PROJ's position-vector convention; identical to PostGIS's own row for SRID 4756.
VN2000_TOWGS84: Final = (
    "-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278"
)
WARD_PROJ4: Final = (
    "+proj=tmerc +lat_0=0 +lon_0=107 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 "
    f"+towgs84={VN2000_TOWGS84} +units=m +no_defs"
)
"""The proj string PostGIS stores for SRID 9214 (PostGIS 3.3 lacks the row)."""


class CRSError(ValueError):
    """A CRS we do not know or cannot use for the operation asked."""


@lru_cache(maxsize=64)
def crs(code: int | str) -> CRS:
    """Return the pyproj CRS for an EPSG code (``9214``, ``"EPSG:9214"``)."""
    try:
        return CRS.from_user_input(code)
    except Exception as exc:  # pyproj raises its own CRSError subclasses
        raise CRSError(f"unknown CRS {code!r}: give an EPSG code such as 9214 or 4326") from exc


def epsg_of(code: int | str) -> int:
    """The EPSG integer of a CRS given as code, ``"EPSG:n"`` or WKT; raise when it has none."""
    if isinstance(code, int):
        crs(code)
        return code
    found = crs(code).to_epsg(min_confidence=70)
    if found is None:
        raise CRSError(f"CRS {str(code)[:60]!r} has no EPSG code; name it explicitly (e.g. 9214)")
    return found


def northing_first(code: int | str) -> bool:
    """Whether the CRS's authority lists the north axis (latitude, northing) first.

    EPSG:4326 and EPSG:4756 do (latitude, longitude); OGC:CRS84 and the projected VN-2000
    zones (9214, 3405, 3406: easting, northing) do not.  OGC API Features Part 2 writes
    coordinates in this order, so the one place that asks pyproj is here.
    """
    axes = crs(code).axis_info
    return bool(axes) and axes[0].direction.lower() in ("north", "south")


def wkt(code: int | str) -> str:
    """The CRS as WKT2 (what QGIS projects store; lossless, unlike a proj string)."""
    return str(crs(code).to_wkt())


def authid(code: int | str) -> str:
    """``EPSG:9214`` for a code, or the authority id of a name such as ``OGC:CRS84``."""
    if isinstance(code, int):
        return f"EPSG:{code}"
    found = crs(code).to_authority()
    if found is None:
        raise CRSError(f"CRS {str(code)[:60]!r} has no authority id")
    return f"{found[0]}:{found[1]}"


def is_geographic(code: int | str) -> bool:
    """Degrees (a geographic CRS) rather than metres."""
    return bool(crs(code).is_geographic)


@lru_cache(maxsize=64)
def transformer(source: int, target: int) -> Transformer:
    """A cached (x, y)-ordered transformer between two EPSG codes."""
    return Transformer.from_crs(crs(source), crs(target), always_xy=True)


Geoms = TypeVar("Geoms", BaseGeometry, np.ndarray)
"""One geometry or an array of them: PROJ is called once either way."""


def transform(geom: Geoms, source: int, target: int) -> Geoms:
    """Reproject a shapely geometry, or an array of them in one call to PROJ; axis order
    is (x, y) on both sides."""
    if source == target:
        return geom
    t = transformer(source, target)
    out = shapely.transform(geom, lambda xy: _stack(t.transform(xy[:, 0], xy[:, 1])))
    return np.asarray(out) if isinstance(geom, np.ndarray) else out


def to_ward(geom: Geoms, source: int) -> Geoms:
    """Reproject into the ward's metric CRS (EPSG:9214), where areas are measured."""
    return transform(geom, source, WARD)


def to_wgs84(geom: Geoms, source: int = WARD) -> Geoms:
    """Reproject to WGS 84 longitude/latitude, the order GeoJSON requires."""
    return transform(geom, source, WGS84)


def _stack(xy: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    return np.column_stack(xy)

"""OGC API – Features Part 2 (CRS by reference) at the edge of ``/ogc``.

Every collection offers CRS84 (the default, longitude/latitude) and the ward's own
VN-2000 / TM-3 107-00 (EPSG:9214, the storage CRS), with WGS 84, VN-2000 geographic and
the two VN-2000 UTM zones.  ``crs`` picks the CRS of the coordinates sent (named back in
the ``Content-Crs`` header), ``bbox-crs`` the CRS of a ``bbox``.  Part 2 writes
coordinates in the axis order the CRS's authority defines: latitude first for EPSG:4326
and EPSG:4756, easting first for the projected VN-2000 zones and longitude first for
CRS84.  Geometries are read in EPSG:9214 and reprojected here, once per page
(``gis.geojson``); a bbox is handed to the query in its own CRS, x/y order, so a window
in EPSG:9214 selects exactly what PostGIS intersects with it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Final

from gis import crs as gcrs
from parcels.errors import InvalidInput

CRS84: Final = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI: Final = "http://www.opengis.net/def/crs/EPSG/0/{}"
OFFERED_EPSG: Final = (gcrs.WARD, gcrs.WGS84, gcrs.VN2000_UTM48, gcrs.VN2000_UTM49,
                       gcrs.VN2000_GEO)
CONFORMANCE: Final = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"


@dataclass(frozen=True)
class Crs:
    """One CRS a client may ask for: its URI, the EPSG code it is computed in (CRS84 is
    EPSG:4326 with longitude first), and whether its coordinates come latitude/northing
    first."""

    uri: str
    epsg: int
    northing_first: bool

    @property
    def header(self) -> str:
        """The ``Content-Crs`` value: the URI in angle brackets."""
        return f"<{self.uri}>"


def _offered() -> dict[str, Crs]:
    out = {CRS84: Crs(CRS84, gcrs.WGS84, northing_first=False)}
    for code in OFFERED_EPSG:
        uri = EPSG_URI.format(code)
        out[uri] = Crs(uri, code, northing_first=gcrs.northing_first(code))
    return out


OFFERED: Final = _offered()
DEFAULT: Final = OFFERED[CRS84]
STORAGE: Final = OFFERED[EPSG_URI.format(gcrs.WARD)]
SUPPORTED_URIS: Final = list(OFFERED)

_EPSG_FORMS = (
    re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/0/(\d+)$"),
    re.compile(r"^\[?EPSG:(\d+)\]?$", re.IGNORECASE),
    re.compile(r"^urn:ogc:def:crs:EPSG:[\d.]*:(\d+)$", re.IGNORECASE),
)
_CRS84_FORMS = frozenset({CRS84, "https://www.opengis.net/def/crs/OGC/1.3/CRS84",
                          "[OGC:CRS84]", "OGC:CRS84", "urn:ogc:def:crs:OGC:1.3:CRS84"})


class UnsupportedCrs(InvalidInput):
    code = "unsupported_crs"
    title = "Coordinate reference system not supported"


def parse_crs(value: str | None, *, field: str = "crs") -> Crs:
    """The CRS a ``crs`` or ``bbox-crs`` parameter names (its URI, or the usual short forms
    ``EPSG:9214``, ``[EPSG:9214]``, ``urn:ogc:def:crs:EPSG::9214``); CRS84 when absent."""
    if value is None or value == "":
        return DEFAULT
    given = value.strip()
    if given in _CRS84_FORMS:
        return DEFAULT
    for form in _EPSG_FORMS:
        m = form.match(given)
        if m:
            found = OFFERED.get(EPSG_URI.format(int(m.group(1))))
            if found is not None:
                return found
            break
    raise UnsupportedCrs(f"{field} {value[:120]!r} is not offered; use one of "
                         + ", ".join(SUPPORTED_URIS), field=field, supported=SUPPORTED_URIS)


def parse_bbox(value: str, bbox_crs: Crs) -> tuple[float, float, float, float]:
    """A ``bbox`` in ``bbox_crs``'s axis order, as (xmin, ymin, xmax, ymax) in x/y order
    (longitude/easting first) for the query; checked to be four finite numbers, lower
    corner first, and in range for degrees."""
    try:
        parts = [float(p) for p in value.split(",")]
    except ValueError:
        parts = []
    order = "lower corner first, then upper corner, each in the axis order of bbox-crs"
    if len(parts) != 4 or not all(math.isfinite(p) for p in parts):
        raise InvalidInput(f"bbox {value[:120]!r} is not four numbers ({order})", field="bbox")
    a0, b0, a1, b1 = parts
    x0, y0, x1, y1 = (b0, a0, b1, a1) if bbox_crs.northing_first else (a0, b0, a1, b1)
    if gcrs.is_geographic(bbox_crs.epsg) and not (
            -180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        axes = "latitude,longitude" if bbox_crs.northing_first else "longitude,latitude"
        raise InvalidInput(f"bbox {value[:120]!r} is not {axes} in degrees for {bbox_crs.uri}",
                           field="bbox")
    if x0 > x1 or y0 > y1:
        raise InvalidInput(f"bbox {value[:120]!r}: the lower corner is above the upper ({order})",
                           field="bbox")
    return x0, y0, x1, y1

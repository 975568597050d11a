"""The one seam between shapely and the database: WKB in and out, SRID always explicit."""

from __future__ import annotations

import shapely
from geoalchemy2 import WKBElement
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry.base import BaseGeometry


def to_db(geom: BaseGeometry, srid: int) -> WKBElement:
    """A geometry for a GeoAlchemy2 column; ``srid`` must be the CRS ``geom`` is in."""
    return from_shape(geom, srid=srid, extended=True)


def from_db(value: WKBElement | bytes | memoryview | str | None) -> BaseGeometry | None:
    """A shapely geometry from a GeoAlchemy2 element, raw (E)WKB bytes or hex."""
    if value is None:
        return None
    if isinstance(value, WKBElement):
        return to_shape(value)
    if isinstance(value, memoryview):
        value = bytes(value)
    return shapely.from_wkb(value)

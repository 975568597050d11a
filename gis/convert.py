"""The one seam between shapely and the database: WKB in and out, SRID always explicit.

Every geometry that crosses between shapely and PostGIS goes through here, in one of
three forms:

* ORM columns (GeoAlchemy2): :func:`to_db` and :func:`from_db`;
* SQL text: a bound parameter from :func:`to_ewkb`, read as ``ST_GeomFromEWKB(:g)``
  (the SRID travels inside the value, so the statement names none), and ``ST_AsBinary``
  results read back with :func:`from_db` or, for a whole result, :func:`from_db_many`;
* COPY rows: :func:`to_ewkb` with ``hex=True``, the text PostGIS reads as a geometry.

The array forms are one vectorised GEOS call for the whole array, as fast as calling
shapely directly (a 100,000-parcel audit reads its geometries in one call).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, overload

import numpy as np
import shapely
from geoalchemy2 import WKBElement
from geoalchemy2.shape import from_shape, to_shape
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

Raw = WKBElement | bytes | memoryview | str
"""What a driver or GeoAlchemy2 hands back for a geometry: an element, (E)WKB bytes or hex."""


def to_db(geom: BaseGeometry, srid: int) -> WKBElement:
    """A geometry for a GeoAlchemy2 column; ``srid`` must be the CRS ``geom`` is in."""
    return from_shape(geom, srid=srid, extended=True)


@overload
def from_db(value: None) -> None: ...


@overload
def from_db(value: Raw) -> BaseGeometry: ...


@overload
def from_db(value: Raw | None) -> BaseGeometry | None: ...


def from_db(value: Raw | None) -> BaseGeometry | None:
    """A shapely geometry from a GeoAlchemy2 element, raw (E)WKB bytes or hex."""
    if value is None:
        return None
    if isinstance(value, WKBElement):
        return to_shape(value)
    if isinstance(value, memoryview):
        value = bytes(value)
    return shapely.from_wkb(value)


def from_db_many(values: Iterable[bytes | memoryview | None]) -> NDArray[Any]:
    """Shapely geometries (an object array) from many WKB values in one call; None stays
    None, and no values give an empty array."""
    raw = [v if v is None or isinstance(v, bytes) else bytes(v) for v in values]
    if not raw:
        return np.empty(0, dtype=object)
    return np.asarray(shapely.from_wkb(raw), dtype=object)


@overload
def to_ewkb(geom: BaseGeometry, srid: int, *, hex: Literal[False] = False) -> bytes: ...


@overload
def to_ewkb(geom: BaseGeometry, srid: int, *, hex: Literal[True]) -> str: ...


@overload
def to_ewkb(geom: NDArray[Any], srid: int, *, hex: bool = False) -> NDArray[Any]: ...


def to_ewkb(geom: BaseGeometry | NDArray[Any], srid: int, *, hex: bool = False) -> Any:
    """Extended WKB (the SRID inside) of a geometry or of each in an array; None stays None.

    Bytes bind as a parameter for ``ST_GeomFromEWKB(:g)``; ``hex=True`` gives the text a
    COPY row carries into a geometry column.  ``srid`` must be the CRS ``geom`` is in.
    Written in 2D: every geometry column of the schema is 2D (readers drop Z and M).
    """
    return shapely.to_wkb(shapely.set_srid(geom, srid), hex=hex, include_srid=True,
                          output_dimension=2)

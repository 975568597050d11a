"""A geometry as stated (coordinates + the CRS named) to a polygon of the ward, or an error.

:func:`gis.claims.ward_polygon` does the pure part (CRS, shape, validity, projection);
this adds where it lies: a parcel to register must lie in the ward (to the edge
tolerance), a claim only near it (beyond :data:`parcels.ward.WRONG_CRS_DISTANCE_M` its
coordinates are in another CRS than stated; partly outside, verification reports it).
"""

from __future__ import annotations

from typing import Literal

from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from gis.claims import StatedGeometryError, ward_polygon
from gis.errors import DomainError
from parcels import ward
from parcels.errors import InvalidGeometry, UnknownCRS, WrongCRS


def prepare(geometry: BaseGeometry | None, srid: int, *, keep_invalid: bool = False,
            invalid: type[DomainError] = InvalidGeometry) -> Polygon:
    """:func:`gis.claims.ward_polygon` with the registry's errors (``invalid`` for a bad
    shape: a claim names its own problem type)."""
    try:
        return ward_polygon(geometry, srid, keep_invalid=keep_invalid)
    except StatedGeometryError as exc:
        error = {"unknown_crs": UnknownCRS, "wrong_crs": WrongCRS}.get(exc.kind, invalid)
        raise error(exc.message, **exc.detail) from exc


def place(session: Session, *, ward_code: str, geometry: BaseGeometry | None, srid: int,
          where: Literal["inside", "near"] = "inside", keep_invalid: bool = False,
          invalid: type[DomainError] = InvalidGeometry) -> Polygon:
    """:func:`prepare`, then refuse what does not lie ``inside`` (or ``near``) the ward."""
    polygon = prepare(geometry, srid, keep_invalid=keep_invalid, invalid=invalid)
    if where == "inside":
        ward.require_inside(session, ward_code, [polygon])
    else:
        ward.require_near(session, ward_code, polygon)
    return polygon

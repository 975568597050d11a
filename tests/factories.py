"""Hand-drawn parcels in EPSG:9214 around the test ward's centre, whose answers are on paper."""

from __future__ import annotations

from shapely.geometry import Polygon, box

from gis import crs as gcrs
from parcels.registry import ParcelSpec

X0, Y0 = 559_000.0, 1_820_000.0


def rect(x: float, y: float, w: float, h: float) -> Polygon:
    """A w × h metre rectangle whose south-west corner is (X0 + x, Y0 + y)."""
    return box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)


def spec(sheet: int, number: int, geom: Polygon, *, unit: str = "kim_long", land_use: str = "ODT",
         legal_area: float | None = None, srid: int = gcrs.WARD) -> ParcelSpec:
    return ParcelSpec(former_unit=unit, sheet_no=sheet, parcel_no=number, land_use=land_use,
                      geometry=geom, srid=srid, legal_area=legal_area,
                      address=f"kiệt {number} Kim Long")


def geojson_wgs84(geom: Polygon) -> dict[str, object]:
    from gis.geojson import geometry_to_geojson

    return geometry_to_geojson(geom, gcrs.WARD)

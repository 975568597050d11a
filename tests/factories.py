"""Hand-drawn parcels in EPSG:9214 around the test ward's centre, whose answers are on paper."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
import uuid

from shapely.geometry import MultiPolygon, Polygon, box
from sqlalchemy import Engine, text

from gis import crs as gcrs
from gis.convert import to_ewkb
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


def committed_ward(engine: Engine, name: str) -> str:
    """A ward of its own (a fresh code each run), committed, around the test ward's centre:
    for tests whose rows must be committed (concurrency, a server of their own), so that
    nothing else reads them."""
    code = "T" + uuid.uuid4().hex[:8]
    with engine.begin() as c:
        c.execute(text("INSERT INTO ward (code, name, boundary, synthetic) VALUES "
                       "(:c, :n, ST_GeomFromEWKB(:g), true)"),
                  {"c": code, "n": name, "g": to_ewkb(MultiPolygon([box(
                      X0 - 1000, Y0 - 1000, X0 + 1000, Y0 + 1000)]), gcrs.WARD)})
        c.execute(text("INSERT INTO former_unit (ward_code, code, name) VALUES "
                       "(:w, 'kim_long', 'Kim Long')"), {"w": code})
    return code


def sign_in(base_url: str, username: str, password: str) -> str:
    """A bearer token from a live server's own sign-in (``POST /api/v1/auth/token``).

    A server in another process dates its tokens by its own clock; a token this process
    signed would carry this process's clock, which a test may have moved.
    """
    form = urllib.parse.urlencode({"username": username, "password": password}).encode()
    with urllib.request.urlopen(f"{base_url}/api/v1/auth/token", data=form, timeout=30) as r:
        return str(json.loads(r.read())["access_token"])

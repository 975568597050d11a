"""VN-2000 / TM-3 107-00: pyproj and PostGIS agree, and match the published fixture."""

from __future__ import annotations

import pytest
from shapely.geometry import Point
from sqlalchemy import text

from gis import crs as gcrs

HUE_LONLAT = (107.555, 16.455)
HUE_9214 = (559_067.211, 1_820_005.354)  # DOMAIN.md fixture (EPSG:9214 with the datum shift)


def test_pyproj_matches_published_fixture() -> None:
    """WGS 84 (107.555, 16.455) lands on E 559067.211, N 1820005.354 to the millimetre."""
    p = gcrs.to_ward(Point(*HUE_LONLAT), gcrs.WGS84)
    assert p.x == pytest.approx(HUE_9214[0], abs=0.001)
    assert p.y == pytest.approx(HUE_9214[1], abs=0.001)


def test_postgis_and_pyproj_agree_both_ways(connection) -> None:
    """ST_Transform with our SRID 9214 row and pyproj agree within 1 cm, there and back."""
    fwd = connection.execute(text(
        "SELECT ST_X(g), ST_Y(g) FROM ST_Transform(ST_SetSRID(ST_MakePoint(:x, :y), 4326), 9214) g"
    ), {"x": HUE_LONLAT[0], "y": HUE_LONLAT[1]}).one()
    mine = gcrs.to_ward(Point(*HUE_LONLAT), gcrs.WGS84)
    assert abs(fwd[0] - mine.x) < 0.01 and abs(fwd[1] - mine.y) < 0.01

    back = connection.execute(text(
        "SELECT ST_X(g), ST_Y(g) FROM ST_Transform(ST_SetSRID(ST_MakePoint(:x, :y), 9214), 4326) g"
    ), {"x": HUE_9214[0], "y": HUE_9214[1]}).one()
    mine_back = gcrs.to_wgs84(Point(*HUE_9214))
    # 1 cm is about 9e-8 degrees at Hue's latitude.
    assert abs(back[0] - mine_back.x) < 9e-8 and abs(back[1] - mine_back.y) < 9e-8


def test_postgis_keeps_the_datum_shift(connection) -> None:
    """Dropping the VN-2000 shift would move the point ~195 m east: our row must not."""
    x = connection.execute(text(
        "SELECT ST_X(ST_Transform(ST_SetSRID(ST_MakePoint(107.555, 16.455), 4326), 9214))"
    )).scalar_one()
    assert x == pytest.approx(HUE_9214[0], abs=0.01)


@pytest.mark.parametrize("code", [gcrs.WARD, gcrs.WGS84, gcrs.VN2000_GEO, gcrs.VN2000_UTM48,
                                  gcrs.VN2000_UTM49])
def test_named_crs_round_trip_through_wgs84(code: int) -> None:
    """Every supported CRS takes the Hue point there and back within a millimetre."""
    there = gcrs.transform(Point(*HUE_LONLAT), gcrs.WGS84, code)
    back = gcrs.transform(there, code, gcrs.WGS84)
    assert back.distance(Point(*HUE_LONLAT)) < 1e-8


def test_unknown_crs_is_refused() -> None:
    with pytest.raises(gcrs.CRSError, match="unknown CRS"):
        gcrs.crs("EPSG:999999")

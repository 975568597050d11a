"""VN-2000 coordinate systems: pyproj and PostGIS against references computed without them.

The reference coordinates are computed here, in plain numpy, from the published
definitions: the official VN-2000 -> WGS 84 seven parameters (Decision 05/2007/QĐ-BTNMT,
as DOMAIN.md gives them, coordinate-frame rotations) applied in geocentric
coordinates, and the transverse Mercator projection by Krüger's series in the form
of Karney (2011), "Transverse Mercator with an accuracy of a few nanometers",
J. Geodesy 85:475-485, eqs. 7-9 and 35 (to order n⁴: truncation under 0.1 µm).
They are checked against the one published point in DOMAIN.md (WGS 84 lon 107.555,
lat 16.455 -> EPSG:9214 E 559067.211, N 1820005.354) before they judge pyproj.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely.geometry import Point
from sqlalchemy import text

from gis import crs as gcrs

HUE_LONLAT = (107.555, 16.455)
HUE_9214 = (559_067.211, 1_820_005.354)  # DOMAIN.md fixture (EPSG:9214 with the datum shift)

# ---------------------------------------------------------------- the reference, without PROJ

A_WGS84 = 6_378_137.0
F_WGS84 = 1 / 298.257223563  # VN-2000 uses the WGS 84 ellipsoid too
E2 = F_WGS84 * (2 - F_WGS84)
ARCSEC = math.pi / (180 * 3600)

# VN-2000 -> WGS 84, Decision 05/2007/QĐ-BTNMT: translations (m), rotations (arc-seconds,
# coordinate-frame convention, EPSG method 9607), scale (ppm).
TX, TY, TZ = -191.90441429, -39.30318279, -111.45032835
RX, RY, RZ = -0.00928836, +0.01975479, -0.00427372
DS_PPM = 0.252906278


def geocentric(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Geodetic (degrees, on the ellipsoid) to Earth-centred X, Y, Z in metres."""
    lam, phi = np.radians(lon), np.radians(lat)
    nu = A_WGS84 / np.sqrt(1 - E2 * np.sin(phi) ** 2)
    return np.stack([nu * np.cos(phi) * np.cos(lam), nu * np.cos(phi) * np.sin(lam),
                     nu * (1 - E2) * np.sin(phi)])


def geodetic(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Earth-centred X, Y, Z to longitude, latitude (degrees), by fixed-point iteration."""
    x, y, z = xyz
    p = np.hypot(x, y)
    phi = np.arctan2(z, p * (1 - E2))
    for _ in range(10):  # converges to 1e-15 rad in four steps near the surface
        nu = A_WGS84 / np.sqrt(1 - E2 * np.sin(phi) ** 2)
        h = p / np.cos(phi) - nu
        phi = np.arctan2(z, p * (1 - E2 * nu / (nu + h)))
    return np.degrees(np.arctan2(y, x)), np.degrees(phi)


def coordinate_frame_matrix() -> np.ndarray:
    """(1 + s)·R of EPSG method 9607 (coordinate frame), small-angle form, VN-2000 -> WGS 84."""
    rx, ry, rz = RX * ARCSEC, RY * ARCSEC, RZ * ARCSEC
    rot = np.array([[1.0, rz, -ry], [-rz, 1.0, rx], [ry, -rx, 1.0]])
    return (1 + DS_PPM * 1e-6) * rot


def wgs84_to_vn2000(lon: float | np.ndarray, lat: float | np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """WGS 84 longitude/latitude to VN-2000 longitude/latitude: the inverse of the official
    transformation X_wgs = T + (1 + s)·R·X_vn, solved exactly (heights taken as 0)."""
    xyz = geocentric(np.atleast_1d(lon), np.atleast_1d(lat))
    vn = np.linalg.solve(coordinate_frame_matrix(), xyz - np.array([[TX], [TY], [TZ]]))
    return geodetic(vn)


def transverse_mercator(lon: np.ndarray, lat: np.ndarray, *, lon0: float, k0: float,
                        false_easting: float = 500_000.0) -> tuple[np.ndarray, np.ndarray]:
    """Krüger's series (Karney 2011, eqs. 7-9, 35) on the WGS 84 ellipsoid, false northing 0."""
    n = F_WGS84 / (2 - F_WGS84)
    big_a = A_WGS84 / (1 + n) * (1 + n**2 / 4 + n**4 / 64)
    alpha = [n / 2 - 2 * n**2 / 3 + 5 * n**3 / 16 + 41 * n**4 / 180,
             13 * n**2 / 48 - 3 * n**3 / 5 + 557 * n**4 / 1440,
             61 * n**3 / 240 - 103 * n**4 / 140,
             49561 * n**4 / 161280]
    e = math.sqrt(E2)
    phi, dlam = np.radians(lat), np.radians(np.asarray(lon) - lon0)
    t = np.sinh(np.arctanh(np.sin(phi)) - e * np.arctanh(e * np.sin(phi)))
    xi = np.arctan2(t, np.cos(dlam))
    eta = np.arctanh(np.sin(dlam) / np.sqrt(1 + t**2))
    east = eta + sum(a * np.cos(2 * j * xi) * np.sinh(2 * j * eta)
                     for j, a in enumerate(alpha, start=1))
    north = xi + sum(a * np.sin(2 * j * xi) * np.cosh(2 * j * eta)
                     for j, a in enumerate(alpha, start=1))
    return false_easting + k0 * big_a * east, k0 * big_a * north


# The projections of DOMAIN.md, all on VN-2000 (WGS 84 ellipsoid), false easting 500 km.
TM = {gcrs.WARD: {"lon0": 107.0, "k0": 0.9999},          # VN-2000 / TM-3 107-00
      gcrs.VN2000_UTM48: {"lon0": 105.0, "k0": 0.9996},  # VN-2000 / UTM zone 48N
      gcrs.VN2000_UTM49: {"lon0": 111.0, "k0": 0.9996}}  # VN-2000 / UTM zone 49N

# Points in WGS 84: the DOMAIN.md point, the corners of the ward's frame and Thiên Mụ
# pagoda, then two towns in each UTM zone's own strip (outside the Mekong delta, where
# PROJ would pick EPSG:5194's other parameters).
POINTS = [HUE_LONLAT, (107.461, 16.320), (107.615, 16.320), (107.461, 16.486),
          (107.615, 16.486), (107.545, 16.453),
          (105.834, 21.028), (106.688, 20.862), (108.220, 16.068), (109.196, 12.238)]


def metres_apart(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray
                 ) -> np.ndarray:
    """Ground distance of two nearby lon/lat points (local sphere: enough for centimetres)."""
    r = 6_371_000.0
    dy = np.radians(lat2 - lat1) * r
    dx = np.radians(lon2 - lon1) * r * np.cos(np.radians(lat1))
    return np.hypot(dx, dy)


def worst(metres: np.ndarray) -> float:
    """The largest distance, rounded to 0.1 mm so that a failure reads as a figure."""
    return round(float(metres.max()), 4)


def pyproj_xy(points: np.ndarray, source: int, target: int) -> tuple[np.ndarray, np.ndarray]:
    out = gcrs.transform(np.asarray([Point(p) for p in points.T]), source, target)
    return np.array([g.x for g in out]), np.array([g.y for g in out])


WGS = np.array(POINTS).T
VN_LON, VN_LAT = wgs84_to_vn2000(WGS[0], WGS[1])


def test_the_reference_formulas_reproduce_the_published_point() -> None:
    """Before judging pyproj, the test's own Helmert + Krüger lands on DOMAIN.md's fixture
    to the millimetre; the wrong conventions it warns of do not."""
    lon, lat = wgs84_to_vn2000(*HUE_LONLAT)
    e, n = transverse_mercator(lon, lat, **TM[gcrs.WARD])
    assert (e[0], n[0]) == pytest.approx(HUE_9214, abs=0.001)
    # no datum shift: ≈ 195 m east and 112 m south of the right place
    e0, n0 = transverse_mercator(np.array([HUE_LONLAT[0]]), np.array([HUE_LONLAT[1]]),
                                 **TM[gcrs.WARD])
    assert (e0[0] - HUE_9214[0], n0[0] - HUE_9214[1]) == pytest.approx((195, -112), abs=2)


def test_vn2000_geographic_4756_matches_the_official_seven_parameters() -> None:
    """WGS 84 -> VN-2000 geographic (EPSG:4756) within 1 cm of the official Helmert
    transformation, and back."""
    lon, lat = pyproj_xy(WGS, gcrs.WGS84, gcrs.VN2000_GEO)
    assert worst(metres_apart(lon, lat, VN_LON, VN_LAT)) < 0.01
    back_lon, back_lat = pyproj_xy(np.array([VN_LON, VN_LAT]), gcrs.VN2000_GEO, gcrs.WGS84)
    assert worst(metres_apart(back_lon, back_lat, WGS[0], WGS[1])) < 0.01
    # the shift itself is there: VN-2000 coordinates lie ≈ 200 m from WGS 84's at Huế
    assert metres_apart(VN_LON, VN_LAT, WGS[0], WGS[1]).min() > 150


@pytest.mark.parametrize("code", [gcrs.VN2000_UTM48, gcrs.VN2000_UTM49, gcrs.WARD])
def test_projected_crs_match_kruger_series(code: int) -> None:
    """VN-2000 geographic -> each projected CRS agrees with Krüger's series to the
    millimetre (the projection alone), and WGS 84 -> it to the centimetre (with the shift)."""
    ref_e, ref_n = transverse_mercator(VN_LON, VN_LAT, **TM[code])
    e, n = pyproj_xy(np.array([VN_LON, VN_LAT]), gcrs.VN2000_GEO, code)
    assert worst(np.hypot(e - ref_e, n - ref_n)) < 0.001
    e, n = pyproj_xy(WGS, gcrs.WGS84, code)
    assert worst(np.hypot(e - ref_e, n - ref_n)) < 0.01


@pytest.mark.parametrize("code", [gcrs.VN2000_GEO, gcrs.VN2000_UTM48, gcrs.VN2000_UTM49])
def test_intake_into_the_ward_crs_adds_no_second_shift(code: int) -> None:
    """A surveyor's VN-2000 coordinates (geographic or UTM) go into EPSG:9214 on the same
    datum: the ward coordinates equal Krüger's series of the VN-2000 point to the mm."""
    ref_e, ref_n = transverse_mercator(VN_LON, VN_LAT, **TM[gcrs.WARD])
    if code == gcrs.VN2000_GEO:
        source = np.array([VN_LON, VN_LAT])
    else:
        source = np.array(transverse_mercator(VN_LON, VN_LAT, **TM[code]))
    e, n = pyproj_xy(source, code, gcrs.WARD)
    assert worst(np.hypot(e - ref_e, n - ref_n)) < 0.001


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

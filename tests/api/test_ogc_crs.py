"""OGC API – Features Part 2 (CRS by reference) on /ogc: coordinates in VN-2000 as stored,
windows in any offered CRS, the axis order of each CRS, refusals naming what is offered."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import text

from api.ogc_crs import CRS84, EPSG_URI
from gis import crs as gcrs
from parcels import registry
from tests.factories import X0, Y0, rect, spec

SHEET = 955
OFFERED = [CRS84, *(EPSG_URI.format(c) for c in (9214, 4326, 3405, 3406, 4756))]
ITEMS = "/ogc/collections/parcels/items"


@pytest.fixture()
def lots(session, actor) -> dict[int, int]:
    """A 4 × 3 block of 20 × 30 m lots with 10 m lanes between them (parcel number → id),
    at odd coordinates so that the millimetres are not round."""
    ids = {}
    n = 0
    for i in range(4):
        for j in range(3):
            n += 1
            geom = rect(-2700.1234 + 30 * i, 2600.5678 + 40 * j, 20, 30)
            v = registry.register_parcel(session, actor=actor,
                                         spec=spec(SHEET, n, geom, land_use="ODT"),
                                         reason="Part 2 test")
            ids[n] = v.parcel_id
    session.commit()
    return ids


def _stored(session, parcel_id: int) -> np.ndarray:
    wkb = session.execute(text("SELECT ST_AsBinary(geom) FROM parcel_version "
                               "WHERE parcel_id = :i AND valid_to IS NULL"),
                          {"i": parcel_id}).scalar_one()
    return shapely.get_coordinates(shapely.from_wkb(wkb))


def _coords(feature: dict[str, Any]) -> np.ndarray:
    return shapely.get_coordinates(shape(feature["geometry"]))


def test_every_collection_offers_the_vn2000_crs_and_part_2_is_declared(client, auth) -> None:
    h = auth("land_officer")
    listed = client.get("/ogc/collections", headers=h).json()["collections"]
    assert {c["id"] for c in listed} == {"parcels", "zones", "corridors", "pending_applications"}
    for c in listed:
        assert c["crs"] == OFFERED, c["id"]
        assert c["storageCrs"] == EPSG_URI.format(9214)
        assert c["extent"]["spatial"]["crs"] == CRS84
    conf = client.get("/ogc/conformance", headers=h).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conf


def test_coordinates_in_epsg_9214_are_the_stored_ones_to_the_millimetre(
        client, auth, session, lots) -> None:
    box = ",".join(map(str, rect(-2710, 2590, 130, 130).bounds))
    r = client.get(ITEMS, headers=auth("official"), params={
        "crs": EPSG_URI.format(9214), "bbox": box, "bbox-crs": EPSG_URI.format(9214),
        "limit": 100})
    assert r.status_code == 200
    assert r.headers["content-crs"] == f"<{EPSG_URI.format(9214)}>"
    got = {f["id"]: f for f in r.json()["features"]}
    assert set(got) == set(lots.values())
    for pid in lots.values():
        sent, stored = _coords(got[pid]), _stored(session, pid)
        assert sent.shape == stored.shape
        assert abs(sent - stored).max() < 0.001  # easting first, the millimetre
    one = client.get(f"{ITEMS}/{lots[5]}", params={"crs": "EPSG:9214"},
                     headers=auth("official"))
    assert one.headers["content-crs"] == f"<{EPSG_URI.format(9214)}>"
    assert abs(_coords(one.json()) - _stored(session, lots[5])).max() < 0.001


def test_each_crs_in_its_own_axis_order(client, auth, session, lots) -> None:
    """EPSG:4326 and 4756 are latitude first, CRS84 longitude first, the UTM zones easting
    first; each agrees with pyproj's transform of the stored geometry."""
    pid = lots[1]
    stored = shapely.from_wkb(session.execute(text(
        "SELECT ST_AsBinary(geom) FROM parcel_version WHERE parcel_id = :i AND valid_to IS NULL"
    ), {"i": pid}).scalar_one())
    answers = {}
    for uri in OFFERED:
        r = client.get(f"{ITEMS}/{pid}", params={"crs": uri}, headers=auth("surveyor"))
        assert r.status_code == 200 and r.headers["content-crs"] == f"<{uri}>"
        answers[uri] = _coords(r.json())
    lonlat = shapely.get_coordinates(gcrs.transform(stored, gcrs.WARD, gcrs.WGS84))
    assert abs(answers[CRS84] - lonlat).max() < 2e-8
    assert abs(answers[EPSG_URI.format(4326)] - lonlat[:, ::-1]).max() < 2e-8
    assert 16 < answers[EPSG_URI.format(4326)][0, 0] < 17, "latitude first"
    vn_geo = shapely.get_coordinates(gcrs.transform(stored, gcrs.WARD, gcrs.VN2000_GEO))
    assert abs(answers[EPSG_URI.format(4756)] - vn_geo[:, ::-1]).max() < 2e-8
    for code in (3405, 3406):
        utm = shapely.get_coordinates(gcrs.transform(stored, gcrs.WARD, code))
        assert abs(answers[EPSG_URI.format(code)] - utm).max() < 0.001
    # Without crs: CRS84, and the header says so.
    plain = client.get(f"{ITEMS}/{pid}", headers=auth("surveyor"))
    assert plain.headers["content-crs"] == f"<{CRS84}>"


def test_a_window_selects_the_same_parcels_in_every_crs(client, auth, session, lots) -> None:
    """A window cutting through the middle of lots, given in EPSG:9214, selects exactly what
    PostGIS intersects with it, and the same window given in CRS84 (and in EPSG:4326,
    latitude first) selects the same parcels."""
    window = rect(-2690, 2610, 55, 45)  # its edges cross lots 1, 2, 7, 8 at least 5 m inside
    x0, y0, x1, y1 = window.bounds
    expected = set(session.execute(text(
        "SELECT parcel_id FROM parcel_version WHERE valid_to IS NULL AND sheet_no = :s AND "
        "ST_Intersects(geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 9214))"),
        {"s": SHEET, "x0": x0, "y0": y0, "x1": x1, "y1": y1}).scalars())
    assert expected == {lots[n] for n in (1, 2, 4, 5, 7, 8)}

    def ids(**params: str) -> set[int]:
        r = client.get(ITEMS, headers=auth("official"), params={"limit": "100", **params})
        assert r.status_code == 200, r.text
        return {f["id"] for f in r.json()["features"]}

    lon0, lat0, lon1, lat1 = gcrs.to_wgs84(window).bounds
    assert ids(bbox=f"{x0},{y0},{x1},{y1}", **{"bbox-crs": EPSG_URI.format(9214)}) == expected
    assert ids(bbox=f"{lon0},{lat0},{lon1},{lat1}") == expected
    assert ids(bbox=f"{lat0},{lon0},{lat1},{lon1}", **{"bbox-crs": "EPSG:4326"}) == expected
    assert ids(bbox=f"{lon0},{lat0},{lon1},{lat1}", **{"bbox-crs": CRS84}) == expected


def test_number_matched_on_the_first_page_of_a_bbox_query(client, auth, lots) -> None:
    box = ",".join(map(str, rect(-2710, 2590, 130, 130).bounds))
    h = auth("official")
    first = client.get(ITEMS, headers=h, params={"bbox": box, "bbox-crs": "EPSG:9214",
                                                 "limit": 5}).json()
    assert (first["numberMatched"], first["numberReturned"]) == (12, 5)
    nxt = next(lk["href"] for lk in first["links"] if lk["rel"] == "next")
    assert "bbox-crs=EPSG" in nxt, "the next page keeps the window's CRS"
    second = client.get(nxt, headers=h).json()
    assert second["numberReturned"] == 5 and "numberMatched" not in second
    empty = client.get(ITEMS, headers=h, params={
        "bbox": f"{X0 - 3990},{Y0 - 3990},{X0 - 3980},{Y0 - 3980}", "bbox-crs": "EPSG:9214"})
    assert empty.json()["numberMatched"] == 0
    assert "numberMatched" not in client.get(ITEMS, headers=h, params={"limit": 1}).json()


@pytest.mark.parametrize(("params", "field"), [
    ({"crs": "http://www.opengis.net/def/crs/EPSG/0/3857"}, "crs"),
    ({"crs": "EPSG:32648"}, "crs"),
    ({"crs": "not a crs"}, "crs"),
    ({"bbox": "1,2,3,4", "bbox-crs": "EPSG:2154"}, "bbox-crs"),
])
def test_an_unsupported_crs_is_a_400_listing_the_supported_ones(client, auth, params,
                                                                field) -> None:
    r = client.get(ITEMS, params=params, headers=auth("official"))
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"] == "/problems/unsupported_crs" and body["field"] == field
    assert body["supported"] == OFFERED
    one = client.get(f"{ITEMS}/1", params={"crs": "EPSG:3857"}, headers=auth("official"))
    assert one.status_code == 400 and one.json()["type"] == "/problems/unsupported_crs"


@pytest.mark.parametrize("params", [
    {"bbox": "107.5,16.4,107.6,16.5", "bbox-crs": "EPSG:4326"},  # longitude first: wrong
    {"bbox": "560000,1821000,559000,1822000", "bbox-crs": "EPSG:9214"},  # corners swapped
    {"bbox": "1,2,3", "bbox-crs": "EPSG:9214"},
    {"bbox-crs": "EPSG:9214"},  # a bbox CRS without a bbox
])
def test_a_bad_window_is_a_400(client, auth, params) -> None:
    r = client.get(ITEMS, params=params, headers=auth("official"))
    assert r.status_code == 400 and r.json()["type"] == "/problems/invalid_input"

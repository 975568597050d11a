"""The registry over HTTP: GeoJSON in WGS 84, areas in m², problem documents for bad input."""

from __future__ import annotations

import pytest

from gis import crs as gcrs
from parcels import registry
from tests.conftest import counts
from tests.factories import X0, Y0, geojson_wgs84, rect, spec

PROBLEM = "application/problem+json"


@pytest.fixture()
def lot(session, actor):
    """A registered 5 × 20 m house lot (100 m²) on sheet 10, number 7."""
    v = registry.register_parcel(session, actor=actor, spec=spec(10, 7, rect(0, 0, 5, 20)),
                                 reason="fixture")
    session.commit()
    return v.parcel_id


def test_parcel_as_geojson_feature(client, auth, lot) -> None:
    """An official reads the lot as a Feature in lon/lat with its measured area in m²."""
    r = client.get(f"/api/v1/parcels/{lot}", headers=auth("official"))
    assert r.status_code == 200
    f = r.json()
    assert f["type"] == "Feature" and f["id"] == lot
    assert f["properties"]["measured_area_m2"] == 100.0
    assert (f["properties"]["sheet_no"], f["properties"]["parcel_no"]) == (10, 7)
    lon, lat = f["geometry"]["coordinates"][0][0]
    assert 107.5 < lon < 107.6 and 16.4 < lat < 16.5  # longitude first


def test_bbox_query_finds_the_parcels_inside(client, auth, session, actor, lot) -> None:
    """A bbox around three neighbouring lots returns exactly those, not a far one."""
    for n, x in ((8, 5), (9, 10)):
        registry.register_parcel(session, actor=actor, spec=spec(10, n, rect(x, 0, 5, 20)),
                                 reason="fixture")
    registry.register_parcel(session, actor=actor, spec=spec(10, 20, rect(2000, 2000, 5, 5)),
                             reason="fixture")
    session.commit()
    box_wgs = gcrs.to_wgs84(rect(-1, -1, 17, 22)).bounds
    r = client.get("/api/v1/parcels", params={"bbox": ",".join(map(str, box_wgs))},
                   headers=auth("surveyor"))
    assert r.status_code == 200
    assert sorted(f["properties"]["parcel_no"] for f in r.json()["features"]) == [7, 8, 9]


def test_a_listing_never_shows_a_certified_lot_without_its_holder(client, auth, session,
                                                                  actor, lot) -> None:
    """A lot certified to Nguyễn Thị Hoa: the single-parcel view names her, and the bbox
    listing either names her too or leaves the holders out; it never says "no holder"."""
    from datetime import date

    from parcels.rights import PartyDetails, grant_use_right

    grant_use_right(session, ward_code=actor.ward_code, parcel_id=lot,
                    holder=PartyDetails(full_name="Nguyễn Thị Hoa", id_number="046190000123"),
                    party_id=None, certificate_no="DX 123456", issued_on=date(2024, 5, 6),
                    source_id=None, recorded_by=actor.username)
    session.commit()
    one = client.get(f"/api/v1/parcels/{lot}", headers=auth("official")).json()
    assert [(h["name"], h["certificate_no"]) for h in one["properties"]["holders"]] == [
        ("Nguyễn Thị Hoa", "DX 123456")]
    box_wgs = gcrs.to_wgs84(rect(-1, -1, 7, 22)).bounds
    listed = client.get("/api/v1/parcels", params={"bbox": ",".join(map(str, box_wgs))},
                        headers=auth("official")).json()["features"]
    [item] = [f for f in listed if f["id"] == lot]
    holders = item["properties"].get("holders")
    assert holders is None or [h["name"] for h in holders] == ["Nguyễn Thị Hoa"]
    assert holders != []


def test_filters_and_paging(client, auth, session, actor) -> None:
    for n in range(1, 6):
        registry.register_parcel(session, actor=actor,
                                 spec=spec(11, n, rect(100 + 6 * n, 0, 5, 5), land_use="CLN"),
                                 reason="fixture")
    session.commit()
    r = client.get("/api/v1/parcels", params={"sheet_no": 11, "land_use": "CLN", "limit": 2},
                   headers=auth("official"))
    body = r.json()
    assert [f["properties"]["parcel_no"] for f in body["features"]] == [1, 2]
    nxt = next(link["href"] for link in body["links"] if link["rel"] == "next")
    r2 = client.get(nxt, headers=auth("official"))
    assert [f["properties"]["parcel_no"] for f in r2.json()["features"]] == [3, 4]


def test_history_lineage_and_as_of(client, auth, lot, session, actor) -> None:
    """A land officer splits the lot; history, lineage and the as-of view all show it (the
    halves are perennial-crop land, which has no minimum area, along a lane on the west)."""
    registry.register_parcel(session, actor=actor, spec=spec(10, 99, rect(-6, 0, 6, 20),
                                                            land_use="DGT"), reason="lane")
    session.commit()
    before = client.get(f"/api/v1/parcels/{lot}", headers=auth("official")).json()
    parts = [
        {"former_unit": "kim_long", "sheet_no": 10, "parcel_no": 71, "land_use": "CLN",
         "geometry": geojson_wgs84(rect(0, 0, 5, 10))},
        {"former_unit": "kim_long", "sheet_no": 10, "parcel_no": 72, "land_use": "CLN",
         "geometry": geojson_wgs84(rect(0, 10, 5, 10))},
    ]
    r = client.post(f"/api/v1/parcels/{lot}/split", json={"parts": parts, "reason": "split"},
                    headers=auth("land_officer"))
    assert r.status_code == 201, r.text
    kids = [f["id"] for f in r.json()["features"]]
    assert sum(f["properties"]["measured_area_m2"] for f in r.json()["features"]) == \
        pytest.approx(100.0, abs=0.01)
    hist = client.get(f"/api/v1/parcels/{lot}/history", headers=auth("official")).json()
    assert [f["properties"]["status"] for f in hist["features"]] == ["registered", "retired"]
    lin = client.get(f"/api/v1/parcels/{kids[0]}/lineage", headers=auth("official")).json()
    assert [a["parcel_id"] for a in lin["ancestors"]] == [lot]
    then = client.get(f"/api/v1/parcels/{lot}",
                      params={"as_of": before["properties"]["valid_from"]},
                      headers=auth("official")).json()
    assert then["properties"]["status"] == "registered"


def test_anonymous_gets_401_problem(client, lot) -> None:
    r = client.get(f"/api/v1/parcels/{lot}")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["type"] == "/problems/unauthorized"


def test_health_needs_no_sign_in(client) -> None:
    assert client.get("/health").json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize("role", ["surveyor", "official", "admin"])
def test_only_land_officers_write(client, auth, connection, role) -> None:
    """A surveyor, an official or an admin cannot register a parcel: 403, nothing written."""
    before = counts(connection)
    r = client.post("/api/v1/parcels", headers=auth(role), json={
        "former_unit": "kim_long", "sheet_no": 12, "parcel_no": 1, "land_use": "ODT",
        "geometry": geojson_wgs84(rect(300, 0, 10, 10)), "reason": "try"})
    assert r.status_code == 403 and r.json()["type"] == "/problems/forbidden"
    assert counts(connection) == before


def test_officer_registers_over_http(client, auth) -> None:
    r = client.post("/api/v1/parcels", headers=auth("land_officer"), json={
        "former_unit": "kim_long", "sheet_no": 12, "parcel_no": 2, "land_use": "odt",
        "legal_area": 100, "geometry": geojson_wgs84(rect(320, 0, 10, 10)),
        "reason": "first registration", "source": {"kind": "certificate", "number": "CS 0001"}})
    assert r.status_code == 201, r.text
    assert r.json()["properties"]["land_use"] == "ODT"
    assert r.json()["properties"]["measured_area_m2"] == pytest.approx(100.0, abs=0.01)
    assert r.headers["location"] == f"/api/v1/parcels/{r.json()['id']}"


def _body(geometry: dict, **over: object) -> dict:
    return {"former_unit": "kim_long", "sheet_no": 13, "parcel_no": 1, "land_use": "ODT",
            "geometry": geometry, "reason": "test", **over}


BOWTIE = {"type": "Polygon", "coordinates": [[[107.55, 16.45], [107.551, 16.451],
                                              [107.551, 16.45], [107.55, 16.451],
                                              [107.55, 16.45]]]}


@pytest.mark.parametrize(("body", "status", "ptype"), [
    (_body(BOWTIE), 422, "invalid_geometry"),
    (_body({"type": "Polygon", "coordinates": [[[107.55, 16.45], [107.551, 16.45],
                                                [107.55, 16.45]]]}), 422, "invalid_geometry"),
    (_body({"type": "Polygon", "coordinates": "nonsense"}), 422, "invalid_geometry"),
    (_body({"type": "Point", "coordinates": [107.55, 16.45]}), 422, "invalid_geometry"),
    (_body(geojson_wgs84(rect(0, 100, 10, 10)), srid=9214), 422, "wrong_crs"),
    (_body(geojson_wgs84(rect(0, 100, 10, 10)), srid=4269), 400, "unknown_crs"),
    (_body(geojson_wgs84(rect(0, 100, 10, 10)), sheet_no=10, parcel_no=7), 409,
     "duplicate_parcel_number"),
    (_body(geojson_wgs84(rect(0, 100, 10, 10)), land_use="X1"), 422, "validation_error"),
    (_body(geojson_wgs84(rect(0, 100, 10, 10)), former_unit="atlantis"), 400, "invalid_input"),
    ({"sheet_no": "one"}, 422, "validation_error"),
])
def test_bad_registrations_are_problems_and_write_nothing(client, auth, connection, lot, body,
                                                          status, ptype) -> None:
    """Each bad request answers its problem type and leaves the row counts as they were."""
    before = counts(connection)
    r = client.post("/api/v1/parcels", headers=auth("land_officer"), json=body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["type"] == f"/problems/{ptype}"
    assert r.json()["detail"]
    assert counts(connection) == before


@pytest.mark.parametrize("change", [{"former_unit": "atlantis"},
                                    {"former_unit": "atlantis", "sheet_no": 10}])
def test_an_amendment_to_an_unknown_former_unit_is_refused(client, auth, connection, lot,
                                                           change) -> None:
    """Found by schemathesis: a former unit the ward does not have was a 500 (the foreign
    key refused the version).  Now a 400 naming the ward's units, nothing written."""
    before = counts(connection)
    r = client.post(f"/api/v1/parcels/{lot}/versions", headers=auth("land_officer"),
                    json={**change, "reason": "renumbering"})
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "/problems/invalid_input"
    assert "atlantis" in r.json()["detail"] and "kim_long" in r.json()["detail"]
    assert counts(connection) == before


def test_split_not_covering_is_422(client, auth, connection, lot) -> None:
    before = counts(connection)
    parts = [{"former_unit": "kim_long", "sheet_no": 10, "parcel_no": 81, "land_use": "ODT",
              "geometry": geojson_wgs84(rect(0, 0, 5, 10))},
             {"former_unit": "kim_long", "sheet_no": 10, "parcel_no": 82, "land_use": "ODT",
              "geometry": geojson_wgs84(rect(0, 10, 5, 9))}]
    r = client.post(f"/api/v1/parcels/{lot}/split", json={"parts": parts, "reason": "bad split"},
                    headers=auth("land_officer"))
    assert r.status_code == 422 and r.json()["type"] == "/problems/split_mismatch"
    assert r.json()["uncovered_m2"] == pytest.approx(5.0, abs=0.01)
    assert counts(connection) == before


@pytest.mark.parametrize(("url", "status", "ptype"), [
    ("/api/v1/parcels/999999999", 404, "parcel_not_found"),
    ("/api/v1/parcels/abc", 422, "validation_error"),
    ("/api/v1/parcels?bbox=1,2,3", 400, "invalid_input"),
    ("/api/v1/parcels?bbox=a,b,c,d", 400, "invalid_input"),
    ("/api/v1/parcels?bbox=107.6,16.5,107.5,16.4", 400, "invalid_input"),
    (f"/api/v1/parcels?bbox={X0},{Y0},{X0 + 10},{Y0 + 10}", 400, "invalid_input"),
    ("/api/v1/parcels?limit=100000", 422, "validation_error"),
    ("/api/v1/parcels/1?as_of=yesterday", 422, "validation_error"),
])
def test_bad_reads_are_problems(client, auth, url, status, ptype) -> None:
    r = client.get(url, headers=auth("official"))
    assert r.status_code == status, r.text
    assert r.json()["type"] == f"/problems/{ptype}"


"""Land-use codes from the dated list, state land, and the minimum-lot rule on splits.

- a claim overlapping a pagoda's land (TON) or a communal house's (TIN) is not told it
  encroaches on "state land": those are religious and belief establishments' land; a road
  (DGT) is state land;
- an unknown code is refused with a 422 that names it, and nothing is written;
- a split leaving a 55 m² residential part, a part with 3.5 m frontage on a 13 m street,
  or a part without road access is refused with the failed figure (Huế, 7 August 2025:
  60 m², frontage 4 m under a 19 m red line, depth 5 m; road access from 1 January 2026);
  the same split with that part merged with the neighbour passes (Land Law 2024 Art. 220).
"""

from __future__ import annotations

import pytest
from shapely.geometry import Polygon
from sqlalchemy import text

from config import land_use
from parcels import registry
from tests.certificates.conftest import at
from tests.certificates.test_applications_api import all_counts, body
from tests.factories import geojson_wgs84, rect, spec

SHEET = 870


@pytest.mark.parametrize(("use", "rule"), [("TON", "overlap_uncertified"),
                                           ("TIN", "overlap_uncertified"),
                                           ("DGT", "overlap_state_land")])
def test_religious_and_belief_land_is_not_state_land(client, auth, session, actor, use,
                                                     rule) -> None:
    """A claim 1.5 m into a neighbour: a road is state land, a pagoda's or a dinh's is not."""
    registry.register_parcel(session, actor=actor, reason="neighbour",
                             spec=spec(SHEET, 1, rect(20, 0, 20, 20), land_use=use))
    session.commit()
    h = auth("land_officer")
    app = client.post("/api/v1/applications", headers=h, json=body(
        rect(0, 0, 21.5, 20), sheet_no=SHEET, parcel_no=2, declared_area=430.0)).json()
    rep = client.post(f"/api/v1/applications/{app['id']}/verify", headers=h).json()
    found = [f for f in rep["findings"] if f["rule"].startswith("overlap_")]
    assert [f["rule"] for f in found] == [rule]
    assert f"({use})" in found[0]["message_vi"]
    assert ("Nhà nước quản lý" in found[0]["message_vi"]) == (use == "DGT")
    assert "thửa đất số 1, tờ bản đồ số 870 (Kim Long cũ)" in found[0]["message_vi"]
    assert "parcel 1, map sheet 870 (former Kim Long)" in found[0]["message_en"]


def test_state_land_is_the_codes_the_state_manages() -> None:
    managed = land_use.load().state_managed
    assert {"DGT", "DTL", "SON", "MNC", "TSC", "CQP", "CAN", "BCS"} <= managed
    assert not {"TON", "TIN", "PNK", "ODT", "CLN"} & managed


def test_an_unknown_land_use_code_is_refused_naming_it(client, auth, connection) -> None:
    before = all_counts(connection)
    r = client.post("/api/v1/parcels", headers=auth("land_officer"), json={
        "former_unit": "kim_long", "sheet_no": SHEET, "parcel_no": 9, "land_use": "XYZ",
        "geometry": geojson_wgs84(rect(0, 0, 10, 10)), "reason": "đăng ký"})
    assert r.status_code == 422, r.text
    assert r.json()["type"] == "/problems/unknown_land_use" and r.json()["land_use"] == "XYZ"
    assert "'XYZ'" in r.json()["detail"]
    assert all_counts(connection) == before
    ok = land_use.load()
    assert ok.normalise("odt+cln") == "ODT+CLN" and ok.name("TON", "en") == \
        "Land of religious establishments"


def _lot_and_street(session, actor) -> tuple[int, int]:
    """A 20 × 20 m residential lot on a street 13 m between its red lines (south), and a
    10 × 20 m residential neighbour on its west, also on the street."""
    registry.register_parcel(session, actor=actor, reason="street",
                             spec=spec(SHEET, 50, rect(-40, -13, 100, 13), land_use="DGT"))
    lot = registry.register_parcel(session, actor=actor, reason="lot",
                                   spec=spec(SHEET, 51, rect(0, 0, 20, 20)))
    nb = registry.register_parcel(session, actor=actor, reason="neighbour",
                                  spec=spec(SHEET, 52, rect(-10, 0, 10, 20)))
    session.commit()
    return lot.parcel_id, nb.parcel_id


def _rest(part: Polygon) -> Polygon:
    rest = rect(0, 0, 20, 20).difference(part)
    assert isinstance(rest, Polygon)
    return rest


CASES = [
    # (the failing part, the figure it fails, measured, required)
    ("55 m² residential part", rect(0, 0, 5, 11), "area", 55.0, 60.0),
    ("3.5 m frontage on a 13 m street", rect(0, 0, 3.5, 20), "frontage", 3.5, 4.0),
    ("no road access", rect(0, 10, 20, 10), "road_access", None, 1.0),
]


@pytest.mark.parametrize(("name", "part", "figure", "measured", "required"), CASES,
                         ids=[c[0] for c in CASES])
def test_split_refused_below_the_minimum_and_allowed_merged(client, settings, users, session,
                                                            actor, connection, name, part,
                                                            figure, measured,
                                                            required) -> None:
    """Refused with the failed figure; the same split with the part merged with the western
    neighbour in the same act passes, and the neighbour is retired into the merged lot."""
    with at("2026-03-01T02:00:00", settings, users):
        lot, nb = _lot_and_street(session, actor)
    parts = [{"former_unit": "kim_long", "sheet_no": SHEET, "parcel_no": 61, "land_use": "ODT",
              "geometry": {"type": "Polygon", "coordinates": [list(part.exterior.coords)]},
              "srid": 9214},
             {"former_unit": "kim_long", "sheet_no": SHEET, "parcel_no": 62, "land_use": "ODT",
              "geometry": {"type": "Polygon",
                           "coordinates": [list(_rest(part).exterior.coords)]}, "srid": 9214}]
    url = f"/api/v1/parcels/{lot}/split"
    with at("2026-03-02T02:00:00", settings, users) as h:
        before = all_counts(connection)
        r = client.post(url, headers=h, json={"parts": parts, "reason": "tách thửa"})
        assert r.status_code == 422, r.text
        problem = r.json()
        assert problem["type"] == "/problems/lot_below_minimum"
        [bad] = problem["parts"]
        assert bad["part"] == 1
        got = {s["figure"]: s for s in bad["shortfalls"]}
        assert got[figure]["required"] == required
        if measured is not None:
            assert got[figure]["measured"] == pytest.approx(measured, abs=0.01)
        assert any("7 August 2025" in src for src in bad["sources"])
        assert all_counts(connection) == before
        r = client.post(url, headers=h, json={"parts": parts, "reason": "tách, hợp thửa",
                                              "merge_with": [{"part": 1, "parcel_id": nb}]})
        assert r.status_code == 201, r.text
        areas = sorted(round(f["properties"]["measured_area_m2"], 1)
                       for f in r.json()["features"])
    assert areas == sorted([round(part.area + 200.0, 1), round(400.0 - part.area, 1)])
    states = connection.execute(text(
        "SELECT parcel_id, status FROM parcel_version WHERE parcel_id IN (:a, :b) "
        "AND valid_to IS NULL ORDER BY parcel_id"), {"a": lot, "b": nb}).all()
    assert [s.status for s in states] == ["retired", "retired"]


def test_the_check_is_dated_no_road_access_needed_in_2025(client, settings, users, session,
                                                          actor) -> None:
    """Before 1 January 2026 (Resolution 254/2025/QH15) a part needed no road access."""
    with at("2025-09-01T02:00:00", settings, users):
        lot, _ = _lot_and_street(session, actor)
    north = rect(0, 10, 20, 10)
    parts = [{"former_unit": "kim_long", "sheet_no": SHEET, "parcel_no": 63 + k,
              "land_use": "CLN", "srid": 9214,
              "geometry": {"type": "Polygon", "coordinates": [list(g.exterior.coords)]}}
             for k, g in enumerate((north, _rest(north)))]
    with at("2025-09-02T02:00:00", settings, users) as h:
        r = client.post(f"/api/v1/parcels/{lot}/split", headers=h,
                        json={"parts": parts, "reason": "tách thửa"})
        assert r.status_code == 201, r.text

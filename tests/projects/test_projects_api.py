"""Road projects over HTTP: land officers write (audited), officials read impact and exports,
bad input is a problem document that writes nothing."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pyogrio
import pytest
import time_machine
from openpyxl import load_workbook
from shapely.geometry import shape
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.factories import X0, Y0, rect
from tests.projects.conftest import JAN_2026, lot, rows

PROBLEM = "application/problem+json"


def _centreline(x: float, left: float = 5.0, right: float = 5.0, **kw: Any) -> dict[str, Any]:
    """An element in EPSG:9214 (srid 9214 on the corridor): a line northwards at X0 + x."""
    return {"section": "S1", "centreline": {"type": "LineString", "coordinates": [
        [X0 + x, Y0 - 10], [X0 + x, Y0 + 40]]}, "left_width_m": left, "right_width_m": right,
        **kw}


def _body(code: str, *elements: dict[str, Any]) -> dict[str, Any]:
    return {"code": code, "name_vi": f"Dự án {code}", "name_en": f"Project {code}",
            "status": "approved", "reason": "test of the road-project API",
            "sections": [{"code": "S1", "name_vi": "Đoạn 1"}],
            "corridor": {"srid": 9214, "elements": list(elements)}}


@pytest.fixture()
def ward_lots(session: Session) -> dict[str, int]:
    """Two house lots with holders and a garden, west to east across x = 1000..1060."""
    with time_machine.travel(JAN_2026):
        out = {"a": lot(session, 801, 1, rect(1000, 0, 20, 30), holder="Phạm Văn Bốn"),
               "b": lot(session, 801, 2, rect(1020, 0, 20, 30), holder="Hồ Thị Năm"),
               "c": lot(session, 801, 3, rect(1040, 0, 20, 30), land_use="CLN")}
        session.flush()
    return out


def test_a_land_officer_creates_a_project_and_an_official_reads_its_impact(
        client, signed, session, ward_lots) -> None:
    """Created with its corridor (audited); the official sees the take per parcel, totals and
    the estimate notice; a second version closes the first."""
    with time_machine.travel(JAN_2026, tick=True):
        r = client.post("/api/v1/projects", json=_body("API_ONE", _centreline(1020)),
                        headers=signed("land_officer"))
        assert r.status_code == 201, r.text
        assert r.headers["location"] == "/api/v1/projects/API_ONE"
        assert r.json()["corridors"][0]["ref"] == "A@1"
        imp = client.get("/api/v1/projects/API_ONE/impact", headers=signed("official"))
    assert imp.status_code == 200, imp.text
    body = imp.json()
    taken = {p["parcel_id"]: p["taken_m2"] for p in body["parcels"]}
    assert taken == {ward_lots["a"]: 150.0, ward_lots["b"]: 150.0}
    assert body["totals"]["parcels_affected"] == 2 and body["totals"]["holders_affected"] == 2
    assert "not a compensation decision" in body["notice"]["estimate"]
    assert body["settings"]["price_table"]["invented"] is True
    events = session.execute(text(
        "SELECT action FROM audit_event WHERE entity = 'project' AND entity_ids ? 'API_ONE' "
        "ORDER BY id")).scalars().all()
    assert events == ["create", "corridor_version"]
    with time_machine.travel(JAN_2026.replace(day=21), tick=True):
        v2 = client.post("/api/v1/projects/API_ONE/corridors", headers=signed("land_officer"),
                         json={"srid": 9214, "reason": "wider", "elements": [
                             _centreline(1020, 12, 12)]})
    assert v2.status_code == 201 and v2.json()["ref"] == "A@2"
    history = client.get("/api/v1/projects/API_ONE/corridors", headers=signed("official")).json()
    assert [(v["version"], v["valid_to"] is None) for v in history["versions"]] == [
        (1, False), (2, True)]


def test_exports_are_files_a_clerk_and_a_gis_open(client, signed, ward_lots, tmp_path) -> None:
    with time_machine.travel(JAN_2026, tick=True):
        assert client.post("/api/v1/projects", json=_body("API_EXP", _centreline(1040, 2, 12)),
                           headers=signed("land_officer")).status_code == 201

        def get(fmt: str):
            r = client.get(f"/api/v1/projects/API_EXP/impact/export?format={fmt}",
                           headers=signed("official"))
            assert r.status_code == 200, r.text
            assert "attachment" in r.headers["content-disposition"]
            return r

        text_csv = get("csv").content.decode("utf-8-sig")
        xlsx = get("xlsx").content
        geojson = get("geojson").json()
        gpkg = get("gpkg").content
    cells = list(csv.reader(io.StringIO(text_csv)))
    start = next(i for i, row in enumerate(cells) if row[0] == "Thửa đất / Parcel")
    notes = [row[0] for row in cells[:start]]
    assert any("not a compensation decision" in x for x in notes)
    assert any("INVENTED" in x for x in notes)
    by_no = {int(r[3]): dict(zip(cells[start], r, strict=True)) for r in cells[start + 1:]}
    assert float(by_no[2]["Diện tích thu hồi (m²) / Taken"]) == pytest.approx(60.0)  # 2 m × 30
    assert float(by_no[3]["Diện tích thu hồi (m²) / Taken"]) == pytest.approx(360.0)  # 12 m × 30
    assert by_no[3]["Mục đích sử dụng / Land use"] == "CLN"

    wb = load_workbook(io.BytesIO(xlsx))
    assert wb.sheetnames == ["Tổng hợp", "CLN", "ODT"]
    odt = wb["ODT"]
    assert odt["A4"].value.startswith("Thửa đất") and odt["I5"].value == pytest.approx(60.0)
    assert odt["J5"].value == "=IF(H5>0,I5/H5,0)" and odt["T5"].value == "=I5*S5"
    assert odt["I6"].value == "=SUM(I5:I5)"
    summary = wb["Tổng hợp"]
    assert summary["C5"].value == "='CLN'!I6" and summary["C6"].value == "='ODT'!I6"
    assert "not a compensation decision" in summary["A2"].value

    kinds = sorted(f["properties"]["kind"] for f in geojson["features"])
    assert kinds == ["remainder", "remainder", "taken", "taken"]
    lon, lat = shape(geojson["features"][0]["geometry"]).centroid.coords[0]
    assert lon == pytest.approx(107.56, abs=0.01) and lat == pytest.approx(16.455, abs=0.01)
    f = tmp_path / "impact.gpkg"
    f.write_bytes(gpkg)
    taken = pyogrio.read_dataframe(f, layer="taken")
    rest = pyogrio.read_dataframe(f, layer="remainder")
    assert taken.crs.to_epsg() == 9214 and sorted(taken["area_m2"]) == [60.0, 360.0]
    assert sorted(rest["area_m2"]) == [240.0, 540.0]


@pytest.mark.parametrize(("element", "problem", "status"), [
    ({"section": "S1", "centreline": {"type": "Polygon", "coordinates": [[
        [X0, Y0], [X0 + 5, Y0], [X0 + 5, Y0 + 5], [X0, Y0]]]},
      "left_width_m": 5, "right_width_m": 5}, "invalid_corridor", 422),
    (_centreline(1020, 0, 0), "invalid_corridor", 422),
    (_centreline(1020, -5, 5), "invalid_corridor", 422),
    ({"section": "S1", "centreline": {"type": "LineString", "coordinates": [
        [X0 + 60_000, Y0], [X0 + 60_000, Y0 + 100]]}, "left_width_m": 5, "right_width_m": 5},
     "corridor_outside_ward", 422),
    (_centreline(1020, section="NOPE"), "invalid_corridor", 422),
])
def test_bad_corridors_are_refused_and_write_nothing(client, signed, session, element, problem,
                                                     status) -> None:
    before = rows(session)
    r = client.post("/api/v1/projects", json=_body("API_BAD", element),
                    headers=signed("land_officer"))
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["type"] == f"/problems/{problem}"
    assert rows(session) == before


def test_unknown_project_code_is_a_404_problem(client, signed, session) -> None:
    before = rows(session)
    for method, path in (("GET", "/api/v1/projects/NO_SUCH/impact"),
                         ("GET", "/api/v1/projects/NO_SUCH/impact/export?format=xlsx"),
                         ("POST", "/api/v1/projects/NO_SUCH/corridors")):
        body = {"srid": 9214, "reason": "x" * 5, "elements": [_centreline(10)]}
        r = client.request(method, path, headers=signed("land_officer"),
                           json=body if method == "POST" else None)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["type"] == "/problems/project_not_found"
    assert rows(session) == before


def test_an_export_of_a_project_that_takes_nothing_is_refused(client, signed, session) -> None:
    """A corridor in the ward over no parcel: nothing to export, a 422 no_impact."""
    with time_machine.travel(JAN_2026, tick=True):
        assert client.post("/api/v1/projects", json=_body("API_EMPTY", _centreline(3000)),
                           headers=signed("land_officer")).status_code == 201
        before = rows(session)
        r = client.get("/api/v1/projects/API_EMPTY/impact/export?format=xlsx",
                       headers=signed("official"))
    assert r.status_code == 422 and r.json()["type"] == "/problems/no_impact"
    assert rows(session) == before


def test_roles_officials_read_only_land_officers_write(client, signed, ward_lots) -> None:
    body = _body("API_ROLE", _centreline(1020))
    assert client.post("/api/v1/projects", json=body, headers=signed("official")).status_code \
        == 403
    assert client.post("/api/v1/projects", json=body).status_code == 401
    with time_machine.travel(JAN_2026, tick=True):
        assert client.post("/api/v1/projects", json=body,
                           headers=signed("land_officer")).status_code == 201
        for role, status in (("official", 200), ("land_officer", 200), ("surveyor", 403),
                             ("admin", 403)):
            for path in ("/api/v1/projects/API_ROLE/impact",
                         "/api/v1/projects/API_ROLE/impact/export?format=csv"):
                assert client.get(path, headers=signed(role)).status_code == status, (role, path)
        assert client.get("/api/v1/projects/API_ROLE/impact").status_code == 401


def test_compare_and_status_over_http(client, signed, ward_lots) -> None:
    with time_machine.travel(JAN_2026, tick=True):
        assert client.post("/api/v1/projects", json=_body("API_CMP", _centreline(1020)),
                           headers=signed("land_officer")).status_code == 201
        b = client.post("/api/v1/projects/API_CMP/corridors", headers=signed("land_officer"),
                        json={"srid": 9214, "alternative": "B", "reason": "shift west",
                              "elements": [_centreline(1010)]})
        assert b.status_code == 201, b.text
        out = client.get("/api/v1/projects/API_CMP/compare?a=A&b=B",
                         headers=signed("official")).json()
        assert out["only_a"][0]["parcel_id"] == ward_lots["b"]
        bad = client.get("/api/v1/projects/API_CMP/compare?a=A@x", headers=signed("official"))
        assert bad.status_code == 422 and bad.json()["type"] == "/problems/invalid_project"
        adopted = client.post("/api/v1/projects/API_CMP/status", headers=signed("land_officer"),
                              json={"status": "under_construction", "adopted_alternative": "B",
                                    "reason": "decision of the ward"})
        assert adopted.status_code == 200
        assert adopted.json()["adopted_alternative"] == "B"
        imp = client.get("/api/v1/projects/API_CMP/impact", headers=signed("official")).json()
        assert imp["corridor"]["ref"] == "B@1"


def test_the_cli_prints_and_exports_an_impact(run_cli, tmp_path) -> None:
    """``cadastre impact CODE --out file.xlsx`` on a committed ward of its own."""
    r = run_cli("impact", "CLI_RR", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["totals"]["parcels_affected"] == 2
    f = tmp_path / "impact.xlsx"
    r = run_cli("impact", "CLI_RR", "--out", str(f))
    assert r.exit_code == 0, r.output
    assert "parcels affected 2" in r.output and f.stat().st_size > 4000
    assert load_workbook(f).sheetnames[0] == "Tổng hợp"
    assert run_cli("impact", "NO_SUCH").exit_code == 2
    assert run_cli("impact", "CLI_RR", "--out", str(tmp_path / "x.pdf")).exit_code == 2

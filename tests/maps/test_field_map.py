"""The application field map and field package over HTTP, on the synthetic demo ward.

What a land officer sees: every layer named in Vietnamese and English, every asset served
by us, boundary points with X/Y in VN-2000 to the centimetre, the findings of the latest
verification as their own layers; a GeoPackage that GDAL (and so QGIS) opens with the claim,
its numbered points, the neighbours, the findings and the imagery as a raster table.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyogrio
import pytest
import rasterio
import shapely
from sqlalchemy import text

from certificates import applications as apps
from certificates.applications import Intake
from gis.convert import from_db
from maps import boundary
from maps.offline import external_urls
from parcels.nearby import near_geometry
from tests.certificates.conftest import Demo
from tests.conftest import WARD, counts
from tests.maps.conftest import OFFICER, Cases, bound_app, demo_settings

ASSET = re.compile(r'(?:src|href)="(/maps/assets/[^"]+)"')


def _report_findings(demo: Demo, app_id: int) -> list[dict[str, Any]]:
    app = apps.get(demo.session, ward_code=WARD, application_id=app_id)
    report = apps.latest_report(demo.session, app)
    assert report is not None
    return list(report.findings)


def test_field_map_names_no_outside_url_and_every_asset_is_served(demo_client, auth,
                                                                   cases: Cases) -> None:
    """The page loads Leaflet and its plugins from /maps/assets only, and each is there."""
    r = demo_client.get(f"/maps/applications/{cases.overlap}", headers=auth("land_officer"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert external_urls(r.text) == []
    assert "http://" not in r.text and "https://" not in r.text
    assets = set(ASSET.findall(r.text))
    assert {a.rsplit("/", 1)[-1] for a in assets} >= {
        "leaflet.js", "leaflet.css", "leaflet-measure.min.js", "map.js", "map.css"}
    for url in assets:
        got = demo_client.get(url, headers=auth("land_officer"))
        assert got.status_code == 200 and len(got.content) > 500, url
    css = demo_client.get("/maps/assets/vendor/leaflet/1.9.4/dist/leaflet.css",
                          headers=auth("land_officer")).text
    for image in re.findall(r"url\((images/[^)]+)\)", css):
        assert demo_client.get(f"/maps/assets/vendor/leaflet/1.9.4/dist/{image}",
                               headers=auth("land_officer")).status_code == 200


def test_field_map_shows_each_finding_vertex_and_neighbour(demo_client, auth, demo: Demo,
                                                           cases: Cases) -> None:
    """Each finding of the latest report is a layer of its own (rule and severity in its
    name), each boundary point has its X/Y, and the legend and banner are bilingual."""
    findings = [f for f in _report_findings(demo, cases.overlap) if f.get("geometry")]
    assert any(f["rule"] == "overlap_registered" for f in findings)
    html = demo_client.get(f"/maps/applications/{cases.overlap}",
                           headers=auth("land_officer")).text
    for i, f in enumerate(findings, start=1):
        assert f'"finding:{i}:{f["rule"]}"' in html
        assert f["message_vi"] in html
    geom = from_db(apps.get(demo.session, ward_code=WARD, application_id=cases.overlap).geom)
    for v in boundary.vertices(geom):
        assert f"{v.x:.2f} m" in html and f"{v.y:.2f} m" in html
    for words in ("Chú giải", "legend", "Ranh giới kê khai", "claimed boundary",
                  "Dữ liệu mô phỏng", "Điểm mốc (số thứ tự)", "boundary point (number)"):
        assert words in html


def test_unknown_application_is_a_404_problem(demo_client, auth) -> None:
    r = demo_client.get("/maps/applications/987654321", headers=auth("land_officer"))
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/application_not_found"


def test_application_without_a_boundary_is_refused_and_nothing_written(demo_client, auth,
                                                                       demo: Demo) -> None:
    """A file received without a drawn boundary (a transfer) has nothing to map: 422, no
    write."""
    app = apps.receive(demo.session, actor=OFFICER, intake=Intake(
        procedure="transfer", applicant_name="Lê Thị Hoa", channel="counter"))
    demo.session.flush()
    before = counts(demo.session)
    for url in (f"/maps/applications/{app.id}", f"/maps/applications/{app.id}/field.gpkg",
                f"/api/v1/applications/{app.id}/extract.pdf"):
        r = demo_client.get(url, headers=auth("land_officer"))
        assert r.status_code == 422, url
        assert r.json()["type"] == "/problems/no_claim_geometry"
    assert counts(demo.session) == before


def test_invalid_claim_is_drawn_as_filed_with_its_crossing_point(demo_client, auth, demo: Demo,
                                                                 cases: Cases) -> None:
    """A claim whose boundary crosses itself: the stored ring, and the crossing's X/Y."""
    geom = from_db(apps.get(demo.session, ward_code=WARD, application_id=cases.invalid).geom)
    assert not geom.is_valid
    html = demo_client.get(f"/maps/applications/{cases.invalid}",
                           headers=auth("land_officer")).text
    assert '"crossings"' in html and "Điểm tự cắt" in html
    assert "the claimed boundary crosses itself" in html
    crossing = shapely.get_coordinates(shapely.intersection(
        shapely.LineString(geom.exterior.coords[:2]), geom.exterior))
    assert len(crossing)
    for v in boundary.vertices(geom):  # the ring as filed, in its own order
        assert f"{v.x:.2f} m" in html


def test_map_without_imagery_still_renders_and_says_so(settings, engine, demo: Demo,
                                                       cases: Cases, auth) -> None:
    """No imagery covers the claim (no file here): the map has no imagery layer and a
    note in both languages; the rest is unchanged."""
    from fastapi.testclient import TestClient

    app = bound_app(demo_settings(settings, demo, imagery=Path("/nonexistent/imagery.tif")),
                    engine, demo.session)
    with TestClient(app) as client:
        html = client.get(f"/maps/applications/{cases.clean}", headers=auth("land_officer")).text
    assert "Không có ảnh nền cho khu vực này" in html and "no imagery covers this area" in html
    assert '"imagery"' not in html and '"claim"' in html and '"hillshade"' in html


def test_field_package_opens_with_gdal(demo_client, auth, demo: Demo, cases: Cases,
                                       tmp_path: Path) -> None:
    """The GeoPackage holds the claim, its numbered points (X/Y to the mm), the sides, the
    neighbours within the radius, the findings and the imagery raster, all in EPSG:9214."""
    r = demo_client.get(f"/maps/applications/{cases.overlap}/field.gpkg",
                        headers=auth("land_officer"))
    assert r.status_code == 200
    path = tmp_path / "field.gpkg"
    path.write_bytes(r.content)
    layers = dict(pyogrio.list_layers(path))
    assert layers == {"claim": "Polygon", "boundary_points": "Point", "edges": "LineString",
                      "neighbours": "MultiPolygon", "pending_claims": "MultiPolygon",
                      "findings": "MultiPolygon", "finding_points": "Point"}
    geom = from_db(apps.get(demo.session, ward_code=WARD, application_id=cases.overlap).geom)
    points = pyogrio.read_dataframe(path, layer="boundary_points")
    assert points.crs.to_epsg() == 9214
    expected = [(v.number, round(v.x, 3), round(v.y, 3)) for v in boundary.vertices(geom)]
    assert list(zip(points["number"], points["x_northing"], points["y_easting"],
                    strict=True)) == expected
    near = near_geometry(demo.session, ward_code=WARD, geometry=geom, distance=40.0)
    neighbours = pyogrio.read_dataframe(path, layer="neighbours")
    assert sorted(neighbours["parcel_id"]) == sorted(p.parcel_id for p in near)
    findings = pyogrio.read_dataframe(path, layer="findings")
    assert "overlap_registered" in set(findings["rule"])
    with rasterio.open(f"GPKG:{path}:imagery") as img:
        assert img.crs.to_epsg() == 9214 and img.count == 4
        assert img.bounds.left <= geom.bounds[0] and img.bounds.top >= geom.bounds[3]
        assert img.read(4).mean() > 0  # imagery covers the claim


def test_surveyor_and_official_may_not_open_application_maps(demo_client, auth,
                                                             cases: Cases) -> None:
    for role in ("surveyor", "official", "admin"):
        r = demo_client.get(f"/maps/applications/{cases.clean}", headers=auth(role))
        assert r.status_code == 403 and r.json()["type"] == "/problems/forbidden"


@pytest.mark.parametrize("path", ["/maps/assets/../../config/settings.py",
                                  "/maps/assets/vendor/nothing.js",
                                  "/maps/assets/%2e%2e/vendor.py"])
def test_assets_outside_the_folder_are_not_served(demo_client, auth, path: str) -> None:
    r = demo_client.get(path, headers=auth("official"))
    assert r.status_code == 404


def test_demo_marks_every_map_synthetic(demo: Demo) -> None:
    """The demo ward is synthetic: its row says so, which is what the maps read."""
    assert demo.session.execute(text("SELECT synthetic FROM ward WHERE code = :w"),
                                {"w": WARD}).scalar_one()

"""The maps in a real browser with the network off: Debian's Chromium through Playwright.

Every request that is not to 127.0.0.1 (or a file/data/blob URL) is aborted and recorded.
Each map must load with no console error and no refused request, hold the layers and
feature counts the registry says it should, and look like something (a screenshot of more
than a couple of colours, kept under ``artefacts/screenshots/``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest

from certificates import applications as apps
from db.engine import sql
from gis.convert import from_db
from maps import boundary, pages
from maps.sources import context
from parcels.nearby import near_geometry
from tests.certificates.conftest import Demo
from tests.conftest import WARD
from tests.maps.browser import chromium, distinct_colours, screenshot_dir, shoot, visit
from tests.maps.conftest import Cases

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as ctx:
        yield ctx


def _clean(v: Any) -> None:
    assert v.console_errors == [], v.console_errors
    assert v.blocked == [], v.blocked
    assert v.failed == [], v.failed


def _expected_field_layers(demo: Demo, app_id: int) -> dict[str, int]:
    app = apps.get(demo.session, ward_code=WARD, application_id=app_id)
    geom = from_db(app.geom)
    near = near_geometry(demo.session, ward_code=WARD, geometry=geom, distance=40.0)
    verts = len(boundary.vertices(geom))
    out = {"claim": 1, "vertices": verts, "edges": verts, "neighbours": len(near),
           "neighbour_numbers": len(near), "imagery": 1}
    report = apps.latest_report(demo.session, app)
    for i, f in enumerate(report.findings if report else [], start=1):
        if f.get("geometry"):
            out[f"finding:{i}:{f['rule']}"] = 1
    return out


def test_field_map_in_chromium(browser, live: str, bearer, demo: Demo, cases: Cases) -> None:
    """The overlap case: claim, numbered points, neighbours, each finding and the imagery,
    with Vietnamese and English layer names in the layer control."""
    v = visit(browser, f"{live}/maps/applications/{cases.overlap}",
              headers=bearer("land_officer"))
    v.page.wait_for_timeout(800)
    summary = v.page.evaluate("cadastre.summary()")
    expected = _expected_field_layers(demo, cases.overlap)
    assert {k: summary[k]["features"] for k in expected} == expected
    assert any(k.startswith("finding:") and "overlap_registered" in k for k in summary)
    assert summary["imagery"]["shown"] and not summary["hillshade"]["shown"]
    labels = v.page.inner_text(".leaflet-control-layers-list")
    assert "Thửa đã đăng ký lân cận / registered neighbours" in labels
    assert "Điểm mốc ranh giới / boundary points" in labels
    v.page.hover(".leaflet-control-layers")
    png = shoot(v, "field-map-overlap")
    assert distinct_colours(png) > 2000
    _clean(v)
    v.page.close()


def test_invalid_claim_map_in_chromium(browser, live: str, bearer, cases: Cases) -> None:
    v = visit(browser, f"{live}/maps/applications/{cases.invalid}",
              headers=bearer("land_officer"))
    summary = v.page.evaluate("cadastre.summary()")
    assert summary["crossings"]["features"] >= 1 and summary["claim"]["features"] == 1
    assert "crosses itself" in v.page.inner_text(".cad-warning")
    assert distinct_colours(shoot(v, "field-map-invalid-claim")) > 2000
    _clean(v)
    v.page.close()


def test_self_contained_map_opens_from_a_file_with_no_server(browser, demo: Demo,
                                                             map_settings, cases: Cases) -> None:
    """The --self-contained page: one file, opened from file:// with the network blocked;
    nothing is requested but the file itself and its inline data."""
    ctx = context(demo.session, ward_code=WARD, settings=map_settings.maps,
                  state_dir=map_settings.db.state_dir)
    html = pages.application_map(demo.session, ctx, application_id=cases.overlap,
                                 self_contained=True)
    path = screenshot_dir().parent / f"field-map-{cases.overlap}-self-contained.html"
    path.write_text(html, encoding="utf-8")
    v = visit(browser, path.as_uri())
    v.page.wait_for_timeout(500)
    summary = v.page.evaluate("cadastre.summary()")
    expected = _expected_field_layers(demo, cases.overlap)
    assert {k: summary[k]["features"] for k in expected} == expected
    assert {urlparse(u).scheme for u in v.requested} <= {"file", "data", "blob"}
    # The measure tool's icons come inline too: its button has a background image.
    assert "data:image/png" in v.page.evaluate(
        "getComputedStyle(document.querySelector('.leaflet-control-measure-toggle'))"
        ".backgroundImage")
    assert distinct_colours(shoot(v, "field-map-self-contained")) > 2000
    _clean(v)
    v.page.close()


def test_ward_overview_in_chromium(browser, live: str, bearer, demo: Demo) -> None:
    """The official's overview: parcels arrive as vector tiles, pending files as clusters,
    zones and projects inline; a click on a parcel opens its popup with its heights."""
    v = visit(browser, f"{live}/maps/ward", headers=bearer("official"),
              wait_for="window.cadastre && cadastre.layers.parcels "
                       "&& cadastre.layers.parcels.cadastreFeatures > 0")
    v.page.wait_for_load_state("networkidle")
    summary = v.page.evaluate("cadastre.summary()")
    pending = sum(1 for a in apps.pending_claims(demo.session, ward_code=WARD, limit=1000)[0])
    zones = demo.session.execute(sql(
        "SELECT count(*) FROM zone WHERE ward_code = :w AND valid_to IS NULL"),
        {"w": WARD}).scalar_one()
    assert summary["pending"]["features"] == pending > 0
    assert summary["zones"]["features"] == zones
    assert summary["parcels"]["features"] > 100
    assert summary["imagery"]["shown"]
    assert v.page.evaluate("cadastre.firstParcelsMs") < 10_000
    png = shoot(v, "ward-overview")
    assert distinct_colours(png) > 2000
    # Click the middle of the map, on whatever parcel is there (the inline layers above
    # the parcels are put aside first, as a person would untick them).
    v.page.evaluate("['zones', 'projects', 'centrelines', 'ward', 'pending'].forEach("
                    "k => cadastre.map.removeLayer(cadastre.layers[k]))")
    size = v.page.viewport_size
    v.page.mouse.click(size["width"] * 0.45, size["height"] * 0.55)
    v.page.wait_for_selector(".leaflet-popup-content .cad-popup", timeout=10_000)
    popup = v.page.inner_text(".leaflet-popup-content")
    assert "Thửa đất số" in popup and "Độ cao trung bình" in popup
    v.page.wait_for_timeout(500)  # the popup fades in
    shoot(v, "ward-overview-parcel-popup")
    _clean(v)
    v.page.close()


def test_project_impact_map_in_chromium(browser, live: str, bearer, demo: Demo,
                                        map_settings) -> None:
    """The demo road's impact for an official: every affected parcel, its taken part and
    its remainders, the corridor, with the network blocked."""
    from sqlalchemy import text

    from maps.sources import project_map_input

    code = demo.session.execute(text(
        "SELECT code FROM project WHERE ward_code = :w ORDER BY code LIMIT 1"),
        {"w": WARD}).scalar_one()
    ctx = context(demo.session, ward_code=WARD, settings=map_settings.maps,
                  state_dir=map_settings.db.state_dir)
    data, _ = project_map_input(demo.session, ctx, code=code)
    v = visit(browser, f"{live}/maps/projects/{code}", headers=bearer("official"))
    v.page.wait_for_timeout(500)
    summary = v.page.evaluate("cadastre.summary()")
    assert {k: summary[k]["features"] for k in ("affected", "taken", "remainders")} == {
        "affected": len(data.affected), "taken": len(data.taken),
        "remainders": len(data.remainders)}
    assert summary["affected"]["features"] > 0 and summary["redline"]["features"] == 1
    assert distinct_colours(shoot(v, "project-impact-map")) > 2000
    _clean(v)
    v.page.close()

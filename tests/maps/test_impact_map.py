"""The project impact map on a hand-drawn corridor whose answers are computed on paper.

A road along the northing N0 with a red line 10 m each side and a safety corridor 15 m
each side; four lots: A inside the red line (taken whole), B 20 × 20 m reaching 5 m into it
(100 m² of 400 taken, 300 m² left, a usable lot), C 10 × 6 m reaching 2 m in (20 m² taken,
40 m² left, under the 60 m² minimum), D only in the safety corridor.  The results have the
attributes of the projects module's per-parcel impact (``projects.impact.ParcelImpact``).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from shapely.geometry import LineString, box

from maps import impact, offline
from tests.maps.browser import chromium, distinct_colours, screenshot_dir, shoot, visit

E0, N0 = 559_000.0, 1_820_000.0
REDLINE = box(E0 - 50, N0 - 10, E0 + 150, N0 + 10)
SAFETY = box(E0 - 50, N0 - 15, E0 + 150, N0 + 15).difference(REDLINE)
LOTS = {1: box(E0, N0 - 8, E0 + 10, N0 + 8), 2: box(E0 + 20, N0 + 5, E0 + 40, N0 + 25),
        3: box(E0 + 50, N0 + 8, E0 + 60, N0 + 14), 4: box(E0 + 70, N0 + 11, E0 + 80, N0 + 14)}


def _part(geom: Any, minimum: float = 60.0) -> SimpleNamespace:
    fails = geom.area < minimum
    return SimpleNamespace(area_m2=geom.area, fails=fails, geometry=geom,
                           failures=(f"diện tích {geom.area:.0f} m² < {minimum:.0f} m²",)
                           if fails else ())


def _results() -> list[SimpleNamespace]:
    out = []
    for pid, lot in LOTS.items():
        taken = lot.intersection(REDLINE)
        left = lot.difference(REDLINE)
        take = ("full" if left.is_empty else "partial" if not taken.is_empty else "safety")
        out.append(SimpleNamespace(
            parcel_id=pid, label=f"tờ 9 thửa {pid}", land_use="ODT" if pid != 3 else "CLN",
            area_m2=lot.area, taken_m2=taken.area, remainder_m2=left.area, take=take,
            proposal="full_acquisition" if take == "full" or pid == 3 else "partial",
            taken=taken, parts=[] if left.is_empty or take == "safety" else [_part(left)]))
    return out


def _input() -> impact.ImpactMapInput:
    return impact.from_parcel_impacts(
        _results(), geometries=LOTS, code="VD3", name_vi="Đường Vành đai 3 (giả lập)",
        name_en="Ring Road 3 (simulated)", redline=REDLINE, safety=SAFETY,
        centrelines=[("VD3 đoạn 1", LineString([(E0 - 50, N0), (E0 + 150, N0)]))],
        synthetic=True)


def test_summary_adds_up_the_hand_computed_takes() -> None:
    s = impact.summary(_input())
    assert s == {"parcels": 3, "taken_m2": 160.0 + 100.0 + 20.0, "full": 1, "safety_only": 1,
                 "failing_remainders": 1, "by_land_use": {"ODT": 260.0, "CLN": 20.0}}


def test_share_classes() -> None:
    assert impact.share_colour(0.0) == "#fee5d9"
    assert impact.share_colour(0.25) == "#fc9272"
    assert impact.share_colour(1.0) == "#cb181d"


def test_impact_map_popups_and_colours() -> None:
    html = offline.render(impact.impact_map(_input()), title="VD3")
    assert offline.external_urls(html) == []
    assert "100.0 m² (25%)" in html and "300.0 m²" in html  # lot B: taken and remainder
    assert "20.0 m² (33%)" in html and "40.0 m²" in html  # lot C
    assert "Phần còn lại không đạt diện tích tối thiểu" in html
    assert '"fails":true' in html and '"share":1.0' in html and "#cb181d" in html
    assert "Tổng diện tích thu hồi" in html and "280.0 m²" in html
    assert "Dữ liệu mô phỏng" in html


@pytest.mark.browser
def test_impact_map_in_chromium() -> None:
    """Self-contained, opened from a file with the network blocked: the layers hold the
    lots, the taken parts, the remainders (one failing) and the corridor."""
    path = screenshot_dir().parent / "impact-map-hand-drawn.html"
    path.write_text(offline.render(impact.impact_map(_input()), title="VD3",
                                   self_contained=True), encoding="utf-8")
    with chromium() as ctx:
        v = visit(ctx, path.as_uri())
        v.page.wait_for_timeout(400)
        summary = v.page.evaluate("cadastre.summary()")
        counts = {k: summary[k]["features"] for k in
                  ("affected", "taken", "remainders", "redline", "safety", "centrelines")}
        assert counts == {"affected": 4, "taken": 3, "remainders": 2, "redline": 1,
                          "safety": 1, "centrelines": 1}
        failing = v.page.evaluate(
            "cadastre.layers.remainders.getLayers().filter(l => l.feature.properties.fails)"
            ".length")
        assert failing == 1
        assert distinct_colours(shoot(v, "impact-map-hand-drawn")) > 200
        assert v.console_errors == [] and v.blocked == []


def test_project_map_of_the_demo_road_adds_up_to_the_impact(demo_client, auth, demo,
                                                            map_settings) -> None:
    """Served from the projects module's impact: the map's sums are the impact's totals."""
    from sqlalchemy import text

    from maps.sources import context, project_map_input
    from projects import impact as project_impact
    from tests.conftest import WARD

    code = demo.session.execute(text(
        "SELECT code FROM project WHERE ward_code = :w ORDER BY code LIMIT 1"),
        {"w": WARD}).scalar_one()
    result = project_impact.run(demo.session, ward_code=WARD, code=code)
    ctx = context(demo.session, ward_code=WARD, settings=map_settings.maps,
                  state_dir=map_settings.db.state_dir)
    data, _ = project_map_input(demo.session, ctx, code=code)
    s = impact.summary(data)
    totals = result.totals
    assert s["parcels"] == totals.full_takes + totals.partial_takes > 0
    assert s["full"] == totals.full_takes
    assert s["safety_only"] == totals.safety_only_parcels
    assert s["failing_remainders"] == sum(1 for p in result.parcels for part in p.parts
                                          if part.fails)
    assert s["taken_m2"] == pytest.approx(sum(p.taken_m2 for p in result.parcels
                                              if p.take in ("full", "partial")), abs=0.1)
    r = demo_client.get(f"/maps/projects/{code}", headers=auth("official"))
    assert r.status_code == 200
    assert offline.external_urls(r.text) == [] and "Tổng diện tích thu hồi" in r.text
    assert f"{s['taken_m2']:,.1f} m²" in r.text
    assert demo_client.get(f"/maps/projects/{code}", headers=auth("surveyor")).status_code == 403
    missing = demo_client.get("/maps/projects/NO_SUCH_ROAD", headers=auth("official"))
    assert missing.status_code == 404 and missing.json()["type"] == "/problems/project_not_found"

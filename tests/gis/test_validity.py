"""Validity and shape rules on hand-drawn polygons: what a surveyor sees for each defect."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, box

from gis.findings import Severity
from gis.measures import max_width, thinness
from gis.repair import make_valid, remove_duplicate_vertices, remove_spikes
from gis.rules import RuleSet
from gis.validity import check_feature, diagnose


def codes(raw: object, rules: RuleSet) -> list[str]:
    return [f.code for f in check_feature(raw, fid="T", rules=rules).findings]  # type: ignore[arg-type]


def test_clean_square_has_no_findings(rules: RuleSet) -> None:
    """A 10 x 10 m counter-clockwise square: nothing to report."""
    d = check_feature(box(0, 0, 10, 10), fid="T", rules=rules)
    assert d.valid and d.findings == []


def test_bow_tie_reports_the_crossing_point(rules: RuleSet) -> None:
    """A bow-tie is an error 'the boundary crosses itself at (5, 5)' with a repair proposed."""
    d = diagnose("POLYGON((0 0, 10 10, 10 0, 0 10, 0 0))", fid="T", rules=rules)
    (f,) = d.findings
    assert not d.valid and f.code == "self_intersection" and f.severity is Severity.ERROR
    assert (f.figures["x"], f.figures["y"]) == (5.0, 5.0)
    assert f.geometry is not None and f.geometry.equals(shapely.Point(5, 5))
    assert f.fix is not None and f.fix.geometry.is_valid and f.fix.geometry.area == 50.0
    assert "X (northing) 5.000 m, Y (easting) 5.000 m" in f.message_en
    assert "tự cắt tại điểm X = 5.000 m, Y = 5.000 m" in f.message_vi


def test_ring_touching_itself_at_one_point(rules: RuleSet) -> None:
    """A ring that comes back to touch itself at (5, 0) is 'ring touches itself', an error."""
    d = diagnose("POLYGON((0 0, 10 0, 10 10, 5 0, 0 10, 0 0))", fid="T", rules=rules)
    assert [f.code for f in d.findings] == ["ring_self_touch"] and not d.valid
    assert d.findings[0].geometry.equals(shapely.Point(5, 0))  # type: ignore[union-attr]


def test_unclosed_ring_from_wkt_and_geojson(rules: RuleSet) -> None:
    """An open ring is reported with the distance between its ends (1 m and 1.414 m)."""
    d = diagnose("POLYGON((0 0, 1 0, 1 1, 0 1))", fid="T", rules=rules)
    assert [f.code for f in d.findings] == ["unclosed_ring"]
    assert d.findings[0].figures["distance_m"] == 1.0
    gj = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]}
    d = diagnose(gj, fid="T", rules=rules)
    assert d.findings[0].code == "unclosed_ring"
    assert d.findings[0].figures["distance_m"] == pytest.approx(math.sqrt(2), abs=1e-6)


def test_ring_with_three_points(rules: RuleSet) -> None:
    """A ring of 3 points (closing included) cannot enclose area: 'too few points', error."""
    assert codes("POLYGON((0 0, 1 1, 0 0))", rules) == ["too_few_points"]
    gj = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}
    d = diagnose(gj, fid="T", rules=rules)
    assert d.geometry is None and d.findings[0].figures["points"] == 3


def test_nan_coordinate(rules: RuleSet) -> None:
    """A NaN coordinate is counted and blocks every further check."""
    d = diagnose("POLYGON((0 0, 10 0, NaN 5, 0 10, 0 0))", fid="T", rules=rules)
    assert [f.code for f in d.findings] == ["non_finite"] and d.findings[0].figures["count"] == 1


def test_z_flattened_and_orientation_normalised_are_information(rules: RuleSet) -> None:
    """A clockwise 3D square is accepted, flattened and re-oriented, with two info notices."""
    cw = shapely.Polygon([(0, 0, 5), (0, 1, 5), (1, 1, 5), (1, 0, 5), (0, 0, 5)])
    d = diagnose(cw, fid="T", rules=rules)
    assert d.valid and [f.code for f in d.findings] == ["z_or_m", "orientation"]
    assert all(f.severity is Severity.INFO for f in d.findings)
    assert d.geometry is not None and not d.geometry.has_z
    assert shapely.is_ccw(d.geometry.exterior)


def test_holes_and_multipart(rules: RuleSet) -> None:
    """A parcel with a courtyard hole is info; a parcel in two pieces is a warning."""
    holed = shapely.orient_polygons(box(0, 0, 10, 10).difference(box(4, 4, 6, 6)))
    assert codes(holed, rules) == ["has_holes"]
    two = shapely.MultiPolygon([box(0, 0, 1, 1), box(5, 5, 6, 6)])
    d = check_feature(two, fid="T", rules=rules)
    assert [f.code for f in d.findings if f.code != "min_area"] == ["multipart"]
    assert d.findings[0].severity is Severity.WARNING


def test_not_a_polygon_and_empty(rules: RuleSet) -> None:
    """A line is 'not a polygon'; an empty polygon is 'empty'; both are errors."""
    assert codes("LINESTRING(0 0, 1 1)", rules) == ["not_polygon"]
    assert codes(Polygon(), rules) == ["empty"]


def test_spike_of_a_tenth_of_a_degree(rules: RuleSet) -> None:
    """A 0.1° needle on a 10 m square is a spike warning; the fix removes its apex."""
    half = 0.01
    length = half / math.tan(math.radians(0.05))  # apex angle 2*0.05 = 0.1°
    ring = [(0, 0), (10, 0), (10, 10), (5 + half, 10), (5, 10 + length), (5 - half, 10), (0, 10)]
    d = check_feature(Polygon(ring), fid="T", rules=rules)
    spikes = [f for f in d.findings if f.code == "spike"]
    assert len(spikes) == 1 and spikes[0].figures["angle_deg"] == pytest.approx(0.1, abs=1e-6)
    fix = spikes[0].fix
    assert fix is not None and [m.source for m in fix.moved] == [(5.0, 10 + length)]
    assert fix.geometry.area == pytest.approx(100.0)


def test_duplicate_and_short_edges(rules: RuleSet) -> None:
    """A vertex repeated 0.5 mm away is a duplicate (info); a 3 cm edge is a short edge."""
    ring = [(0, 0), (10, 0), (10.0005, 0), (10, 10), (0.03, 10), (0, 10)]
    found = check_feature(Polygon(ring), fid="T", rules=rules).findings
    assert sorted(f.code for f in found) == ["duplicate_vertex", "short_segment"]
    dup = next(f for f in found if f.code == "duplicate_vertex")
    assert dup.fix is not None and len(dup.fix.moved) == 1
    assert len(remove_duplicate_vertices(Polygon(ring), 0.001).geometry.exterior.coords) == 6


def test_messages_state_the_measured_value_then_the_limit(rules: RuleSet) -> None:
    """Each shape rule's threshold parameter has the same name as its figure (min_area's
    is ``area_m2``): the message must give the parcel's value, not the threshold again."""
    def message(geom: Polygon, code: str) -> str:
        found = check_feature(geom, fid="T", rules=rules).findings
        return next(f.message_en for f in found if f.code == code)

    assert "area 0.50 m², under 1.0 m²" in message(box(0, 0, 1, 0.5), "min_area")
    ring = [(0, 0), (10, 0), (10, 10), (0.03, 10), (0, 10)]
    assert "an edge of 0.030 m" in message(Polygon(ring), "short_segment")
    assert "shorter than 0.05 m: 1" in message(Polygon(ring), "short_segment")
    # never a rounding onto the limit ("0.050 m, shorter than 0.05 m")
    almost = [(0, 0), (10, 0), (10, 10), (0.0499, 10), (0, 10)]
    assert "an edge of 0.0499 m" in message(Polygon(almost), "short_segment")
    assert "thinness 4πA/P² = 0.016 < 0.05" in message(box(0, 0, 100, 0.5), "sliver")
    spike = Polygon([(0, 0), (10, 0), (10, 10), (5, 10), (5.005, 20), (4.995, 10), (0, 10)])
    assert "a spike of 0.0286° at X (northing) 20.000 m, Y (easting) 5.005 m" in message(
        spike, "spike")
    assert "(vertices sharper than 5.0°: 1)" in message(spike, "spike")


def test_polygon_smaller_than_the_duplicate_distance(rules: RuleSet) -> None:
    """A valid triangle 0.5 mm across: every vertex is a "duplicate" of the next, and
    dropping them would leave no ring (GEOS refuses one under three points).  It is
    reported, as too small and with its duplicates, and no repair is offered."""
    tiny = Polygon([(0, 0), (0.0005, 0), (0.0002, 0.0004)])
    assert tiny.is_valid
    found = check_feature(tiny, fid="T", rules=rules).findings
    assert {"min_area", "duplicate_vertex"} <= {f.code for f in found}
    dup = next(f for f in found if f.code == "duplicate_vertex")
    assert dup.fix is not None and not dup.fix.changed and dup.fix.geometry.equals(tiny)


def test_small_area_and_sliver(rules: RuleSet) -> None:
    """A 0.5 m² parcel is under the minimum; a 0.5 x 100 m strip (4πA/P² = 0.0156) is a sliver."""
    assert "min_area" in codes(box(0, 0, 1, 0.5), rules)
    strip = box(0, 0, 100, 0.5)
    expected = 4 * math.pi * 50 / 201.0**2
    assert float(thinness(strip)) == pytest.approx(expected)
    sliver = [f for f in check_feature(strip, fid="T", rules=rules).findings if f.code == "sliver"]
    assert sliver and sliver[0].figures["width_m"] == pytest.approx(0.5, abs=0.01)
    assert "sliver" not in codes(box(0, 0, 3, 60), rules)  # a 3 x 60 m tube lot is fine


def test_max_width_of_strip() -> None:
    """Width = diameter of the largest inscribed circle: 1 m for a 1 x 20 m strip."""
    assert max_width(box(0, 0, 20, 1)) == pytest.approx(1.0, rel=0.02)
    assert max_width(box(0, 0, 20, 0.001)) == pytest.approx(0.001, rel=0.02)


def test_make_valid_falls_back_to_linework_on_jts_issue_852(rules: RuleSet) -> None:
    """A land officer's repair is always valid, even where the structure method is not."""
    import json

    from tests.gis.conftest import external
    cases = json.loads(external("jts-unit-vectors", "jts-unit-cases.json").read_text())
    fixer = cases["geometry_fixer"]
    issue = [c for c in fixer if c["test"].startswith("testIssue852")]
    assert len(issue) == 2
    for c in issue:
        g = shapely.from_wkt(c["input"])
        assert not shapely.make_valid(g, method="structure").is_valid  # the upstream trap
        fix = make_valid(g)
        assert fix.geometry.is_valid and fix.geometry.geom_type in ("Polygon", "MultiPolygon")
        assert "linework" in fix.description_en
    checked = 0
    for c in fixer:
        try:
            g = shapely.from_wkt(c["input"])
        except shapely.errors.GEOSException:
            continue
        if g.geom_type in ("Polygon", "MultiPolygon") and np.isfinite(
                shapely.get_coordinates(g)).all():
            assert make_valid(g).geometry.is_valid, c["test"]
            checked += 1
    print(f"make_valid gave a valid polygonal result on {checked} JTS GeometryFixer cases")
    assert checked >= 20


def test_remove_spikes_leaves_plain_polygon_alone() -> None:
    """Nothing to remove on a square: the fix says unchanged."""
    fix = remove_spikes(box(0, 0, 1, 1), 5.0)
    assert not fix.changed and fix.moved == ()

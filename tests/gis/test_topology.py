"""Neighbour rules on hand-drawn parcels: the traps of issue 4, as a land officer sees them.

Parcels are drawn in metres; "n" is the registered neighbour, "c" the candidate.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyogrio
import pytest
import shapely
from shapely.geometry import Polygon, box

from gis.audit import audit
from gis.findings import Band, Report, Severity
from gis.findings_io import FINDINGS, write_gpkg
from gis.frame import Zone
from gis.mismatches import find_mismatches
from gis.rules import RuleSet
from gis.snap import snap_to_neighbours
from gis.topology import Context

N = box(10, 0, 20, 20)  # the registered neighbour east of x = 10


def check(c: Polygon, rules: RuleSet, scale: int = 1000) -> Report:
    """The candidate and its registered neighbour audited together, as survey intake and
    the registry audit judge them (the neighbour itself is a clean 10 x 20 m box)."""
    return audit([c, N], ["c", "n"], rules=rules, scales=scale)


def test_shared_edge_is_not_an_overlap(rules: RuleSet) -> None:
    """Two parcels sharing the edge x = 10 exactly: the report is empty."""
    assert check(box(0, 0, 10, 20), rules).findings == ()


def test_parcel_wholly_inside_another(rules: RuleSet) -> None:
    """A 2 x 2 m parcel inside the neighbour: 'c lies wholly inside n (4 m²)', an error.

    Rules that only test `overlaps` miss this (claeis/ilivalidator#263).
    """
    r = check(box(12, 2, 14, 4), rules)
    (f,) = r.findings
    assert f.code == "contained" and f.severity is Severity.ERROR
    assert f.feature_ids == ("c", "n") and f.figures["area_m2"] == 4.0
    # and the other way round: the candidate swallows a registered parcel
    r = check(box(5, -5, 25, 25), rules)
    assert [(f.code, f.feature_ids) for f in r.findings] == [("contained", ("n", "c"))]


def test_two_identical_parcels(rules: RuleSet) -> None:
    """The same 200 m² parcel twice (even drawn from another start vertex): duplicate, error."""
    same = Polygon([(20, 20), (10, 20), (10, 0), (20, 0)])
    (f,) = check(shapely.orient_polygons(same, exterior_cw=False), rules).findings
    assert f.code == "duplicate" and f.figures["area_m2"] == 200.0


@pytest.mark.parametrize("scale", [200, 500, 1000, 2000, 5000, 10000])
def test_one_millimetre_overlap_is_noise_at_every_scale(rules: RuleSet, scale: int) -> None:
    """A 1 mm overlap along the 20 m shared edge: info 'noise' with a snap that removes it."""
    r = check(box(0, 0, 10.001, 20), rules, scale=scale)
    (f,) = r.by_code("overlap")
    assert f.band is Band.NOISE and f.severity is Severity.INFO
    assert f.figures["width_m"] == pytest.approx(0.001, rel=0.02)
    assert f.figures["area_m2"] == pytest.approx(0.02)
    assert f.tolerance["scale"] == scale
    assert f.fix is not None and max(m.distance_m for m in f.fix.moved) == pytest.approx(0.001)
    assert shapely.intersection(f.fix.geometry, N).area == pytest.approx(0, abs=1e-9)


def test_half_metre_encroachment_is_a_conflict(rules: RuleSet) -> None:
    """0.5 m into the neighbour at 1:1000 (conflict above 0.30 m): an error, no automatic fix."""
    (f,) = check(box(0, 0, 10.5, 20), rules).by_code("overlap")
    assert f.band is Band.CONFLICT and f.severity is Severity.ERROR and f.fix is None
    assert f.tolerance["conflict_m"] == 0.30


def test_overlap_between_snap_and_conflict_is_a_warning(rules: RuleSet) -> None:
    """0.2 m at 1:1000 (snap 0.15, conflict 0.30): a warning to look at."""
    (f,) = check(box(0, 0, 10.2, 20), rules).by_code("overlap")
    assert f.band is Band.REVIEW and f.severity is Severity.WARNING


def test_overlap_strip_area_and_width(rules: RuleSet) -> None:
    """A 1 m strip along the 20 m edge: 20 m² and 1 m wide; its geometry is the strip."""
    (f,) = check(box(0, 0, 11, 20), rules).by_code("overlap")
    assert f.figures["area_m2"] == pytest.approx(20.0)
    assert f.figures["width_m"] == pytest.approx(1.0, rel=0.01)
    assert f.geometry is not None and f.geometry.equals(box(10, 0, 11, 20))


def test_five_centimetre_gap_gets_a_snap(rules: RuleSet) -> None:
    """A 5 cm gap along the shared edge: noise at 1:1000 with the vertices moved 5 cm."""
    r = check(box(0, 0, 9.95, 20), rules)
    (f,) = r.by_code("gap")
    assert f.band is Band.NOISE and f.figures["width_m"] == pytest.approx(0.05, rel=0.02)
    assert f.figures["area_m2"] == pytest.approx(1.0)
    assert f.fix is not None and f.fix.geometry.union(N).area == pytest.approx(400.0)
    assert all(m.distance_m <= 0.15 for m in f.fix.moved)


def test_wide_gap_is_not_a_defect(rules: RuleSet) -> None:
    """3 m between two parcels is a lane or unregistered land: no gap finding."""
    assert check(box(0, 0, 7, 20), rules).by_code("gap") == []


def test_half_metre_gap_is_flagged(rules: RuleSet) -> None:
    """0.5 m between two parcels at 1:1000 is above the conflict tolerance: a warning."""
    (f,) = check(box(0, 0, 9.5, 20), rules).by_code("gap")
    assert f.band is Band.CONFLICT and f.severity is Severity.WARNING
    assert f.figures["width_m"] == pytest.approx(0.5, rel=0.01)


def test_boundary_mismatch_lists_the_vertex(rules: RuleSet) -> None:
    """The mismatch rule itself: a corner 8 cm west of the neighbour's edge at 1:500 (snap
    0.07, conflict 0.14) is a warning naming the vertex as X (northing), Y (easting)."""
    c = Polygon([(0, 0), (10, 0), (9.92, 10), (10, 20), (0, 20)])
    ctx = Context.build([c, N], ["c", "n"], rules=rules, scales=500)
    (f,) = [f for f in find_mismatches(ctx) if f.feature_ids == ("c", "n")]
    assert f.band is Band.REVIEW and f.figures["distance_m"] == pytest.approx(0.08)
    assert (f.figures["x"], f.figures["y"]) == (9.92, 10.0)
    assert "X = 10.000 m, Y = 9.920 m" in f.message_vi
    assert "X (northing) 10.000 m, Y (easting) 9.920 m" in f.message_en


def test_a_moved_corner_is_one_defect(rules: RuleSet) -> None:
    """The same corner 8 cm off with both edges to it along the neighbour: the wedge
    between them is the gap, and its vertex is not reported a second time as a mismatch."""
    c = Polygon([(0, 0), (10, 0), (9.92, 10), (10, 20), (0, 20)])
    report = check(c, rules, scale=500)
    (gap,) = [f for f in report.by_code("gap") if set(f.feature_ids) == {"c", "n"}]
    assert gap.band is Band.REVIEW and gap.figures["width_m"] == pytest.approx(0.08, rel=0.05)
    assert [f for f in report.by_code("boundary_mismatch")
            if set(f.feature_ids) == {"c", "n"}] == []


def test_outside_ward_and_zone(rules: RuleSet) -> None:
    """1 m of the candidate beyond the ward line is an error; 40 m² in the river corridor."""
    ward = box(-100, 1, 100, 100)
    river = Zone(id="z1", kind="river corridor", name="Hương", geometry=box(-100, 16, 100, 30))
    r = audit([box(0, 0, 10, 20)], ["c"], rules=rules, scales=1000, frame=ward, zones=[river])
    (out,) = r.by_code("outside_ward")
    assert out.severity is Severity.ERROR and out.figures["area_m2"] == pytest.approx(10.0)
    (z,) = r.by_code("zone_crossing")
    assert z.figures["area_m2"] == pytest.approx(40.0)
    assert z.figures["zone_kind"] == "river corridor"
    assert "river corridor" in z.message_en


def test_a_zone_crossing_is_a_fact_said_in_words(rules: RuleSet) -> None:
    """Issue 14: 40 m² of a lot in heritage zone II is information about the lot (what may
    be built there), not a defect, and the sentence names the zone kind in words."""
    zone = Zone(id="kv2", kind="heritage_2", name="Chùa Thiên Mụ",
                geometry=box(-100, 16, 100, 30))
    r = audit([box(0, 0, 10, 20)], ["c"], rules=rules, scales=1000, zones=[zone])
    (z,) = r.by_code("zone_crossing")
    assert z.severity is Severity.INFO and z.figures["area_m2"] == pytest.approx(40.0)
    assert "khu vực bảo vệ II của di tích" in z.message_vi
    assert "heritage protection zone II" in z.message_en
    assert "heritage_2" not in z.message_vi + z.message_en


def test_rounding_along_the_ward_edge_is_not_outside(rules: RuleSet) -> None:
    """A lot following the ward's edge with a corner 0.4 mm beyond it (the rounding of
    millimetre coordinates) is not reported; 0.5 m beyond it is, with its area."""
    ward = box(-100, 0, 100, 100)
    follows = Polygon([(0, 0), (5, -0.0004), (10, 0), (10, 20), (0, 20)])
    assert audit([follows], ["c"], rules=rules, frame=ward).by_code("outside_ward") == []
    beyond = box(0, -0.5, 10, 20)
    (out,) = audit([beyond], ["c"], rules=rules, frame=ward).by_code("outside_ward")
    assert out.figures["area_m2"] == pytest.approx(5.0) and out.severity is Severity.ERROR
    assert "0.00 m²" not in out.message_en


def test_shape_rules_know_a_road_and_count_each_defect_once(rules: RuleSet) -> None:
    """A 100 × 0.5 m strip is a sliver as a house lot, not as a road (DGT) or a canal
    (DTL); a lot with three 3 cm edges has one short-edge finding (information, below
    what the map shows) that counts all three."""
    strip = box(0, 0, 100, 0.5)
    for use, slivers in (("ODT", 1), ("DGT", 0), ("DTL", 0)):
        r = audit([strip], ["s"], rules=rules, land_uses=[use])
        assert len(r.by_code("sliver")) == slivers, use
    ring = [(0, 0), (10, 0), (10, 10), (9, 10), (9, 10.03), (6, 10.03), (6, 10.06),
            (3, 10.06), (3, 10.09), (0, 10.09)]  # three steps of 3 cm along the top
    (short,) = audit([Polygon(ring)], ["c"], rules=rules).by_code("short_segment")
    assert short.severity is Severity.INFO and short.figures["count"] == 3
    assert short.figures["length_m"] == pytest.approx(0.03, abs=1e-3)


def test_noise_is_noise_on_both_sides(rules: RuleSet, tmp_path: Path) -> None:
    """Issue 14: a 5 cm gap and a 5 cm overlap with the neighbour (within 1:1000's 15 cm)
    are both information with the snapped boundary proposed, in Vietnamese and English in
    the GeoPackage; a 20 cm gap is beyond the noise and a warning."""
    (gap,) = check(box(0, 0, 9.95, 20), rules).by_code("gap")
    (over,) = check(box(0, 0, 10.05, 20), rules).by_code("overlap")
    assert gap.severity is over.severity is Severity.INFO
    assert gap.band is over.band is Band.NOISE
    (wide,) = check(box(0, 0, 9.8, 20), rules).by_code("gap")
    assert wide.severity is Severity.WARNING and wide.band is Band.REVIEW
    path = tmp_path / "gap.gpkg"
    write_gpkg(check(box(0, 0, 9.95, 20), rules), path)
    [row] = pyogrio.read_dataframe(path, layer=FINDINGS).itertuples()
    assert row.fix.startswith("snapped to neighbours within 0.15 m")
    assert row.fix_vi.startswith("bám ranh giới thửa bên cạnh trong 0.15 m")


def test_snapping_lists_moves_within_tolerance() -> None:
    """Snapping at 0.1 m moves the 5 cm-off corner, inserts nothing farther than 0.1 m."""
    c = Polygon([(0, 0), (9.95, 0), (9.95, 20), (0, 20)])
    fix = snap_to_neighbours(c, [N], 0.1)
    assert fix.changed and fix.geometry.union(N).area == pytest.approx(400.0)
    assert sorted(m.target for m in fix.moved if not m.inserted) == [(10.0, 0.0), (10.0, 20.0)]
    far = snap_to_neighbours(c, [N], 0.01)
    assert not far.changed and far.geometry.equals(c)


def test_report_is_deterministic_and_geojson_is_wgs84(rules: RuleSet) -> None:
    """The same input twice gives the same JSON; features are in lon/lat near Hue."""
    base = (559_000.0, 1_820_000.0)
    a = shapely.affinity.translate(box(0, 0, 10.5, 20), *base)
    b = shapely.affinity.translate(N, *base)
    r1 = audit([a, b], ["A", "B"], rules=rules)
    r2 = audit([b, a], ["B", "A"], rules=rules)
    assert r1.to_json() == r2.to_json() and r1.fingerprint == r2.fingerprint
    feat = r1.findings[0].to_geojson_feature()
    lon, lat = shapely.geometry.shape(feat["geometry"]).centroid.coords[0]
    assert 107.5 < lon < 107.6 and 16.4 < lat < 16.5
    assert feat["properties"]["area_m2"] == pytest.approx(10.0)
    json.dumps(feat)
    r3 = audit([a, b], ["A", "B"], rules=rules.with_overrides(
        {"scales": {"1000": {"conflict_m": 0.6}}}))
    assert r3.fingerprint != r1.fingerprint or r3.settings != r1.settings
    assert r3.findings[0].severity is Severity.WARNING


def test_audit_finds_planted_defects_and_nothing_else(rules: RuleSet) -> None:
    """A 3 x 3 block with one parcel pushed 0.5 m east and one copied: exactly those."""
    cells = [box(x * 10, y * 10, x * 10 + 10, y * 10 + 10) for y in range(3) for x in range(3)]
    cells[4] = box(10, 10, 20.5, 20)  # middle parcel encroaches on its east neighbour (5)
    geoms = [*cells, cells[0]]
    r = audit(geoms, list(range(10)), rules=rules, scales=1000)
    assert r.counts() == {"duplicate": 1, "overlap": 1}
    assert r.by_code("overlap")[0].feature_ids == ("4", "5")
    assert r.by_code("duplicate")[0].feature_ids == ("0", "9")

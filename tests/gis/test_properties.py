"""Properties that must hold for any parcels, not just the drawn ones (hypothesis)."""

from __future__ import annotations

import math

import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from gis.audit import audit
from gis.rules import RuleSet, load_ruleset
from gis.snap import snap_to_neighbours

RULES: RuleSet = load_ruleset()
coord = st.floats(min_value=-0.8, max_value=0.8, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(dx=coord, dy=coord, w=st.floats(min_value=1, max_value=30))
def test_overlap_detection_is_symmetric(dx: float, dy: float, w: float) -> None:
    """Whether A overlaps B does not depend on which is listed first, nor do the figures."""
    a = box(0, 0, w, 10)
    b = shapely.affinity.translate(box(w, 0, w + 10, 10), dx, dy)
    r1 = audit([a, b], ["a", "b"], rules=RULES)
    r2 = audit([b, a], ["b", "a"], rules=RULES)
    assert [(f.code, f.feature_ids, dict(f.figures)) for f in r1.findings] == \
        [(f.code, f.feature_ids, dict(f.figures)) for f in r2.findings]
    # the overlap strip is -dx wide; under the 1 µm floor it is arithmetic, not an overlap
    assume(abs(abs(dx) - 1e-6) > 1e-7)
    assert bool(r1.by_code("overlap")) == (dx < -1e-6)


@settings(max_examples=60, deadline=None)
@given(pts=st.lists(st.tuples(coord, coord), min_size=4, max_size=4),
       tol=st.floats(min_value=0.01, max_value=1.0))
def test_snapping_never_moves_a_vertex_farther_than_the_tolerance(
        pts: list[tuple[float, float]], tol: float) -> None:
    """Every listed move (and insertion) is within the tolerance, and nothing else moved."""
    corners = [(0, 0), (10, 0), (10, 10), (0, 10)]
    ring = [(x + dx, y + dy) for (x, y), (dx, dy) in zip(corners, pts, strict=True)]
    geom = shapely.Polygon(ring)
    if not geom.is_valid:
        return
    fix = snap_to_neighbours(geom, [box(10, 0, 20, 10), box(0, 10, 10, 20)], tol)
    assert all(m.distance_m <= tol + 1e-9 for m in fix.moved)
    before = {tuple(c) for c in shapely.get_coordinates(geom)}
    moved_from = {m.source for m in fix.moved if not m.inserted}
    for c in shapely.get_coordinates(fix.geometry):
        assert tuple(c) in before or any(
            m.target == tuple(c) for m in fix.moved), "an unlisted vertex appeared"
    assert moved_from <= before


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.floats(min_value=-0.4, max_value=0.4, allow_nan=False),
                     min_size=3, max_size=3),
       shifts=st.lists(st.floats(min_value=-0.4, max_value=0.4, allow_nan=False),
                       min_size=3, max_size=3))
def test_gaps_and_overlaps_match_a_whole_union_computed_apart(cuts: list[float],
                                                              shifts: list[float]) -> None:
    """A row of four 10 m lots whose shared edges are drawn twice, slightly apart, filling
    the 40 × 10 m block: the gaps the audit reports are the block minus the union of the
    lots, and its overlaps are the pairwise intersections, both computed here with plain
    shapely; so sum of areas + gap areas − overlap areas = the block's 400 m²."""
    lots = []
    for k in range(4):
        left = 10 * k + (shifts[k - 1] if k > 0 else 0)
        right = 10 * (k + 1) + (cuts[k] if k < 3 else 0)
        lots.append(box(left, 0, right, 10))
    block = box(0, 0, 40, 10)
    r = audit(lots, [f"p{k}" for k in range(4)], rules=RULES)
    pieces = [f.geometry for f in r.by_code("gap")]
    gap_area = sum(g.area for g in pieces)  # type: ignore[union-attr]
    overlaps = sum(float(f.figures["area_m2"]) for f in r.by_code("overlap"))

    truth_gaps = block.difference(shapely.union_all(lots))
    truth_overlaps = sum(lots[i].intersection(lots[j]).area
                         for i in range(4) for j in range(i + 1, 4))
    # strips narrower than the 1 µm floor (min_width_m) are arithmetic, not reported: at
    # most 1e-6 m x 10 m on each of the three shared edges
    floor = 3 * 10 * 1e-6 + 1e-9
    assert shapely.union_all(pieces).symmetric_difference(truth_gaps).area <= floor
    assert math.isclose(gap_area, truth_gaps.area, rel_tol=0, abs_tol=floor)  # none twice
    assert math.isclose(overlaps, truth_overlaps, rel_tol=0, abs_tol=floor)
    total = sum(p.area for p in lots) + gap_area - overlaps
    assert math.isclose(total, block.area, rel_tol=0, abs_tol=2 * floor)

"""The gap search around one claim finds exactly the pieces of the full search that touch it."""

from __future__ import annotations

import numpy as np
import shapely

from bench.audit import synthetic
from gis.gaps import gap_polygons, gap_polygons_near

WIDTH = 0.5
TOUCH = 0.05


def _keys(pieces: list) -> list[bytes]:  # type: ignore[type-arg]
    return sorted(shapely.to_wkb(shapely.normalize(p)) for p in pieces)


def test_pieces_near_a_claim_are_those_of_the_full_search() -> None:
    """300 claims among 2,000 perturbed quads with 40 planted gaps: the windowed search
    returns the same whole pieces as filtering the full one, and some claims have some."""
    geoms, _ = synthetic(2000, seed=5, defects=40)
    arr = np.asarray(geoms, dtype=object)
    tree = shapely.STRtree(arr)
    with_pieces = 0
    for i in np.random.default_rng(1).choice(len(arr), 300, replace=False).tolist():
        target = arr[i]
        near = arr[tree.query(target, predicate="dwithin", distance=WIDTH)]
        full = [p for p in gap_polygons(near, WIDTH) if shapely.dwithin(target, p, TOUCH)]
        fast = gap_polygons_near(near, WIDTH, target, TOUCH)
        assert _keys(fast) == _keys(full)
        with_pieces += bool(full)
    assert with_pieces >= 5

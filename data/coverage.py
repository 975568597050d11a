"""Rebuild generated parcels as an exact coverage: neighbours share identical vertices.

The parcels are cut by independent overlays, each rounded to the 1 mm grid on its own,
so two neighbours cut from different blocks disagree along their common edge by up to a
millimetre: T-junctions (a vertex of one lying near, not on, the other's edge),
micro-overlaps and micro-gaps.  Noding them on the 1 mm grid (what this module did until
generator 1.4.0) turned every such disagreement into a millimetre zig-zag: a full ward
carried 11,000 edges shorter than 5 cm, 4,700 runs of duplicate vertices and 800 needle
"spikes" of a hundredth of a degree, which no real registry has (the French cadastre of
``tests/gis/test_external.py`` has 1 to 4 short edges per 1,000 parcels).

GEOS's coverage cleaner (``shapely.coverage_clean``, GEOS 3.14) does the whole job in one
call: it snaps vertices closer than :data:`SNAP_M` together before noding (so the two
drawings of one edge become one edge), gives each overlap to the parcel it shares the
longest border with, and fills gaps narrower than :data:`GAP_WIDTH_M` the same way;
wider gaps are land left unparcelled on purpose and stay out.  Coordinates are then
rounded back to the 1 mm grid, which keeps shared vertices shared.  Deterministic: same
input, same output.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import Polygon

from data.geometry import GRID

GAP_WIDTH_M = 1.0
"""A gap narrower than this is given to a neighbour; a wider one is land left unparcelled on
purpose and stays out.  The gap rule's own width (``config/rules.toml`` ``gap.max_width_m``):
the generator leaves no gap the audit would call a defect."""

MIN_PART_M2 = 5.0
"""A part smaller than this left by the cleaning is a crumb, not a parcel: it joins the
neighbour it shares the longest border with."""

SNAP_M = 0.05
"""Vertices closer than this are one point (the shortest edge a 1:500 map can show,
``config/rules.toml`` ``short_segment.length_m``): no generated edge is shorter."""


def clean_coverage(geoms: Sequence[Polygon], area: Polygon | None = None
                   ) -> list[list[Polygon]]:
    """The parcels rebuilt as one clean coverage: the polygons each input became.

    Usually one; none where an input was swallowed by its neighbours, two or more where
    the cleaning cut it (each part is then a parcel of its own, so that the coverage keeps
    every square metre).  Areas change by at most the slivers traded between neighbours.
    Snapping can pull an edge along ``area``'s outline a few centimetres inwards: such a
    sliver of ``area`` left uncovered is given back to the parcel beside it.
    """
    g = np.asarray(geoms, dtype=object)
    if len(g) == 0:
        return []
    cleaned = shapely.coverage_clean(g, gap_width=GAP_WIDTH_M, snapping_distance=SNAP_M)
    rounded = shapely.set_precision(cleaned, GRID)
    if shapely.coverage_is_valid(rounded) and shapely.is_valid(rounded).all():
        cleaned = rounded
    out: list[list[Polygon]] = []
    for geom in cleaned:
        parts = [] if geom is None or shapely.is_empty(geom) else [
            p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and p.area > 0]
        out.append(parts)
    if area is not None:
        out = _fill_outline(out, area)
    return _fold_crumbs(out)


def _fill_outline(parcels: list[list[Polygon]], area: Polygon) -> list[list[Polygon]]:
    """Slivers of ``area`` narrower than :data:`GAP_WIDTH_M` that no parcel covers, each
    merged into the part it shares the longest border with."""
    flat = [(i, k) for i, parts in enumerate(parcels) for k in range(len(parts))]
    if not flat:
        return parcels
    geoms = np.asarray([parcels[i][k] for i, k in flat], dtype=object)
    left = shapely.get_parts(shapely.difference(area, shapely.union_all(geoms), grid_size=GRID))
    thin = [p for p in left if isinstance(p, Polygon) and p.area > 0
            and 2 * p.area / p.length < GAP_WIDTH_M]
    if not thin:
        return parcels
    tree = shapely.STRtree(geoms)
    for piece in thin:
        near = tree.query(piece, predicate="intersects").tolist()
        shared = [float(shapely.length(shapely.intersection(
            shapely.boundary(piece), shapely.boundary(geoms[j])))) for j in near]
        if not near or max(shared) <= 0:
            continue
        j = near[int(np.argmax(shared))]
        merged = shapely.union(geoms[j], piece, grid_size=GRID)
        if merged.geom_type == "Polygon":
            geoms[j] = merged
    out: list[list[Polygon]] = [list(parts) for parts in parcels]
    for (i, k), g in zip(flat, geoms, strict=True):
        out[i][k] = g
    return out


def _fold_crumbs(parcels: list[list[Polygon]]) -> list[list[Polygon]]:
    """Every part under :data:`MIN_PART_M2` merged into the neighbouring part it shares the
    longest border with (a coverage union: shared edges dissolve, no vertex moves)."""
    flat = [(i, p) for i, parts in enumerate(parcels) for p in parts]
    if not flat:
        return parcels
    geoms = np.asarray([p for _, p in flat], dtype=object)
    owner = [i for i, _ in flat]
    tree = shapely.STRtree(geoms)
    alive = np.ones(len(flat), dtype=bool)
    for k in np.argsort(shapely.area(geoms), kind="stable").tolist():
        if geoms[k].area >= MIN_PART_M2:
            break
        near = [j for j in tree.query(geoms[k], predicate="intersects").tolist()
                if j != k and alive[j]]
        shared = [float(shapely.length(shapely.intersection(
            shapely.boundary(geoms[k]), shapely.boundary(geoms[j])))) for j in near]
        if not near or max(shared) <= 0:
            continue
        j = near[int(np.argmax(shared))]
        merged = shapely.coverage_union_all(np.asarray([geoms[j], geoms[k]], dtype=object))
        if merged.geom_type != "Polygon":
            continue
        geoms[j], alive[k] = merged, False
    out: list[list[Polygon]] = [[] for _ in parcels]
    for k in np.flatnonzero(alive).tolist():
        out[owner[k]].append(geoms[k])
    return out

"""Boundary mismatches: a vertex lying near (within the conflict tolerance) but not on a
neighbour's boundary, the defect a snap repairs."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import shapely

from gis.findings import Band, Finding
from gis.measures import vertex_table
from gis.snap import snap_to_neighbours
from gis.topology import Context, focus_mask


def find_mismatches(ctx: Context, focus: Iterable[int] | None = None) -> list[Finding]:
    """Vertices of one polygon lying near, but not on, a neighbour's boundary.

    One finding per (polygon, neighbour): the offending vertices as a multipoint, the
    largest offset as ``distance_m``; a snap is proposed when all are within snap_m.
    Offsets beyond the conflict tolerance are not "near": overlaps and gaps report them.
    """
    rules = ctx.rules
    if not rules.enabled("boundary_mismatch"):
        return []
    n = len(ctx.geoms)
    fm = focus_mask(n, focus)
    src = np.flatnonzero(fm)
    if len(src) == 0:
        return []
    ident = rules.param("boundary_mismatch", "identical_m")
    reach = max(t.conflict_m for t in ctx.tolerances)
    # candidate pairs (i, j) with i or j in focus, both directions
    a, b = ctx.strtree.query(ctx.geoms[src], predicate="dwithin", distance=reach)
    i_all = np.concatenate([src[a], b])
    j_all = np.concatenate([b, src[a]])
    keep = i_all != j_all
    pairs = np.unique(np.stack([i_all[keep], j_all[keep]], axis=1), axis=0)
    if len(pairs) == 0:
        return []
    owners = np.unique(pairs[:, 0])
    vt = vertex_table(ctx.geoms[owners])
    vowner = owners[vt.geom]
    points = shapely.points(vt.xy)
    # vertex -> neighbour polygons within reach
    pv, pj = ctx.strtree.query(points, predicate="dwithin", distance=reach)
    mask = pj != vowner[pv]
    pv, pj = pv[mask], pj[mask]
    pair_ok = {(int(x), int(y)) for x, y in pairs.tolist()}
    sel = np.array([(int(vowner[v]), int(j)) in pair_ok for v, j in zip(pv, pj, strict=True)],
                   dtype=bool)
    pv, pj = pv[sel], pj[sel]
    if len(pv) == 0:
        return []
    d = shapely.distance(points[pv], shapely.boundary(ctx.geoms[pj]))
    conflict = np.array([ctx.pair_tolerance(int(vowner[v]), int(j)).conflict_m
                         for v, j in zip(pv.tolist(), pj.tolist(), strict=True)])
    near = (d > ident) & (d <= conflict)
    pv, pj, d = pv[near], pj[near], d[near]
    apart = _nothing_between(ctx, points[pv], vowner[pv], pj)
    pv, pj, d = pv[apart], pj[apart], d[apart]
    out: list[Finding | None] = []
    by_pair: dict[tuple[int, int], list[tuple[int, float]]] = {}
    for v, j, dist in zip(pv.tolist(), pj.tolist(), d.tolist(), strict=True):
        by_pair.setdefault((int(vowner[v]), j), []).append((v, dist))
    for (i, j), hits in sorted(by_pair.items()):
        tol = ctx.pair_tolerance(i, j)
        uniq = sorted({(float(vt.xy[v][0]), float(vt.xy[v][1])): dist for v, dist in hits}.items())
        worst = max(dist for _, dist in uniq)
        band = tol.band(worst)
        fix = snap_to_neighbours(ctx.geoms[i], [ctx.geoms[j]], tol.snap_m) \
            if band is Band.NOISE else None
        x, y = max(uniq, key=lambda kv: kv[1])[0]
        out.append(rules.finding("boundary_mismatch", ids=[ctx.id(i), ctx.id(j)],
                                 labels=ctx.lab(i, j), tolerance=tol, band=band, fix=fix,
                                 geometry=shapely.multipoints([p for p, _ in uniq]),
                                 figures={"distance_m": worst, "vertices": len(uniq),
                                          "x": x, "y": y}))
    return [f for f in out if f is not None]


def _nothing_between(ctx: Context, points: np.ndarray, owners: np.ndarray,
                     others: np.ndarray) -> np.ndarray:
    """Whether the shortest way from each vertex to the other polygon's boundary crosses
    only a gap between the two or their overlap, never a third parcel or a narrow part of
    one of the two: a vertex 18 cm from a parcel with a 18 cm-wide neighbour in between is
    that neighbour's shape, not a boundary that fails to meet."""
    if not len(points):
        return np.zeros(0, dtype=bool)
    lines = shapely.shortest_line(points, shapely.boundary(ctx.geoms[others]))
    mid = shapely.line_interpolate_point(lines, 0.5, normalized=True)
    m, k = ctx.strtree.query(mid, predicate="within")
    covered = np.zeros((len(points), 3), dtype=np.int64)  # by the owner, the other, a third
    for a, b in zip(m.tolist(), k.tolist(), strict=True):
        col = 0 if b == owners[a] else 1 if b == others[a] else 2
        covered[a, col] += 1
    gap = covered.sum(axis=1) == 0
    overlap = (covered[:, 0] > 0) & (covered[:, 1] > 0) & (covered[:, 2] == 0)
    return np.asarray(gap | overlap)

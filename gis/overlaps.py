"""Overlaps between neighbouring polygons, with containment and duplicates.

An overlap is two polygons whose interiors intersect.  Exact duplicates and a polygon
wholly inside another are reported as ``duplicate`` and ``contained`` (always errors);
otherwise the overlap polygon's width (diameter of its maximum inscribed circle) is
judged against the map scale's snap and conflict tolerances, and noise gets a snap.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import shapely
from numpy.typing import NDArray

from gis.findings import Band, Finding
from gis.measures import band_widths, max_width
from gis.repair import polygonal_all
from gis.snap import snap_to_neighbours
from gis.topology import Context, focus_mask


def overlap_pairs(ctx: Context, focus: Iterable[int] | None = None) -> NDArray[np.intp]:
    """(i, j) pairs, i < j, whose interiors intersect and at least one is in ``focus``."""
    fm = focus_mask(len(ctx.geoms), focus)
    src = np.flatnonzero(fm)
    if len(src) == 0:
        return np.empty((0, 2), dtype=np.intp)
    a, b = ctx.strtree.query(ctx.geoms[src], predicate="intersects")
    i, j = src[a], b
    keep = i != j
    i, j = np.minimum(i[keep], j[keep]), np.maximum(i[keep], j[keep])
    pairs = np.unique(np.stack([i, j], axis=1), axis=0)
    if len(pairs) == 0:
        return pairs
    ga, gb = ctx.geoms[pairs[:, 0]], ctx.geoms[pairs[:, 1]]
    interior = shapely.relate_pattern(ga, gb, "T********")
    return np.asarray(pairs[interior])


def find_overlaps(ctx: Context, focus: Iterable[int] | None = None) -> list[Finding]:
    """Overlap, containment and duplicate findings for pairs touching ``focus``."""
    rules = ctx.rules
    fm = focus_mask(len(ctx.geoms), focus)
    pairs = overlap_pairs(ctx, focus)
    out: list[Finding | None] = []
    if len(pairs) == 0:
        return []
    ga, gb = ctx.geoms[pairs[:, 0]], ctx.geoms[pairs[:, 1]]
    equal = shapely.equals(ga, gb)
    a_in_b = shapely.covered_by(ga, gb) & ~equal
    b_in_a = shapely.covered_by(gb, ga) & ~equal
    plain = ~(equal | a_in_b | b_in_a)
    inter = np.empty(len(pairs), dtype=object)
    if plain.any():
        inter[plain] = polygonal_all(shapely.intersection(ga[plain], gb[plain]))
    floor = rules.param("overlap", "min_width_m")
    tols = [ctx.pair_tolerance(i, j) for i, j in pairs.tolist()]
    widths = np.zeros(len(pairs))
    reported = np.zeros(len(pairs), dtype=bool)
    if plain.any():
        idx = np.flatnonzero(plain)
        widths[idx], reported[idx] = band_widths(
            inter[idx], floor=floor, snap=np.array([tols[k].snap_m for k in idx]))
    for k, pair in enumerate(pairs.tolist()):
        i, j = ctx.by_id(pair)
        tol = tols[k]
        if equal[k]:
            out.append(rules.finding("duplicate", ids=[ctx.id(i), ctx.id(j)], labels=ctx.lab(i, j),
                                     figures={"area_m2": float(ga[k].area)}, geometry=ga[k],
                                     tolerance=tol))
        elif a_in_b[k] or b_in_a[k]:
            inner, outer = (i, j) if a_in_b[k] else (j, i)
            g = ctx.geoms[inner]
            out.append(rules.finding("contained", ids=[ctx.id(inner), ctx.id(outer)],
                                     labels=ctx.lab(inner, outer), geometry=g, tolerance=tol,
                                     figures={"area_m2": float(g.area),
                                              "width_m": float(max_width(g))}))
        elif reported[k]:
            band = tol.band(float(widths[k]))
            fix = None
            if band is Band.NOISE:  # the focused one (a candidate) is the one that moves
                mover, other = (i, j) if fm[i] or not fm[j] else (j, i)
                fix = snap_to_neighbours(ctx.geoms[mover], [ctx.geoms[other]], tol.snap_m)
            out.append(rules.finding("overlap", ids=[ctx.id(i), ctx.id(j)], labels=ctx.lab(i, j),
                                     geometry=inter[k], tolerance=tol, band=band, fix=fix,
                                     figures={"area_m2": float(inter[k].area),
                                              "width_m": float(widths[k])}))
    return [f for f in out if f is not None]

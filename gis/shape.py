"""Shape checks of valid parcel polygons, many at once: duplicate vertices, spikes, short
edges, small areas and slivers.

Vectorised over the whole set (one ring walk for every polygon), so a ward-size audit
pays a few numpy passes, not a Python loop per parcel.  Each finding carries the repair
that would remove it where there is one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from gis.findings import Finding
from gis.land_use import is_linear
from gis.measures import max_width, thinness, vertex_table
from gis.repair import (
    remove_duplicate_vertices,
    remove_spikes,
    removed_vertices,
    without_repeated_points,
)
from gis.rules import RuleSet


def shape_findings(geoms: NDArray[Any], ids: Sequence[Any], *, rules: RuleSet,
                   labels: Sequence[str] | None = None,
                   land_uses: Sequence[str | None] | None = None) -> list[Finding]:
    """Duplicate vertices, spikes, short edges, small area and slivers, for many polygons.

    Each defect of a parcel is reported once: all its duplicate vertices in one finding,
    all its short edges in one (with the shortest), all its spikes in one (with the
    sharpest), so that a badly digitised parcel is one line of the report, not fifty.
    Spikes are measured after merging duplicate vertices, since a zero-length edge has no
    direction.  A parcel whose land use is long and thin by nature (a road, a canal, a
    river: :func:`gis.land_use.is_linear`) is not a sliver.  Only valid polygons should be
    passed: the rest are reported by validity.
    """
    g = np.asarray(geoms, dtype=object)
    out: list[Finding | None] = []

    def lab(i: int) -> tuple[str, ...]:
        return (labels[i],) if labels is not None and labels[i] else ()

    dup = rules.param("duplicate_vertex", "distance_m")
    if rules.enabled("duplicate_vertex") or rules.enabled("short_segment"):
        vt = vertex_table(g)
        seg = vt.seg_len
        if rules.enabled("duplicate_vertex"):
            # vertex_table is ordered by geometry: one split gives every parcel's duplicates
            hit = np.flatnonzero(seg <= dup)
            owners, first = np.unique(vt.geom[hit], return_index=True)
            if len(owners):
                groups = np.searchsorted(owners, vt.geom[hit])
                pts = shapely.multipoints(vt.xy[hit], indices=groups)
                counts = np.diff(np.append(first, len(hit)))
                fixed = without_repeated_points(g[owners], dup)
                gone = removed_vertices(g[owners], fixed)
                for k, i in enumerate(owners.tolist()):
                    out.append(rules.finding(
                        "duplicate_vertex", ids=[ids[i]], geometry=pts[k],
                        figures={"count": int(counts[k])}, labels=lab(i),
                        fix=remove_duplicate_vertices(g[i], dup, fixed=fixed[k],
                                                      removed=gone[k])))
        if rules.enabled("short_segment"):
            lim = rules.param("short_segment", "length_m")
            hit = np.flatnonzero((seg > dup) & (seg < lim))
            owners, first = np.unique(vt.geom[hit], return_index=True)
            if len(owners):
                groups = np.searchsorted(owners, vt.geom[hit])
                lines = shapely.multilinestrings(
                    shapely.linestrings(np.stack([vt.xy[hit], vt.xy[vt.next[hit]]], axis=1)),
                    indices=groups)
                counts = np.diff(np.append(first, len(hit)))
                shortest = np.full(len(owners), np.inf)
                np.minimum.at(shortest, groups, seg[hit])
                for k, i in enumerate(owners.tolist()):
                    out.append(rules.finding(
                        "short_segment", ids=[ids[i]], labels=lab(i), geometry=lines[k],
                        figures={"length_m": float(shortest[k]), "count": int(counts[k]),
                                 "threshold_m": lim}))
    if rules.enabled("spike"):
        out += _spikes(g, ids, rules, lab, dup)
    areas = shapely.area(g)
    if rules.enabled("min_area"):
        lim = rules.param("min_area", "area_m2")
        for i in map(int, np.flatnonzero(areas < lim)):
            out.append(rules.finding("min_area", ids=[ids[i]], labels=lab(i),
                                     figures={"area_m2": float(areas[i]), "threshold_m2": lim},
                                     geometry=g[i]))
    if rules.enabled("sliver"):
        lim = rules.param("sliver", "thinness")
        th = thinness(g)
        thin = th < lim
        if land_uses is not None:
            thin &= ~np.fromiter((is_linear(u) for u in land_uses), dtype=bool, count=len(g))
        thin_idx = np.flatnonzero(thin)
        # the width is a figure to read, not a threshold: 5 % is plenty and 3x faster
        widths = max_width(g[thin_idx], precision=0.05) if len(thin_idx) else np.zeros(0)
        for i, w in zip(thin_idx.tolist(), np.atleast_1d(widths).tolist(), strict=True):
            out.append(rules.finding("sliver", ids=[ids[i]], labels=lab(i),
                                     figures={"thinness": float(th[i]), "threshold": lim,
                                              "area_m2": float(areas[i]), "width_m": w},
                                     geometry=g[i]))
    return [f for f in out if f is not None]


def _spikes(g: NDArray[Any], ids: Sequence[Any], rules: RuleSet,
            lab: Callable[[int], tuple[str, ...]], dup: float) -> list[Finding | None]:
    """One finding per parcel with spikes: how many, the sharpest and where it is."""
    lim = rules.param("spike", "angle_deg")
    vt = vertex_table(without_repeated_points(g, dup))
    hit = np.flatnonzero(vt.angle_deg < lim)
    owners, first = np.unique(vt.geom[hit], return_index=True)
    if not len(owners):
        return []
    groups = np.searchsorted(owners, vt.geom[hit])
    points = shapely.multipoints(vt.xy[hit], indices=groups)
    counts = np.diff(np.append(first, len(hit)))
    out: list[Finding | None] = []
    for k, i in enumerate(owners.tolist()):
        mine = hit[first[k]:first[k] + counts[k]]  # a parcel's vertices are contiguous
        v = int(mine[np.argmin(vt.angle_deg[mine])])
        x, y = (float(c) for c in vt.xy[v])
        out.append(rules.finding("spike", ids=[ids[i]], labels=lab(i), geometry=points[k],
                                 figures={"angle_deg": float(vt.angle_deg[v]),
                                          "count": int(counts[k]), "threshold_deg": lim,
                                          "x": x, "y": y},
                                 fix=remove_spikes(g[i], lim)))
    return out

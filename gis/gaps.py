"""Gaps between neighbouring polygons narrower than the gap rule's width.

A gap is space between at least two polygons, narrower than ``gap.max_width_m``, found
as the morphological closing (mitred buffer out and in by half that width) of the local
union minus the union.  Wider space is a road or unregistered land, not a defect.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gis.findings import Band, Finding
from gis.measures import band_widths
from gis.rules import Tolerance
from gis.snap import snap_to_neighbours
from gis.topology import RIM_EPS_M2, Context, Geoms, focus_mask


def gap_polygons(geoms: Geoms, width: float) -> list[BaseGeometry]:
    """Pieces of space narrower than ``width`` enclosed or pinched between ``geoms``.

    Mitred joins keep right-angled corners exact, so the closing adds nothing at the
    concave corner of an L-shaped block.
    """
    union, closed = _closed(geoms, width)
    return _pieces(shapely.difference(closed, union))


def gap_polygons_near(geoms: Geoms, width: float, target: BaseGeometry,
                      distance: float) -> list[BaseGeometry]:
    """The pieces of :func:`gap_polygons` that come within ``distance`` of ``target``, whole.

    Most claims have none, and the overlay of the whole closing with the whole union is
    the costly step (1.6 ms of a 2.4 ms search for a claim and its neighbours).  Inside a
    window around ``target`` the same difference is cheap: ``(C ∩ W) − (U ∩ W)`` is
    ``(C − U) ∩ W``, and every piece that comes near ``target`` has its near part in W.
    Only when something is found there is the whole difference computed, so the pieces
    returned are the same, uncut.
    """
    union, closed = _closed(geoms, width)
    x0, y0, x1, y1 = target.bounds
    e = distance + width
    window = shapely.box(x0 - e, y0 - e, x1 + e, y1 + e)
    local = shapely.difference(shapely.intersection(closed, window),
                               shapely.intersection(union, window))
    if shapely.is_empty(local) or not shapely.dwithin(target, local, distance):
        return []
    return [p for p in _pieces(shapely.difference(closed, union))
            if shapely.dwithin(target, p, distance)]


def _closed(geoms: Geoms, width: float) -> tuple[BaseGeometry, BaseGeometry]:
    """The union and its morphological closing by a disc of diameter ``width``."""
    union = shapely.union_all(geoms)
    r = width / 2.0
    closed = shapely.buffer(shapely.buffer(union, r, join_style="mitre", mitre_limit=1000.0),
                            -r, join_style="mitre", mitre_limit=1000.0)
    return union, closed


def _pieces(diff: BaseGeometry) -> list[BaseGeometry]:
    return [p for p in shapely.get_parts(diff) if p.geom_type == "Polygon" and p.area > 0]


GAP_GROUP_CAP = 2_000
"""Largest cluster of focus polygons whose gaps are searched in one union; a larger one
(a ward where every parcel is suspect) is cut into tiles of about this many polygons.
A speed knob, not a tolerance: tiling gives the same pieces (see :func:`_gap_windows`)."""


def find_gaps(ctx: Context, focus: Iterable[int] | None = None) -> list[Finding]:
    """Gaps between neighbours narrower than ``gap.max_width_m``, near ``focus``."""
    rules = ctx.rules
    if not rules.enabled("gap"):
        return []
    max_w = rules.param("gap", "max_width_m")
    floor = rules.param("gap", "min_width_m")
    n = len(ctx.geoms)
    fm = focus_mask(n, focus)
    src = np.flatnonzero(fm)
    if len(src) == 0:
        return []
    a, b = ctx.strtree.query(ctx.geoms[src], predicate="dwithin", distance=max_w)
    groups = _components(len(src), a, np.searchsorted(src, b), fm[b])
    seen: set[bytes] = set()
    found: list[tuple[BaseGeometry, list[int], Tolerance]] = []
    for members in groups:
        for near, piece in _gap_windows(ctx, src[members], max_w):
            touching = near[shapely.dwithin(ctx.geoms[near], piece, max(floor, 1e-9) * 10)]
            if len(touching) < 2 or not fm[touching].any():
                continue
            key = shapely.to_wkb(shapely.normalize(piece))
            if key in seen:
                continue
            seen.add(key)
            t = ctx.by_id(int(x) for x in touching)
            tol = ctx.tolerances[t[0]]
            for x in t[1:]:
                tol = tol.coarser(ctx.tolerances[x])
            found.append((piece, t, tol))
    if not found:
        return []
    pieces = np.array([f[0] for f in found], dtype=object)
    widths, wide_enough = band_widths(pieces, floor=floor,
                                      snap=np.array([f[2].snap_m for f in found]))
    out: list[Finding | None] = []
    for (piece, t, tol), w, ok in zip(found, widths.tolist(), wide_enough.tolist(), strict=True):
        if not ok or w > max_w:
            continue
        band = tol.band(w)
        fix = None
        if band is Band.NOISE:
            mover = next(x for x in t if fm[x])
            fix = snap_to_neighbours(ctx.geoms[mover], [ctx.geoms[x] for x in t if x != mover],
                                     tol.snap_m)
        out.append(rules.finding("gap", ids=[ctx.id(x) for x in t], labels=ctx.lab(*t),
                                 geometry=piece, tolerance=tol, band=band, fix=fix,
                                 figures={"area_m2": float(piece.area), "width_m": w}))
    return [f for f in out if f is not None]


def _gap_windows(ctx: Context, core: NDArray[np.intp], max_w: float
                 ) -> Iterable[tuple[NDArray[np.intp], BaseGeometry]]:
    """(polygons searched, gap piece) for one cluster of focus polygons.

    A cluster up to :data:`GAP_GROUP_CAP` is closed in one union, as always.  A larger one
    is cut into square tiles by centroid; a piece found in a tile is kept only when every
    polygon within ``max_w`` of it was in the tile's union, otherwise it is recomputed
    from exactly those polygons until it is (a piece cut short at a tile edge grows back),
    so the pieces are those of the whole cluster's union without ever building it.
    """
    tree = ctx.strtree

    def near_of(idx: NDArray[np.intp]) -> NDArray[np.intp]:
        _, nb = tree.query(ctx.geoms[idx], predicate="dwithin", distance=max_w)
        return np.unique(np.concatenate([idx, nb]))

    if len(core) <= GAP_GROUP_CAP:
        near = near_of(core)
        for piece in gap_polygons(ctx.geoms[near], max_w):
            yield near, piece
        return
    xy = shapely.get_coordinates(shapely.centroid(ctx.geoms[core]))
    span = np.ptp(xy, axis=0).max() if len(xy) else 0.0
    tiles = max(1, int(np.ceil(np.sqrt(len(core) / GAP_GROUP_CAP))))
    size = span / tiles + 1e-9
    cell = np.floor((xy - xy.min(axis=0)) / size).astype(np.int64)
    keys = cell[:, 0] * (tiles + 1) + cell[:, 1]
    for key in np.unique(keys).tolist():
        near = near_of(core[keys == key])
        pieces = np.asarray(gap_polygons(ctx.geoms[near], max_w), dtype=object)
        final, unsettled = _settle(ctx, near, pieces, max_w)
        for piece in final:
            yield near, piece
        for piece in unsettled:
            found = _regrow(ctx, piece, max_w)
            if found is not None:
                yield found


def _regrow(ctx: Context, piece: BaseGeometry, max_w: float
            ) -> tuple[NDArray[np.intp], BaseGeometry] | None:
    """A piece cut short at a tile edge, recomputed from the polygons around it until every
    polygon within ``max_w`` of it took part; None when it was the tile's rim.

    The window is the piece's own surroundings, not the whole tile again: a piece depends
    only on the polygons within ``max_w`` of it, and a tile's union costs a quarter second.
    """
    tree = ctx.strtree
    window = np.unique(tree.query(piece, predicate="dwithin", distance=max_w))
    grown = piece
    for _ in range(20):  # each round adds the polygons the piece reached
        again = [p for p in gap_polygons(ctx.geoms[window], max_w)
                 if shapely.intersects(p, grown)]
        if not again:
            return None
        grown = max(again, key=lambda p: float(shapely.area(shapely.intersection(p, piece))))
        need = tree.query(grown, predicate="dwithin", distance=max_w)
        extra = np.setdiff1d(need, window)
        if not extra.size:
            return window, grown
        rest = shapely.difference(grown, shapely.union_all(ctx.geoms[extra]))
        if shapely.is_empty(rest) or float(shapely.area(rest)) <= RIM_EPS_M2:
            return None
        window = np.unique(np.concatenate([window, need]))
    return window, grown


def _settle(ctx: Context, near: NDArray[np.intp], pieces: Geoms, max_w: float
            ) -> tuple[Geoms, Geoms]:
    """A tile's pieces split into final ones and ones to regrow; its ragged rim dropped.

    A piece with no polygon within ``max_w`` outside the tile is final.  Most of the
    others are the tile's own rim, filled by the next tile's parcels (covered by them up
    to rounding): dropped without building a bigger union.  The rest are regrown.  A few
    vectorised calls per tile instead of a tree query and a set difference per piece.
    """
    if len(pieces) == 0:
        return pieces, pieces
    pi, nb = ctx.strtree.query(pieces, predicate="dwithin", distance=max_w)
    outside = ~np.isin(nb, near)
    pi, nb = pi[outside], nb[outside]
    grow = np.flatnonzero(np.bincount(pi, minlength=len(pieces)) > 0)
    final = np.ones(len(pieces), dtype=bool)
    final[grow] = False
    if not grow.size:
        return pieces, pieces[:0]
    order = np.argsort(pi, kind="stable")
    pi, nb = pi[order], nb[order]
    starts = np.searchsorted(pi, grow)
    ends = np.searchsorted(pi, grow, side="right")
    cover = np.empty(len(grow), dtype=object)
    cover[:] = [shapely.union_all(ctx.geoms[np.unique(nb[a:b])])
                for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    rest = shapely.difference(pieces[grow], cover)
    rim = shapely.is_empty(rest) | (shapely.area(rest) <= RIM_EPS_M2)
    return pieces[final], pieces[grow[~rim]]


def _components(n: int, a: NDArray[np.intp], b_local: NDArray[np.intp],
                b_in: NDArray[np.bool_]) -> list[NDArray[np.intp]]:
    """Connected components (union-find) of focus polygons linked by nearness."""
    parent = np.arange(n)

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = int(parent[x])
        return x

    for x, y in zip(a[b_in].tolist(), b_local[b_in].tolist(), strict=True):
        rx, ry = root(x), root(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    roots = np.array([root(x) for x in range(n)])
    order = np.argsort(roots, kind="stable")
    splits = np.flatnonzero(np.diff(roots[order])) + 1
    return [np.asarray(g) for g in np.split(order, splits)]

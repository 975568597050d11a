"""Checks between neighbouring polygons: overlaps, gaps, boundary mismatches, frame, zones.

Every function takes plain arrays of shapely polygons in one metric CRS plus their ids,
and an optional ``focus`` (indices whose pairs matter): the whole-set audit passes the
polygons GEOS's coverage validator flagged, a certificate check passes the candidate only.

Definitions (metres, m²):

* overlap: two polygons whose interiors intersect.  Exact duplicates and a polygon
  wholly inside another are reported as ``duplicate`` and ``contained`` (always errors);
  otherwise the overlap polygon's width (diameter of its maximum inscribed circle) is
  judged against the map scale's snap and conflict tolerances.
* gap: space between at least two polygons, narrower than ``gap.max_width_m``, found as
  the morphological closing (mitred buffer out and in by half that width) of the local
  union minus the union.  Wider space is a road or unregistered land, not a defect.
* boundary mismatch: a vertex lying near (within the conflict tolerance) but not on a
  neighbour's boundary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from gis.geometry import (
    check_feature,
    max_width,
    vertex_table,
    width_exceeds,
    width_upper_bound,
    without_repeated_points,
)
from gis.rules import Band, Finding, Fix, MovedVertex, Report, RuleSet, Tolerance, fingerprint

Geoms = NDArray[Any]


@dataclass(frozen=True)
class Zone:
    """A protection or planning zone a parcel may cross (river corridor, heritage, red line)."""

    id: str
    kind: str
    geometry: BaseGeometry
    name: str = ""


@dataclass(frozen=True)
class Context:
    """What every neighbour check needs: the polygons, their ids, labels and tolerances."""

    geoms: Geoms
    ids: Sequence[Any]
    tolerances: Sequence[Tolerance]
    rules: RuleSet
    labels: Sequence[str] | None = None
    tree: shapely.STRtree | None = None

    @classmethod
    def build(cls, geoms: Sequence[BaseGeometry] | Geoms, ids: Sequence[Any], *,
              rules: RuleSet, scales: Sequence[int | None] | int | None = None,
              agricultural: Sequence[bool] | bool = False,
              labels: Sequence[str] | None = None) -> Context:
        g = np.asarray(geoms, dtype=object)
        n = len(g)
        if len(ids) != n or (labels is not None and len(labels) != n):
            raise ValueError("geoms, ids and labels must have the same length")
        sc = [scales] * n if scales is None or isinstance(scales, int) else list(scales)
        ag = [agricultural] * n if isinstance(agricultural, bool) else list(agricultural)
        cache: dict[tuple[int | None, bool], Tolerance] = {}
        tols = []
        for s, a in zip(sc, ag, strict=True):
            if (s, a) not in cache:
                cache[(s, a)] = rules.tolerance(s, a)
            tols.append(cache[(s, a)])
        return cls(geoms=g, ids=ids, tolerances=tols, rules=rules, labels=labels,
                   tree=shapely.STRtree(g))

    def pair_tolerance(self, i: int, j: int) -> Tolerance:
        return self.tolerances[i].coarser(self.tolerances[j])

    def lab(self, *idx: int) -> tuple[str, ...]:
        if self.labels is None:
            return ()
        return tuple(self.labels[i] for i in idx)

    def id(self, i: int) -> Any:
        return self.ids[i]

    def by_id(self, idx: Iterable[int]) -> list[int]:
        """Indices in id order, so a report does not depend on the input order."""
        return sorted(idx, key=lambda i: (str(self.ids[i]), i))

    @property
    def strtree(self) -> shapely.STRtree:
        assert self.tree is not None
        return self.tree


def _focus_mask(n: int, focus: Iterable[int] | None) -> NDArray[np.bool_]:
    if focus is None:
        return np.ones(n, dtype=bool)
    m = np.zeros(n, dtype=bool)
    m[np.fromiter(focus, dtype=np.intp)] = True
    return m


# -- overlaps ---------------------------------------------------------------------------

def overlap_pairs(ctx: Context, focus: Iterable[int] | None = None) -> NDArray[np.intp]:
    """(i, j) pairs, i < j, whose interiors intersect and at least one is in ``focus``."""
    fm = _focus_mask(len(ctx.geoms), focus)
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
    fm = _focus_mask(len(ctx.geoms), focus)
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
        inter[plain] = _polygonal(shapely.intersection(ga[plain], gb[plain]))
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


def _polygonal(geoms: Geoms) -> Geoms:
    """Keep only polygon parts of intersection results (drop touching lines and points)."""
    out = np.empty(len(geoms), dtype=object)
    for k, g in enumerate(geoms):
        if g.geom_type in ("Polygon", "MultiPolygon"):
            out[k] = g
        else:
            polys = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon"]
            out[k] = shapely.multipolygons(polys) if len(polys) > 1 else (
                polys[0] if polys else Polygon())
    return out


BAND_PRECISION = 0.05
"""Relative precision of a width measured for a band: the inscribed circle's cost grows fast
as the tolerance shrinks on long pieces (≈ 50 ms at 1 % on a 100 m encroachment strip), and
a finding reports centimetres on pieces that are decimetres wide."""


def band_widths(pieces: Geoms, *, floor: float, snap: NDArray[np.float64] | float
                ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Widths good enough for a band, and whether each piece is wider than ``floor``.

    A piece whose cheap upper bound (:func:`~gis.geometry.width_upper_bound`) is within
    its snap tolerance is noise whatever its exact width, so it is not measured: its
    width is reported as that bound, and whether it clears the floor is decided by
    :func:`~gis.geometry.width_exceeds`.  Only pieces that may be wider than the snap
    tolerance get the inscribed circle (``max_width``, 5 %), so a coverage with thousands
    of millimetre slivers costs microseconds per sliver instead of tens of milliseconds.
    """
    g = np.asarray(pieces, dtype=object)
    ub = np.asarray(width_upper_bound(g), dtype=float).reshape(g.shape)
    sn = np.broadcast_to(np.asarray(snap, dtype=float), g.shape)
    widths = ub.copy()
    keep = np.zeros(g.shape, dtype=bool)
    measure = ub > sn
    if measure.any():
        # A bent sliver has a poor rectangle bound; the erosion test settles most of them
        # (no wider than the snap tolerance) without the inscribed circle.
        idx = np.flatnonzero(measure)
        wide = width_exceeds(g[idx], sn[idx], upper=ub[idx])
        thin = idx[~wide]
        if thin.size:
            a, p = shapely.area(g[thin]), shapely.length(g[thin])
            widths[thin] = np.minimum(ub[thin], np.where(p > 0, 2 * a / p, 0.0))
            measure[thin] = False
    if measure.any():
        widths[measure] = max_width(g[measure], precision=BAND_PRECISION)
        keep[measure] = widths[measure] > floor
    cheap = ~measure & (ub > floor)
    if cheap.any():
        keep[cheap] = width_exceeds(g[cheap], floor, upper=ub[cheap])
    return widths, keep


# -- gaps -------------------------------------------------------------------------------

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
    fm = _focus_mask(n, focus)
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


RIM_EPS_M2 = 1e-9
"""Below this a piece left by an overlay is rounding: a tile edge after the neighbouring
tile's parcels, or a claim's edge along the ward outline where the frame was stitched
from its indexed pieces (a seam vertex lies nanometres off the outline's edge)."""


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


# -- boundary mismatch ------------------------------------------------------------------

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
    fm = _focus_mask(n, focus)
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
    out: list[Finding | None] = []
    by_pair: dict[tuple[int, int], list[tuple[int, float]]] = {}
    for v, j, dist in zip(pv.tolist(), pj.tolist(), d.tolist(), strict=True):
        i = int(vowner[v])
        tol = ctx.pair_tolerance(i, j)
        if ident < dist <= tol.conflict_m:
            by_pair.setdefault((i, j), []).append((v, dist))
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


# -- frame and zones --------------------------------------------------------------------

def find_outside(ctx: Context, frame: BaseGeometry,
                 focus: Iterable[int] | None = None) -> list[Finding]:
    """The part of each polygon outside the ward boundary, judged by its width."""
    rules = ctx.rules
    if not rules.enabled("outside_ward"):
        return []
    fm = _focus_mask(len(ctx.geoms), focus)
    shapely.prepare(frame)
    inside = shapely.covers(frame, ctx.geoms)  # the prepared frame must come first
    out: list[Finding | None] = []
    idx = np.flatnonzero(fm & ~inside)
    if len(idx) == 0:
        return []
    parts = shapely.difference(ctx.geoms[idx], frame)
    real = shapely.area(parts) > RIM_EPS_M2
    idx, parts = idx[real], parts[real]
    if len(idx) == 0:
        return []
    widths, _ = band_widths(parts, floor=0.0,
                            snap=np.array([ctx.tolerances[i].snap_m for i in idx.tolist()]))
    for i, part, w in zip(idx.tolist(), parts, widths.tolist(), strict=True):
        if w <= 0:
            continue
        tol = ctx.tolerances[i]
        band = tol.band(w)
        fix = snap_to_neighbours(ctx.geoms[i], [frame], tol.snap_m) if band is Band.NOISE \
            else None
        out.append(rules.finding("outside_ward", ids=[ctx.id(i)], labels=ctx.lab(i),
                                 geometry=part, tolerance=tol, band=band, fix=fix,
                                 figures={"area_m2": float(part.area), "width_m": w}))
    return [f for f in out if f is not None]


def find_zone_crossings(ctx: Context, zones: Sequence[Zone],
                        focus: Iterable[int] | None = None) -> list[Finding]:
    """The part of each polygon inside each zone, with its area; slivers below snap_m are noise."""
    rules = ctx.rules
    if not rules.enabled("zone_crossing") or not zones:
        return []
    fm = _focus_mask(len(ctx.geoms), focus)
    out: list[Finding | None] = []
    for z in zones:
        hits = ctx.strtree.query(z.geometry, predicate="intersects")
        hits = np.sort(hits[fm[hits]])
        if len(hits) == 0:
            continue
        parts = _polygonal(shapely.intersection(ctx.geoms[hits], z.geometry))
        live = ~shapely.is_empty(parts)
        hits, parts = hits[live], parts[live]
        widths, _ = band_widths(parts, floor=0.0,
                                snap=np.array([ctx.tolerances[i].snap_m for i in hits.tolist()]))
        for i, part, w in zip(hits.tolist(), parts, widths.tolist(), strict=True):
            tol = ctx.tolerances[i]
            out.append(rules.finding("zone_crossing", ids=[ctx.id(i)], labels=ctx.lab(i),
                                     geometry=part, tolerance=tol, band=tol.band(w),
                                     figures={"area_m2": float(part.area), "width_m": w,
                                              "zone": z.name or z.id, "zone_id": z.id,
                                              "zone_kind": z.kind,
                                              "share": float(part.area / ctx.geoms[i].area)}))
    return [f for f in out if f is not None]


# -- snapping ---------------------------------------------------------------------------

def snap_to_neighbours(geom: BaseGeometry, neighbours: Sequence[BaseGeometry],
                       tolerance: float) -> Fix:
    """Move vertices onto the neighbours' boundaries where they are within ``tolerance``.

    A vertex goes to the nearest neighbour vertex within tolerance, else to the nearest
    point of a neighbour's edge; then neighbour vertices lying within tolerance of one of
    our edges are inserted into it, so the two boundaries share their vertices.  No
    vertex moves farther than ``tolerance``; every move is listed.
    """
    nb = [n for n in neighbours if n is not None and not n.is_empty]
    if not nb or tolerance <= 0:
        return Fix(geometry=geom, changed=False, description_en="nothing to snap to",
                   description_vi="không có gì để bám")
    # Only what lies within reach can be a target: clipping first keeps a snap to the ward
    # boundary (thousands of vertices) as cheap as a snap to one neighbour.  The margin is
    # twice the tolerance, so vertices the clip adds are out of reach.
    x0, y0, x1, y1 = shapely.bounds(geom)
    m = 2.0 * tolerance
    lines = shapely.union_all([
        shapely.clip_by_rect(shapely.boundary(n) if n.geom_type in ("Polygon", "MultiPolygon")
                             else n, x0 - m, y0 - m, x1 + m, y1 + m) for n in nb])
    nverts = np.unique(shapely.get_coordinates(lines), axis=0)
    moved: list[MovedVertex] = []

    def snap_ring(ring: NDArray[np.float64]) -> NDArray[np.float64]:
        pts, moves = _snap_vertices(ring[:-1], nverts, lines, tolerance)
        moved.extend(moves)
        res = _insert_vertices(pts, nverts, tolerance, moved)
        return np.vstack([res, res[:1]])

    def snap_poly(p: Polygon) -> Polygon:
        return Polygon(snap_ring(np.asarray(p.exterior.coords)[:, :2]),
                       [snap_ring(np.asarray(r.coords)[:, :2]) for r in p.interiors])

    parts = [snap_poly(p) for p in shapely.get_parts(geom)]
    fixed: BaseGeometry = parts[0] if geom.geom_type == "Polygon" else shapely.multipolygons(parts)
    fixed = without_repeated_points(fixed, 0.0)
    valid = bool(shapely.is_valid(fixed))
    note_en = "" if valid else " (the result is invalid: review by hand)"
    note_vi = "" if valid else " (kết quả không hợp lệ: cần xem lại)"
    n_moved = sum(1 for m in moved if not m.inserted)
    return Fix(geometry=fixed, moved=tuple(moved), changed=bool(moved),
               description_en=f"snapped to neighbours within {tolerance} m: {len(moved)} vertex "
                              f"move(s)/insertion(s), largest "
                              f"{max((m.distance_m for m in moved), default=0):.3f} m{note_en}",
               description_vi=f"bám ranh giới thửa bên cạnh trong {tolerance} m: {n_moved} "
                              f"đỉnh dời, {len(moved) - n_moved} đỉnh chèn{note_vi}")


SNAP_CHUNK = 1 << 20
"""Largest (vertices x targets) block of distances held at once while snapping: a ring
of thousands of vertices against a clipped ward boundary stays within a few MB."""


def _snap_vertices(pts: NDArray[np.float64], nverts: NDArray[np.float64],
                   lines: BaseGeometry, tol: float
                   ) -> tuple[NDArray[np.float64], list[MovedVertex]]:
    """Each vertex to its nearest target vertex within ``tol``, else onto the nearest edge.

    Whole-ring arrays instead of a loop per vertex (a 200-vertex road parcel against its
    neighbours took 40 ms one vertex at a time); ties go to the first target vertex.
    """
    pts = pts.copy()
    m = len(pts)
    if m == 0:
        return pts, []
    target = np.full((m, 2), np.nan)
    if len(nverts):
        best = np.empty(m, dtype=np.intp)
        dbest = np.empty(m)
        step = max(1, SNAP_CHUNK // len(nverts))
        for k in range(0, m, step):
            block = pts[k:k + step]
            dv = np.hypot(nverts[None, :, 0] - block[:, None, 0],
                          nverts[None, :, 1] - block[:, None, 1])
            best[k:k + step] = np.argmin(dv, axis=1)
            dbest[k:k + step] = dv[np.arange(len(block)), best[k:k + step]]
        on_vertex = dbest <= tol
        target[on_vertex] = nverts[best[on_vertex]]
    else:
        on_vertex = np.zeros(m, dtype=bool)
    rest = np.flatnonzero(~on_vertex)
    if rest.size:
        points = shapely.points(pts[rest])
        near = shapely.distance(points, lines) <= tol
        if near.any():
            hit = rest[near]
            ends = shapely.get_coordinates(shapely.shortest_line(points[near], lines))
            target[hit] = ends[1::2]
    moves: list[MovedVertex] = []
    for k in np.flatnonzero(~np.isnan(target[:, 0])).tolist():
        if np.array_equal(target[k], pts[k]):
            continue
        moves.append(MovedVertex(source=(float(pts[k][0]), float(pts[k][1])),
                                 target=(float(target[k][0]), float(target[k][1]))))
        pts[k] = target[k]
    return pts, moves


def _insert_vertices(pts: NDArray[np.float64], verts: NDArray[np.float64], tol: float,
                     moved: list[MovedVertex]) -> NDArray[np.float64]:
    """The ring ``pts`` (open) with every target vertex within ``tol`` of an edge inserted.

    A target vertex goes into edge a-b when its projection falls strictly inside the edge
    and it lies within ``tol`` of it (and is neither end), in order along the edge.
    """
    m = len(pts)
    if m == 0 or len(verts) == 0:
        return pts
    a = pts
    b = np.roll(pts, -1, axis=0)
    out: list[NDArray[np.float64]] = []
    eps = 1e-12
    step = max(1, SNAP_CHUNK // len(verts))
    for k0 in range(0, m, step):
        ea, eb = a[k0:k0 + step], b[k0:k0 + step]
        ab = eb - ea
        L2 = ab[:, 0] * ab[:, 0] + ab[:, 1] * ab[:, 1]
        live = L2 != 0
        with np.errstate(divide="ignore", invalid="ignore"):
            t = ((verts[None, :, 0] - ea[:, None, 0]) * ab[:, None, 0]
                 + (verts[None, :, 1] - ea[:, None, 1]) * ab[:, None, 1]) / L2[:, None]
        px = ea[:, None, 0] + t * ab[:, None, 0]
        py = ea[:, None, 1] + t * ab[:, None, 1]
        d = np.hypot(verts[None, :, 0] - px, verts[None, :, 1] - py)
        sel = live[:, None] & (t > eps) & (t < 1 - eps) & (d <= tol)
        if sel.any():
            at_a = (verts[None, :, 0] == ea[:, None, 0]) & (verts[None, :, 1] == ea[:, None, 1])
            at_b = (verts[None, :, 0] == eb[:, None, 0]) & (verts[None, :, 1] == eb[:, None, 1])
            sel &= ~(at_a | at_b)
        edges = np.flatnonzero(sel.any(axis=1)).tolist()
        done = 0
        for e in edges:  # only edges that receive a vertex are walked in Python
            out.append(ea[done:e + 1])
            done = e + 1
            cols = np.flatnonzero(sel[e])
            cols = cols[np.argsort(t[e, cols], kind="stable")]
            for v in cols.tolist():
                moved.append(MovedVertex(source=(float(px[e, v]), float(py[e, v])),
                                         target=(float(verts[v][0]), float(verts[v][1])),
                                         inserted=True))
            out.append(verts[cols])
        out.append(ea[done:])
    return np.vstack(out)


# -- one candidate against its neighbours -----------------------------------------------

def check_candidate(candidate: BaseGeometry | str | dict[str, Any], *, candidate_id: Any,
                    neighbours: Sequence[BaseGeometry], neighbour_ids: Sequence[Any],
                    rules: RuleSet, scale: int | None = None, agricultural: bool = False,
                    neighbour_scales: Sequence[int | None] | None = None,
                    label: str | None = None, neighbour_labels: Sequence[str] | None = None,
                    frame: BaseGeometry | None = None, zones: Sequence[Zone] = ()) -> Report:
    """Check one polygon (an application, a surveyed parcel) against registered neighbours.

    The caller fetches the neighbours (e.g. from PostGIS, everything within a few metres
    of the candidate) in the same metric CRS.  Validity and shape come first; the
    neighbour, frame and zone checks run only on a valid polygon, since their answers on
    an invalid one would be meaningless.  Pairs among the neighbours are not judged.
    """
    d = check_feature(candidate, fid=candidate_id, rules=rules, label=label)
    findings: list[Finding] = list(d.findings)
    geom = d.geometry
    nb = list(neighbours)
    ids = [candidate_id, *neighbour_ids]
    labels = None
    if label is not None or neighbour_labels is not None:
        labels = [label or str(candidate_id),
                  *(neighbour_labels or [str(i) for i in neighbour_ids])]
    if geom is not None and d.valid:
        ctx = Context.build([geom, *nb], ids, rules=rules,
                            scales=[scale, *(neighbour_scales or [scale] * len(nb))],
                            agricultural=[agricultural, *([False] * len(nb))], labels=labels)
        findings += find_overlaps(ctx, [0]) + find_gaps(ctx, [0]) + find_mismatches(ctx, [0])
        if frame is not None:
            findings += find_outside(ctx, frame, [0])
        findings += find_zone_crossings(ctx, zones, [0])
    fp = fingerprint([geom, *nb], ids, extra={"role": "candidate"})
    return Report.build(findings, rules=rules, fingerprint=fp, feature_count=1 + len(nb))

"""Measures of polygons in a metric CRS (metres, m²): thinness, width, its cheap bounds, vertices.

The width of a polygon is the diameter of its maximum inscribed circle: for a strip the
strip's width, for an overlap the deepest encroachment.  Measuring it exactly is costly
on long slivers, so the cheap bounds here decide first and the circle is drawn only
where a band needs it.  The engine does not care which metric CRS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry


def thinness(geom: BaseGeometry | NDArray[Any]) -> Any:
    """Isoperimetric quotient 4πA/P²: 1 for a circle, 0.785 for a square, → 0 for a strip.

    Chosen over QGIS's thinness ratio because it has no parameter and is scale-free.
    """
    a, p = shapely.area(geom), shapely.length(geom)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p > 0, 4 * math.pi * a / np.square(p), 0.0)


def max_width(geom: BaseGeometry | NDArray[Any], precision: float = 0.01) -> Any:
    """Width of a polygon = diameter of its maximum inscribed circle (metres).

    For a strip this is the strip's width, for an overlap polygon the deepest
    encroachment.  The circle is found to ``precision`` (relative) of a first guess of the
    width (2A/P, exact for a long strip), so thin polygons are measured as precisely as
    wide ones; the result is never above the true width and at most ``2 × precision ×
    guess`` below it.  Below a micrometre the guess itself is returned: such pieces are
    floating-point residue, and refining a circle that small over a long sliver would take
    GEOS seconds.  Cost grows with length over width (15–50 ms for a long sliver): when
    only a band matters, :func:`width_upper_bound` or :func:`width_exceeds` decide first.
    """
    g = np.asarray(geom, dtype=object)
    a, p = shapely.area(g), shapely.length(g)
    with np.errstate(divide="ignore", invalid="ignore"):
        guess = np.where(p > 0, 2 * a / p, 0.0)
    tol = np.maximum(guess * precision, 1e-7)
    ok = (guess > 1e-6) & ~shapely.is_empty(g)
    out = np.where(ok, 0.0, guess)
    if ok.any():
        lines = shapely.maximum_inscribed_circle(g[ok], tolerance=tol[ok])
        out[ok] = 2.0 * shapely.length(lines)
    return out if out.ndim else float(out)


def width_upper_bound(geom: BaseGeometry | NDArray[Any]) -> Any:
    """A cheap, vectorised upper bound of :func:`max_width` (metres).

    The inscribed circle fits in any rectangle enclosing the polygon, so the short side of
    the minimum rotated rectangle bounds its diameter; it also fits in the convex hull,
    whose inradius r obeys A ≥ r·P/2 (every edge is at least r from the centre), so
    4·A/P of the hull bounds it too.  Both are exact for a rectangle and within a few per
    cent for the long thin slivers a coverage leaves, at microseconds each.
    """
    g = np.asarray(geom, dtype=object)
    empty = shapely.is_empty(g) | shapely.is_missing(g)
    out = np.zeros(g.shape)
    if (~empty).any():
        # A multipart piece (slivers strung along an edge) is as wide as its widest part,
        # and one rectangle around all of them would bound nothing useful.
        live, owner = shapely.get_parts(g[~empty], return_index=True)
        per_part = _part_upper_bound(live)
        widest = np.zeros(int((~empty).sum()))
        np.maximum.at(widest, owner, per_part)
        out[~empty] = widest
    return out if out.ndim else float(out)


def _part_upper_bound(live: NDArray[Any]) -> NDArray[np.float64]:
    """:func:`width_upper_bound` of single polygons (none empty)."""
    out = np.zeros(len(live))
    if len(live):
        rect = shapely.oriented_envelope(live)
        xy, idx = shapely.get_coordinates(rect, return_index=True)
        counts = np.bincount(idx, minlength=len(live))
        short = np.zeros(len(live))
        poly = counts == 5  # a rectangle; a degenerate piece's envelope is a line or point
        if poly.any():
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[poly]
            e1 = np.hypot(*(xy[starts + 1] - xy[starts]).T)
            e2 = np.hypot(*(xy[starts + 2] - xy[starts + 1]).T)
            short[poly] = np.minimum(e1, e2)
        hull = shapely.convex_hull(live)
        ha, hp = shapely.area(hull), shapely.length(hull)
        with np.errstate(divide="ignore", invalid="ignore"):
            by_hull = np.where(hp > 0, 4.0 * ha / hp, 0.0)
        out = np.minimum(short, by_hull)
    return out


def width_exceeds(geom: BaseGeometry | NDArray[Any], threshold: Any,
                  upper: NDArray[np.float64] | None = None) -> NDArray[np.bool_]:
    """Whether each polygon's :func:`max_width` exceeds ``threshold`` (per polygon or one).

    Decided without the inscribed circle: at or under the upper bound is no; for a convex
    polygon 2A/P is a lower bound (A ≤ r·P), above it is yes; the rest are eroded by half
    the threshold, and a polygon is wider exactly when something is left.  ``upper`` is
    :func:`width_upper_bound` when the caller already has it.
    """
    g = np.atleast_1d(np.asarray(geom, dtype=object))
    t = np.broadcast_to(np.asarray(threshold, dtype=float), g.shape)
    ub = width_upper_bound(g) if upper is None else np.asarray(upper)
    out = np.zeros(g.shape, dtype=bool)
    open_ = ub > t
    if not open_.any():
        return out
    idx = np.flatnonzero(open_)
    live = g[idx]
    a, p = shapely.area(live), shapely.length(live)
    hull_a = shapely.area(shapely.convex_hull(live))
    convex = a >= hull_a * (1.0 - 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = np.where(convex & (p > 0), 2.0 * a / p, 0.0)
    sure = lower > t[idx]
    out[idx[sure]] = True
    rest = idx[~sure]
    if len(rest):
        eroded = shapely.buffer(g[rest], -t[rest] / 2.0, quad_segs=8)
        out[rest] = ~shapely.is_empty(eroded)
    return out


BAND_PRECISION = 0.05
"""Relative precision of a width measured for a band: the inscribed circle's cost grows fast
as the tolerance shrinks on long pieces (≈ 50 ms at 1 % on a 100 m encroachment strip), and
a finding reports centimetres on pieces that are decimetres wide."""


def band_widths(pieces: NDArray[Any], *, floor: float, snap: NDArray[np.float64] | float
                ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Widths good enough for a band, and whether each piece is wider than ``floor``.

    A piece whose cheap upper bound (:func:`width_upper_bound`) is within its snap
    tolerance is noise whatever its exact width, so it is not measured: its width is
    reported as that bound, and whether it clears the floor is decided by
    :func:`width_exceeds`.  Only pieces that may be wider than the snap tolerance get the
    inscribed circle (``max_width``, 5 %), so a coverage with thousands of millimetre
    slivers costs microseconds per sliver instead of tens of milliseconds.
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


@dataclass(frozen=True)
class VertexTable:
    """Every vertex of every ring (closing point dropped), with its ring neighbours."""

    xy: NDArray[np.float64]
    geom: NDArray[np.intp]
    prev: NDArray[np.intp]
    next: NDArray[np.intp]

    @property
    def seg_len(self) -> NDArray[np.float64]:
        """Length of the edge leaving each vertex."""
        return np.asarray(np.hypot(*(self.xy[self.next] - self.xy).T))

    @property
    def angle_deg(self) -> NDArray[np.float64]:
        """Angle between the two edges at each vertex, 0..180 (0 = a spike)."""
        a = self.xy[self.prev] - self.xy
        b = self.xy[self.next] - self.xy
        cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
        dot = (a * b).sum(axis=1)
        return np.asarray(np.degrees(np.arctan2(np.abs(cross), dot)))


def vertex_table(geoms: NDArray[Any]) -> VertexTable:
    """Vectorised ring walk over many polygons (no Python loop per geometry)."""
    rings, gidx = shapely.get_rings(np.asarray(geoms, dtype=object), return_index=True)
    xy, ridx = shapely.get_coordinates(rings, return_index=True)
    counts = np.bincount(ridx, minlength=len(rings))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    keep = np.ones(len(xy), dtype=bool)
    keep[(starts + counts - 1)[counts > 0]] = False  # the closing point
    xy, ridx = xy[keep], ridx[keep]
    n = np.maximum(counts - 1, 1)[ridx]
    new_starts = np.concatenate([[0], np.cumsum(np.maximum(counts - 1, 0))[:-1]])[ridx]
    k = np.arange(len(xy)) - new_starts
    return VertexTable(xy=xy, geom=gidx[ridx], prev=new_starts + (k - 1) % n,
                       next=new_starts + (k + 1) % n)

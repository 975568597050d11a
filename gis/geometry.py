"""Validity diagnosis, shape checks, measures and explicit repairs of parcel polygons.

Validity goes beyond GEOS's yes/no: a surveyor must learn *what* is wrong and *where*
(the crossing point of a bow-tie, the ring that is not closed), and defects GEOS never sees
because the geometry cannot even be built (an unclosed ring, a three-point ring) are read
from the raw coordinates.  Orientation and Z/M are normalised on reading and reported as
information; every other change is a :class:`~gis.rules.Fix` returned by a repair function
and applied only when someone decides to.

All measures assume a metric CRS (metres); the engine does not care which one.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from gis.rules import Finding, Fix, MovedVertex, RuleSet

POLYGONAL = ("Polygon", "MultiPolygon")

# GEOS is_valid_reason prefixes -> our rule codes.  Order matters: "Ring Self-intersection"
# must be tested before "Self-intersection".
_GEOS_REASONS: tuple[tuple[str, str], ...] = (
    ("Ring Self-intersection", "ring_self_touch"),
    ("Self-intersection", "self_intersection"),
    ("Too few points", "too_few_points"),
    ("Invalid Coordinate", "non_finite"),
    ("Ring is not closed", "unclosed_ring"),
    ("Hole lies outside shell", "invalid_rings"),
    ("Holes are nested", "invalid_rings"),
    ("Interior is disconnected", "invalid_rings"),
    ("Nested shells", "invalid_rings"),
    ("Duplicate Rings", "invalid_rings"),
)
_OGC_INVALID = frozenset({"too_few_points", "unclosed_ring", "self_intersection",
                          "ring_self_touch", "invalid_rings", "non_finite", "not_polygon"})
_POINT = re.compile(r"\[([-+0-9.eEnaNifINF]+) ([-+0-9.eEnaNifINF]+)")


@dataclass(frozen=True)
class Diagnosis:
    """What reading one feature found, and the geometry to check further (2D, oriented).

    ``geometry`` is None when nothing usable could be built (not a polygon, too few
    points in a raw ring).  ``valid`` is the OGC/GEOS validity verdict of the input.
    """

    geometry: BaseGeometry | None
    findings: list[Finding] = field(default_factory=list)
    valid: bool = True


def diagnose(raw: BaseGeometry | str | Mapping[str, Any] | None, *, fid: Any,
             rules: RuleSet, label: str | None = None) -> Diagnosis:
    """Diagnose one feature's validity from a shapely geometry, WKT or GeoJSON geometry.

    Every defect gets its own finding; the crossing or touching point is the finding's
    geometry.  Orientation is normalised (exterior counter-clockwise, as OGC SFA and
    RFC 7946 say) and Z/M dropped, each with an ``info`` finding.
    """
    out: list[Finding | None] = []
    labels = (label,) if label else ()

    def add(code: str, figures: Mapping[str, Any], geom: BaseGeometry | None = None,
            fix: Fix | None = None) -> None:
        if rules.enabled(code):
            out.append(rules.finding(code, ids=[fid], figures=figures, geometry=geom,
                                     labels=labels, fix=fix))

    geom, raw_problems = _build(raw)
    for code, figures, where in raw_problems:
        add(code, figures, where)
    if geom is None:
        if not raw_problems:
            add("empty" if raw is None else "not_polygon", {"geom_type": "None"})
        return _done(None, out)
    if geom.geom_type not in POLYGONAL:
        add("not_polygon", {"geom_type": geom.geom_type}, geom)
        return _done(None, out)
    if geom.is_empty:
        add("empty", {})
        return _done(None, out)
    xyz = shapely.get_coordinates(geom, include_z=bool(shapely.has_z(geom)))
    bad = ~np.isfinite(xyz[:, :2]).all(axis=1)
    if bad.any():
        add("non_finite", {"count": int(bad.sum())})
        return _done(geom, out)
    dims = "Z" * bool(shapely.has_z(geom)) + "M" * bool(shapely.has_m(geom))
    if dims:
        fixed = flatten(geom)
        add("z_or_m", {"dims": dims}, fix=fixed)
        geom = fixed.geometry
    if not raw_problems:
        reason = shapely.is_valid_reason(geom)
        if reason != "Valid Geometry":
            code, figures, where = _from_geos_reason(reason, geom)
            add(code, figures, where, make_valid(geom))
    parts = shapely.get_parts(geom)
    holes = int(sum(len(p.interiors) for p in parts))
    if holes:
        add("has_holes", {"holes": holes})
    if len(parts) > 1:
        add("multipart", {"parts": len(parts)})
    oriented = orient(geom)
    if oriented.changed:
        add("orientation", {}, fix=oriented)
        geom = oriented.geometry
    return _done(geom, out)


def _done(geom: BaseGeometry | None, found: list[Finding | None]) -> Diagnosis:
    findings = [f for f in found if f is not None]
    return Diagnosis(geometry=geom, findings=findings,
                     valid=not any(f.code in _OGC_INVALID for f in findings))


def is_ogc_invalid_code(code: str) -> bool:
    """Whether a rule code means the geometry is invalid in the OGC sense (not just odd)."""
    return code in _OGC_INVALID


def _from_geos_reason(reason: str, geom: BaseGeometry
                      ) -> tuple[str, dict[str, Any], BaseGeometry | None]:
    code = next((c for prefix, c in _GEOS_REASONS if reason.startswith(prefix)), "invalid_rings")
    m = _POINT.search(reason)
    figures: dict[str, Any] = {"reason": reason.split("[")[0]}
    where = None
    if m:
        x, y = float(m.group(1)), float(m.group(2))
        figures.update(x=x, y=y)
        where = shapely.Point(x, y)
    if code == "too_few_points":
        rings = shapely.get_rings(geom)
        figures["points"] = int(min(shapely.get_num_coordinates(rings))) if len(rings) else 0
    return code, figures, where


# -- reading raw input ------------------------------------------------------------------

_RawProblem = tuple[str, dict[str, Any], BaseGeometry | None]


def _build(raw: BaseGeometry | str | Mapping[str, Any] | None
           ) -> tuple[BaseGeometry | None, list[_RawProblem]]:
    """Build a geometry, reporting ring defects that shapely would hide or refuse."""
    if raw is None or isinstance(raw, BaseGeometry):
        return raw, []
    if isinstance(raw, str):
        rings = _wkt_rings(raw)
        problems = _ring_problems(rings)
        try:
            with warnings.catch_warnings():  # NaN coordinates: reported as non_finite
                warnings.simplefilter("ignore", RuntimeWarning)
                return shapely.from_wkt(raw, on_invalid="fix"), problems
        except shapely.errors.GEOSException:
            return None, problems or [("not_polygon", {"geom_type": "unreadable WKT"}, None)]
    rings = _geojson_rings(raw)
    problems = _ring_problems(rings)
    if any(code == "too_few_points" for code, _, _ in problems):
        return None, problems
    try:
        return shape(raw), problems
    except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.ShapelyError):
        return None, problems or [("not_polygon", {"geom_type": str(raw.get("type"))}, None)]


def _wkt_rings(wkt: str) -> list[NDArray[np.float64]]:
    head = wkt.lstrip().upper()
    if not head.startswith(("POLYGON", "MULTIPOLYGON")) or "EMPTY" in head:
        return []
    rings = []
    for body in re.findall(r"\(([^()]+)\)", wkt):
        try:
            pts = [[float(v) for v in p.split()[:2]] for p in body.split(",") if p.strip()]
        except ValueError:
            return []
        rings.append(np.asarray(pts, dtype=float).reshape(-1, 2))
    return rings


def _geojson_rings(obj: Mapping[str, Any]) -> list[NDArray[np.float64]]:
    kind, coords = obj.get("type"), obj.get("coordinates")
    polys: list[Any] = [coords] if kind == "Polygon" else list(coords or []) \
        if kind == "MultiPolygon" else []
    try:
        return [np.asarray(r, dtype=float)[:, :2] for p in polys for r in p or []]
    except (ValueError, IndexError, TypeError):
        return []


def _ring_problems(rings: Sequence[NDArray[np.float64]]) -> list[_RawProblem]:
    problems: list[_RawProblem] = []
    for r in rings:
        if len(r) == 0:
            continue
        closed = bool(np.array_equal(r[0], r[-1]))
        if not closed:
            d = float(np.hypot(*(r[-1] - r[0])))
            problems.append(("unclosed_ring", {"distance_m": d},
                             shapely.LineString([r[-1], r[0]]) if d > 0 else None))
        n = len(r) + (0 if closed else 1)
        if n < 4:
            problems.append(("too_few_points", {"points": n}, shapely.Point(r[0])))
    return problems


# -- measures ---------------------------------------------------------------------------

def area_m2(geom: BaseGeometry) -> float:
    """Planar area in the geometry's CRS units squared (m² in a metric CRS)."""
    return float(shapely.area(geom))


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


# -- shape checks -----------------------------------------------------------------------

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


def without_repeated_points(geoms: Any, tolerance: float) -> Any:
    """``shapely.remove_repeated_points``, except that a polygon whose ring would fall
    under three points (a polygon not much bigger than ``tolerance``) is kept as it is:
    GEOS refuses to build such a ring.  A polygon that small is reported by ``min_area``;
    there is no vertex to drop."""
    try:
        return shapely.remove_repeated_points(geoms, tolerance=tolerance)
    except shapely.errors.GEOSException:
        if not isinstance(geoms, np.ndarray):
            return geoms
    out = np.empty(geoms.shape, dtype=object)
    for i, g in enumerate(geoms.flat):
        out.flat[i] = without_repeated_points(g, tolerance)
    return out


def shape_findings(geoms: NDArray[Any], ids: Sequence[Any], *, rules: RuleSet,
                   labels: Sequence[str] | None = None) -> list[Finding]:
    """Duplicate vertices, spikes, short edges, small area and slivers, for many polygons.

    Spikes are measured after merging duplicate vertices, since a zero-length edge has no
    direction.  Only valid polygons should be passed: the rest are reported by validity.
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
            lines = shapely.linestrings(np.stack([vt.xy[hit], vt.xy[vt.next[hit]]], axis=1))
            for v, line in zip(hit.tolist(), lines, strict=True):
                i = int(vt.geom[v])
                out.append(rules.finding("short_segment", ids=[ids[i]], labels=lab(i),
                                         figures={"length_m": float(seg[v]),
                                                  "threshold_m": lim}, geometry=line))
    if rules.enabled("spike"):
        lim = rules.param("spike", "angle_deg")
        vt = vertex_table(without_repeated_points(g, dup))
        hit = np.flatnonzero(vt.angle_deg < lim)
        ang = vt.angle_deg[hit]
        points = shapely.points(vt.xy[hit])
        fixes: dict[int, Fix] = {}  # one repair per parcel, shared by its spikes
        for v, a, pt in zip(vt.geom[hit].tolist(), ang.tolist(), points, strict=True):
            if v not in fixes:
                fixes[v] = remove_spikes(g[v], lim)
            out.append(rules.finding("spike", ids=[ids[v]], labels=lab(v),
                                     figures={"angle_deg": a, "threshold_deg": lim},
                                     geometry=pt, fix=fixes[v]))
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
        thin = np.flatnonzero(th < lim)
        # the width is a figure to read, not a threshold: 5 % is plenty and 3x faster
        widths = max_width(g[thin], precision=0.05) if len(thin) else np.zeros(0)
        for i, w in zip(thin.tolist(), np.atleast_1d(widths).tolist(), strict=True):
            out.append(rules.finding("sliver", ids=[ids[i]], labels=lab(i),
                                     figures={"thinness": float(th[i]), "threshold": lim,
                                              "area_m2": float(areas[i]), "width_m": w},
                                     geometry=g[i]))
    return [f for f in out if f is not None]


def check_feature(raw: BaseGeometry | str | Mapping[str, Any] | None, *, fid: Any,
                  rules: RuleSet, label: str | None = None) -> Diagnosis:
    """Validity then, for a valid polygon, shape checks: everything about one feature alone."""
    d = diagnose(raw, fid=fid, rules=rules, label=label)
    if d.geometry is None or not d.valid:
        return d
    extra = shape_findings(np.array([d.geometry], dtype=object), [fid], rules=rules,
                           labels=[label] if label else None)
    return Diagnosis(geometry=d.geometry, findings=d.findings + extra, valid=d.valid)


# -- repairs ----------------------------------------------------------------------------

def make_valid(geom: BaseGeometry) -> Fix:
    """Repair an invalid polygon, keeping its polygonal part.

    GEOS's "structure" method (JTS GeometryFixer) keeps the intended rings, but on some
    real data it returns an invalid result (JTS issue 852); then "linework" is used,
    which always gives a valid result, and the description says so.
    """
    if shapely.is_valid(geom):
        return Fix(geometry=geom, changed=False, description_en="already valid",
                   description_vi="hình học đã hợp lệ")
    method = "structure"
    fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    if not shapely.is_valid(fixed):
        method = "linework"
        fixed = shapely.make_valid(geom, method="linework")
    poly = _polygonal(fixed)
    before, after = _safe_area(geom), float(poly.area)
    return Fix(geometry=poly,
               description_en=f"make_valid ({method}): area {before:.3f} -> {after:.3f} m², "
                              f"{len(shapely.get_parts(poly))} part(s)",
               description_vi=f"sửa hình học ({method}): diện tích {before:.3f} -> "
                              f"{after:.3f} m², {len(shapely.get_parts(poly))} phần")


def _safe_area(geom: BaseGeometry) -> float:
    a = float(shapely.area(geom))
    return a if math.isfinite(a) else float("nan")


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Keep only the polygons of a make_valid result (lines and points are collapses)."""
    if geom.geom_type in POLYGONAL:
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in POLYGONAL]
    polys = [q for p in parts for q in shapely.get_parts(p)]
    if not polys:
        return Polygon()
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def remove_duplicate_vertices(geom: BaseGeometry, tolerance: float, *,
                              fixed: BaseGeometry | None = None,
                              removed: tuple[MovedVertex, ...] | None = None) -> Fix:
    """Drop consecutive vertices closer than ``tolerance``; the dropped ones are listed.

    ``fixed`` and ``removed`` are passed when the caller computed them for many polygons
    at once (``remove_repeated_points`` and :func:`removed_vertices`); not re-checked.
    """
    if fixed is None:
        fixed = without_repeated_points(geom, tolerance)
    if removed is None:
        removed = _removed(geom, fixed)
    n = len(removed)
    return Fix(geometry=fixed, changed=n > 0, moved=removed,
               description_en=f"removed {n} duplicate vertex(es) closer than {tolerance} m",
               description_vi=f"bỏ {n} đỉnh trùng (cách nhau dưới {tolerance} m)")


def remove_spikes(geom: BaseGeometry, angle_deg: float) -> Fix:
    """Remove spike vertices (edge angle under ``angle_deg``) until none is left.

    Removing one spike vertex can expose another (a spike drawn with two vertices), hence
    the loop.  A ring that would fall under three vertices is left alone.
    """
    def clean_ring(ring: NDArray[np.float64]) -> NDArray[np.float64]:
        pts = ring[:-1]
        while len(pts) > 3:
            vt_prev, vt_next = np.roll(pts, 1, axis=0) - pts, np.roll(pts, -1, axis=0) - pts
            cross = vt_prev[:, 0] * vt_next[:, 1] - vt_prev[:, 1] * vt_next[:, 0]
            ang = np.degrees(np.arctan2(np.abs(cross), (vt_prev * vt_next).sum(axis=1)))
            worst = int(np.argmin(ang))
            if ang[worst] >= angle_deg:
                break
            pts = np.delete(pts, worst, axis=0)
        return np.vstack([pts, pts[:1]])

    def clean_poly(p: Polygon) -> Polygon:
        return Polygon(clean_ring(np.asarray(p.exterior.coords)[:, :2]),
                       [clean_ring(np.asarray(r.coords)[:, :2]) for r in p.interiors])

    parts = [clean_poly(p) for p in shapely.get_parts(geom)]
    fixed: BaseGeometry = parts[0] if geom.geom_type == "Polygon" else MultiPolygon(parts)
    removed = _removed(geom, fixed)
    return Fix(geometry=fixed, changed=bool(removed), moved=removed,
               description_en=f"removed {len(removed)} spike vertex(es) sharper than "
                              f"{angle_deg}°; area {geom.area:.3f} -> {fixed.area:.3f} m²",
               description_vi=f"bỏ {len(removed)} đỉnh nhọn (góc dưới {angle_deg}°); diện "
                              f"tích {geom.area:.3f} -> {fixed.area:.3f} m²")


def orient(geom: BaseGeometry) -> Fix:
    """Exterior counter-clockwise, holes clockwise (OGC SFA, RFC 7946)."""
    return orient_all(np.array([geom], dtype=object))[0]


def orient_all(geoms: NDArray[Any]) -> list[Fix]:
    """:func:`orient` for many geometries in two GEOS passes (a batch exported clockwise
    has ten thousand of them)."""
    fixed = shapely.orient_polygons(geoms, exterior_cw=False)
    changed = ~shapely.equals_exact(fixed, geoms, tolerance=0)
    return [Fix(geometry=f, changed=bool(c), description_en="ring orientation normalised",
                description_vi="chuẩn hóa chiều vòng ranh giới")
            for f, c in zip(fixed.tolist(), changed.tolist(), strict=True)]


def flatten(geom: BaseGeometry) -> Fix:
    """Drop Z and M: areas and topology are planar."""
    fixed = shapely.force_2d(geom)
    changed = bool(shapely.has_z(geom) or shapely.has_m(geom))
    return Fix(geometry=fixed, changed=changed, description_en="Z/M coordinates dropped",
               description_vi="bỏ tọa độ Z/M")


def _removed(before: BaseGeometry, after: BaseGeometry) -> tuple[MovedVertex, ...]:
    """Vertices of ``before`` that ``after`` no longer has (counted with multiplicity)."""
    return removed_vertices(np.array([before], dtype=object),
                            np.array([after], dtype=object))[0]


def removed_vertices(before: NDArray[Any], after: NDArray[Any]
                     ) -> list[tuple[MovedVertex, ...]]:
    """For each pair, the vertices ``before[k]`` has and ``after[k]`` lost, sorted (x, y).

    One multiset difference over all pairs at once (a lexsort of (pair, x, y) with +1 for
    a vertex before and -1 after), so a thousand repairs cost one numpy pass.
    """
    vb, va = vertex_table(before), vertex_table(after)
    pair = np.concatenate([vb.geom, va.geom])
    xy = np.vstack([vb.xy, va.xy])
    sign = np.concatenate([np.ones(len(vb.geom), np.int64), -np.ones(len(va.geom), np.int64)])
    order = np.lexsort((xy[:, 1], xy[:, 0], pair))
    pair, xy, sign = pair[order], xy[order], sign[order]
    new = np.ones(len(pair), dtype=bool)
    new[1:] = (pair[1:] != pair[:-1]) | np.any(xy[1:] != xy[:-1], axis=1)
    starts = np.flatnonzero(new)
    net = np.add.reduceat(sign, starts) if len(starts) else np.zeros(0, np.int64)
    out: list[list[MovedVertex]] = [[] for _ in range(len(before))]
    for k in np.flatnonzero(net > 0).tolist():
        x, y = xy[starts[k]]
        out[int(pair[starts[k]])].extend(
            [MovedVertex(source=(float(x), float(y)), target=None)] * int(net[k]))
    return [tuple(m) for m in out]

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


def max_width(geom: BaseGeometry | NDArray[Any]) -> Any:
    """Width of a polygon = diameter of its maximum inscribed circle (metres).

    For a strip this is the strip's width, for an overlap polygon the deepest
    encroachment.  The circle is found to 1 % of a first guess of the width (2A/P, exact
    for a long strip), so thin polygons are measured as precisely as wide ones.  Below a
    micrometre the guess itself is returned: such pieces are floating-point residue, and
    refining a circle that small over a long sliver would take GEOS seconds.
    """
    g = np.asarray(geom, dtype=object)
    a, p = shapely.area(g), shapely.length(g)
    with np.errstate(divide="ignore", invalid="ignore"):
        guess = np.where(p > 0, 2 * a / p, 0.0)
    tol = np.maximum(guess / 100.0, 1e-7)
    ok = (guess > 1e-6) & ~shapely.is_empty(g)
    out = np.where(ok, 0.0, guess)
    if ok.any():
        lines = shapely.maximum_inscribed_circle(g[ok], tolerance=tol[ok])
        out[ok] = 2.0 * shapely.length(lines)
    return out if out.ndim else float(out)


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
            is_dup = seg <= dup
            for i in map(int, np.unique(vt.geom[is_dup])):
                pts = shapely.multipoints(vt.xy[is_dup & (vt.geom == i)])
                out.append(rules.finding("duplicate_vertex", ids=[ids[i]], geometry=pts,
                                         figures={"count": len(shapely.get_parts(pts))},
                                         labels=lab(i),
                                         fix=remove_duplicate_vertices(g[i], dup)))
        if rules.enabled("short_segment"):
            lim = rules.param("short_segment", "length_m")
            for v in np.flatnonzero((seg > dup) & (seg < lim)):
                i = int(vt.geom[v])
                out.append(rules.finding("short_segment", ids=[ids[i]], labels=lab(i),
                                         figures={"length_m": float(seg[v]),
                                                  "threshold_m": lim},
                                         geometry=shapely.LineString([vt.xy[v],
                                                                      vt.xy[vt.next[v]]])))
    if rules.enabled("spike"):
        lim = rules.param("spike", "angle_deg")
        vt = vertex_table(shapely.remove_repeated_points(g, tolerance=dup))
        ang = vt.angle_deg
        for v in np.flatnonzero(ang < lim):
            i = int(vt.geom[v])
            out.append(rules.finding("spike", ids=[ids[i]], labels=lab(i),
                                     figures={"angle_deg": float(ang[v]), "threshold_deg": lim},
                                     geometry=shapely.Point(vt.xy[v]),
                                     fix=remove_spikes(g[i], lim)))
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
        for i in map(int, np.flatnonzero(th < lim)):
            out.append(rules.finding("sliver", ids=[ids[i]], labels=lab(i),
                                     figures={"thinness": float(th[i]), "threshold": lim,
                                              "area_m2": float(areas[i]),
                                              "width_m": float(max_width(g[i]))},
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


def remove_duplicate_vertices(geom: BaseGeometry, tolerance: float) -> Fix:
    """Drop consecutive vertices closer than ``tolerance``; the dropped ones are listed."""
    fixed = shapely.remove_repeated_points(geom, tolerance=tolerance)
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
    fixed = shapely.orient_polygons(geom, exterior_cw=False)
    changed = not shapely.equals_exact(fixed, geom, tolerance=0)
    return Fix(geometry=fixed, changed=changed, description_en="ring orientation normalised",
               description_vi="chuẩn hóa chiều vòng ranh giới")


def flatten(geom: BaseGeometry) -> Fix:
    """Drop Z and M: areas and topology are planar."""
    fixed = shapely.force_2d(geom)
    changed = bool(shapely.has_z(geom) or shapely.has_m(geom))
    return Fix(geometry=fixed, changed=changed, description_en="Z/M coordinates dropped",
               description_vi="bỏ tọa độ Z/M")


def _removed(before: BaseGeometry, after: BaseGeometry) -> tuple[MovedVertex, ...]:
    """Vertices of ``before`` that ``after`` no longer has (counted with multiplicity)."""
    seen: dict[tuple[float, float], int] = {}
    out = []
    for ring in shapely.get_rings(before):
        for x, y in shapely.get_coordinates(ring)[:-1]:
            key = (float(x), float(y))
            seen[key] = seen.get(key, 0) + 1
    for ring in shapely.get_rings(after):
        for x, y in shapely.get_coordinates(ring)[:-1]:
            key = (float(x), float(y))
            seen[key] = seen.get(key, 0) - 1
    for key, n in sorted(seen.items()):
        out.extend([MovedVertex(source=key, target=None)] * max(n, 0))
    return tuple(out)

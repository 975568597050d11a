"""Explicit repairs of parcel polygons, each returned as a :class:`~gis.findings.Fix`.

Nothing here changes a parcel by itself: a check proposes a repair, and it is applied
only when someone decides to.  Every fix lists the vertices it moved or removed, so a
land officer sees what the repair would do before accepting it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from gis.findings import Fix, MovedVertex
from gis.measures import vertex_table

POLYGONAL = ("Polygon", "MultiPolygon")


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
    poly = polygonal(fixed)
    before, after = _safe_area(geom), float(poly.area)
    return Fix(geometry=poly,
               description_en=f"make_valid ({method}): area {before:.3f} -> {after:.3f} m², "
                              f"{len(shapely.get_parts(poly))} part(s)",
               description_vi=f"sửa hình học ({method}): diện tích {before:.3f} -> "
                              f"{after:.3f} m², {len(shapely.get_parts(poly))} phần")


def _safe_area(geom: BaseGeometry) -> float:
    a = float(shapely.area(geom))
    return a if math.isfinite(a) else float("nan")


def polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Keep only the polygons of a result (make_valid, an intersection): its lines and
    points are collapses or mere touches; nothing polygonal gives an empty polygon."""
    if geom.geom_type in POLYGONAL:
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in POLYGONAL]
    polys = [q for p in parts for q in shapely.get_parts(p)]
    if not polys:
        return Polygon()
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def polygonal_all(geoms: NDArray[Any]) -> NDArray[Any]:
    """:func:`polygonal` of each intersection result (touching lines and
    points dropped)."""
    out = np.empty(len(geoms), dtype=object)
    for k, g in enumerate(geoms):
        out[k] = polygonal(g)
    return out


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

"""Snapping a polygon onto its neighbours' boundaries: the repair proposed for overlaps,
gaps and mismatches within the snap tolerance."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from gis.findings import Fix, MovedVertex
from gis.repair import without_repeated_points


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

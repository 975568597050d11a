"""Small geometric helpers shared by the generator's modules.

Every overlay runs on a 1 mm precision grid (``GRID``) so that parcels cut
from the same edges share identical vertices: without it adjacent parcels
would differ by 1e-9 m slivers that a topology check reports as overlaps.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry

GRID: Final = 0.001
"""Precision grid of every generated coordinate, in metres."""


def polygons(geom: BaseGeometry | None, min_area: float = 0.0) -> list[Polygon]:
    """The single-part polygons of any geometry, dropping lines, points and crumbs."""
    if geom is None or geom.is_empty:
        return []
    parts = shapely.get_parts(geom)
    out: list[Polygon] = []
    for part in parts:
        if isinstance(part, Polygon):
            if part.area > min_area:
                out.append(part)
        elif hasattr(part, "geoms"):
            out.extend(polygons(part, min_area))
    return out


def largest(geom: BaseGeometry) -> Polygon:
    """The largest single polygon of a geometry (raise when there is none)."""
    parts = polygons(geom)
    if not parts:
        raise ValueError("no polygon in geometry")
    return max(parts, key=lambda p: p.area)


def smooth(points: Sequence[tuple[float, float]], rounds: int = 3) -> LineString:
    """A Chaikin-smoothed line through control points, ends kept: rivers and roads curve."""
    pts = np.asarray(points, dtype=float)
    for _ in range(rounds):
        q = 0.75 * pts[:-1] + 0.25 * pts[1:]
        r = 0.25 * pts[:-1] + 0.75 * pts[1:]
        mid = np.empty((2 * len(q), 2))
        mid[0::2], mid[1::2] = q, r
        pts = np.vstack([pts[:1], mid, pts[-1:]])
    return LineString(pts)


def variable_buffer(line: LineString, widths: Sequence[float], step: float = 40.0) -> BaseGeometry:
    """Buffer a line with a width interpolated along it (a river that narrows and widens)."""
    n = max(2, int(line.length / step) + 1)
    dist = np.linspace(0.0, line.length, n)
    anchors = np.linspace(0.0, line.length, len(widths))
    half = np.interp(dist, anchors, widths) / 2.0
    pts = shapely.line_interpolate_point(line, dist)
    segs = [
        LineString([pts[i], pts[i + 1]]).buffer(max(half[i], half[i + 1]), quad_segs=4)
        for i in range(n - 1)
    ]
    return shapely.union_all(segs, grid_size=GRID)


def rotate_xy(xy: np.ndarray, angle: float, origin: tuple[float, float]) -> np.ndarray:
    """Rotate (n, 2) coordinates by ``angle`` radians about ``origin``."""
    c, s = np.cos(angle), np.sin(angle)
    x = xy[:, 0] - origin[0]
    y = xy[:, 1] - origin[1]
    return np.column_stack([origin[0] + c * x - s * y, origin[1] + s * x + c * y])


def boxes_rotated(
    u0: np.ndarray, v0: np.ndarray, u1: np.ndarray, v1: np.ndarray, angle: float,
    origin: tuple[float, float],
) -> np.ndarray:
    """Rectangles given in a frame rotated by ``angle`` about ``origin``, as world polygons."""
    corners = np.stack(
        [np.column_stack(c) for c in ((u0, v0), (u1, v0), (u1, v1), (u0, v1), (u0, v0))], axis=1
    )
    flat = rotate_xy(corners.reshape(-1, 2), angle, origin)
    return shapely.polygons(flat.reshape(-1, 5, 2))


def union(geoms: Iterable[BaseGeometry]) -> BaseGeometry:
    """Union on the precision grid."""
    return shapely.union_all(list(geoms), grid_size=GRID)


def areal(geom: BaseGeometry) -> BaseGeometry:
    """Only the polygonal part of an overlay result (overlays can return stray lines)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = polygons(geom)
    return shapely.MultiPolygon(parts) if parts else Polygon()

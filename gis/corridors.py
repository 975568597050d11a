"""Road corridors as polygons: the land between the planned red lines (chỉ giới đường đỏ).

An approved plan draws the red lines as polygons, and those are authoritative.  A design
often gives a centreline instead, with the planned width on each side of every segment
(a widening is often asymmetric: the street keeps one frontage and takes the other), and
this module turns such segments into the same polygons.  DOMAIN.md: a half-width buffer of
a centreline is a fallback to be flagged; here each side gets its own width.

Pure functions on shapely geometries in a metric CRS (the ward's EPSG:9214); no database.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

GRID = 0.001
"""Overlays on a 1 mm grid, like the registry's parcels (no 1e-9 m slivers between pieces)."""


@dataclass(frozen=True)
class Segment:
    """A centreline piece with the planned red line on each side, in metres.

    Left is the left of the direction the line is drawn in (west of a line drawn north).
    """

    centreline: LineString
    left_width_m: float
    right_width_m: float

    @property
    def width_m(self) -> float:
        """The red-line width: the distance between the two red lines."""
        return self.left_width_m + self.right_width_m


def polygons_of(geom: BaseGeometry | None, min_area: float = 0.0) -> list[Polygon]:
    """The single polygons of any geometry (an overlay can return lines and points too)."""
    if geom is None or geom.is_empty:
        return []
    out: list[Polygon] = []
    for part in shapely.get_parts(geom):
        if isinstance(part, Polygon):
            if part.area > min_area:
                out.append(part)
        elif hasattr(part, "geoms"):
            out.extend(polygons_of(part, min_area))
    return out


def as_multipolygon(geom: BaseGeometry | None) -> MultiPolygon:
    """Only the areal part of ``geom``, as one MultiPolygon (empty when there is none)."""
    return MultiPolygon(polygons_of(geom))


def segment_redline(segment: Segment) -> BaseGeometry:
    """The land between the red lines of one segment: one single-sided buffer per side,
    flat at the ends so that consecutive segments meet edge to edge."""
    line = segment.centreline
    parts = []
    if segment.left_width_m > 0:
        parts.append(line.buffer(segment.left_width_m, single_sided=True, cap_style="flat"))
    if segment.right_width_m > 0:
        parts.append(line.buffer(-segment.right_width_m, single_sided=True, cap_style="flat"))
    return shapely.union_all(parts, grid_size=GRID) if parts else Polygon()


def corridor_redline(segments: Sequence[Segment]) -> MultiPolygon:
    """The union of the segments' red lines with the joints between them filled.

    Where one segment ends at the start of the next, flat ends leave a wedge on the outer
    side of the bend: a disc of the smaller half-width at the shared point fills it.
    """
    parts = [segment_redline(s) for s in segments]
    for a, b in itertools.pairwise(segments):
        end, start = Point(a.centreline.coords[-1]), Point(b.centreline.coords[0])
        if end.distance(start) < GRID:
            w = min(a.left_width_m, a.right_width_m, b.left_width_m, b.right_width_m)
            if w > 0:
                parts.append(end.buffer(w, quad_segs=8))
    return as_multipolygon(shapely.union_all(parts, grid_size=GRID))


def safety_band(redline: BaseGeometry, width_m: float) -> MultiPolygon:
    """The safety corridor beyond the red line: a band ``width_m`` wide outside it."""
    if width_m <= 0 or redline.is_empty:
        return MultiPolygon()
    outer = redline.buffer(width_m, quad_segs=4)
    return as_multipolygon(shapely.difference(outer, redline, grid_size=GRID))


def strip_width(polygon: BaseGeometry) -> float:
    """The width of a long strip of land (a road parcel, a red-line polygon) estimated as
    2·area/perimeter: exact for a long rectangle, an estimate for anything else."""
    perimeter = polygon.length
    return 2.0 * polygon.area / perimeter if perimeter > 0 else 0.0

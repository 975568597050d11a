"""The two road projects: Nguyễn Hoàng street widening and Ring Road 3 (Vành đai 3).

Centrelines, per-segment red-line widths and the red-line polygons are
invented (DOMAIN.md: the real widths were not found).  The red line of each
segment is two single-sided buffers of its centreline, one per side, because
a widening is often asymmetric: the street keeps one frontage and takes the
other.
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from data.frame import Frame
from data.geometry import GRID, areal

NGUYEN_HOANG = "NGUYEN_HOANG"
RING_ROAD_3 = "RING_ROAD_3"

# (points, (left, right) per segment, existing width); left is west/north of travel.
_NH_POINTS = [(557_930.0, 1_820_150.0), (557_960.0, 1_820_520.0), (557_990.0, 1_820_900.0),
              (558_020.0, 1_821_250.0)]
_NH_WIDTHS = [(18.0, 18.0), (22.0, 14.0), (15.0, 21.0)]
_RR3_POINTS = [(557_990.0, 1_820_900.0), (557_000.0, 1_820_950.0), (556_300.0, 1_820_600.0),
               (555_750.0, 1_819_350.0), (554_900.0, 1_818_300.0), (553_900.0, 1_817_000.0),
               (552_900.0, 1_815_900.0), (551_900.0, 1_814_800.0)]
_RR3_WIDTHS = [(16.0, 16.0), (16.0, 16.0), (18.0, 14.0), (16.0, 16.0), (16.0, 16.0),
               (15.0, 17.0), (16.0, 16.0)]


@dataclass(frozen=True)
class Segment:
    """One centreline segment with its planned red line on each side."""

    project_code: str
    segment_no: int
    name: str
    left_width_m: float
    right_width_m: float
    existing_width_m: float
    geometry: LineString

    def redline(self) -> BaseGeometry:
        """The land between the planned red lines of this segment."""
        left = self.geometry.buffer(self.left_width_m, single_sided=True, cap_style="flat")
        right = self.geometry.buffer(-self.right_width_m, single_sided=True, cap_style="flat")
        return shapely.union(left, right, grid_size=GRID)


@dataclass(frozen=True)
class Project:
    """A road project: its names, invented description and segments."""

    code: str
    name_vi: str
    name_en: str
    description: str
    segments: list[Segment]

    def redline(self, area: BaseGeometry) -> BaseGeometry:
        """Union of the segments' red lines, joints filled, clipped to the area."""
        parts = [s.redline() for s in self.segments]
        for a, b in zip(self.segments[:-1], self.segments[1:], strict=True):
            joint = Point(a.geometry.coords[-1])
            w = min(a.left_width_m, a.right_width_m, b.left_width_m, b.right_width_m)
            parts.append(joint.buffer(w, quad_segs=8))
        whole = shapely.union_all(parts, grid_size=GRID)
        return areal(shapely.intersection(whole, area, grid_size=GRID))


def build_projects(frame: Frame) -> list[Project]:
    """Both projects, placed on this frame (segments as drawn, not clipped)."""
    nh = _segments(frame, NGUYEN_HOANG, "Nguyễn Hoàng", _NH_POINTS, _NH_WIDTHS, 12.0)
    rr3 = _segments(frame, RING_ROAD_3, "Vành đai 3", _RR3_POINTS, _RR3_WIDTHS, 0.0)
    return [
        Project(
            NGUYEN_HOANG, "Mở rộng đường Nguyễn Hoàng (giả lập)", "Nguyen Hoang street widening",
            "SYNTHETIC: widening of the existing 12 m street to an invented 36 m red line, "
            "asymmetric on two segments; widths and alignment are invented, not the approved "
            "plan.", nh,
        ),
        Project(
            RING_ROAD_3, "Đường Vành đai 3 (giả lập)", "Ring Road 3",
            "SYNTHETIC: a new 32 m alignment across gardens, rice fields and hills; "
            "alignment and widths are invented, not the approved plan.", rr3,
        ),
    ]


def _segments(
    frame: Frame, code: str, name: str, points: list[tuple[float, float]],
    widths: list[tuple[float, float]], existing: float,
) -> list[Segment]:
    pts = [frame.at(x, y) for x, y in points]
    return [
        Segment(code, i + 1, f"{name} – đoạn {i + 1}", left, right, existing,
                LineString([pts[i], pts[i + 1]]))
        for i, (left, right) in enumerate(widths)
    ]

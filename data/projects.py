"""The demo's road project: Ring Road 3 (Vành đai 3), with the Nguyễn Hoàng section.

DOMAIN.md: Nguyễn Hoàng street runs on the approved Ring Road 3 centreline; the Nguyễn
Hoàng project is 1.67 km (road 1.08 km, bridge section 0.59 km over the Hương River) from
Lý Nam Đế to Bùi Thị Xuân, and the Nguyễn Hoàng bridge (380 m × 43 m, opened 26 March
2025, its north end at the Kim Long – Nguyễn Phúc Nguyên – Nguyễn Hoàng junction) is part
of Ring Road 3.  So there is one project, Ring Road 3, drawn on the (stand-in) Nguyễn Hoàng
centreline:

- section ``NH`` (phase 1): the bridge section, 0.59 km ending at the Kim Long street
  junction (a south approach of 210 m, then the 380 m bridge, which gives no road access),
  and the 1.08 km road section north to Lý Nam Đế;
- section ``N2`` (phase 2): the rest of the alignment through the ward, north of Lý Nam Đế
  to the ward's edge.  Its alignment is INVENTED.

Positions are distances along the stand-in street measured on the real outline's layout
(the river's north bank 773 m from its start, the Kim Long street junction at 825 m).
Widths: the bridge's 43 m is real (DOMAIN.md); every other width, the approach, the road
section's asymmetric red lines, phase 2 and its 5 m safety corridor, is INVENTED: the real
red-line width and Ring Road 3's cross-section were not found.  Alternative ``B`` (a
symmetric widening of the road section) is invented too, to show a comparison.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import shapely
from shapely import ops
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from data.frame import Frame
from data.geometry import GRID, areal
from data.roads import nguyen_hoang_line
from gis.corridors import Segment as RedlineSegment
from gis.corridors import corridor_redline

RING_ROAD_3 = "RING_ROAD_3"
INVENTED = "giả lập"

JUNCTION_M = 825.0
"""Along the stand-in Nguyễn Hoàng street: the Kim Long street junction, the bridge's north end."""
BRIDGE_M = 380.0
BRIDGE_SECTION_M = 590.0
ROAD_SECTION_M = 1_080.0

# (section, name, from m, to m, (left, right) for A, (left, right) for B, existing width,
#  gives access, safety corridor m).  Left is west of the line, which is drawn northwards.
_PLAN = [
    ("NH", "đường dẫn phía nam cầu Nguyễn Hoàng (từ Bùi Thị Xuân)",
     JUNCTION_M - BRIDGE_SECTION_M, JUNCTION_M - BRIDGE_M, (21.5, 21.5), (21.5, 21.5), 12.0,
     True, None),
    ("NH", "cầu Nguyễn Hoàng (380 m × 43 m)", JUNCTION_M - BRIDGE_M, JUNCTION_M,
     (21.5, 21.5), (21.5, 21.5), 43.0, False, None),
    ("NH", "đường Nguyễn Hoàng – Kim Long đến kiệt 1", JUNCTION_M, JUNCTION_M + 425.0,
     (18.0, 18.0), (18.0, 18.0), 12.0, True, None),
    ("NH", "đường Nguyễn Hoàng – đoạn giữa", JUNCTION_M + 425.0, JUNCTION_M + 775.0,
     (22.0, 14.0), (18.0, 18.0), 12.0, True, None),
    ("NH", "đường Nguyễn Hoàng – đến Lý Nam Đế", JUNCTION_M + 775.0,
     JUNCTION_M + ROAD_SECTION_M, (15.0, 21.0), (18.0, 18.0), 12.0, True, None),
    ("N2", "Vành đai 3 phía bắc Lý Nam Đế – đoạn 1", JUNCTION_M + ROAD_SECTION_M,
     JUNCTION_M + ROAD_SECTION_M + 700.0, (16.0, 16.0), (16.0, 16.0), 12.0, True, 5.0),
    ("N2", "Vành đai 3 phía bắc Lý Nam Đế – đoạn 2", JUNCTION_M + ROAD_SECTION_M + 700.0,
     None, (16.0, 16.0), (16.0, 16.0), 12.0, True, 5.0),
]


@dataclass(frozen=True)
class Section:
    code: str
    name_vi: str
    name_en: str
    phase: int
    description: str


@dataclass(frozen=True)
class Segment:
    """One centreline segment with its planned red line on each side."""

    project_code: str
    alternative: str
    segment_no: int
    section_code: str
    name: str
    left_width_m: float
    right_width_m: float
    existing_width_m: float
    gives_access: bool
    safety_m: float | None
    geometry: LineString


@dataclass(frozen=True)
class Project:
    """A road project: names, status, sections, and its alternatives' segments."""

    code: str
    name_vi: str
    name_en: str
    description: str
    status: str
    sections: list[Section]
    alternatives: dict[str, list[Segment]]
    adopted: str = "A"

    @property
    def segments(self) -> list[Segment]:
        """The adopted alternative's segments."""
        return self.alternatives[self.adopted]

    def redline(self, area: BaseGeometry, alternative: str | None = None) -> BaseGeometry:
        """The land between the red lines, joints filled, clipped to the area (the service
        builds the same polygon: ``gis.corridors.corridor_redline``)."""
        segs = self.alternatives[alternative or self.adopted]
        whole = corridor_redline([RedlineSegment(s.geometry, s.left_width_m, s.right_width_m)
                                  for s in segs])
        return areal(shapely.intersection(whole, area, grid_size=GRID))


def build_projects(frame: Frame) -> list[Project]:
    """Ring Road 3 placed on this frame (segments as drawn, not clipped)."""
    line = nguyen_hoang_line(frame)
    alternatives: dict[str, list[Segment]] = {}
    for alt in ("A", "B"):
        segs = []
        for no, (sec, name, a, b, wa, wb, existing, access, safety) in enumerate(_PLAN, 1):
            left, right = wa if alt == "A" else wb
            piece = ops.substring(line, a, line.length if b is None else b)
            segs.append(Segment(RING_ROAD_3, alt, no, sec, f"{name} ({INVENTED})", left, right,
                                existing, access, safety, LineString(piece.coords)))
        alternatives[alt] = segs
    assert all(a.geometry.coords[-1] == b.geometry.coords[0]
               for segs in alternatives.values() for a, b in itertools.pairwise(segs))
    sections = [
        Section("NH", "Đoạn Nguyễn Hoàng: cầu 0,59 km và đường 1,08 km (Bùi Thị Xuân – Lý Nam Đế)",
                "Nguyễn Hoàng section: bridge 0.59 km and road 1.08 km", 1,
                "1.67 km from Bùi Thị Xuân to Lý Nam Đế (DOMAIN.md); the bridge (380 m × 43 m) "
                "opened 26 March 2025; the widening widths are INVENTED."),
        Section("N2", "Đoạn phía bắc Lý Nam Đế (giai đoạn 2, giả lập)",
                "North of Lý Nam Đế (phase 2, invented)", 2,
                "SYNTHETIC: alignment, 32 m red line and 5 m safety corridor are invented."),
    ]
    return [Project(
        RING_ROAD_3, "Đường Vành đai 3 (giả lập)", "Ring Road 3 (synthetic)",
        "SYNTHETIC: Ring Road 3 through Kim Long on the Nguyễn Hoàng street centreline, the "
        "Nguyễn Hoàng widening and bridge as its section NH, a further phase N2. Lengths and "
        "the bridge's 43 m are from DOMAIN.md; every other width, the phase-2 alignment and "
        "alternative B are invented, not the approved plan.",
        "approved", sections, alternatives)]

"""How many vertices GDAL would make of a DXF drawing, counted before GDAL reads it.

GDAL turns arcs into line segments as it reads: every polyline bulge (group code 42),
circle, arc, ellipse and hatch arc edge becomes up to 90 segments (``OGR_ARC_STEPSIZE``,
4°), and a spline 8 points per control point.  A 4.4 MB drawing of 120,000 bulges
became 5.5 million vertices inside GDAL (320 → 608 MiB) before any cap of ours was
checked.  So a text DXF is scanned first, in C where it can be (a regular expression
over the mapped file picks out only the group codes that make vertices), and refused
when the vertices GDAL would make pass the cap.  The count errs high (a bulge always
counts its segments), never low.

A binary DXF is not scanned: the worker's limits (``gis.intake.worker``) bound it.
"""

from __future__ import annotations

import math
import mmap
import re
from pathlib import Path
from typing import Final

from gis.intake.errors import TooManyVerticesError

ARC_STEP_DEGREES: Final = 4.0
"""GDAL's default ``OGR_ARC_STEPSIZE``; the sandbox does not change it."""
FULL_ARC: Final = int(360 / ARC_STEP_DEGREES) + 1
SPLINE_POINTS_PER_CONTROL: Final = 8
_PAIR: Final = re.compile(rb"^[ \t]*(0|10|11|42|72)[ \t]*\r?\n[ \t]*([^\r\n]*)", re.M)
"""Group codes that make vertices: 0 (an entity starts), 10/11 (a point), 42 (a bulge),
72 (a hatch edge's type)."""
_ARCS: Final = frozenset({b"CIRCLE", b"ARC", b"ELLIPSE"})
_CURVED: Final = frozenset({b"SPLINE", b"HELIX", b"LEADER", b"MLEADER", b"MULTILEADER"})


def arc_segments(bulge: float) -> int:
    """Segments GDAL draws for a bulge: the arc's angle is 4·atan(|bulge|)."""
    if not math.isfinite(bulge):
        return FULL_ARC
    degrees = math.degrees(4 * math.atan(abs(bulge)))
    return math.ceil(degrees / ARC_STEP_DEGREES) + 1 if degrees else 0


def vertices_after_expansion(path: Path, *, stop_above: int) -> int:
    """The vertices GDAL would make of this text DXF (an upper bound), counting no further
    than just past ``stop_above``."""
    total = 0
    entity = b""
    with path.open("rb") as f:
        if f.read(18) == b"AutoCAD Binary DXF":
            return 0
        if f.seek(0, 2) == 0:
            return 0
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            for match in _PAIR.finditer(data):
                code, value = match.group(1), match.group(2).strip()
                if code == b"0":
                    entity = value.upper()
                    total += FULL_ARC if entity in _ARCS else 0
                elif code in (b"10", b"11"):
                    total += SPLINE_POINTS_PER_CONTROL if entity in _CURVED else 1
                elif code == b"42":
                    try:
                        total += arc_segments(float(value))
                    except ValueError:
                        total += FULL_ARC
                elif entity == b"HATCH" and value in (b"2", b"3"):  # an arc edge
                    total += FULL_ARC
                if total > stop_above:
                    break
    return total


def check_dxf_vertices(path: Path, *, max_vertices: int) -> None:
    """Refuse a drawing GDAL would expand past ``max_vertices``, before GDAL opens it."""
    found = vertices_after_expansion(path, stop_above=max_vertices)
    if found > max_vertices:
        raise TooManyVerticesError(
            f"Read as parcels, the drawing would have more than {max_vertices:,} vertices "
            "(arcs and bulges are drawn as many short segments); at most "
            f"{max_vertices:,} are accepted. Explode the arcs in CAD with fewer segments, "
            "or split the drawing.",
            vi=f"Bản vẽ sẽ có hơn {max_vertices:,} đỉnh (cung tròn được chia thành nhiều "
               "đoạn); hãy giảm số đoạn cung hoặc chia nhỏ bản vẽ.",
            max_vertices=max_vertices, estimated=True)

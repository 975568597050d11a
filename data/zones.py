"""Protection and planning zones: river corridor, heritage zones I and II, red lines.

The heritage zones of the Complex of Huế Monuments are not public (DOMAIN.md):
the polygons here are invented around the stand-in pagoda and tomb, and every
zone's name says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from shapely import affinity
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from data.frame import Frame
from data.geometry import GRID, areal, polygons
from data.projects import Project

INVENTED = "giả lập, ranh giới tự đặt"


@dataclass(frozen=True)
class Zone:
    """One single-part zone polygon."""

    zone_key: str
    kind: str
    name: str
    project_code: str | None
    geometry: BaseGeometry


def heritage_polygons(frame: Frame) -> list[tuple[str, str, BaseGeometry]]:
    """(kind, name, polygon) of both sites' zones I and II, zone II excluding zone I."""
    out: list[tuple[str, str, BaseGeometry]] = []
    for site, label, (a1, b1), (a2, b2), rot in (
        (frame.pagoda, "chùa trên đồi ven sông", (140.0, 100.0), (480.0, 340.0), 25.0),
        (frame.tomb, "lăng vua trong vùng đồi", (300.0, 200.0), (900.0, 650.0), -15.0),
    ):
        z1 = _ellipse(site, a1, b1, rot)
        z2 = shapely.difference(_ellipse(site, a2, b2, rot), z1, grid_size=GRID)
        out.append(("heritage_1", f"Khu vực bảo vệ I – {label} ({INVENTED})", z1))
        out.append(("heritage_2", f"Khu vực bảo vệ II – {label} ({INVENTED})", z2))
    return out


def build_zones(frame: Frame, projects: list[Project]) -> list[Zone]:
    """Every zone clipped to the generation area, split into single parts."""
    raw: list[tuple[str, str, str | None, BaseGeometry]] = [
        ("river_corridor", f"Hành lang bảo vệ sông Hương ({INVENTED})", None, frame.corridor)
    ]
    raw += [(k, n, None, g) for k, n, g in heritage_polygons(frame)]
    raw += [("road_redline", f"Chỉ giới đường đỏ – {p.name_vi}", p.code, p.redline(frame.area))
            for p in projects]
    zones: list[Zone] = []
    for kind, name, code, geom in raw:
        clipped = areal(shapely.intersection(geom, frame.area, grid_size=GRID))
        for part in polygons(clipped, 1.0):
            zones.append(Zone(f"Z{len(zones) + 1:03d}", kind, name, code, part))
    return zones


def _ellipse(centre: Point, a: float, b: float, rot: float) -> BaseGeometry:
    circle = centre.buffer(1.0, quad_segs=16)
    return shapely.set_precision(affinity.rotate(affinity.scale(circle, a, b), rot), GRID)

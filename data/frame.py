"""The physical and administrative frame of the synthetic ward.

Everything here is invented and placed by hand over the real outline so that
the result reads like Kim Long: the Perfume River (Sông Hương) entering in the
south, running north and turning east through the neck of the ward towards
the city; hills in the west and south; the urban core on the north bank in the
east; the four former units the parcels were surveyed under.  Positions are
given in EPSG:9214 for the real outline (``REF_*``); an outline elsewhere (a
test's own square) gets the same frame shifted so that its centre sits on the
demo anchor, at the same scale, because lot widths and road widths are metric.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, MultiPoint, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from data.elevation import Bump, Terrain
from data.geometry import GRID, areal, largest, polygons, smooth, variable_buffer
from data.seeds import rng_for

Size = Literal["tiny", "small", "full"]

ANCHOR: Final = (557_800.0, 1_820_050.0)
"""Demo centre: the north end of the Nguyễn Hoàng bridge (stand-in)."""

WINDOWS: Final[dict[str, tuple[float, float, float, float] | None]] = {
    "tiny": (557_790.0, 1_819_620.0, 558_060.0, 1_820_400.0),
    "small": (556_600.0, 1_819_450.0, 558_400.0, 1_821_000.0),
    "full": None,
}
"""Generation windows by size (whole outline at full)."""

REF_RIVER: Final = [
    (558_350.0, 1_805_150.0), (558_450.0, 1_806_800.0), (559_050.0, 1_808_600.0),
    (559_300.0, 1_810_500.0), (559_500.0, 1_812_500.0), (559_350.0, 1_814_300.0),
    (558_600.0, 1_815_900.0), (557_500.0, 1_817_000.0), (556_650.0, 1_818_100.0),
    (556_100.0, 1_819_050.0), (556_450.0, 1_819_750.0), (557_400.0, 1_820_000.0),
    (558_600.0, 1_820_230.0), (559_800.0, 1_820_470.0), (561_000.0, 1_820_800.0),
]
REF_RIVER_WIDTHS: Final = [170.0, 190.0, 210.0, 240.0, 260.0, 250.0, 230.0, 220.0, 210.0, 200.0,
                           210.0, 220.0, 230.0, 250.0, 260.0]
CORRIDOR_M: Final = 50.0
"""Invented river protection corridor beyond the banks."""

REF_BUMPS: Final = [
    Bump(550_700, 1_817_300, 90, 900), Bump(551_600, 1_815_200, 120, 1400),
    Bump(553_000, 1_813_900, 75, 900), Bump(552_700, 1_817_500, 60, 700),
    Bump(562_200, 1_808_600, 150, 1500), Bump(563_900, 1_808_100, 110, 1100),
    Bump(560_900, 1_807_000, 85, 900), Bump(561_600, 1_810_900, 70, 1000),
    Bump(558_000, 1_806_000, 55, 700), Bump(555_800, 1_813_300, 60, 1000),
    Bump(557_900, 1_810_800, 55, 800), Bump(552_500, 1_816_500, 70, 900),
    Bump(550_500, 1_815_000, 80, 1000), Bump(563_000, 1_810_200, 70, 1000),
    Bump(556_820, 1_820_230, 30, 280),  # the pagoda's riverside hill (Hà Khê stand-in)
]
REF_PAGODA: Final = (556_880.0, 1_820_140.0)
REF_TOMB: Final = (560_250.0, 1_808_350.0)
REF_URBAN: Final = ((559_150.0, 1_820_900.0), 1_600.0, 620.0, 20.0)
"""Urban core as an ellipse: centre, half-axes (m), rotation (degrees)."""

UNITS: Final = [
    ("kim_long", "Kim Long", (559_400.0, 1_821_000.0)),
    ("huong_long", "Hương Long", (557_000.0, 1_821_300.0)),
    ("huong_ho", "Hương Hồ", (553_000.0, 1_815_500.0)),
    ("huong_tho", "Hương Thọ", (560_000.0, 1_809_500.0)),
]
"""Former units: code, Vietnamese name, Voronoi seed (boundaries are invented)."""


@dataclass(frozen=True)
class Unit:
    """A former administrative unit the parcels were surveyed under."""

    code: str
    name_vi: str
    geometry: Polygon


@dataclass(frozen=True)
class Frame:
    """The invented landscape clipped to the generation area."""

    size: Size
    outline: Polygon
    area: Polygon
    offset: tuple[float, float]
    river_line: LineString
    river: BaseGeometry
    corridor: BaseGeometry
    hills: BaseGeometry
    urban: BaseGeometry
    urban_angle: float
    units: list[Unit]
    pagoda: Point
    tomb: Point
    terrain: Terrain

    def at(self, x: float, y: float) -> tuple[float, float]:
        """A reference (real-ward) position moved onto this outline."""
        return x + self.offset[0], y + self.offset[1]


def build_frame(outline: Polygon, size: Size, seed: int) -> Frame:
    """Lay the invented river, hills, urban core and former units over ``outline``."""
    offset = _offset(outline)
    dx, dy = offset

    def at(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(x + dx, y + dy) for x, y in points]

    area = _area(outline, size, offset)
    river_line = smooth(at(REF_RIVER), rounds=4)
    water = variable_buffer(river_line, REF_RIVER_WIDTHS)
    river = areal(shapely.intersection(water, area, grid_size=GRID))
    corridor = areal(
        shapely.intersection(water.buffer(CORRIDOR_M, quad_segs=4), area, grid_size=GRID)
    )
    bumps = [Bump(b.x + dx, b.y + dy, b.height, b.radius) for b in REF_BUMPS]
    terrain = Terrain(area.bounds, bumps, rng_for(seed, "terrain"))
    (cx, cy), a, b, rot = REF_URBAN
    ellipse = affinity.rotate(
        affinity.scale(Point(cx + dx, cy + dy).buffer(1.0, quad_segs=32), a, b), rot
    )
    land = areal(shapely.difference(area, water, grid_size=GRID))
    urban = shapely.intersection(ellipse, land, grid_size=GRID)
    urban = shapely.union_all(polygons(urban, 20_000.0), grid_size=GRID)
    hills = areal(shapely.difference(
        areal(shapely.intersection(terrain.hills(), land, grid_size=GRID)), urban, grid_size=GRID
    ))
    units = _units(outline, area, offset)
    return Frame(
        size=size, outline=outline, area=area, offset=offset, river_line=river_line,
        river=river, corridor=corridor, hills=hills, urban=urban,
        urban_angle=float(np.radians(rot)), units=units,
        pagoda=Point(at([REF_PAGODA])[0]), tomb=Point(at([REF_TOMB])[0]), terrain=terrain,
    )


def _offset(outline: Polygon) -> tuple[float, float]:
    if outline.contains(Point(ANCHOR)):
        return (0.0, 0.0)
    c = outline.centroid
    return (c.x - ANCHOR[0], c.y - ANCHOR[1])


def _area(outline: Polygon, size: Size, offset: tuple[float, float]) -> Polygon:
    window = WINDOWS[size]
    clean = shapely.set_precision(outline, GRID)
    if window is None:
        return largest(clean)
    minx, miny, maxx, maxy = window
    rect = box(minx + offset[0], miny + offset[1], maxx + offset[0], maxy + offset[1])
    return largest(shapely.intersection(clean, rect, grid_size=GRID))


def _units(outline: Polygon, area: Polygon, offset: tuple[float, float]) -> list[Unit]:
    seeds = [Point(x + offset[0], y + offset[1]) for _, _, (x, y) in UNITS]
    extent = outline.envelope.buffer(5_000.0)
    cells = shapely.get_parts(shapely.voronoi_polygons(MultiPoint(seeds), extend_to=extent))
    pieces: dict[str, BaseGeometry] = {}
    for (code, _, _), seed_pt in zip(UNITS, seeds, strict=True):
        cell = next(c for c in cells if c.contains(seed_pt))
        pieces[code] = shapely.intersection(cell, area, grid_size=GRID)
    pieces = _absorb_islands(pieces)
    names = {code: name for code, name, _ in UNITS}
    return [
        Unit(code, names[code], geom) for code, geom in pieces.items()
        if isinstance(geom, Polygon) and not geom.is_empty
    ]


def _absorb_islands(pieces: dict[str, BaseGeometry]) -> dict[str, BaseGeometry]:
    """Give each stray part of a unit to the neighbour it shares most border with.

    A straight Voronoi line across a wiggly outline leaves crumbs; a former
    unit is one polygon.
    """
    keep: dict[str, list[Polygon]] = {}
    strays: list[Polygon] = []
    for code, geom in pieces.items():
        parts = sorted(polygons(geom), key=lambda p: -p.area)
        keep[code] = parts[:1]
        strays.extend(parts[1:])
    for stray in strays:
        best = max(
            keep, key=lambda c: shapely.length(
                shapely.intersection(stray.boundary, keep[c][0].boundary)) if keep[c] else -1.0
        )
        keep[best].append(stray)
    out: dict[str, BaseGeometry] = {}
    for code, parts in keep.items():
        if parts:
            merged = shapely.union_all(parts, grid_size=GRID)
            out[code] = largest(merged) if len(polygons(merged)) > 1 else merged
    return out

"""The road network: arterials, the urban street grid with its kiệt lanes, rural roads, tracks.

Roads are drawn as centrelines with a width and become DGT parcels once
buffered and cut.  Hue's urban blocks are deep and served by narrow kiệt
(2-4 m lanes, often dead-ends), so the urban grid carries them; the rural
grid is wavy because village roads follow old dykes, not a ruler.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import affinity, ops
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from data.frame import Frame
from data.geometry import GRID, areal, rotate_xy, smooth

REF_NGUYEN_HOANG = [
    (557_860.0, 1_819_450.0), (557_930.0, 1_820_150.0), (558_020.0, 1_821_250.0),
    (558_090.0, 1_822_700.0),
]
"""The existing Nguyễn Hoàng street (stand-in), south strip to the northern edge."""
REF_WEST_ROAD = [
    (555_400.0, 1_818_900.0), (553_800.0, 1_818_200.0), (552_200.0, 1_817_900.0),
    (550_600.0, 1_817_000.0),
]


@dataclass(frozen=True)
class Road:
    """A road centreline with its width of road land."""

    geometry: LineString
    width: float
    kind: str  # arterial, street, kiet, rural, track


def build_roads(frame: Frame, rng: np.random.Generator) -> list[Road]:
    """All road centrelines that reach the generation area, in a fixed order."""
    roads = _arterials(frame)
    roads += _urban_grid(frame, rng)
    roads += _grid(frame, rng, region=_lowland(frame), spacing=(380.0, 620.0),
                   angle=np.radians(35.0), width=(5.0, 7.0), kind="rural", wave=30.0)
    roads += _grid(frame, rng, region=frame.hills, spacing=(900.0, 1400.0),
                   angle=np.radians(-20.0), width=(4.0, 4.0), kind="track", wave=60.0)
    near = frame.area.buffer(50.0)
    return [r for r in roads if r.geometry.intersects(near)]


def road_land(frame: Frame, roads: list[Road]) -> BaseGeometry:
    """Road land: every road buffered to its width, inside the area, minus the river."""
    buffers = [r.geometry.buffer(r.width / 2.0, quad_segs=4) for r in roads]
    merged = shapely.union_all(buffers, grid_size=GRID)
    land = areal(shapely.difference(frame.area, frame.river, grid_size=GRID))
    return areal(shapely.intersection(merged, land, grid_size=GRID))


def nguyen_hoang_line(frame: Frame) -> LineString:
    """Centreline of the existing Nguyễn Hoàng street (also the widening project's axis)."""
    return LineString([frame.at(x, y) for x, y in REF_NGUYEN_HOANG])


def _arterials(frame: Frame) -> list[Road]:
    line = frame.river_line
    neck = line.project(shapely.Point(frame.at(556_100.0, 1_819_050.0)))
    north = ops.substring(line, neck + 300.0, line.length)
    south = ops.substring(line, 0.0, neck - 200.0)
    roads = [
        Road(_offset(north, 165.0), 14.0, "arterial"),  # Kim Long street, north bank
        Road(_offset(south, 185.0), 10.0, "arterial"),  # west bank road
        Road(_offset(south, -185.0), 8.0, "arterial"),  # east bank road to the tomb
        Road(nguyen_hoang_line(frame), 12.0, "arterial"),
        Road(smooth([frame.at(x, y) for x, y in REF_WEST_ROAD], 3), 10.0, "arterial"),
    ]
    return [r for r in roads if not r.geometry.is_empty]


def _offset(line: LineString, distance: float) -> LineString:
    """A parallel line; the longest piece when a tight bend makes the offset fall apart."""
    out = shapely.offset_curve(line.simplify(20.0), distance, quad_segs=4, join_style="round")
    parts = list(shapely.get_parts(out))
    return max(parts, key=lambda p: p.length) if parts else LineString()


def _lowland(frame: Frame) -> BaseGeometry:
    return shapely.difference(
        frame.area, shapely.union_all([frame.hills, frame.urban, frame.river]), grid_size=GRID
    )


def _urban_grid(frame: Frame, rng: np.random.Generator) -> list[Road]:
    """Streets parallel and across the river, and kiệt lanes inside each grid cell."""
    if frame.urban.is_empty:
        return []
    angle = frame.urban_angle
    origin = (frame.urban.centroid.x, frame.urban.centroid.y)
    local = affinity.rotate(frame.urban, -angle, origin=origin, use_radians=True)
    u0, v0, u1, v1 = local.bounds
    us = _cuts(rng, u0 - 50, u1 + 50, 170.0, 260.0)
    vs = _cuts(rng, v0 - 50, v1 + 50, 110.0, 150.0)
    lines: list[tuple[list[tuple[float, float]], float, str]] = []
    for v in vs:
        lines.append(([(u0 - 60, v), (u1 + 60, v)], float(rng.uniform(9.0, 11.0)), "street"))
    for u in us:
        lines.append(([(u, v0 - 60), (u, v1 + 60)], float(rng.uniform(7.0, 9.0)), "street"))
    for ua, ub in itertools.pairwise(us):
        for va, vb in itertools.pairwise(vs):
            lines.extend(_kiet(rng, ua, ub, va, vb))
    clip = frame.urban.buffer(15.0)
    roads = []
    for pts, width, kind in lines:
        world = LineString(rotate_xy(np.asarray(pts), angle, origin))
        for part in shapely.get_parts(shapely.intersection(world, clip)):
            if isinstance(part, LineString) and part.length > 20.0:
                roads.append(Road(part, width, kind))
    return roads


def _kiet(
    rng: np.random.Generator, ua: float, ub: float, va: float, vb: float
) -> list[tuple[list[tuple[float, float]], float, str]]:
    """Lanes of one street-grid cell: a middle lane, and dead-end lanes off the streets."""
    out: list[tuple[list[tuple[float, float]], float, str]] = []
    mid = (va + vb) / 2.0 + rng.uniform(-8.0, 8.0)
    has_mid = rng.random() < 0.7
    if has_mid:
        out.append(([(ua, mid), (ub, mid)], float(rng.uniform(2.5, 3.8)), "kiet"))
    for u in _cuts(rng, ua + 25.0, ub - 25.0, 45.0, 80.0)[1:-1]:
        if rng.random() < 0.45:
            from_low = rng.random() < 0.5
            end = mid if has_mid else (va + vb) / 2.0 + rng.uniform(-10, 10)
            pts = [(u, va), (u, end)] if from_low else [(u, vb), (u, end)]
            out.append((pts, float(rng.uniform(2.0, 3.2)), "kiet"))
    return out


def _grid(
    frame: Frame, rng: np.random.Generator, *, region: BaseGeometry, spacing: tuple[float, float],
    angle: float, width: tuple[float, float], kind: str, wave: float,
) -> list[Road]:
    """A wavy rotated grid of roads clipped to ``region``."""
    if region.is_empty:
        return []
    origin = (frame.outline.centroid.x, frame.outline.centroid.y)
    # Lay the grid over the whole outline so that small windows see the same roads.
    local = affinity.rotate(frame.outline, -angle, origin=origin, use_radians=True)
    u0, v0, u1, v1 = local.bounds
    roads: list[Road] = []
    for axis in (0, 1):
        a0, a1, b0, b1 = (v0, v1, u0, u1) if axis == 0 else (u0, u1, v0, v1)
        for c in _cuts(rng, a0, a1, *spacing)[1:-1]:
            t = np.arange(b0, b1 + 50.0, 50.0)
            amp = rng.uniform(0.3, 1.0) * wave
            lam, phase = rng.uniform(600, 1400), rng.uniform(0, 6.3)
            off = c + amp * np.sin(2 * np.pi * t / lam + phase)
            pts = np.column_stack([t, off]) if axis == 0 else np.column_stack([off, t])
            world = LineString(rotate_xy(pts, angle, origin))
            w = float(rng.uniform(*width))
            for part in shapely.get_parts(shapely.intersection(world, region)):
                if isinstance(part, LineString) and part.length > 60.0:
                    roads.append(Road(part, w, kind))
    return roads


def _cuts(rng: np.random.Generator, lo: float, hi: float, smin: float, smax: float) -> list[float]:
    """Positions from ``lo`` to past ``hi`` with random spacing in [smin, smax]."""
    out = [lo]
    while out[-1] < hi:
        out.append(out[-1] + float(rng.uniform(smin, smax)))
    return out

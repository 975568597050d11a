"""Cutting the ward into parcels: water, road land, special sites, then blocks into lots.

The land between roads is split into classes first (urban core, village band
along roads, fields, hills) so that each class is cut the way such land is
really divided: narrow deep house lots on urban streets, garden lots along
village roads, long rice strips, large forest lots.  Every cut is an overlay
on the 1 mm grid; independent cuts still disagree by a millimetre along shared
edges, so the result is rebuilt once on a common noded linework
(:func:`data.coverage.clean_coverage`): neighbours share exact vertices, and the parcels
tile the ward without gaps or overlaps.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from data.coverage import clean_coverage
from data.frame import Frame
from data.geometry import GRID, areal, boxes_rotated, polygons, union
from data.roads import Road

VILLAGE_BAND_M = 40.0
"""Depth of the garden-village strip along rural roads and arterials."""

PUBLIC_USES = ("TSC", "DGD", "DYT", "DTT", "DVH")
STATE_USES = frozenset({"DGT", "SON", "DTL", "NTD", "DDT", *PUBLIC_USES})
"""Land managed by the state or the ward: no use-right certificate, never in the pool."""

_WEIGHTS: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "urban_front": (("ODT", "TMD", "TIN", "TON"), (0.95, 0.03, 0.01, 0.01)),
    "urban_inner": (("ODT", "CLN", "DTT", "TIN"), (0.56, 0.40, 0.02, 0.02)),
    "village": (("ONT", "CLN", "HNK", "BHK", "TIN", "TON", "DGD"),
                (0.55, 0.33, 0.05, 0.03, 0.02, 0.01, 0.01)),
    "hill": (("RSX", "RPH", "CLN"), (0.70, 0.20, 0.10)),
}
_FIELD_DOMINANT = (("LUC", "LUK", "HNK", "BHK"), (0.55, 0.25, 0.12, 0.08))


@dataclass
class Pieces:
    """Parcels under construction: geometry, land use, former unit, how they were cut."""

    geometry: list[Polygon] = field(default_factory=list)
    land_use: list[str] = field(default_factory=list)
    unit: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)

    def add(self, geoms: Sequence[Polygon], uses: Sequence[str], unit: str, kind: str) -> None:
        self.geometry.extend(geoms)
        self.land_use.extend(uses)
        self.unit.extend([unit] * len(geoms))
        self.kind.extend([kind] * len(geoms))


def special_sites(frame: Frame) -> list[tuple[Polygon, str]]:
    """The pagoda grounds (TON) and the royal tomb precinct (DDT), invented footprints."""
    sites = [
        (frame.pagoda, 150.0, 100.0, 25.0, "TON"),
        (frame.tomb, 420.0, 240.0, -15.0, "DDT"),
    ]
    out = []
    for pt, w, h, rot, use in sites:
        rect = affinity.rotate(box(pt.x - w / 2, pt.y - h / 2, pt.x + w / 2, pt.y + h / 2), rot)
        out.append((shapely.set_precision(rect, GRID), use))
    return out


def build_parcels(
    frame: Frame, roads: list[Road], road_land: BaseGeometry, rng: np.random.Generator
) -> Pieces:
    """Cut the whole generation area into parcels (unnumbered, unregistered)."""
    out = Pieces()
    land = areal(shapely.difference(frame.area, frame.river, grid_size=GRID))
    sites = [
        (areal(shapely.difference(areal(shapely.intersection(g, land, grid_size=GRID)),
                                  road_land, grid_size=GRID)), use)
        for g, use in special_sites(frame)
    ]
    taken = areal(union([road_land, *(g for g, _ in sites)]))
    free = areal(shapely.difference(land, taken, grid_size=GRID))
    band_roads = [r.geometry for r in roads if r.kind in ("rural", "arterial")]
    band = shapely.union_all(
        [g.buffer(VILLAGE_BAND_M, quad_segs=4) for g in band_roads], grid_size=GRID
    ) if band_roads else Polygon()
    urban_r = areal(shapely.intersection(free, frame.urban, grid_size=GRID))
    rest = areal(shapely.difference(free, frame.urban, grid_size=GRID))
    hill_r = areal(shapely.intersection(rest, frame.hills, grid_size=GRID))
    rest = areal(shapely.difference(rest, frame.hills, grid_size=GRID))
    village_r = areal(shapely.intersection(rest, band, grid_size=GRID))
    field_r = areal(shapely.difference(rest, band, grid_size=GRID))
    river_near = frame.river.buffer(300.0) if not frame.river.is_empty else Polygon()
    for unit in frame.units:
        ug = unit.geometry
        out.add(_cut_grid(frame.river, ug, 400.0), [], unit.code, "water")
        out.land_use.extend(["SON"] * (len(out.geometry) - len(out.land_use)))
        roads_here = _cut_grid(road_land, ug, 300.0)
        out.add(roads_here, ["DGT"] * len(roads_here), unit.code, "road")
        for geom, use in sites:
            parts = polygons(shapely.intersection(geom, ug, grid_size=GRID), 1.0)
            out.add(parts, [use] * len(parts), unit.code, "special")
        for cls, region in (("urban", urban_r), ("village", village_r), ("field", field_r),
                            ("hill", hill_r)):
            blocks = polygons(shapely.intersection(region, ug, grid_size=GRID), 0.5)
            for block in blocks:
                _block(out, block, cls, unit.code, frame, rng, river_near)
    return _shared_vertices(out, frame.area)


def _shared_vertices(pieces: Pieces, area: BaseGeometry) -> Pieces:
    """The same parcels as an exact coverage (see :mod:`data.coverage`); lost ones dropped,
    one cut in two by the cleaning kept as two parcels of the same use."""
    clean = clean_coverage(pieces.geometry, area if isinstance(area, Polygon) else None)
    out = Pieces()
    for parts, use, unit, kind in zip(clean, pieces.land_use, pieces.unit, pieces.kind,
                                      strict=True):
        out.add(parts, [use] * len(parts), unit, kind)
    return out


def _cut_grid(geom: BaseGeometry, unit: Polygon, cell: float) -> list[Polygon]:
    """Long water and road land in pieces a sheet can hold, as a cadastre does."""
    part = areal(shapely.intersection(geom, unit, grid_size=GRID))
    if part.is_empty:
        return []
    minx, miny, maxx, maxy = part.bounds
    xs = np.arange(np.floor(minx / cell) * cell, maxx + cell, cell)
    ys = np.arange(np.floor(miny / cell) * cell, maxy + cell, cell)
    gx, gy = np.meshgrid(xs[:-1], ys[:-1])
    cells = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + cell, gy.ravel() + cell)
    pieces = shapely.intersection(cells, part, grid_size=GRID)
    out: list[Polygon] = []
    for p in pieces:
        out.extend(polygons(p, 0.0))
    return _merge_small(out, 5.0, [""] * len(out))[0]


def _block(
    out: Pieces, block: Polygon, cls: str, unit: str, frame: Frame, rng: np.random.Generator,
    river_near: BaseGeometry,
) -> None:
    """Subdivide one block of one class and give each lot a land use."""
    area = block.area
    if cls == "urban" and area < 25_000 and rng.random() < 0.08:
        use = str(rng.choice((*PUBLIC_USES, "TON")))
        out.add([block], [use], unit, "urban_public")
        return
    angle = frame.urban_angle if cls == "urban" else _long_axis(block)
    cells, kinds = _cells(block, cls, angle, rng)
    pieces, piece_kinds = _clip(cells, kinds, block)
    min_area = {"urban": 30.0, "village": 150.0, "field": 250.0, "hill": 3000.0}[cls]
    merged, merged_kinds = _merge_small(pieces, min_area, piece_kinds)
    if cls == "field":
        dominant = _pick(rng, *_FIELD_DOMINANT)
        if block.intersects(river_near) and rng.random() < 0.3:
            dominant = "NTS"
        others = _FIELD_DOMINANT[0]
        uses = [dominant if rng.random() < 0.88 else _pick(rng, others, (0.4, 0.3, 0.2, 0.1))
                for _ in merged]
    elif cls == "hill":
        if rng.random() < 0.1:
            uses = ["NTD"] * len(merged)  # a hillside cemetery, as around Hue
        else:
            uses = [_hill_use(rng, g, frame) for g in merged]
    else:
        uses = [_pick(rng, *_WEIGHTS[k]) for k in merged_kinds]
    for g, u, k in zip(merged, uses, merged_kinds, strict=True):
        out.add([g], [u], unit, k)


def _hill_use(rng: np.random.Generator, geom: Polygon, frame: Frame) -> str:
    p = geom.representative_point()
    height = float(frame.terrain.sample(np.array([p.x]), np.array([p.y]))[0])
    if height > 60.0 and rng.random() < 0.6:
        return "RPH"  # protection forest on the high ground
    return _pick(rng, *_WEIGHTS["hill"])


def _pick(rng: np.random.Generator, values: Sequence[str], weights: Sequence[float]) -> str:
    w = np.asarray(weights, dtype=float)
    return values[int(rng.choice(len(values), p=w / w.sum()))]


def _long_axis(block: Polygon) -> float:
    """Direction of the block's longest side of its minimum rotated rectangle."""
    rect = shapely.oriented_envelope(block)
    if not isinstance(rect, Polygon):
        return 0.0
    xy = np.asarray(rect.exterior.coords)
    edges = np.diff(xy[:3], axis=0)
    e = edges[int(np.argmax(np.hypot(edges[:, 0], edges[:, 1])))]
    return float(np.arctan2(e[1], e[0]))


def _cells(
    block: Polygon, cls: str, angle: float, rng: np.random.Generator
) -> tuple[np.ndarray, list[str]]:
    """Rectangular cells covering the block in its own rotated frame, with a lot kind each."""
    c = block.centroid
    origin = (c.x, c.y)
    local = affinity.rotate(block, -angle, origin=origin, use_radians=True)
    u0, v0, u1, v1 = local.bounds
    depth = v1 - v0
    rows: list[tuple[float, float, tuple[float, float], str]] = []
    if cls == "urban":
        if depth <= 64.0:
            mid = v0 + depth / 2.0 + rng.uniform(-3.0, 3.0) if depth > 24.0 else v1
            rows.append((v0, mid, (4.0, 6.0), "urban_front"))
            if mid < v1:
                rows.append((mid, v1, (4.0, 6.0), "urban_front"))
        else:
            d1, d2 = rng.uniform(15.0, 30.0, 2)
            rows.append((v0, v0 + d1, (4.0, 6.0), "urban_front"))
            inner = _splits(rng, v0 + d1, v1 - d2, 20.0, 40.0)
            for a, b in itertools.pairwise(inner):
                rows.append((a, b, (12.0, 25.0), "urban_inner"))
            rows.append((v1 - d2, v1, (4.0, 6.0), "urban_front"))
    else:
        du, dv = {"village": ((28.0, 44.0), (40.0, 60.0)), "field": ((30.0, 60.0), (55.0, 110.0)),
                  "hill": ((110.0, 220.0), (110.0, 220.0))}[cls]
        vs = [v0, v1] if (cls == "village" and depth <= 70.0) else _splits(rng, v0, v1, *dv)
        for a, b in itertools.pairwise(vs):
            rows.append((a, b, du, cls))
    cu0, cv0, cu1, cv1, kinds = [], [], [], [], []
    for a, b, (smin, smax), kind in rows:
        us = _splits(rng, u0, u1, smin, smax)
        n = len(us) - 1
        cu0.extend(us[:-1])
        cu1.extend(us[1:])
        cv0.extend([a] * n)
        cv1.extend([b] * n)
        kinds.extend([kind] * n)
    cells = boxes_rotated(np.array(cu0), np.array(cv0), np.array(cu1), np.array(cv1), angle, origin)
    return cells, kinds


def _splits(
    rng: np.random.Generator, lo: float, hi: float, smin: float, smax: float
) -> list[float]:
    """Cut positions from lo to hi; the last interval absorbs the remainder."""
    if hi - lo <= smax:
        return [lo, hi]
    steps = rng.uniform(smin, smax, int((hi - lo) / smin) + 2)
    pos = lo + np.cumsum(steps)
    pos = pos[pos < hi - smin * 0.5]
    return [lo, *pos.tolist(), hi]


def _clip(cells: np.ndarray, kinds: list[str], block: Polygon) -> tuple[list[Polygon], list[str]]:
    """Cells cut to the block; cells wholly inside keep their exact rectangle."""
    shapely.prepare(block)
    inside = shapely.contains_properly(block, cells)
    out: list[Polygon] = []
    out_kinds: list[str] = []
    snapped = shapely.set_precision(cells[inside], GRID)
    for g, k in zip(snapped, np.asarray(kinds)[inside], strict=True):
        out.append(g)
        out_kinds.append(str(k))
    edge_idx = np.flatnonzero(~inside)
    if len(edge_idx):
        cut = shapely.intersection(cells[edge_idx], block, grid_size=GRID)
        for g, i in zip(cut, edge_idx, strict=True):
            for p in polygons(g, 0.0):
                out.append(p)
                out_kinds.append(kinds[i])
    return out, out_kinds


def _merge_small(
    pieces: list[Polygon], min_area: float, kinds: list[str]
) -> tuple[list[Polygon], list[str]]:
    """Fold crumbs left at block edges into the neighbour they share most border with."""
    geoms: list[Polygon | None] = list(pieces)
    areas = np.array([p.area for p in pieces])
    small = [int(i) for i in np.argsort(areas, kind="stable") if areas[i] < min_area]
    if small and len(pieces) > 1:
        tree = shapely.STRtree(pieces)
        owner = list(range(len(pieces)))

        def find(i: int) -> int:
            while owner[i] != i:
                i = owner[i]
            return i

        for i in small:
            gi = geoms[i]
            if gi is None or gi.area >= min_area:
                continue
            best, best_len = -1, 0.0
            for j in sorted({find(int(j)) for j in tree.query(pieces[i], predicate="intersects")}):
                gj = geoms[j]
                if j == i or gj is None:
                    continue
                shared = shapely.length(shapely.intersection(gi.boundary, gj.boundary))
                if shared > best_len:
                    best, best_len = j, float(shared)
            if best < 0:
                continue
            target = geoms[best]
            assert target is not None
            merged = shapely.union(target, gi, grid_size=GRID)
            if isinstance(merged, Polygon):
                geoms[best], geoms[i], owner[i] = merged, None, best
    keep = [i for i, g in enumerate(geoms) if g is not None]
    return [g for g in geoms if g is not None], [kinds[i] for i in keep]


def representative_points(geoms: Sequence[Polygon]) -> np.ndarray:
    """(n, 2) array of points inside each polygon."""
    pts = shapely.point_on_surface(np.asarray(geoms, dtype=object))
    return shapely.get_coordinates(pts)


__all__ = ["STATE_USES", "Pieces", "Point", "build_parcels", "representative_points",
           "special_sites"]

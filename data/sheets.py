"""Map sheets (tờ bản đồ) and parcel numbers (số thửa).

Sheets are a grid, 1 km squares at 1:2000 and 500 m squares at 1:1000 where
the square touches the urban core, cut by each former unit because sheet
numbers restart in every former unit.  A parcel belongs to the sheet holding
its representative point; parcels are numbered on a sheet in rows from the
north-west, alternating direction row by row as a surveyor walks them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from data.frame import Unit
from data.geometry import GRID, polygons


@dataclass(frozen=True)
class Sheet:
    """One numbered map sheet of one former unit."""

    former_unit: str
    sheet_no: int
    scale: int
    geometry: Polygon


def number_parcels(
    units: list[Unit], urban: BaseGeometry, parcel_unit: list[str], points: np.ndarray
) -> tuple[list[Sheet], np.ndarray, np.ndarray]:
    """Sheets used by parcels, and each parcel's sheet and parcel number."""
    sheet_of = np.zeros(len(parcel_unit), dtype=np.int64)
    number_of = np.zeros(len(parcel_unit), dtype=np.int64)
    units_arr = np.asarray(parcel_unit)
    sheets: list[Sheet] = []
    for unit in units:
        idx = np.flatnonzero(units_arr == unit.code)
        if not len(idx):
            continue
        candidates = _grid(unit.geometry, urban)
        geoms = np.asarray([g for g, _ in candidates], dtype=object)
        tree = shapely.STRtree(geoms)
        pts = shapely.points(points[idx])
        hit = np.full(len(idx), -1, dtype=np.int64)
        pairs = tree.query(pts, predicate="intersects")
        # Lowest candidate wins for a point on a shared edge: deterministic.
        for p, s in zip(pairs[0][::-1], pairs[1][::-1], strict=True):
            hit[p] = s
        missing = np.flatnonzero(hit < 0)
        if len(missing):
            hit[missing] = tree.query_nearest(pts[missing], all_matches=False)[1]
        used = sorted(set(hit.tolist()))
        for no, cand in enumerate(used, start=1):
            geom, scale = candidates[cand]
            sheets.append(Sheet(unit.code, no, scale, geom))
            members = idx[hit == cand]
            sheet_of[members] = no
            number_of[members] = _serpentine(points[members], geom, scale)
    return sheets, sheet_of, number_of


def _grid(unit: Polygon, urban: BaseGeometry) -> list[tuple[Polygon, int]]:
    """Sheet parts of a unit in numbering order: rows north to south, west to east."""
    minx, miny, maxx, maxy = unit.bounds
    x0, y1 = np.floor(minx / 1000.0) * 1000.0, np.ceil(maxy / 1000.0) * 1000.0
    out: list[tuple[Polygon, int]] = []
    for y in np.arange(y1, miny, -1000.0):
        for x in np.arange(x0, maxx, 1000.0):
            square = box(x, y - 1000.0, x + 1000.0, y)
            if not square.intersects(unit):
                continue
            if square.intersects(urban):
                quarters = [box(x + dx, y - dy - 500.0, x + dx + 500.0, y - dy)
                            for dy in (0.0, 500.0) for dx in (0.0, 500.0)]
                cells = [(q, 1000) for q in quarters]
            else:
                cells = [(square, 2000)]
            for cell, scale in cells:
                part = shapely.intersection(cell, unit, grid_size=GRID)
                ordered = sorted(polygons(part, 0.0), key=lambda p: (-p.bounds[3], p.bounds[0]))
                out.extend((p, scale) for p in ordered)
    return out


def _serpentine(points: np.ndarray, sheet: Polygon, scale: int) -> np.ndarray:
    """Parcel numbers 1..n on one sheet: rows from the north, alternating direction."""
    band = 30.0 if scale == 1000 else 60.0
    row = np.floor((sheet.bounds[3] - points[:, 1]) / band).astype(np.int64)
    x = np.where(row % 2 == 0, points[:, 0], -points[:, 0])
    order = np.lexsort((points[:, 1], x, row))
    numbers = np.empty(len(points), dtype=np.int64)
    numbers[order] = np.arange(1, len(points) + 1)
    return numbers

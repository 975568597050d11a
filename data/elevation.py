"""The synthetic terrain: lowland near sea level, hills in the west and south.

One smooth height field is the single source of the hills: the forest land
use, the hill polygons and the elevation GeoTIFF are all read from it, so a
forest parcel always lies on a hill and the river always lies lowest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import shapely
from rasterio import features
from rasterio.transform import Affine, from_origin
from shapely.geometry.base import BaseGeometry

from data.geometry import GRID, polygons

HILL_THRESHOLD_M: Final = 12.0
"""Above this height the land is hill country (forest, cemeteries, tomb)."""
COARSE_M: Final = 25.0


@dataclass(frozen=True)
class Bump:
    """One hill: a Gaussian bump of ``height`` metres whose flank reaches ``radius``."""

    x: float
    y: float
    height: float
    radius: float


class Terrain:
    """A height field over a bounding box, evaluated on a coarse grid and interpolated."""

    def __init__(
        self, bounds: tuple[float, float, float, float], bumps: list[Bump],
        rng: np.random.Generator,
    ) -> None:
        minx, miny, maxx, maxy = bounds
        self.x0, self.y0 = minx - 100.0, miny - 100.0
        self.nx = int((maxx - minx + 200.0) / COARSE_M) + 2
        self.ny = int((maxy - miny + 200.0) / COARSE_M) + 2
        xs = self.x0 + COARSE_M * np.arange(self.nx)
        ys = self.y0 + COARSE_M * np.arange(self.ny)
        gx, gy = np.meshgrid(xs, ys)  # row 0 is the southern edge
        low = _value_noise(rng, gx, gy, 600.0)
        rough = _value_noise(rng, gx, gy, 250.0)
        hills = np.zeros_like(gx)
        for b in bumps:
            sigma = b.radius / 2.0
            hills += b.height * np.exp(-((gx - b.x) ** 2 + (gy - b.y) ** 2) / (2 * sigma**2))
        self.grid = 2.5 + 1.2 * low + hills * (1.0 + 0.25 * rough)

    def sample(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Height in metres at world points (bilinear on the coarse grid)."""
        return _bilinear(self.grid, (np.asarray(x) - self.x0) / COARSE_M,
                         (np.asarray(y) - self.y0) / COARSE_M)

    def hills(self) -> BaseGeometry:
        """Hill country: where the height field exceeds ``HILL_THRESHOLD_M``."""
        mask = (self.grid[::-1] > HILL_THRESHOLD_M).astype(np.uint8)
        transform = from_origin(self.x0 - COARSE_M / 2, self.y0 + COARSE_M * (self.ny - 0.5),
                                COARSE_M, COARSE_M)
        shapes = [
            shapely.geometry.shape(g) for g, v in features.shapes(mask, mask=mask > 0,
                                                                   transform=transform) if v
        ]
        merged = shapely.union_all(shapes, grid_size=GRID)
        # Pixel staircases are not hills: round them to a landscape line.
        smooth = merged.buffer(30.0, quad_segs=4).buffer(-30.0, quad_segs=4).simplify(8.0)
        return shapely.union_all(polygons(smooth, 5000.0), grid_size=GRID)

    def raster(
        self, bounds: tuple[float, float, float, float], res: float, river: BaseGeometry,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, Affine]:
        """A Float32 DEM (north-up) at ``res`` metres with the river carved below the banks."""
        minx, miny, maxx, maxy = bounds
        width = int(np.ceil((maxx - minx) / res))
        height = int(np.ceil((maxy - miny) / res))
        transform = from_origin(minx, maxy, res, res)
        cx = minx + res * (np.arange(width) + 0.5)
        cy = maxy - res * (np.arange(height) + 0.5)
        fx = (cx - self.x0) / COARSE_M
        fy = (cy - self.y0) / COARSE_M
        dem = _bilinear(self.grid, fx[None, :], fy[:, None]).astype(np.float32)
        dem += rng.normal(0.0, 0.15, dem.shape).astype(np.float32)
        if not river.is_empty:
            bank = features.rasterize([(river.buffer(60.0), 1)], out_shape=dem.shape,
                                      transform=transform, dtype="uint8").astype(bool)
            np.minimum(dem, 3.0, out=dem, where=bank)
            water = features.rasterize([(river, 1)], out_shape=dem.shape, transform=transform,
                                       dtype="uint8").astype(bool)
            dem[water] = -2.5 + 0.3 * rng.standard_normal(int(water.sum())).astype(np.float32)
        return dem, transform


def _value_noise(
    rng: np.random.Generator, gx: np.ndarray, gy: np.ndarray, cell: float
) -> np.ndarray:
    """Smooth noise in [-1, 1] with features about ``cell`` metres across."""
    x0, y0 = gx.min(), gy.min()
    nx = int((gx.max() - x0) / cell) + 3
    ny = int((gy.max() - y0) / cell) + 3
    lattice = rng.uniform(-1.0, 1.0, (ny, nx))
    return _bilinear(lattice, (gx - x0) / cell, (gy - y0) / cell)


def _bilinear(grid: np.ndarray, fx: np.ndarray, fy: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of ``grid[row=y, col=x]`` at fractional indices (clamped)."""
    fx = np.clip(fx, 0, grid.shape[1] - 1.001)
    fy = np.clip(fy, 0, grid.shape[0] - 1.001)
    ix, iy = np.floor(fx).astype(np.intp), np.floor(fy).astype(np.intp)
    tx, ty = fx - ix, fy - iy
    ix, iy = np.broadcast_arrays(ix, iy)
    tx, ty = np.broadcast_arrays(tx, ty)
    a = grid[iy, ix] * (1 - tx) + grid[iy, ix + 1] * tx
    b = grid[iy + 1, ix] * (1 - tx) + grid[iy + 1, ix + 1] * tx
    return a * (1 - ty) + b * ty

"""Raster outputs: the synthetic DEM and an aerial-like RGB image drawn from the parcels.

The image is a rendering, not a photograph: land-use colours, a per-parcel
tint, roofs on residential lots and pixel noise, so that field maps have
something to sit on offline.  At full size the whole ward at 1 m is ~264
million pixels, so only the urban core and the projects' corridors are drawn,
window by window, into a sparse tiled file.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import rasterio
import shapely
from rasterio import features
from rasterio.enums import Resampling
from rasterio.transform import from_origin
from rasterio.windows import Window
from rasterio.windows import bounds as window_bounds
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from data.elevation import Terrain
from data.geometry import GRID
from gis.crs import WARD

SYNTHETIC_TAG: Final = "SYNTHETIC — not real cadastral data or imagery (Kim Long demo ward)"
NODATA_DEM: Final = -9999.0
PALETTE: Final[dict[str, tuple[int, int, int]]] = {
    "ODT": (150, 140, 128), "TMD": (150, 140, 128), "ONT": (112, 134, 84), "CLN": (66, 104, 52),
    "LUC": (118, 160, 70), "LUK": (138, 168, 80), "HNK": (160, 150, 92), "BHK": (150, 160, 100),
    "NTS": (70, 100, 112), "RSX": (44, 84, 44), "RPH": (34, 72, 40), "NTD": (172, 166, 150),
    "TON": (150, 122, 100), "TIN": (150, 122, 100), "DDT": (140, 126, 100), "DGT": (112, 110, 106),
    "SON": (58, 88, 100), "TSC": (160, 150, 140), "DGD": (160, 150, 140), "DYT": (160, 150, 140),
    "DTT": (120, 140, 100), "DVH": (160, 150, 140),
}
ROOFED: Final = {"ODT": 0.72, "TMD": 0.75, "ONT": 0.35, "TON": 0.4, "TIN": 0.4, "TSC": 0.5,
                 "DGD": 0.45, "DYT": 0.5, "DVH": 0.45, "DDT": 0.3}
ROOFS: Final = np.array([(168, 82, 62), (128, 128, 134), (92, 92, 98), (100, 112, 130),
                         (190, 110, 80)], dtype=np.int16)
TEXTURED: Final = {"CLN", "RSX", "RPH", "ONT"}


def write_elevation(path: str, terrain: Terrain, area: Polygon, river: BaseGeometry,
                    rng: np.random.Generator, res: float = 5.0) -> None:
    """Float32 DEM in EPSG:9214, tiled and deflated, no data outside the area."""
    minx, miny, maxx, maxy = area.bounds
    bounds = (np.floor(minx / res) * res, np.floor(miny / res) * res,
              np.ceil(maxx / res) * res, np.ceil(maxy / res) * res)
    dem, transform = terrain.raster(bounds, res, river, rng)
    inside = features.rasterize([(area, 1)], out_shape=dem.shape, transform=transform,
                                dtype="uint8").astype(bool)
    dem[~inside] = NODATA_DEM
    profile = dict(driver="GTiff", width=dem.shape[1], height=dem.shape[0], count=1,
                   dtype="float32", crs=f"EPSG:{WARD}", transform=transform, nodata=NODATA_DEM,
                   tiled=True, blockxsize=256, blockysize=256, compress="deflate", predictor=3)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(dem, 1)
        dst.update_tags(SYNTHETIC=SYNTHETIC_TAG, UNITS="metre", SOURCE="data/elevation.py")
        dst.set_band_description(1, "synthetic elevation (m)")


def write_imagery(path: str, geoms: list[Polygon], land_use: list[str], interest: BaseGeometry,
                  rng: np.random.Generator, res: float = 1.0, window: int = 1024) -> None:
    """RGB uint8 JPEG-in-TIFF with a mask, overviews, drawn only where ``interest`` is."""
    minx, miny, maxx, maxy = interest.bounds
    minx, miny = np.floor(minx / res) * res, np.floor(miny / res) * res
    width, height = int(np.ceil((maxx - minx) / res)), int(np.ceil((maxy - miny) / res))
    transform = from_origin(minx, miny + height * res, res, res)
    arr = np.asarray(geoms, dtype=object)
    tree = shapely.STRtree(arr)
    codes = sorted(PALETTE)
    lu_idx = np.array([codes.index(u) if u in PALETTE else codes.index("DGT") for u in land_use])
    base = np.array([PALETTE[c] for c in codes], dtype=np.int16)
    tint = rng.integers(-14, 15, (len(geoms), 3)).astype(np.int16)
    roof = ROOFS[rng.integers(len(ROOFS), size=len(geoms))]
    shapely.prepare(interest)
    profile = dict(driver="GTiff", width=width, height=height, count=3, dtype="uint8",
                   crs=f"EPSG:{WARD}", transform=transform, tiled=True, blockxsize=256,
                   blockysize=256, compress="jpeg", jpeg_quality=85, photometric="ycbcr",
                   sparse_ok=True)
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(path, "w", **profile) as dst:
        for row in range(0, height, window):
            for col in range(0, width, window):
                win = Window(col, row, min(window, width - col), min(window, height - row))
                wb = box(*window_bounds(win, transform))
                if not interest.intersects(wb):
                    continue
                rgb, mask = _render(win, transform, wb, arr, tree, lu_idx, base, tint, roof,
                                    land_use, interest, rng)
                dst.write(rgb, window=win)
                dst.write_mask(mask, window=win)
        dst.update_tags(SYNTHETIC=SYNTHETIC_TAG, SOURCE="rendered from ward.gpkg parcels")
        dst.build_overviews([2, 4, 8, 16], Resampling.average)


def _render(win: Window, transform: rasterio.Affine, wb: Polygon, arr: np.ndarray,
            tree: shapely.STRtree, lu_idx: np.ndarray, base: np.ndarray, tint: np.ndarray,
            roof: np.ndarray, land_use: list[str], interest: BaseGeometry,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    shape = (int(win.height), int(win.width))
    wt = rasterio.windows.transform(win, transform)
    hits = np.sort(tree.query(wb))
    pid = np.full(shape, -1, dtype=np.int32)
    if len(hits):
        pid = features.rasterize(((arr[i], int(i)) for i in hits), out_shape=shape,
                                 transform=wt, fill=-1, dtype="int32")
    valid = pid >= 0
    safe = np.where(valid, pid, 0)
    rgb = base[lu_idx[safe]] + tint[safe]
    houses = []
    for i in hits:
        share = ROOFED.get(land_use[i])
        if share:
            g = arr[i]
            houses.append((shapely.affinity.scale(g, share**0.5, share**0.5), int(i)))
    if houses:
        hid = features.rasterize(houses, out_shape=shape, transform=wt, fill=-1, dtype="int32")
        on = hid >= 0
        rgb[on] = roof[hid[on]]
    textured = np.isin(lu_idx[safe], [sorted(PALETTE).index(c) for c in TEXTURED]) & valid
    blotch = np.kron(rng.integers(-22, 23, (shape[0] // 4 + 1, shape[1] // 4 + 1)),
                     np.ones((4, 4), dtype=np.int64))[: shape[0], : shape[1]]
    rgb += np.where(textured, blotch, 0)[..., None].astype(np.int16)
    rgb += rng.integers(-6, 7, rgb.shape).astype(np.int16)
    mask = features.rasterize([(interest, 255)], out_shape=shape, transform=wt,
                              dtype="uint8") if not interest.contains(wb) else np.full(
                                  shape, 255, dtype=np.uint8)
    mask[~valid] = 0
    out = np.clip(rgb, 0, 255).astype(np.uint8).transpose(2, 0, 1)
    out[:, mask == 0] = 0
    return out, mask


def imagery_interest(area: Polygon, urban: BaseGeometry, redlines: list[BaseGeometry],
                     whole: bool) -> BaseGeometry:
    """Where to draw: the whole area when small, else the urban core and project corridors."""
    if whole:
        return area
    parts = [urban.buffer(100.0), *(r.buffer(150.0) for r in redlines)]
    return shapely.intersection(shapely.union_all(parts), area, grid_size=GRID)

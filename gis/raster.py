"""Raster helpers: windowed reads warped onto a grid, hillshade, elevation statistics, PNG.

Pure functions on rasterio datasets and numpy arrays (no database, no web).  Every
rasterio handle is scoped in ``with``.  A read asks for the destination grid (bounds,
size, CRS) and gets exactly that grid back: the source window under it is read at the
overview level that suits the size, then warped with GDAL, whose VN-2000 transformation
is PROJ's, the same as :mod:`gis.crs` uses for vectors (so a parcel and its imagery line up).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import rasterio
from rasterio import features
from rasterio.crs import CRS as RioCRS
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from rasterio.transform import Affine, from_bounds
from rasterio.warp import reproject, transform_bounds
from rasterio.windows import Window
from shapely.geometry.base import BaseGeometry

WEB_MERCATOR: Final = 3857
"""The CRS Leaflet draws in: an image overlay must be in it to sit right on the map."""
EARTH_HALF_CIRCUMFERENCE: Final = 20037508.342789244
"""Half the extent of EPSG:3857 in metres (the tile pyramid's edge)."""


@dataclass(frozen=True)
class Grid:
    """A destination grid: bounds (minx, miny, maxx, maxy) in ``crs``, ``width`` × ``height``."""

    bounds: tuple[float, float, float, float]
    width: int
    height: int
    crs: int

    @property
    def transform(self) -> Affine:
        return from_bounds(*self.bounds, self.width, self.height)

    @classmethod
    def around(cls, bounds: tuple[float, float, float, float], crs: int, *,
               resolution: float, max_size: int = 2048) -> Grid:
        """The grid covering ``bounds`` at ``resolution`` (CRS units per pixel), coarsened so
        that neither side exceeds ``max_size`` pixels."""
        minx, miny, maxx, maxy = bounds
        w, h = max(maxx - minx, resolution), max(maxy - miny, resolution)
        res = max(resolution, w / max_size, h / max_size)
        width, height = max(1, math.ceil(w / res)), max(1, math.ceil(h / res))
        return cls((minx, miny, minx + width * res, miny + height * res), width, height, crs)


@dataclass(frozen=True)
class Clip:
    """Bands ``(count, height, width)`` on ``grid`` and where they hold data (``valid``)."""

    data: np.ndarray
    valid: np.ndarray
    grid: Grid

    @property
    def coverage(self) -> float:
        """Share of the grid's pixels that hold data (0 when the raster misses it)."""
        return float(self.valid.mean()) if self.valid.size else 0.0


def _rio_crs(epsg: int) -> RioCRS:
    return RioCRS.from_epsg(epsg)


def native_resolution(path: Path) -> float:
    """The raster's pixel size in its own CRS units (the larger of x and y)."""
    with rasterio.open(path) as src:
        return float(max(abs(src.res[0]), abs(src.res[1])))


def raster_crs(path: Path) -> int:
    with rasterio.open(path) as src:
        epsg = src.crs.to_epsg() if src.crs else None
    if epsg is None:
        raise ValueError(f"{path} has no EPSG CRS")
    return int(epsg)


def warp(path: Path, grid: Grid, *, resampling: Resampling = Resampling.bilinear,
         bands: tuple[int, ...] | None = None) -> Clip | None:
    """The raster at ``path`` on ``grid``; None when the raster does not reach the grid.

    Only the source window under the grid (plus two pixels) is read, decimated to about
    the grid's resolution so that the overviews serve small grids.  Pixels outside the
    raster or under its mask are ``valid == False`` and zero (or NaN for floats).
    """
    with rasterio.open(path) as src:
        src_crs = src.crs
        sb = transform_bounds(_rio_crs(grid.crs), src_crs, *grid.bounds, densify_pts=21)
        win = src.window(*sb)
        col0, row0 = max(0, math.floor(win.col_off) - 2), max(0, math.floor(win.row_off) - 2)
        col1 = min(src.width, math.ceil(win.col_off + win.width) + 2)
        row1 = min(src.height, math.ceil(win.row_off + win.height) + 2)
        if col1 <= col0 or row1 <= row0:
            return None
        window = Window(col0, row0, col1 - col0, row1 - row0)
        # Read no finer than twice the destination's pixel: overviews do the decimation.
        dst_res = (grid.bounds[2] - grid.bounds[0]) / grid.width
        src_res_in_dst = (sb[2] - sb[0]) / max(win.width, 1e-9)
        factor = max(1.0, dst_res / max(src_res_in_dst, 1e-12) / 2.0)
        out_w = max(1, round(window.width / factor))
        out_h = max(1, round(window.height / factor))
        idx = list(bands) if bands else list(range(1, src.count + 1))
        data = src.read(idx, window=window, out_shape=(len(idx), out_h, out_w),
                        resampling=Resampling.average if factor > 1.5 else Resampling.nearest)
        mask = src.dataset_mask(window=window, out_shape=(out_h, out_w))
        nodata = src.nodata
        wt = src.window_transform(window) @ Affine.scale(window.width / out_w,
                                                         window.height / out_h)
    floating = np.issubdtype(data.dtype, np.floating)
    fill = np.nan if floating else 0
    src_data = data.astype("float32") if floating else data
    if floating and nodata is not None:
        src_data = np.where(src_data == nodata, np.nan, src_data)
    dst = np.full((len(idx), grid.height, grid.width), fill, dtype=src_data.dtype)
    reproject(src_data, dst, src_transform=wt, src_crs=src_crs, dst_transform=grid.transform,
              dst_crs=_rio_crs(grid.crs), resampling=resampling,
              src_nodata=np.nan if floating else None, dst_nodata=fill)
    valid_f = np.zeros((grid.height, grid.width), dtype="float32")
    reproject((mask > 0).astype("float32"), valid_f, src_transform=wt, src_crs=src_crs,
              dst_transform=grid.transform, dst_crs=_rio_crs(grid.crs),
              resampling=Resampling.nearest, src_nodata=None, dst_nodata=0)
    valid = valid_f > 0.5
    if floating:
        valid &= ~np.isnan(dst).any(axis=0)
    dst[:, ~valid] = fill
    if not valid.any():
        return None
    return Clip(dst, valid, grid)


def warp_array(data: np.ndarray, valid: np.ndarray, src: Grid, dst: Grid, *,
               resampling: Resampling = Resampling.bilinear) -> Clip:
    """An array on one grid (e.g. a hillshade made on the metric grid) warped onto another."""
    src_data = np.where(valid[None], data, np.nan).astype("float32")
    out = np.full((data.shape[0], dst.height, dst.width), np.nan, dtype="float32")
    reproject(src_data, out, src_transform=src.transform, src_crs=_rio_crs(src.crs),
              dst_transform=dst.transform, dst_crs=_rio_crs(dst.crs), resampling=resampling,
              src_nodata=np.nan, dst_nodata=np.nan)
    ok = ~np.isnan(out).any(axis=0)
    return Clip(np.nan_to_num(out), ok, dst)


# ----------------------------------------------------------------------- terrain


def hillshade(dem: np.ndarray, resolution: float, *, azimuth: float = 315.0,
              altitude: float = 45.0, z_factor: float = 1.0) -> np.ndarray:
    """Horn's hillshade (0–255 float) of a north-up DEM with square pixels of ``resolution``.

    Light from ``azimuth`` degrees clockwise from north, ``altitude`` degrees above the
    horizon (the usual 315°/45°).  Edges and NaN cells take their neighbours' slope.
    """
    z = np.asarray(dem, dtype="float64")
    if np.isnan(z).any():
        fill = np.nanmean(z) if np.isfinite(z).any() else 0.0
        z = np.where(np.isnan(z), fill, z)
    p = np.pad(z, 1, mode="edge")
    # Horn (1981): weighted differences over the 3×3 neighbourhood; rows run north → south.
    dzdx = ((p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:])
            - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])) / (8.0 * resolution)
    dzdy = ((p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])
            - (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:])) / (8.0 * resolution)
    dzdx, dzdy = dzdx * z_factor, dzdy * z_factor  # dzdy: rise towards the north
    slope = np.arctan(np.hypot(dzdx, dzdy))
    aspect = np.arctan2(-dzdx, -dzdy)  # direction the surface faces, clockwise from north
    az, alt = math.radians(azimuth), math.radians(altitude)
    shade = (math.sin(alt) * np.cos(slope)
             + math.cos(alt) * np.sin(slope) * np.cos(az - aspect))
    return np.clip(shade, 0.0, 1.0) * 255.0


@dataclass(frozen=True)
class ElevationStats:
    """Heights over a parcel (metres) and the share of its area below ``flood_level_m``."""

    min_m: float
    mean_m: float
    max_m: float
    below_share: float
    flood_level_m: float
    cells: int

    def as_dict(self) -> dict[str, float | int]:
        return {"min_m": round(self.min_m, 2), "mean_m": round(self.mean_m, 2),
                "max_m": round(self.max_m, 2), "below_share": round(self.below_share, 4),
                "flood_level_m": self.flood_level_m, "cells": self.cells}


def elevation_stats(path: Path, geometries: list[BaseGeometry], *, crs: int,
                    flood_level_m: float) -> list[ElevationStats | None]:
    """Min/mean/max height and the share below the flood level for each geometry.

    Cells count when their centre lies inside the geometry; a geometry smaller than a
    cell takes the cell under its representative point.  None where the DEM has no
    data under the geometry.  Geometries must be in the DEM's CRS (``crs`` is checked).
    """
    out: list[ElevationStats | None] = []
    with rasterio.open(path) as src:
        if src.crs is None or src.crs.to_epsg() != crs:
            raise ValueError(f"geometries are in EPSG:{crs} but the DEM {path.name} is in "
                             f"{src.crs}: reproject the geometries first")
        nodata = src.nodata
        for geom in geometries:
            if geom is None or geom.is_empty:
                out.append(None)
                continue
            win = src.window(*geom.bounds).round_offsets(op="floor").round_lengths(op="ceil")
            win = Window(win.col_off - 1, win.row_off - 1, win.width + 2, win.height + 2)
            full = Window(0, 0, src.width, src.height)
            try:
                win = win.intersection(full)
            except rasterio.errors.WindowError:
                out.append(None)
                continue
            values = src.read(1, window=win, masked=False).astype("float64")
            wt = src.window_transform(win)
            inside = features.geometry_mask([geom], out_shape=values.shape, transform=wt,
                                            invert=True, all_touched=False)
            if not inside.any():
                pt = geom.representative_point()
                r, c = rasterio.transform.rowcol(wt, pt.x, pt.y)
                inside = np.zeros_like(inside)
                if 0 <= r < values.shape[0] and 0 <= c < values.shape[1]:
                    inside[r, c] = True
            ok = inside & np.isfinite(values)
            if nodata is not None:
                ok &= values != nodata
            v = values[ok]
            if v.size == 0:
                out.append(None)
                continue
            out.append(ElevationStats(min_m=float(v.min()), mean_m=float(v.mean()),
                                      max_m=float(v.max()),
                                      below_share=float((v < flood_level_m).mean()),
                                      flood_level_m=flood_level_m, cells=int(v.size)))
    return out


# ------------------------------------------------------------------------ tiles


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Bounds in EPSG:3857 of the XYZ tile (the scheme Leaflet and OSM use)."""
    n = 2**z
    size = 2 * EARTH_HALF_CIRCUMFERENCE / n
    minx = -EARTH_HALF_CIRCUMFERENCE + x * size
    maxy = EARTH_HALF_CIRCUMFERENCE - y * size
    return (minx, maxy - size, minx + size, maxy)


def tile_grid(z: int, x: int, y: int, size: int = 256) -> Grid:
    if not (0 <= z <= 24 and 0 <= x < 2**z and 0 <= y < 2**z):
        raise ValueError(f"tile {z}/{x}/{y} does not exist")
    return Grid(tile_bounds(z, x, y), size, size, WEB_MERCATOR)


# ------------------------------------------------------------------------- images


def _encode(bands: np.ndarray, driver: str, **options: object) -> bytes:
    count, height, width = bands.shape
    with warnings.catch_warnings():
        # An image file has no geotransform, and needs none: the caller knows its bounds.
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile() as mem:
            with mem.open(driver=driver, width=width, height=height, count=count,
                          dtype="uint8", **options) as dst:
                dst.write(bands)
            return bytes(mem.read())


def to_png(rgb: np.ndarray, alpha: np.ndarray | None = None) -> bytes:
    """PNG bytes of a ``(3, h, w)`` (or ``(1, h, w)``) uint8 array, with an alpha band."""
    bands = np.asarray(rgb, dtype="uint8")
    if bands.ndim == 2:
        bands = bands[None]
    if alpha is not None:
        bands = np.concatenate([bands, np.asarray(alpha, dtype="uint8")[None]])
    return _encode(bands, "PNG")


def to_jpeg(rgb: np.ndarray, quality: int = 80) -> bytes:
    """JPEG bytes of a ``(3, h, w)`` uint8 array (imagery without holes: a third of a PNG)."""
    return _encode(np.asarray(rgb, dtype="uint8"), "JPEG", quality=quality)

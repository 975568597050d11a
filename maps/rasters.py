"""The background rasters of our maps: where they are, and cuts of them for one map.

The rasters are the service's own (no tile server on the internet): the imagery GeoTIFF
and the elevation model.  Their paths come from settings (``CADASTRE_MAPS_IMAGERY``,
``CADASTRE_MAPS_ELEVATION``); unset, they are the files the demo generator wrote beside
the synthetic ward that is loaded (found by the load's fingerprint among the generated
folders under ``<state>/demo/``).  Either may be absent: maps then say so and render
without it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rasterio.enums import Resampling
from shapely.geometry.base import BaseGeometry

from config.maps import MapSettings
from gis import raster
from gis.crs import WARD, transform
from maps.field import Raster

log = logging.getLogger("cadastre.maps")
MAX_CLIP_PX = 1600
"""Largest side of a cut for one map (the imagery is 1 m: a 1.6 km field of view)."""


@dataclass(frozen=True)
class Rasters:
    imagery: Path | None
    elevation: Path | None


def demo_folder(state_dir: Path, fingerprint: str) -> Path | None:
    """The generated folder whose parcels the registry holds (``<hash16>-<size>``)."""
    digest, _, size = fingerprint.partition("-")
    for manifest in sorted((state_dir / "demo").glob("*/manifest.json")):
        try:
            m = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if m.get("size") == size and m.get("content_sha256", {}).get(
                "parcels", "").startswith(digest):
            return manifest.parent
    return None


def locate(settings: MapSettings, *, state_dir: Path, fingerprint: str | None) -> Rasters:
    imagery, elevation = settings.imagery, settings.elevation
    if (imagery is None or elevation is None) and fingerprint:
        folder = demo_folder(state_dir, fingerprint)
        if folder is not None:
            imagery = imagery or folder / "imagery.tif"
            elevation = elevation or folder / "elevation.tif"
    return Rasters(imagery if imagery and imagery.is_file() else None,
                   elevation if elevation and elevation.is_file() else None)


def _mercator_grid(area: BaseGeometry, resolution_m: float) -> raster.Grid:
    merc = transform(area, WARD, raster.WEB_MERCATOR)
    # Web Mercator stretches lengths by 1/cos(latitude) (≈ 1.04 at Huế): keep the pixel
    # as fine as the source's on the ground.
    return raster.Grid.around(merc.bounds, raster.WEB_MERCATOR, resolution=resolution_m * 1.04,
                              max_size=MAX_CLIP_PX)


def _bounds_wgs84(grid: raster.Grid) -> tuple[float, float, float, float]:
    from gis.crs import transformer

    t = transformer(raster.WEB_MERCATOR, 4326)
    (x0, x1), (y0, y1) = t.transform([grid.bounds[0], grid.bounds[2]],
                                     [grid.bounds[1], grid.bounds[3]])
    return (x0, y0, x1, y1)


def imagery_clip(path: Path | None, area: BaseGeometry) -> Raster | None:
    """The imagery under ``area`` (EPSG:9214) for a Leaflet overlay, or None when the
    imagery does not cover any of it."""
    if path is None:
        return None
    grid = _mercator_grid(area, raster.native_resolution(path))
    clip = raster.warp(path, grid, resampling=Resampling.bilinear, bands=(1, 2, 3))
    if clip is None:
        return None
    rgb = clip.data.astype("uint8")
    if clip.valid.all():
        image, mime = raster.to_jpeg(rgb), "image/jpeg"
    else:
        image, mime = raster.to_png(rgb, np.where(clip.valid, 255, 0)), "image/png"
    return Raster(image, mime, _bounds_wgs84(grid))


def hillshade_clip(path: Path | None, area: BaseGeometry) -> Raster | None:
    """A grey hillshade of the elevation model under ``area``, transparent off the model."""
    if path is None:
        return None
    res = raster.native_resolution(path)
    grid_w = raster.Grid.around(area.buffer(2 * res).bounds, WARD, resolution=res)
    dem = raster.warp(path, grid_w, resampling=Resampling.bilinear)
    if dem is None:
        return None
    shade = raster.hillshade(dem.data[0], (grid_w.bounds[2] - grid_w.bounds[0]) / grid_w.width)
    # Shade on the metric grid (true slopes), then warp the picture to Web Mercator.
    merc = _mercator_grid(area, res)
    out = raster.warp_array(shade[None].astype("float32"), dem.valid, grid_w, merc)
    grey = np.clip(out.data[0], 0, 255).astype("uint8")
    return Raster(raster.to_png(np.stack([grey] * 3), np.where(out.valid, 255, 0)),
                  "image/png", _bounds_wgs84(merc))


def elevation_stats(path: Path | None, geoms: list[BaseGeometry], flood_level_m: float
                    ) -> list[raster.ElevationStats | None]:
    if path is None:
        return [None] * len(geoms)
    return raster.elevation_stats(path, geoms, crs=WARD, flood_level_m=flood_level_m)

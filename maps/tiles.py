"""Tiles for the ward overview: parcels as vector tiles, imagery and hillshade as PNG.

Parcel tiles are made by PostGIS (``ST_AsMVT``) and kept in memory per worker, keyed by
the registry version (the ward's newest parcel version id): any change to any parcel gives
new keys, so a cached tile is never stale, and the page names the version in the tile URL
so browsers may keep tiles too.  At low zoom, parcels under about three pixels square are left out
(a 46,000-parcel ward would otherwise put tens of thousands of slivers in one tile).
Raster tiles are cut from our GeoTIFFs with :mod:`gis.raster`; where a raster has no data
the tile is transparent (an error status would make Leaflet log an error per tile).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Final

import numpy as np
from shapely.geometry import Polygon, box
from sqlalchemy.orm import Session

from db.errors import NotFound
from gis import raster
from gis.crs import WARD, transform
from parcels import tiles as registry_tiles
from parcels.queries import registry_version

PARCEL_MIN_ZOOM: Final = 12
"""The whole ward (15 × 18 km) fits a screen at zoom 12: parcels show from there."""
MIN_PIXELS: Final = 3.0
"""Below zoom 17 a parcel narrower than this many pixels square is left out of a tile."""
MAX_ZOOM: Final = 22
GROUND_M_PER_PX_Z0: Final = 156543.03 * math.cos(math.radians(16.46))
"""Metres on the ground per 256-px tile pixel at zoom 0, at Kim Long's latitude."""


class TileError(NotFound):
    """A tile outside the pyramid or the zooms we serve (404)."""

    code = "tile_not_found"
    title = "No such tile"


def min_area_m2(z: int) -> float:
    """Parcels below this area are left out of a zoom-``z`` tile (three pixels square).

    Measured on the full demo ward (47,000 parcels): with two pixels the largest zoom-13
    tile was 309 KiB; the whole ward at zoom 12 is 9 tiles of at most 74 KiB.
    """
    if z >= 17:
        return 0.0
    px = GROUND_M_PER_PX_Z0 / 2**z
    return (MIN_PIXELS * px) ** 2


def check_tile(z: int, x: int, y: int, *, min_zoom: int = 0) -> None:
    if not (min_zoom <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
        raise TileError(f"tile {z}/{x}/{y} is outside the served pyramid "
                        f"(zoom {min_zoom}–{MAX_ZOOM}, x and y below 2^zoom)")


class TileCache:
    """A small LRU of encoded tiles, shared by the threads of one worker."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple[object, ...]) -> bytes | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: tuple[object, ...], value: bytes) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def parcel_tile(session: Session, cache: TileCache, *, ward_code: str, z: int, x: int,
                y: int) -> tuple[bytes, int]:
    """The parcels of tile z/x/y (MVT bytes) and the registry version they show."""
    check_tile(z, x, y, min_zoom=PARCEL_MIN_ZOOM)
    version = registry_version(session, ward_code=ward_code)
    key = ("parcels", ward_code, version, z, x, y)
    found = cache.get(key)
    if found is None:
        found = registry_tiles.parcel_tile(session, ward_code=ward_code, z=z, x=x, y=y,
                                           min_area_m2=min_area_m2(z))
        cache.put(key, found)
    return found, version


@lru_cache(maxsize=1)
def empty_png() -> bytes:
    return raster.to_png(np.zeros((3, 1, 1), dtype="uint8"), np.zeros((1, 1), dtype="uint8"))


def imagery_tile(path: Path | None, z: int, x: int, y: int) -> bytes:
    check_tile(z, x, y)
    if path is None:
        return empty_png()
    clip = raster.warp(path, raster.tile_grid(z, x, y), bands=(1, 2, 3))
    if clip is None:
        return empty_png()
    return raster.to_png(clip.data.astype("uint8"), np.where(clip.valid, 255, 0))


def hillshade_tile(path: Path | None, z: int, x: int, y: int) -> bytes:
    """Hillshade computed on the DEM's own metric grid under the tile, then warped to it."""
    check_tile(z, x, y)
    if path is None:
        return empty_png()
    tile = raster.tile_grid(z, x, y)
    res = max(raster.native_resolution(path),
              (tile.bounds[2] - tile.bounds[0]) / tile.width)
    ground = transform(raster_box(tile), raster.WEB_MERCATOR, WARD).buffer(2 * res)
    grid = raster.Grid.around(ground.bounds, WARD, resolution=res, max_size=512)
    dem = raster.warp(path, grid)
    if dem is None:
        return empty_png()
    step = (grid.bounds[2] - grid.bounds[0]) / grid.width
    shade = raster.hillshade(dem.data[0], step)
    out = raster.warp_array(shade[None], dem.valid, grid, tile)
    grey = np.clip(out.data[0], 0, 255).astype("uint8")
    return raster.to_png(np.stack([grey] * 3), np.where(out.valid, 255, 0))


def raster_box(grid: raster.Grid) -> Polygon:
    return box(*grid.bounds)

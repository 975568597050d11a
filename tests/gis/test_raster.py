"""Raster helpers on tiny rasters drawn by hand: alignment, hillshade, elevation statistics.

A pixel planted in a GeoTIFF in EPSG:9214 must land, after the warp to Web Mercator that
Leaflet needs, where the same point lands when a vector is reprojected by gis.crs: the map
shows a parcel over its own imagery.  Hillshade and statistics are checked against ramps
whose answers are computed on paper.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box

from gis import raster
from gis.crs import WARD, transform, transformer

ORIGIN = (559_000.0, 1_820_100.0)
"""North-west corner of the test rasters (near Huế's test point, EPSG:9214)."""


def _write(path: Path, data: np.ndarray, res: float, nodata: float | None = None) -> Path:
    count = 1 if data.ndim == 2 else data.shape[0]
    bands = data[None] if data.ndim == 2 else data
    with rasterio.open(path, "w", driver="GTiff", width=bands.shape[2], height=bands.shape[1],
                       count=count, dtype=bands.dtype, crs=f"EPSG:{WARD}",
                       transform=from_origin(*ORIGIN, res, res), nodata=nodata) as dst:
        dst.write(bands)
    return path


def test_planted_pixel_lands_where_the_parcel_is(tmp_path: Path) -> None:
    """A red 1 m pixel at a known ground point shows, after the warp to Web Mercator, within
    a metre of where that point's reprojected vector lands."""
    rgb = np.full((3, 200, 200), 120, dtype="uint8")
    row, col = 73, 141
    rgb[:, row, col] = (255, 0, 0)
    path = _write(tmp_path / "img.tif", rgb, 1.0)
    e, n = ORIGIN[0] + col + 0.5, ORIGIN[1] - row - 0.5  # the pixel's centre on the ground
    parcel = box(e - 30, n - 25, e + 20, n + 30)
    merc = transform(parcel, WARD, raster.WEB_MERCATOR)
    grid = raster.Grid.around(merc.bounds, raster.WEB_MERCATOR, resolution=0.25)
    clip = raster.warp(path, grid, bands=(1, 2, 3))
    assert clip is not None and clip.valid.all()
    red = (clip.data[0] > 200) & (clip.data[1] < 60)
    rows, cols = np.nonzero(red)
    assert len(rows) > 4  # a 1 m pixel is ~4 × 4 pixels of 0.25 m
    mx, my = clip.grid.transform * (cols.mean() + 0.5, rows.mean() + 0.5)
    ground_e, ground_n = transformer(raster.WEB_MERCATOR, WARD).transform(mx, my)
    assert math.hypot(ground_e - e, ground_n - n) < 0.5


def test_warp_outside_the_raster_is_none(tmp_path: Path) -> None:
    path = _write(tmp_path / "img.tif", np.zeros((3, 10, 10), dtype="uint8"), 1.0)
    far = box(ORIGIN[0] + 5000, ORIGIN[1] + 5000, ORIGIN[0] + 5100, ORIGIN[1] + 5100)
    assert raster.warp(path, raster.Grid.around(far.bounds, WARD, resolution=1.0)) is None


def test_hillshade_of_a_ramp_matches_the_formula() -> None:
    """A plane rising 1 m per metre eastward faces west at 45°: with light from the
    north-west at 45° its shade is 255·(sin45·cos45 + cos45·sin45·cos45) = 217.7."""
    ramp = np.tile(np.arange(20, dtype="float64"), (20, 1))  # value = easting in metres
    shade = raster.hillshade(ramp, 1.0)
    expected = 255 * (math.sin(math.radians(45)) * math.cos(math.radians(45))
                      + math.cos(math.radians(45)) * math.sin(math.radians(45))
                      * math.cos(math.radians(315 - 270)))
    assert shade[5:15, 5:15] == pytest.approx(expected, abs=0.01)
    flat = raster.hillshade(np.zeros((5, 5)), 5.0)
    assert flat == pytest.approx(255 * math.sin(math.radians(45)), abs=0.01)
    facing_away = raster.hillshade(-ramp, 1.0)  # rises westward: faces east, away from NW
    assert facing_away[10, 10] < shade[10, 10]


def test_elevation_statistics_of_a_ramp(tmp_path: Path) -> None:
    """A DEM whose value is its column (1 m cells): a parcel over columns 10–19 has min 10,
    max 19, mean 14.5, and half of it lies below a 15 m flood level."""
    dem = np.tile(np.arange(40, dtype="float32"), (30, 1))
    dem[0:5, :] = -9999.0
    path = _write(tmp_path / "dem.tif", dem, 1.0, nodata=-9999.0)
    parcel = box(ORIGIN[0] + 10, ORIGIN[1] - 25, ORIGIN[0] + 20, ORIGIN[1] - 15)
    in_nodata = box(ORIGIN[0] + 2, ORIGIN[1] - 4, ORIGIN[0] + 6, ORIGIN[1] - 1)
    outside = box(ORIGIN[0] + 900, ORIGIN[1] - 25, ORIGIN[0] + 910, ORIGIN[1] - 15)
    tiny = box(ORIGIN[0] + 30.2, ORIGIN[1] - 20.8, ORIGIN[0] + 30.4, ORIGIN[1] - 20.6)
    stats = raster.elevation_stats(path, [parcel, in_nodata, outside, tiny], crs=WARD,
                                   flood_level_m=15.0)
    s = stats[0]
    assert s is not None
    assert (s.min_m, s.max_m, s.mean_m, s.below_share, s.cells) == (10.0, 19.0, 14.5, 0.5, 100)
    assert stats[1] is None and stats[2] is None
    assert stats[3] is not None and stats[3].min_m == 30.0 and stats[3].cells == 1
    with pytest.raises(ValueError, match="reproject"):
        raster.elevation_stats(path, [parcel], crs=4326, flood_level_m=1.0)


def test_tile_bounds_cover_the_pyramid() -> None:
    assert raster.tile_bounds(0, 0, 0) == pytest.approx(
        (-raster.EARTH_HALF_CIRCUMFERENCE, -raster.EARTH_HALF_CIRCUMFERENCE,
         raster.EARTH_HALF_CIRCUMFERENCE, raster.EARTH_HALF_CIRCUMFERENCE))
    x0, y0, x1, y1 = raster.tile_bounds(1, 1, 0)  # north-east quarter
    assert x0 == pytest.approx(0) and y0 == pytest.approx(0) and x1 > 0 and y1 > 0
    with pytest.raises(ValueError):
        raster.tile_grid(3, 8, 0)


def test_png_round_trip_keeps_pixels_and_alpha(tmp_path: Path) -> None:
    rgb = np.arange(3 * 4 * 5, dtype="uint8").reshape(3, 4, 5)
    alpha = np.array([[0, 255, 255, 255, 255]] * 4, dtype="uint8")
    path = tmp_path / "x.png"
    path.write_bytes(raster.to_png(rgb, alpha))
    with rasterio.open(path) as src:
        assert src.count == 4
        assert (src.read()[:3] == rgb).all() and (src.read(4) == alpha).all()

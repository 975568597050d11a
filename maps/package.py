"""The field package: one GeoPackage a surveyor opens in QGIS or QField, offline.

Layers, all in EPSG:9214 (VN-2000 / TM-3 107-00) so that measuring in QGIS gives metres:
``claim`` (the boundary as filed), ``boundary_points`` (number, X northing, Y easting),
``edges`` (each side with its length), ``neighbours`` (registered parcels with sheet,
number, land use), ``pending_claims``, ``findings`` (areas) and ``finding_points`` (a
crossing, a vertex), and the raster table ``imagery`` (the clip under the claim).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
import shapely
from rasterio.enums import Resampling

from gis import raster
from gis.crs import WARD
from maps import boundary
from maps.field import FieldMapInput

MAX_IMAGERY_PX = 2000
GEOMETRY_TYPES = {"claim": "Polygon", "boundary_points": "Point", "edges": "LineString",
                  "neighbours": "MultiPolygon", "pending_claims": "MultiPolygon",
                  "findings": "MultiPolygon", "finding_points": "Point"}


def _frame(data: dict[str, list[Any]], geoms: list[Any]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(data, geometry=geoms, crs=WARD)


def _layers(data: FieldMapInput) -> dict[str, gpd.GeoDataFrame]:
    geom = data.claim.geometry.iloc[0]
    verts = boundary.vertices(geom)
    edges = boundary.edges(geom)
    by_no = {v.number: v for v in verts}
    claim = _frame({"application": [data.title_en], "valid": [data.claim_valid],
                    "area_m2": [round(geom.area, 2) if data.claim_valid else None]}, [geom])
    points = _frame({"number": [v.number for v in verts],
                     "x_northing": [round(v.x, 3) for v in verts],
                     "y_easting": [round(v.y, 3) for v in verts]},
                    list(shapely.points([(v.easting, v.northing) for v in verts])))
    sides = _frame({"edge": [e.label for e in edges],
                    "length_m": [round(e.length_m, 3) for e in edges]},
                   [shapely.LineString([(by_no[e.start].easting, by_no[e.start].northing),
                                        (by_no[e.end].easting, by_no[e.end].northing)])
                    for e in edges])
    nb = data.neighbours.drop(columns=["elevation"], errors="ignore").copy()
    nb["certified"] = nb["certified"].astype(bool) if len(nb) else nb.get("certified")
    findings = data.findings.copy()
    findings["figures"] = [str(f) for f in findings["figures"]] if len(findings) else []
    has = findings[~findings.geometry.isna()] if len(findings) else findings
    areas = has[has.geometry.geom_type.isin(["Polygon", "MultiPolygon"])] if len(has) else has
    pts = has[has.geometry.geom_type.isin(["Point", "MultiPoint"])] if len(has) else has
    return {"claim": claim, "boundary_points": points, "edges": sides, "neighbours": nb,
            "pending_claims": data.pending, "findings": areas, "finding_points": pts}


def write_package(data: FieldMapInput, imagery: Path | None, path: Path, *,
                  margin_m: float = 30.0) -> dict[str, int]:
    """Write the GeoPackage at ``path``; returns each layer's feature count (imagery: pixels
    with data, 0 when no imagery covers the claim)."""
    counts: dict[str, int] = {}
    for name, gdf in _layers(data).items():
        # Empty layers are written too (with their geometry type), so a project file in
        # QGIS always finds the same eight layers.
        pyogrio.write_dataframe(gdf, path, layer=name, driver="GPKG", append=path.exists(),
                                geometry_type=GEOMETRY_TYPES[name],
                                promote_to_multi=GEOMETRY_TYPES[name].startswith("Multi"))
        counts[name] = len(gdf)
    counts["imagery"] = _write_imagery(data, imagery, path, margin_m)
    return counts


def _write_imagery(data: FieldMapInput, imagery: Path | None, path: Path, margin_m: float
                   ) -> int:
    if imagery is None:
        return 0
    area = data.claim.geometry.iloc[0].envelope.buffer(margin_m, join_style="mitre")
    grid = raster.Grid.around(area.bounds, WARD, resolution=raster.native_resolution(imagery),
                              max_size=MAX_IMAGERY_PX)
    clip = raster.warp(imagery, grid, resampling=Resampling.bilinear, bands=(1, 2, 3))
    if clip is None:
        return 0
    bands = np.concatenate([clip.data.astype("uint8"),
                            np.where(clip.valid, 255, 0).astype("uint8")[None]])
    profile = {"driver": "GPKG", "width": grid.width, "height": grid.height, "count": 4,
               "dtype": "uint8", "crs": f"EPSG:{WARD}", "transform": grid.transform}
    with rasterio.open(path, "w", **profile, RASTER_TABLE="imagery",
                       APPEND_SUBDATASET="YES", TILE_FORMAT="PNG") as dst:
        dst.write(bands)
    return int(clip.valid.sum())


def package_bytes(data: FieldMapInput, imagery: Path | None, *, margin_m: float = 30.0
                  ) -> tuple[bytes, dict[str, int]]:
    """The GeoPackage as bytes (written to a temporary file: SQLite needs one)."""
    with tempfile.TemporaryDirectory(prefix="cadastre-gpkg-") as tmp:
        path = Path(tmp) / "field.gpkg"
        counts = write_package(data, imagery, path, margin_m=margin_m)
        return path.read_bytes(), counts

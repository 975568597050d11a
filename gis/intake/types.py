"""Small value types shared by the survey-file readers, and what a read returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import geopandas as gpd
from shapely.geometry.base import BaseGeometry

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Caps on what one upload may cost; the caller fills them from its settings.

    The defaults suit one ward's survey batch (a 10,000-parcel GeoPackage is
    about 5 MiB); they exist so that a forgotten setting is still safe.
    """

    max_file_bytes: int = 200 * MiB
    max_archive_members: int = 200
    max_uncompressed_bytes: int = 500 * MiB
    max_compression_ratio: float = 200.0
    """Per member, and only for members larger than ``ratio_floor_bytes``."""
    ratio_floor_bytes: int = 1 * MiB
    max_features: int = 100_000
    max_vertices: int = 1_000_000


@dataclass(frozen=True)
class ReadWarning:
    """Something the reader changed or assumed; shown to the surveyor, never blocking."""

    code: str
    message: str
    features: tuple[int, ...] = ()
    """``source_index`` of the features concerned, when not all of them."""

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "features": list(self.features)}


@dataclass
class RawFeatures:
    """Features as one format reader found them: geometry in the file's own CRS."""

    format: str
    layer: str | None
    geometries: list[BaseGeometry | None]
    attributes: list[dict[str, Any]]
    layers: list[str | None]
    """Per feature: GeoPackage layer, KML folder or CAD layer."""
    crs: int | None
    crs_origin: str
    """"file", "default" (GeoJSON/KML are WGS 84 by definition) or "assumed"."""
    warnings: list[ReadWarning] = field(default_factory=list)
    drawing: bool = False
    """CAD/KML: closed lines are parcels and other entities are skipped, not refused."""
    xy_columns: tuple[str, str] | None = None
    """CSV: the names of the northing and easting columns, for messages."""
    indices: list[int] | None = None
    """Per feature: its position in the file, when some were filtered out (layer, paper space)."""

    def source_index(self, i: int) -> int:
        return self.indices[i] if self.indices is not None else i


COLUMNS: Final = ("source_index", "source_layer", "sheet_no", "parcel_no", "land_use",
                  "declared_area", "former_unit", "attributes", "geometry")
"""Columns of ``ReadResult.features``, in order."""


@dataclass
class ReadResult:
    """Parcels read from one upload, ready for staging.

    ``features`` is a GeoDataFrame in EPSG:9214 with ``COLUMNS``, one row per
    parcel in file order; ``source_index`` points back at the feature (or CSV
    parcel) in the file, ``attributes`` keeps every original attribute as a
    JSON-serialisable dict.  ``warnings`` list what was changed or assumed.
    """

    format: str
    """geojson, shapefile, gpkg, kml, kmz, dxf or csv."""
    layer: str | None
    source_crs: int
    """The EPSG code the coordinates were read in (after any override or fix)."""
    features: gpd.GeoDataFrame
    warnings: list[ReadWarning] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    """Our field -> the file's column it was taken from."""
    swap_axes: bool = False

    @property
    def warning_codes(self) -> list[str]:
        return [w.code for w in self.warnings]

"""Small value types shared by the survey-file readers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
    max_vertices: int = 5_000_000


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

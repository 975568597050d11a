"""The manifest written beside the generated files: what was generated, how, and its hashes.

Content hashes are computed over the features (attributes and WKB), not over
file bytes, so that "same seed, same data" can be checked even where a file
format stamps a time into its bytes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import shapely

NOTICE: Final = "SYNTHETIC — not real cadastral data"
GENERATOR_VERSION: Final = "1.4.0"
"""Bump on any change to what is generated: cached wards are keyed on it."""


@dataclass
class Manifest:
    """Everything a loader or a reviewer needs to know about one generated data set."""

    seed: int
    size: str
    generator_version: str = GENERATOR_VERSION
    notice: str = NOTICE
    real_inputs: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    land_use: dict[str, int] = field(default_factory=dict)
    applications: dict[str, Any] = field(default_factory=dict)
    planted_defects: list[dict[str, Any]] = field(default_factory=list)
    content_sha256: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1, sort_keys=True)
                        + "\n", encoding="utf-8")


def content_hash(frame: gpd.GeoDataFrame) -> str:
    """SHA-256 over rows in order: attribute values as text, then the geometry's WKB."""
    digest = hashlib.sha256()
    attrs = frame.drop(columns=frame.geometry.name)
    digest.update(attrs.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    for wkb in shapely.to_wkb(frame.geometry.values, hex=True, output_dimension=2):
        digest.update((wkb or "").encode("ascii"))
    return digest.hexdigest()


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()

"""Where the ward's real 2025 boundary comes from, and how it is read.

The outline is the one real thing in the demo ward.  It is not ours to commit
(MIT, thanglequoc/vietnamese-provinces-database), so it is found in the shared
external-data folder, or in a copy downloaded earlier into the state folder,
or downloaded now with its provenance written beside it.
"""

from __future__ import annotations

import hashlib
import json
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

from gis.crs import WGS84, to_ward

FILE_NAME: Final = "19774_kim_long.geojson"
SUBFOLDER: Final = "kim-long-ward"
SOURCE_REPO: Final = "thanglequoc/vietnamese-provinces-database"
SOURCE_PATH: Final = "json/geojson/46_hue/wards/19774_kim_long.geojson"
SOURCE_URL: Final = f"https://raw.githubusercontent.com/{SOURCE_REPO}/master/{SOURCE_PATH}"
LICENCE: Final = "MIT (Copyright (c) 2021 Thang Le Quoc)"
EXPECTED_AREA_M2: Final = 90_263_000.0
"""Area of the outline in EPSG:9214 (DOMAIN.md), used to refuse a wrong file."""


class OutlineNotFound(FileNotFoundError):
    """No outline file anywhere we look, and the download failed."""


@dataclass(frozen=True)
class OutlineSource:
    """The outline file found, and how we came by it."""

    path: Path
    origin: Literal["external", "state", "downloaded"]
    url: str
    licence: str
    sha256: str


def find_outline(
    external_dir: Path, state_dir: Path, *, url: str = SOURCE_URL, timeout: float = 5.0
) -> OutlineSource:
    """Locate the ward outline: shared folder, then an earlier download, then the web."""
    shared = external_dir / SUBFOLDER / FILE_NAME
    if shared.is_file():
        return OutlineSource(shared, "external", SOURCE_URL, LICENCE, _sha256(shared))
    cached = state_dir / "external" / FILE_NAME
    if cached.is_file():
        return OutlineSource(cached, "state", SOURCE_URL, LICENCE, _sha256(cached))
    try:
        return _download(url, cached, timeout)
    except (OSError, ValueError) as exc:
        raise OutlineNotFound(
            "Kim Long ward outline not found. Put the file "
            f"{FILE_NAME} at {shared} (from {SOURCE_REPO}, path {SOURCE_PATH}, "
            f"MIT licence) or at {cached}; downloading it from {url} failed: {exc}"
        ) from exc


def load_outline(path: Path) -> Polygon:
    """Read the WGS 84 GeoJSON outline and return its one polygon in EPSG:9214."""
    data = json.loads(path.read_text(encoding="utf-8"))
    features = data.get("features") if data.get("type") == "FeatureCollection" else [data]
    if not features:
        raise ValueError(f"{path}: no feature in the outline file")
    geom = shape(features[0].get("geometry", features[0]))
    ward = to_ward(geom, WGS84)
    if isinstance(ward, MultiPolygon):
        ward = max(ward.geoms, key=lambda g: g.area)
    if not isinstance(ward, Polygon):
        raise ValueError(f"{path}: the outline is a {ward.geom_type}, not a polygon")
    return shapely.make_valid(ward) if not ward.is_valid else ward


def _download(url: str, target: Path, timeout: float) -> OutlineSource:
    if not url.startswith("https://"):
        raise ValueError(f"refusing a non-https outline URL: {url}")
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (https only)
        body = response.read()
    json.loads(body)  # refuse an HTML error page saved as GeoJSON
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)
    digest = hashlib.sha256(body).hexdigest()
    provenance = {
        "url": url,
        "repository": SOURCE_REPO,
        "path": SOURCE_PATH,
        "licence": LICENCE,
        "downloaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sha256": digest,
    }
    target.with_suffix(".source.json").write_text(json.dumps(provenance, indent=2) + "\n")
    return OutlineSource(target, "downloaded", url, LICENCE, digest)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class NeighbourWard:
    """A ward around Kim Long, from the same published boundary set (real, not synthetic)."""

    code: str
    name: str
    boundary: Polygon


def neighbour_wards(external_dir: Path) -> list[NeighbourWard]:
    """The other wards' outlines kept beside Kim Long's (``<code>_<name>.geojson``, e.g.
    Phú Xuân), in EPSG:9214: so that a parcel reaching out of the ward can name the ward it
    reaches into.  None where the folder holds no such file."""
    folder = external_dir / SUBFOLDER
    out = []
    for path in sorted(folder.glob("[0-9][0-9][0-9][0-9][0-9]_*.geojson")):
        if path.name == FILE_NAME:
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        features = data.get("features") or []
        props = features[0].get("properties", {}) if features else {}
        out.append(NeighbourWard(code=str(props.get("code") or path.name[:5]),
                                 name=str(props.get("fullName") or props.get("name")
                                          or path.stem),
                                 boundary=load_outline(path)))
    return out

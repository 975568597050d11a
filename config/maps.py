"""Map settings: where the background rasters are, how far a field map looks, the flood level.

Environment prefix ``CADASTRE_MAPS_``.  The flood level is a dated figure with its legal
source, kept in ``config/maps.toml`` (marked uncertain there, and so in every map that
shows it).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MAPS_TOML = Path(__file__).resolve().parent / "maps.toml"


@dataclass(frozen=True)
class FloodLevel:
    """A water level (metres above the height datum) and where the figure comes from."""

    level_m: float
    name_vi: str
    name_en: str
    source: str
    as_of: date
    uncertain: bool


def flood_level(path: Path = MAPS_TOML) -> FloodLevel:
    data = tomllib.loads(path.read_text(encoding="utf-8"))["flood"]
    return FloodLevel(level_m=float(data["level_m"]), name_vi=data["name_vi"],
                      name_en=data["name_en"], source=data["source"], as_of=data["as_of"],
                      uncertain=bool(data.get("uncertain", False)))


class MapSettings(BaseSettings):
    """Map views, extracts and tiles."""

    model_config = SettingsConfigDict(env_prefix="CADASTRE_MAPS_", extra="ignore")

    imagery: Path | None = None
    """The imagery GeoTIFF; unset: the ``imagery.tif`` of the demo ward that is loaded."""
    elevation: Path | None = None
    """The elevation GeoTIFF (metres); unset: the loaded demo ward's ``elevation.tif``."""
    neighbour_radius_m: float = Field(default=40.0, gt=0, le=500)
    """Registered parcels this close to a claim are drawn on its field map."""
    clip_margin_m: float = Field(default=30.0, ge=0, le=500)
    """Imagery is cut to the map's features plus this margin."""
    tile_cache_tiles: int = Field(default=4096, ge=0)
    """Vector tiles kept in memory per worker, keyed by registry version."""
    font_dir: Path = Path("/usr/share/fonts/truetype/dejavu")
    """DejaVu Sans (Debian ``fonts-dejavu-core``): the extract's font, with Vietnamese."""
    toml: Path = MAPS_TOML

    def flood(self) -> FloodLevel:
        return flood_level(self.toml)

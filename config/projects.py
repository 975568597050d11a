"""Road-project impact settings, read from ``config/projects.toml``: thresholds and the dated
unit-price tables of the cost estimate.  Imports nothing of ours (config/ rule)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

PROJECTS_FILE = Path(__file__).with_name("projects.toml")
POSITIONS = (1, 2, 3)
"""Price positions (vị trí): 1 on a main road, 2 on a lane, 3 without road frontage."""


class ProjectSettingsError(ValueError):
    """The settings file is malformed."""


@dataclass(frozen=True)
class Thresholds:
    take_noise_m2: float
    part_min_m2: float
    touch_m: float
    road_width_wide_m: float
    max_width_m: float
    road_parcel_uses: tuple[str, ...]


@dataclass(frozen=True)
class PriceTable:
    table: str
    invented: bool
    valid_from: date
    valid_to: date | None
    currency: str
    source: str
    unit_price: dict[str, tuple[float, float, float]]

    def price(self, land_use: str, position: int) -> float | None:
        """VND per m² for the principal land use at a position; None when not priced."""
        row = self.unit_price.get(land_use.split("+")[0].upper())
        return None if row is None else row[position - 1]


@dataclass(frozen=True)
class ProjectSettings:
    version: str
    thresholds: Thresholds
    prices: tuple[PriceTable, ...]

    def price_table(self, on: date) -> PriceTable | None:
        return next((p for p in self.prices if p.valid_from <= on
                     and (p.valid_to is None or on < p.valid_to)), None)


def parse(data: dict[str, Any]) -> ProjectSettings:
    try:
        t = data["thresholds"]
        thresholds = Thresholds(
            take_noise_m2=float(t["take_noise_m2"]), part_min_m2=float(t["part_min_m2"]),
            touch_m=float(t["touch_m"]), road_width_wide_m=float(t["road_width_wide_m"]),
            max_width_m=float(t["max_width_m"]),
            road_parcel_uses=tuple(str(u).upper() for u in t["road_parcel_uses"]))
        prices = []
        for p in data.get("prices", []):
            rows = {}
            for use, values in p["unit_price"].items():
                if len(values) != len(POSITIONS) or any(float(v) < 0 for v in values):
                    raise ProjectSettingsError(
                        f"prices {p['table']}: {use} needs {len(POSITIONS)} non-negative prices")
                rows[str(use).upper()] = (float(values[0]), float(values[1]), float(values[2]))
            prices.append(PriceTable(
                table=str(p["table"]), invented=bool(p["invented"]), valid_from=p["valid_from"],
                valid_to=p.get("valid_to"), currency=str(p["currency"]),
                source=str(p["source"]), unit_price=rows))
        version = str(data["settings"]["version"])
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ProjectSettingsError):
            raise
        raise ProjectSettingsError(f"projects settings: {exc!r} (config/projects.toml)") from exc
    if thresholds.take_noise_m2 < 0 or thresholds.touch_m < 0:
        raise ProjectSettingsError("thresholds must not be negative")
    return ProjectSettings(version=version, thresholds=thresholds, prices=tuple(prices))


@lru_cache(maxsize=4)
def load(path: Path = PROJECTS_FILE) -> ProjectSettings:
    with path.open("rb") as fh:
        return parse(tomllib.load(fh))

"""The minimum-lot figures by land use and date, read from ``config/lots.toml``.

The rule's code is ``gis.lots``; this module only says which figures were in force on a
day, with the source of each, so a split (issue 17) and a road project's remainders read
the same rows.  Imports nothing of ours (config/ rule): callers turn a :class:`LotFigures`
into ``gis.lots.LotRule`` with :meth:`LotFigures.rule_fields`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

LOTS_FILE = Path(__file__).with_name("lots.toml")


class LotSettingsError(ValueError):
    """The settings file is malformed: a missing figure, overlapping dates."""


@dataclass(frozen=True)
class MinimumLotRow:
    land_uses: tuple[str, ...]
    place: str
    min_area_m2: float | None
    min_frontage_m: float | None
    min_frontage_wide_m: float | None
    wide_road_m: float | None
    min_depth_m: float | None
    valid_from: date
    valid_to: date | None
    source: str
    uncertain: bool

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)


@dataclass(frozen=True)
class RoadAccessRow:
    required: bool
    access_min_m: float
    valid_from: date
    valid_to: date | None
    source: str

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)


@dataclass(frozen=True)
class LotFigures:
    """The figures for one land use on one day, and where each comes from."""

    land_use: str
    on: date
    minimum: MinimumLotRow | None
    access: RoadAccessRow | None
    version: str

    @property
    def judged(self) -> bool:
        """Whether any figure applies (a land use without a row is measured, not judged)."""
        return self.minimum is not None or bool(self.access and self.access.required)

    def rule_fields(self) -> dict[str, Any]:
        """Keyword arguments of ``gis.lots.LotRule``."""
        m = self.minimum
        return {
            "min_area_m2": m.min_area_m2 if m else None,
            "min_frontage_m": m.min_frontage_m if m else None,
            "min_frontage_wide_m": m.min_frontage_wide_m if m else None,
            "wide_road_m": m.wide_road_m if m else None,
            "min_depth_m": m.min_depth_m if m else None,
            "road_access": bool(self.access and self.access.required),
            "access_min_m": self.access.access_min_m if self.access else 1.0,
        }

    def sources(self) -> list[str]:
        out = []
        if self.minimum is not None:
            out.append(self.minimum.source)
        if self.access is not None:
            out.append(self.access.source)
        return out


@dataclass(frozen=True)
class LotSettings:
    version: str
    minimum: tuple[MinimumLotRow, ...]
    access: tuple[RoadAccessRow, ...]

    def figures(self, land_use: str, on: date) -> LotFigures:
        """The rows in force on ``on`` for ``land_use`` (a mixed code such as ``ODT+CLN``
        is judged by its first, principal use)."""
        principal = land_use.split("+")[0].upper()
        minimum = next((r for r in self.minimum
                        if principal in r.land_uses and r.in_force(on)), None)
        access = next((r for r in self.access if r.in_force(on)), None)
        return LotFigures(principal, on, minimum, access, self.version)


def _opt(row: dict[str, Any], key: str) -> float | None:
    value = row.get(key)
    return None if value is None else float(value)


def parse(data: dict[str, Any]) -> LotSettings:
    """Check and build the settings from the TOML's mapping."""
    try:
        minimum = tuple(MinimumLotRow(
            land_uses=tuple(str(u).upper() for u in r["land_uses"]), place=str(r["place"]),
            min_area_m2=_opt(r, "min_area_m2"), min_frontage_m=_opt(r, "min_frontage_m"),
            min_frontage_wide_m=_opt(r, "min_frontage_wide_m"),
            wide_road_m=_opt(r, "wide_road_m"), min_depth_m=_opt(r, "min_depth_m"),
            valid_from=r["valid_from"], valid_to=r.get("valid_to"), source=str(r["source"]),
            uncertain=bool(r.get("uncertain", False))) for r in data.get("minimum_lot", []))
        access = tuple(RoadAccessRow(
            required=bool(r["required"]), access_min_m=float(r.get("access_min_m", 1.0)),
            valid_from=r["valid_from"], valid_to=r.get("valid_to"), source=str(r["source"]))
            for r in data.get("road_access", []))
        version = str(data["settings"]["version"])
    except (KeyError, TypeError, ValueError) as exc:
        raise LotSettingsError(f"lots settings: {exc!r} (see config/lots.toml)") from exc
    for rows, what in ((minimum, "minimum_lot"), (access, "road_access")):
        for r in rows:
            if not isinstance(r.valid_from, date) or not r.source.strip():
                raise LotSettingsError(f"{what}: every row needs valid_from (a date) and source")
    for a in access:
        for b in access:
            if a is not b and a.valid_from <= b.valid_from and (
                    a.valid_to is None or b.valid_from < a.valid_to):
                raise LotSettingsError("road_access rows overlap in time")
    return LotSettings(version=version, minimum=minimum, access=access)


@lru_cache(maxsize=4)
def load(path: Path = LOTS_FILE) -> LotSettings:
    with path.open("rb") as fh:
        return parse(tomllib.load(fh))

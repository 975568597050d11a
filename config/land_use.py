"""The land-use code list, read from ``config/land_use.toml``: code, Vietnamese and English
names, the group a map draws it with, the period it is valid in and the texts it comes from.

The map styles (``maps/land_use_styles.py``, the QGIS project) are generated from this list.
Issue 17 grows it into the dated list the registry checks codes against; that is why each
code carries its validity and sources already.  Imports nothing of ours (config/ rule).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

LAND_USE_FILE = Path(__file__).with_name("land_use.toml")
CODE = re.compile(r"^[A-Z]{3}$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


class LandUseSettingsError(ValueError):
    """The code list is malformed: an unknown group or source, a duplicate code."""


@dataclass(frozen=True)
class Source:
    key: str
    citation: str
    valid_from: date
    uncertain: bool


@dataclass(frozen=True)
class Group:
    key: str
    name_vi: str
    name_en: str
    colour: str
    """Base colour (``#rrggbb``); each code's shade is derived from it."""


@dataclass(frozen=True)
class LandUse:
    code: str
    name_vi: str
    name_en: str
    group: str
    valid_from: date
    valid_to: date | None
    sources: tuple[Source, ...]

    @property
    def uncertain(self) -> bool:
        return any(s.uncertain for s in self.sources)

    @property
    def label(self) -> str:
        """How a legend names it: ``ODT — Đất ở tại đô thị``."""
        return f"{self.code} — {self.name_vi}"

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)


@dataclass(frozen=True)
class LandUseList:
    version: str
    groups: dict[str, Group]
    codes: tuple[LandUse, ...]

    def get(self, code: str) -> LandUse | None:
        """The row of a code (the first code of a mixed ``ODT+CLN``), or None."""
        first = code.strip().upper().split("+")[0]
        return next((c for c in self.codes if c.code == first), None)

    def in_force(self, on: date) -> list[LandUse]:
        return [c for c in self.codes if c.in_force(on)]


def parse(data: dict[str, Any]) -> LandUseList:
    try:
        sources = {k: Source(key=k, citation=str(v["citation"]), valid_from=v["valid_from"],
                             uncertain=bool(v.get("uncertain", False)))
                   for k, v in data["sources"].items()}
        groups = {k: Group(key=k, name_vi=str(v["vi"]), name_en=str(v["en"]),
                           colour=str(v["colour"])) for k, v in data["groups"].items()}
        codes = []
        for row in data["land_use"]["codes"]:
            cited = tuple(sources[s] for s in row["sources"])
            codes.append(LandUse(
                code=str(row["code"]), name_vi=str(row["vi"]), name_en=str(row["en"]),
                group=str(row["group"]),
                valid_from=row.get("valid_from", min(s.valid_from for s in cited)),
                valid_to=row.get("valid_to"), sources=cited))
        version = str(data["settings"]["version"])
    except (KeyError, TypeError, ValueError) as exc:
        raise LandUseSettingsError(f"land-use list: {exc!r} (see config/land_use.toml)") from exc
    seen: set[str] = set()
    for c in codes:
        if not CODE.match(c.code) or c.code in seen:
            raise LandUseSettingsError(f"land-use list: code {c.code!r} malformed or repeated")
        if c.group not in groups:
            raise LandUseSettingsError(f"land-use list: {c.code} names no group {c.group!r}")
        if not c.sources or not isinstance(c.valid_from, date) or (
                c.valid_to is not None and c.valid_to <= c.valid_from):
            raise LandUseSettingsError(f"land-use list: {c.code} needs a source and a period")
        seen.add(c.code)
    for g in groups.values():
        if not COLOUR.match(g.colour):
            raise LandUseSettingsError(f"land-use list: group {g.key} colour {g.colour!r}")
    return LandUseList(version=version, groups=groups, codes=tuple(codes))


@lru_cache(maxsize=4)
def load(path: Path = LAND_USE_FILE) -> LandUseList:
    with path.open("rb") as fh:
        return parse(tomllib.load(fh))

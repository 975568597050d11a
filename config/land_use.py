"""The land-use code list (``config/land_use.toml``): names, groups, state land, code sets,
and the map group each code is drawn with.

One list for every reader: the registry refuses a code it does not hold, survey intake
reports it, applications refuse it (a 422 naming the code), certificate verification and
road projects take "state land" from its ``state_managed`` codes, and the map styles
(``maps/land_use_styles.py``, the QGIS project) are generated from its map groups, never
drawn by hand per code.  Imports nothing of ours.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

LAND_USE_FILE = Path(__file__).with_name("land_use.toml")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


class LandUseSettingsError(ValueError):
    """The land-use list is malformed."""


class UnknownLandUse(ValueError):
    """A code that is in no code set; ``code`` names it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class LandUse:
    code: str
    group: str
    name_vi: str
    name_en: str
    state_managed: bool
    sets: tuple[str, ...]
    map_group: str
    """The legend heading and base colour a map draws it with (``[map_groups]``)."""

    @property
    def label(self) -> str:
        """How a legend names it: ``ODT — Đất ở tại đô thị``."""
        return f"{self.code} — {self.name_vi}"


@dataclass(frozen=True)
class MapGroup:
    key: str
    name_vi: str
    name_en: str
    colour: str
    """Base colour (``#rrggbb``); each code's shade is derived from it."""


@dataclass(frozen=True)
class CodeSet:
    name: str
    valid_from: date
    source: str
    uncertain: bool


@dataclass(frozen=True)
class LandUseList:
    version: str
    codes: Mapping[str, LandUse]
    sets: Mapping[str, CodeSet]
    groups: Mapping[str, MapGroup]
    """Map groups by key."""

    def get(self, code: str) -> LandUse | None:
        """The row of a code (the first code of a mixed ``ODT+CLN``), or None."""
        return self.codes.get(code.strip().upper().split("+")[0])

    def in_force(self, on: date) -> list[LandUse]:
        """The codes of a set in force on ``on`` (old maps keep their codes: a code stays
        in force once one of its sets is), in the list's order."""
        return [u for u in self.codes.values()
                if any(self.sets[s].valid_from <= on for s in u.sets)]

    @property
    def state_managed(self) -> frozenset[str]:
        """The codes of land the State manages itself."""
        return frozenset(c for c, u in self.codes.items() if u.state_managed)

    def normalise(self, value: str) -> str:
        """The code in upper case, each part of a mixed use (``ODT+CLN``) known; else
        :class:`UnknownLandUse` naming the first unknown part."""
        code = value.strip().upper()
        parts = code.split("+")
        for part in parts:
            if part not in self.codes:
                shown = part or value
                raise UnknownLandUse(shown, f"land-use code {shown!r} is not in the land-use "
                                     "list (Circular 25/2014 and Circular 08/2024 code sets, "
                                     "config/land_use.toml), e.g. ODT, ONT, CLN, DGT")
        return code

    def principal(self, code: str) -> LandUse:
        """The row of a code's first (principal) use."""
        return self.codes[self.normalise(code).split("+")[0]]

    def name(self, code: str, lang: str = "vi") -> str:
        """The names of a (possibly mixed) code, joined with " + "."""
        return " + ".join(getattr(self.codes[p], f"name_{lang}")
                          for p in self.normalise(code).split("+"))


def parse(data: Mapping[str, Any]) -> LandUseList:
    try:
        sets = {name: CodeSet(name, s["valid_from"], str(s["source"]),
                              bool(s.get("uncertain", False)))
                for name, s in data["sets"].items()}
        groups = {k: MapGroup(k, str(g["vi"]), str(g["en"]), str(g["colour"]))
                  for k, g in data["map_groups"].items()}
        for g in groups.values():
            if not COLOUR.match(g.colour):
                raise LandUseSettingsError(f"map group {g.key}: colour {g.colour!r} is not "
                                           "#rrggbb")
        codes: dict[str, LandUse] = {}
        for r in data["codes"]:
            u = LandUse(str(r["code"]).upper(), str(r["group"]), str(r["name_vi"]),
                        str(r["name_en"]), bool(r["state_managed"]), tuple(r["sets"]),
                        str(r["map_group"]))
            if len(u.code) != 3 or not u.code.isalpha():
                raise LandUseSettingsError(f"{u.code!r}: a land-use code is three letters")
            if u.code in codes:
                raise LandUseSettingsError(f"{u.code}: listed twice")
            if not u.sets or set(u.sets) - set(sets):
                raise LandUseSettingsError(f"{u.code}: sets must name rows of [sets]")
            if u.map_group not in groups:
                raise LandUseSettingsError(f"{u.code}: names no map group {u.map_group!r}")
            codes[u.code] = u
        version = str(data["settings"]["version"])
    except (KeyError, TypeError, AttributeError) as exc:
        raise LandUseSettingsError(f"land-use list: {exc!r} (see config/land_use.toml)") from exc
    return LandUseList(version, MappingProxyType(codes), MappingProxyType(sets),
                       MappingProxyType(groups))


@lru_cache(maxsize=4)
def load(path: Path | None = None) -> LandUseList:
    """The list in use: ``CADASTRE_LAND_USE_FILE`` when set, else the shipped one."""
    path = path or Path(os.environ.get("CADASTRE_LAND_USE_FILE") or LAND_USE_FILE)
    with path.open("rb") as fh:
        return parse(tomllib.load(fh))

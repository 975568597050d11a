"""The minimum-lot rule applied to a split: each part must be a lot, or be merged with a
neighbour in the same act (Land Law 2024 Art. 220(2)(a)).

The rule and its measures are :mod:`gis.lots` (one implementation, shared with the road
project's remainders); the figures in force on the day are ``config/lots.toml``'s rows;
the roads a part may front are the registry's road parcels around it (and any part the
split itself makes a road), their red-line width estimated as road projects do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from config import land_use as land_use_list
from config import lots as lot_settings
from config import projects as project_settings
from gis import corridors as gcor
from gis import lots as glots
from parcels.errors import LotBelowMinimum
from parcels.nearby import road_parcels_near


@dataclass(frozen=True)
class PartVerdict:
    index: int
    land_use: str
    judged: bool
    shortfalls: list[dict[str, Any]]
    sources: tuple[str, ...]


def check_parts(session: Session, *, ward_code: str, geoms: Sequence[BaseGeometry],
                land_uses: Sequence[str], on: date,
                ignore_parcels: Sequence[int] = ()) -> list[PartVerdict]:
    """Judge each part against the minimum-lot figures of its land use on ``on``."""
    th = project_settings.load().thresholds
    figures = lot_settings.load()
    state = land_use_list.load().state_managed
    roads = [glots.Road(g, round(gcor.strip_width(g), 2), f"thửa {pid}")
             for pid, g in road_parcels_near(session, ward_code=ward_code, parcels=list(geoms),
                                             uses=th.road_parcel_uses,
                                             distance_m=max(th.touch_m, 0.01))
             if pid not in set(ignore_parcels)]
    roads += [glots.Road(g, round(gcor.strip_width(g), 2), f"phần {k + 1}")
              for k, (g, u) in enumerate(zip(geoms, land_uses, strict=True))
              if u.split("+")[0].upper() in th.road_parcel_uses]
    out = []
    for k, (g, use) in enumerate(zip(geoms, land_uses, strict=True)):
        f = figures.figures(use, on)
        principal = use.split("+")[0].upper()
        if principal in state or principal in th.road_parcel_uses or not f.judged:
            out.append(PartVerdict(k, use, False, [], tuple(f.sources())))
            continue
        rule = glots.LotRule(**f.rule_fields())
        near = [r for r in roads if r.geometry is not g]
        check = glots.check_lot(g, near, rule, tolerance_m=th.touch_m)
        out.append(PartVerdict(k, use, True, glots.shortfalls(check, rule), tuple(f.sources())))
    return out


def require_lots(verdicts: Sequence[PartVerdict]) -> None:
    """Refuse (nothing written) when a part falls short, naming each failed figure."""
    bad = [v for v in verdicts if v.shortfalls]
    if not bad:
        return
    parts = "; ".join(f"part {v.index + 1} ({v.land_use}): "
                      + ", ".join(str(s["message_en"]) for s in v.shortfalls) for v in bad)
    raise LotBelowMinimum(
        f"{parts}. Land Law 2024 Art. 220: a part below the minimum must be merged with a "
        "neighbour in the same act (merge_with)",
        parts=[{"part": v.index + 1, "land_use": v.land_use, "shortfalls": v.shortfalls,
                "sources": list(v.sources)} for v in bad])

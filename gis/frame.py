"""Polygons against the ward's frame and its zones: the part outside the ward boundary, and
the part inside each protection or planning zone, each judged by its width."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.measures import band_widths
from gis.repair import polygonal_all
from gis.rules import Band, Finding
from gis.snap import snap_to_neighbours
from gis.topology import RIM_EPS_M2, Context, focus_mask


@dataclass(frozen=True)
class Zone:
    """A protection or planning zone a parcel may cross (river corridor, heritage, red line)."""

    id: str
    kind: str
    geometry: BaseGeometry
    name: str = ""
    planned_uses: tuple[str, ...] = ()
    """A planning zone's allowed land uses (plan conformity); empty for other kinds."""


def find_outside(ctx: Context, frame: BaseGeometry,
                 focus: Iterable[int] | None = None) -> list[Finding]:
    """The part of each polygon outside the ward boundary, judged by its width."""
    rules = ctx.rules
    if not rules.enabled("outside_ward"):
        return []
    fm = focus_mask(len(ctx.geoms), focus)
    shapely.prepare(frame)
    inside = shapely.covers(frame, ctx.geoms)  # the prepared frame must come first
    out: list[Finding | None] = []
    idx = np.flatnonzero(fm & ~inside)
    if len(idx) == 0:
        return []
    parts = shapely.difference(ctx.geoms[idx], frame)
    real = shapely.area(parts) > RIM_EPS_M2
    idx, parts = idx[real], parts[real]
    if len(idx) == 0:
        return []
    widths, _ = band_widths(parts, floor=0.0,
                            snap=np.array([ctx.tolerances[i].snap_m for i in idx.tolist()]))
    for i, part, w in zip(idx.tolist(), parts, widths.tolist(), strict=True):
        if w <= 0:
            continue
        tol = ctx.tolerances[i]
        band = tol.band(w)
        fix = snap_to_neighbours(ctx.geoms[i], [frame], tol.snap_m) if band is Band.NOISE \
            else None
        out.append(rules.finding("outside_ward", ids=[ctx.id(i)], labels=ctx.lab(i),
                                 geometry=part, tolerance=tol, band=band, fix=fix,
                                 figures={"area_m2": float(part.area), "width_m": w}))
    return [f for f in out if f is not None]


def find_zone_crossings(ctx: Context, zones: Sequence[Zone],
                        focus: Iterable[int] | None = None) -> list[Finding]:
    """The part of each polygon inside each zone, with its area; slivers below snap_m are noise."""
    rules = ctx.rules
    if not rules.enabled("zone_crossing") or not zones:
        return []
    fm = focus_mask(len(ctx.geoms), focus)
    out: list[Finding | None] = []
    for z in zones:
        hits = ctx.strtree.query(z.geometry, predicate="intersects")
        hits = np.sort(hits[fm[hits]])
        if len(hits) == 0:
            continue
        parts = polygonal_all(shapely.intersection(ctx.geoms[hits], z.geometry))
        live = ~shapely.is_empty(parts)
        hits, parts = hits[live], parts[live]
        widths, _ = band_widths(parts, floor=0.0,
                                snap=np.array([ctx.tolerances[i].snap_m for i in hits.tolist()]))
        for i, part, w in zip(hits.tolist(), parts, widths.tolist(), strict=True):
            tol = ctx.tolerances[i]
            out.append(rules.finding("zone_crossing", ids=[ctx.id(i)], labels=ctx.lab(i),
                                     geometry=part, tolerance=tol, band=tol.band(w),
                                     figures={"area_m2": float(part.area), "width_m": w,
                                              "zone": z.name or z.id, "zone_id": z.id,
                                              "zone_kind": z.kind,
                                              "share": float(part.area / ctx.geoms[i].area)}))
    return [f for f in out if f is not None]

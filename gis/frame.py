"""Polygons against the ward's frame and its zones: the part outside the ward boundary, and
the part inside each protection or planning zone, each judged by its width."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis import labels as lab
from gis.findings import Band, Finding
from gis.measures import band_widths
from gis.repair import polygonal_all
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


def find_outside(ctx: Context, frame: BaseGeometry, focus: Iterable[int] | None = None,
                 neighbours: Sequence[Zone] = ()) -> list[Finding]:
    """The part of each polygon outside the ward boundary, judged by its width, with the
    neighbouring ward it lies in (of ``neighbours``, where one holds most of it).

    A part no wider than the rule's ``min_width_m`` is the rounding of coordinates where
    a parcel follows the outline, not land outside the ward: it is not reported.
    """
    rules = ctx.rules
    if not rules.enabled("outside_ward"):
        return []
    floor = rules.param("outside_ward", "min_width_m")
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
    widths, wide = band_widths(parts, floor=floor, snap=np.array(
        [ctx.tolerances[i].snap_m for i in idx.tolist()]))
    for i, part, w, ok in zip(idx.tolist(), parts, widths.tolist(), wide.tolist(), strict=True):
        if not ok or w <= 0:
            continue
        tol = ctx.tolerances[i]
        band = tol.band(w)
        fix = snap_to_neighbours(ctx.geoms[i], [frame], tol.snap_m) if band is Band.NOISE \
            else None
        into = _neighbour(part, neighbours)
        out.append(rules.finding(
            "outside_ward", ids=[ctx.id(i)], labels=ctx.lab(i), geometry=part, tolerance=tol,
            band=band, fix=fix, figures={"area_m2": float(part.area), "width_m": w,
                                         "neighbour": into.id if into else ""},
            context={"where": lab.Label(f"sang {into.name}", f"into {into.name}") if into
                     else lab.Label("không thuộc phường lân cận nào đã biết",
                                    "in no known neighbouring ward")}))
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
                                              "share": float(part.area / ctx.geoms[i].area)},
                                     context={"zone_kind": lab.zone_kind(z.kind)}))
    return [f for f in out if f is not None]


def _neighbour(part: BaseGeometry, neighbours: Sequence[Zone]) -> Zone | None:
    """The neighbouring ward holding most of ``part`` (None when none touches it)."""
    best, best_area = None, 0.0
    for n in neighbours:
        a = float(shapely.area(shapely.intersection(part, n.geometry)))
        if a > best_area:
            best, best_area = n, a
    return best

"""What a re-measurement changes in a parcel, and the neighbour's boundary it would need.

A surveyor who re-measures a registered parcel wants to see, before any finding, what the
new boundary does to it: which corner moved and how far, the area before and after, how
many edges changed.  :func:`compare` says it; a displacement up to ``noise_m`` is the
rounding of coordinates (a parcel downloaded from the API and uploaded again moves each
vertex by up to half a millimetre) and counts as no change.

When the new boundary overlaps a registered neighbour beyond tolerance, the registry can
only stay a clean coverage if the neighbour gives up the overlap in the same act:
:func:`neighbour_adjustment` proposes the neighbour's new boundary (the neighbour minus
the surveyed parcel), or says why there is none.  Pure: shapely only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from gis import labels as lab


@dataclass(frozen=True)
class Change:
    """How a parcel's surveyed boundary differs from its registered one."""

    corner: int
    """The registered vertex that moved most, counted from 1 along the stored ring."""
    displacement_m: float
    area_before_m2: float
    area_after_m2: float
    edges_changed: int
    vertices_before: int
    vertices_after: int
    x: float
    y: float
    """Where that corner was (EPSG:9214 easting, northing)."""

    @property
    def unchanged(self) -> bool:
        return self.edges_changed == 0 and self.vertices_before == self.vertices_after

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "unchanged": self.unchanged}


def _ring(geom: BaseGeometry) -> np.ndarray:
    """The exterior vertices (closing point dropped) of a polygon or the largest part."""
    poly = geom if isinstance(geom, Polygon) else max(
        shapely.get_parts(geom), key=lambda p: float(shapely.area(p)))
    return np.asarray(poly.exterior.coords)[:-1, :2]


def compare(before: BaseGeometry, after: BaseGeometry, *, noise_m: float) -> Change:
    """What changed from ``before`` (registered) to ``after`` (surveyed), same metric CRS."""
    old, new = _ring(before), _ring(after)
    # each registered corner: how far to the nearest surveyed vertex, and the other way
    d_old = np.asarray(shapely.distance(shapely.points(old), shapely.multipoints(new)))
    d_new = np.asarray(shapely.distance(shapely.points(new), shapely.multipoints(old)))
    k = int(np.argmax(d_old))
    moved_new = d_new > noise_m
    edges = int((moved_new | np.roll(moved_new, -1)).sum()) if moved_new.any() else 0
    shift = float(d_old[k])
    return Change(corner=k + 1, displacement_m=shift if shift > noise_m else 0.0,
                  area_before_m2=float(shapely.area(before)),
                  area_after_m2=float(shapely.area(after)), edges_changed=edges,
                  vertices_before=len(old), vertices_after=len(new),
                  x=float(old[k, 0]), y=float(old[k, 1]))


def describe(change: Change, parcel: str, touched: list[str]) -> tuple[str, str]:
    """The change in a sentence each, Vietnamese and English: "thửa đất số 12, tờ bản đồ số
    5 (Kim Long cũ) đo lại: góc 3 dịch 1.00 m; diện tích 83.91 → 86.57 m² (lớn hơn 2.66 m²)"."""
    area_vi = (f"diện tích {change.area_before_m2:.2f} → {change.area_after_m2:.2f} m² "
               f"({lab.difference_vi(change.area_after_m2 - change.area_before_m2, 2)})")
    area_en = (f"area {change.area_before_m2:.2f} → {change.area_after_m2:.2f} m² "
               f"({lab.difference_en(change.area_after_m2 - change.area_before_m2, 2)})")
    en_parcel = lab.english(parcel)
    if change.unchanged:
        return (lab.sentence(f"{parcel} đo lại: ranh giới không đổi; {area_vi}."),
                lab.sentence(f"{en_parcel} re-measured: boundary unchanged; {area_en}."))
    vi = [f"góc {change.corner} dịch {change.displacement_m:.2f} m"] \
        if change.displacement_m > 0 else []
    en = [f"corner {change.corner} moved {change.displacement_m:.2f} m"] \
        if change.displacement_m > 0 else []
    vi.append(area_vi)
    en.append(area_en)
    vi.append(f"{change.edges_changed} cạnh thay đổi ({change.vertices_before} → "
              f"{change.vertices_after} đỉnh)")
    en.append(f"{change.edges_changed} edges changed ({change.vertices_before} → "
              f"{change.vertices_after} vertices)")
    if touched:
        vi.append(f"giáp {lab.join_vi(touched)}")
        en.append(f"touches {lab.join_en(touched)}")
    return (lab.sentence(f"{parcel} đo lại: " + "; ".join(vi) + "."),
            lab.sentence(f"{en_parcel} re-measured: " + "; ".join(en) + "."))


@dataclass(frozen=True)
class Adjustment:
    """The neighbour's boundary once it gives up what the surveyed parcel now covers."""

    geometry: Polygon | None
    area_before_m2: float
    area_after_m2: float
    refusal: str | None = None
    """Why there is no usable adjustment (the neighbour would vanish or fall apart)."""


def neighbour_adjustment(neighbour: BaseGeometry, surveyed: BaseGeometry, *,
                         min_area_m2: float) -> Adjustment:
    """The neighbour minus the surveyed parcel(s), if that is still one valid polygon
    without holes of at least ``min_area_m2``; otherwise no geometry and the reason."""
    before = float(shapely.area(neighbour))
    rest = shapely.difference(neighbour, surveyed)
    parts = [p for p in shapely.get_parts(rest) if isinstance(p, Polygon) and p.area > 1e-6]
    after = float(sum(p.area for p in parts))
    if not parts:
        return Adjustment(None, before, 0.0, "the surveyed parcel covers the whole neighbour")
    if len(parts) > 1:
        return Adjustment(None, before, after,
                          f"the neighbour would fall into {len(parts)} pieces (a split)")
    poly = shapely.orient_polygons(parts[0], exterior_cw=False)
    if poly.interiors:
        return Adjustment(None, before, after, "the neighbour would be left with a hole")
    if after < min_area_m2 or not poly.is_valid:
        return Adjustment(None, before, after,
                          f"the neighbour would be left with {after:.2f} m²")
    return Adjustment(poly, before, after)

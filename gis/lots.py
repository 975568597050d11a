"""The minimum-lot rule: is a piece of land still a lot anyone may use?

One implementation for every caller: the remainder a road project leaves (projects/), and
a parcel split (Land Law 2024 Art. 220(2)(a): a split parcel must meet the provincial
minimum; a piece below it must be merged with a neighbour at the same time).  The figures
come from a dated settings row (``config/lots.toml``, read by ``config.lots``) and are
passed in as a :class:`LotRule`; nothing here knows a number of its own.

What is measured, for one single polygon (a lot):
- area (m²);
- frontage: the length of the lot's boundary along a road's land, per road; the rule asks
  a minimum that depends on that road's red-line width (Huế: 4 m under 19 m, 5 m at 19 m
  or more);
- depth: the lot's mean depth behind that frontage, area ÷ frontage: the depth of a
  rectangular lot exactly, less than the greatest depth of a tapering one (a triangle
  behind its base gets half its height), so a sliver cannot pass on one deep corner;
- road access: whether the lot touches a road that gives access (a bridge deck does not)
  along at least ``access_min_m``.

Pure functions on shapely geometries in a metric CRS; no database, no settings file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import shapely
from shapely.geometry.base import BaseGeometry

AREA = "area"
FRONTAGE = "frontage"
DEPTH = "depth"
ROAD_ACCESS = "road_access"


@dataclass(frozen=True)
class LotRule:
    """The figures a lot must meet; ``None`` where the rule sets no figure."""

    min_area_m2: float | None = None
    min_frontage_m: float | None = None
    """On a road whose red line is narrower than ``wide_road_m``."""
    min_frontage_wide_m: float | None = None
    """On a road whose red line is ``wide_road_m`` or wider."""
    wide_road_m: float | None = None
    min_depth_m: float | None = None
    road_access: bool = False
    """The lot must touch a public road (Resolution 254/2025/QH15, from 1 January 2026)."""
    access_min_m: float = 1.0
    """Shared boundary with a road that counts as access, in metres."""

    def required_frontage(self, redline_width_m: float | None) -> float | None:
        """The minimum frontage on a road of this red-line width; on a road of unknown
        width the larger figure applies (the rule cannot be shown to be met)."""
        if self.min_frontage_m is None and self.min_frontage_wide_m is None:
            return None
        narrow = self.min_frontage_m if self.min_frontage_m is not None else 0.0
        wide = self.min_frontage_wide_m if self.min_frontage_wide_m is not None else narrow
        if self.wide_road_m is None:
            return narrow
        if redline_width_m is None:
            return max(narrow, wide)
        return wide if redline_width_m >= self.wide_road_m else narrow


@dataclass(frozen=True)
class Road:
    """A road's land next to lots: a red-line polygon of a project or a road parcel."""

    geometry: BaseGeometry
    redline_width_m: float | None
    """Width between the road's red lines (None when unknown)."""
    ref: str = ""
    """What the road is, for the reader: ``corridor RR3/NH-3``, ``parcel 1234``."""
    gives_access: bool = True
    """False for a bridge deck or an expressway a lot may not open onto."""
    _zones: dict[float, BaseGeometry] = field(default_factory=dict, compare=False, repr=False)

    def zone(self, tolerance_m: float) -> BaseGeometry:
        """The road's land grown by ``tolerance_m``, built once per road and tolerance: a lot's
        edge inside it is frontage (one buffer per road, not one per lot and road)."""
        if tolerance_m not in self._zones:
            grown = self.geometry.buffer(tolerance_m, quad_segs=2)
            shapely.prepare(grown)
            self._zones[tolerance_m] = grown
        return self._zones[tolerance_m]


@dataclass(frozen=True)
class Frontage:
    """A lot's boundary along one road."""

    road: str
    length_m: float
    redline_width_m: float | None
    required_m: float | None
    gives_access: bool

    @property
    def meets(self) -> bool:
        return self.required_m is None or self.length_m >= self.required_m


@dataclass(frozen=True)
class LotCheck:
    """What was measured on one lot and which figures it fails."""

    area_m2: float
    frontage: Frontage | None
    """The frontage the rule was judged on: one that meets its minimum if any does, else
    the longest; None when the lot touches no road."""
    depth_m: float | None
    road_access: bool
    failures: tuple[str, ...]

    @property
    def passes(self) -> bool:
        return not self.failures


def frontages(lot: BaseGeometry, roads: Sequence[Road], rule: LotRule, *,
              tolerance_m: float = 0.05) -> list[Frontage]:
    """The lot's frontage on each road it touches (within ``tolerance_m``), longest first."""
    out: list[Frontage] = []
    edge = lot.boundary
    for road in roads:
        if road.geometry.is_empty or lot.distance(road.geometry) > tolerance_m:
            continue
        length = _shared_length(edge, road.zone(tolerance_m), tolerance_m)
        if length <= 0:
            continue
        out.append(Frontage(road.ref, round(float(length), 3), road.redline_width_m,
                            rule.required_frontage(road.redline_width_m), road.gives_access))
    return sorted(out, key=lambda f: -f.length_m)


def _shared_length(edge: BaseGeometry, zone: BaseGeometry, tolerance_m: float) -> float:
    """The length of the lot's boundary along the road: the boundary inside the road's zone,
    less the stub of each side edge that crosses the zone where the frontage ends (``tolerance_m``
    at each end of each stretch; a 3.5 m frontage measured 3.6 m with them)."""
    inside = shapely.line_merge(shapely.intersection(edge, zone))
    total = 0.0
    for piece in shapely.get_parts(inside):
        if piece.geom_type != "LineString" or piece.is_empty:
            continue
        total += max(0.0, float(piece.length) - 2.0 * tolerance_m)
    return total


def check_lot(lot: BaseGeometry, roads: Sequence[Road], rule: LotRule, *,
              tolerance_m: float = 0.05) -> LotCheck:
    """Measure ``lot`` against ``rule`` with the given roads around it."""
    area = float(lot.area)
    usable = [f for f in frontages(lot, roads, rule, tolerance_m=tolerance_m)
              if f.gives_access and f.length_m >= rule.access_min_m]
    best = next((f for f in usable if f.meets), usable[0] if usable else None)
    depth = area / best.length_m if best is not None else None
    failures = []
    if rule.min_area_m2 is not None and area < rule.min_area_m2:
        failures.append(AREA)
    frontage_asked = rule.required_frontage(None) is not None
    if (best is None and frontage_asked) or (best is not None and not best.meets):
        failures.append(FRONTAGE)
    if rule.min_depth_m is not None and (depth is None or depth < rule.min_depth_m):
        failures.append(DEPTH)
    if rule.road_access and best is None:
        failures.append(ROAD_ACCESS)
    return LotCheck(area_m2=area, frontage=best,
                    depth_m=round(depth, 3) if depth is not None else None,
                    road_access=best is not None, failures=tuple(failures))


def shortfalls(check: LotCheck, rule: LotRule) -> list[dict[str, object]]:
    """Each failed figure of a checked lot: what was measured, what the rule requires, and
    the sentence an officer reads (Vietnamese and English)."""
    out: list[dict[str, object]] = []
    f = check.frontage
    for name in check.failures:
        if name == AREA:
            out.append({"figure": AREA, "measured": round(check.area_m2, 2),
                        "required": rule.min_area_m2, "unit": "m²",
                        "message_vi": f"diện tích {check.area_m2:.1f} m², nhỏ hơn diện tích tối "
                                      f"thiểu {rule.min_area_m2:g} m²",
                        "message_en": f"area {check.area_m2:.1f} m², under the minimum "
                                      f"{rule.min_area_m2:g} m²"})
        elif name == FRONTAGE:
            required = f.required_m if f is not None else rule.required_frontage(None)
            if f is None:
                out.append({"figure": FRONTAGE, "measured": None, "required": required,
                            "unit": "m", "message_vi": "không có cạnh tiếp giáp đường (mặt tiền)",
                            "message_en": "no frontage on a road"})
            else:
                out.append({"figure": FRONTAGE, "measured": f.length_m, "required": required,
                            "unit": "m", "road": f.road,
                            "redline_width_m": f.redline_width_m,
                            "message_vi": f"mặt tiền {f.length_m:.2f} m, nhỏ hơn {required:g} m "
                                          f"(đường có lộ giới {f.redline_width_m or 0:g} m)",
                            "message_en": f"frontage {f.length_m:.2f} m, under {required:g} m "
                                          f"(a road {f.redline_width_m or 0:g} m between red "
                                          "lines)"})
        elif name == DEPTH:
            out.append({"figure": DEPTH, "measured": check.depth_m, "required": rule.min_depth_m,
                        "unit": "m",
                        "message_vi": "không xác định được chiều sâu (không có mặt tiền)"
                        if check.depth_m is None else
                        f"chiều sâu {check.depth_m:.2f} m, nhỏ hơn {rule.min_depth_m:g} m",
                        "message_en": "no depth (no frontage)" if check.depth_m is None else
                        f"depth {check.depth_m:.2f} m, under {rule.min_depth_m:g} m"})
        elif name == ROAD_ACCESS:
            out.append({"figure": ROAD_ACCESS, "measured": None, "required": rule.access_min_m,
                        "unit": "m",
                        "message_vi": "không tiếp giáp đường giao thông công cộng",
                        "message_en": "no access to a public road"})
    return out

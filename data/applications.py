"""The inherited backlog of first-time certificate applications, with planted defects.

Each pending application is built from a parcel of the map and, where its
label says so, bent into the one defect the verification must catch: a strip
into a registered neighbour, a strip into another pending application, a
half-metre gap, a wrong declared area, a bite of a red line or a protection
zone, a lip over the ward boundary, a bow-tie, or a copy of a registered
parcel.  The label is the ground truth the rules engine is scored against, so
the neighbours of every bent claim are kept out of other claims.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry

from data.geometry import GRID, areal, polygons

HUE_TZ: Final = ZoneInfo("Asia/Ho_Chi_Minh")
STATUTORY_DAYS: Final = {"first_certificate": 20, "transfer": 8, "split_merge": 12,
                         "correction": 8}
"""Working days per procedure (Decree 151/2025 Annex I, DOMAIN.md)."""

VERDICT: Final = {
    "clean": "pass", "overlap_registered": "fail", "overlap_pending": "review",
    "boundary_gap": "review", "area_mismatch": "review", "road_redline": "review",
    "protection_zone": "review", "outside_ward": "fail", "invalid_geometry": "fail",
    "already_registered": "fail",
}
BACKLOG_SHARES: Final = {
    "clean": 0.50, "overlap_registered": 0.08, "overlap_pending": 0.06, "boundary_gap": 0.06,
    "area_mismatch": 0.07, "road_redline": 0.06, "protection_zone": 0.06, "outside_ward": 0.04,
    "invalid_geometry": 0.03, "already_registered": 0.04,
}
"""Known proportions of the backlog's situations (at full size, 400 files)."""
BACKLOG_FULL: Final = 400


@dataclass
class Application:
    """One application record (geometry only for first-time certificates)."""

    procedure: str
    cohort: str
    received_at: datetime
    channel: str
    state: str
    applicant_name: str
    declared_area: float | None
    declared_land_use: str | None
    parcel: int | None
    expected_rule: str | None
    expected_verdict: str | None
    geometry: BaseGeometry | None
    decided_at: datetime | None = None
    defect: dict[str, float] = field(default_factory=dict)


@dataclass
class Situation:
    """Where the map is: what each parcel touches, which parcels are taken."""

    geoms: list[Polygon]
    land_use: list[str]
    state: np.ndarray  # bool: state land, never applied for
    area: Polygon
    redline: BaseGeometry
    protection: BaseGeometry
    used: set[int] = field(default_factory=set)
    must_register: set[int] = field(default_factory=set)
    must_not_register: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.tree = shapely.STRtree(self.geoms)
        arr = np.asarray(self.geoms, dtype=object)
        self.red_frac = _fraction(arr, self.redline)
        self.prot_frac = _fraction(arr, self.protection)
        inner = self.area.buffer(-0.5)
        shapely.prepare(inner)
        self.on_edge = ~shapely.contains_properly(inner, arr)
        areas = shapely.area(arr)
        self.plain = (~self.state & (self.red_frac < 1e-6) & (self.prot_frac < 1e-6)
                      & ~self.on_edge & (areas > 60.0) & (areas < 5_000.0))

    def neighbours(self, i: int, min_shared: float = 4.0) -> list[tuple[int, LineString]]:
        """Parcels sharing at least ``min_shared`` metres of border with parcel ``i``."""
        out = []
        for j in sorted(int(j) for j in self.tree.query(self.geoms[i], predicate="intersects")):
            if j == i:
                continue
            shared = shapely.line_merge(
                shapely.intersection(self.geoms[i].boundary, self.geoms[j].boundary))
            if shared.length >= min_shared:
                out.append((j, shared))
        return out

    def free(self, i: int) -> bool:
        return i not in self.used and not self.state[i]

    def take(self, i: int, *, register: bool, block_neighbours: bool) -> None:
        self.used.add(i)
        (self.must_register if register else self.must_not_register).add(i)
        if block_neighbours:
            for j, _ in self.neighbours(i, 0.0):
                self.used.add(j)


STRIP_MIN_M = 0.5
"""Narrowest planted encroachment: above every scale's snapping tolerance."""


def backlog_counts(scale: float) -> dict[str, int]:
    """Applications per situation: the known shares of ~400 files, at least one each."""
    n = BACKLOG_FULL * scale
    counts = {k: max(1, round(v * n)) for k, v in BACKLOG_SHARES.items()}
    counts["overlap_pending"] = max(2, counts["overlap_pending"] + counts["overlap_pending"] % 2)
    return counts


def plan_backlog(sit: Situation, rng: np.random.Generator, scale: float,
                 names: list[str]) -> list[Application]:
    """Pending first-time applications with their planted defects and ground truth."""
    builders: dict[str, Callable[[Situation, np.random.Generator, int], list[Application]]] = {
        "overlap_pending": _overlap_pending, "overlap_registered": _overlap_registered,
        "boundary_gap": _boundary_gap, "outside_ward": _outside_ward,
        "road_redline": _road_redline, "protection_zone": _protection_zone,
        "already_registered": _already_registered, "invalid_geometry": _invalid,
        "area_mismatch": _area_mismatch, "clean": _clean,
    }
    apps: list[Application] = []
    counts = backlog_counts(scale)
    order = np.argsort(rng.random(len(sit.geoms)), kind="stable")
    for rule, builder in builders.items():
        made = 0
        for i in order:
            i = int(i)
            if made >= counts[rule]:
                break
            if not sit.free(i):
                continue
            got = builder(sit, rng, i)
            apps.extend(got)
            made += len(got)
        if made < counts[rule]:
            raise RuntimeError(f"could not plant {counts[rule]} '{rule}' applications "
                               f"(only {made}): the generation area is too small")
    for k, app in enumerate(apps):
        _backlog_timing(app, rng)
        app.applicant_name = names[k % len(names)]
    return apps


def _app(sit: Situation, i: int, rule: str, geom: BaseGeometry, declared: float | None = None,
         **defect: float) -> Application:
    return Application(
        procedure="first_certificate", cohort="backlog", received_at=datetime.min,
        channel="counter", state="received", applicant_name="",
        declared_area=round(declared if declared is not None else float(geom.area), 1),
        declared_land_use=sit.land_use[i], parcel=i, expected_rule=rule,
        expected_verdict=VERDICT[rule], geometry=geom, defect=dict(defect),
    )


def _clean(sit: Situation, rng: np.random.Generator, i: int) -> list[Application]:
    if not sit.plain[i]:
        return []
    sit.take(i, register=False, block_neighbours=False)
    return [_app(sit, i, "clean", sit.geoms[i])]


def _area_mismatch(sit: Situation, rng: np.random.Generator, i: int) -> list[Application]:
    if not sit.plain[i]:
        return []
    g = sit.geoms[i]
    factor = 1.0 + float(rng.choice([-1.0, 1.0])) * float(rng.uniform(0.06, 0.20))
    if abs(g.area * (factor - 1.0)) < 5.0:
        return []
    sit.take(i, register=False, block_neighbours=True)
    return [_app(sit, i, "area_mismatch", g, g.area * factor, declared_over_measured=factor)]


def _strip_into(sit: Situation, i: int, rng: np.random.Generator, lo: float, hi: float,
                want: Callable[[int], bool]) -> tuple[int, Polygon, float] | None:
    """Parcel ``i`` grown by a strip of width in [lo, hi] into a neighbour ``want`` accepts."""
    for j, shared in sit.neighbours(i):
        if not want(j):
            continue
        width = float(rng.uniform(lo, hi))
        strip = areal(shapely.intersection(
            sit.geoms[j], shared.buffer(width, cap_style="flat", join_style="mitre"),
            grid_size=GRID))
        grown = shapely.union(sit.geoms[i], strip, grid_size=GRID)
        enough = strip.area > 0.25 * width * shared.length
        if isinstance(grown, Polygon) and grown.is_valid and enough:
            return j, grown, width
    return None


def _overlap_registered(sit: Situation, rng: np.random.Generator, i: int) -> list[Application]:
    if not sit.plain[i]:
        return []
    # The range is 0.3-3 m; the lower end is raised to 0.5 m because on agricultural
    # land at 1:2000 the positional tolerance is 0.45 m (config/rules.toml): a thinner strip there
    # is survey noise, not the conflict this case is labelled as.
    got = _strip_into(sit, i, rng, STRIP_MIN_M, 3.0,
                      lambda j: sit.free(j) and bool(sit.plain[j]))
    if got is None:
        return []
    j, grown, width = got
    sit.take(j, register=True, block_neighbours=True)
    sit.take(i, register=False, block_neighbours=True)
    return [_app(sit, i, "overlap_registered", grown, strip_width_m=width)]


def _overlap_pending(sit: Situation, rng: np.random.Generator, i: int) -> list[Application]:
    if not sit.plain[i]:
        return []
    got = _strip_into(sit, i, rng, 0.5, 3.0, lambda j: sit.free(j) and bool(sit.plain[j]))
    if got is None:
        return []
    j, grown, width = got
    sit.take(j, register=False, block_neighbours=True)
    sit.take(i, register=False, block_neighbours=True)
    return [_app(sit, i, "overlap_pending", grown, strip_width_m=width),
            _app(sit, j, "overlap_pending", sit.geoms[j], strip_width_m=width)]


def _boundary_gap(sit: Situation, rng: np.random.Generator, i: int) -> list[Application]:
    if not sit.plain[i]:
        return []
    for j, shared in sit.neighbours(i):
        if not sit.free(j):
            continue
        # beyond any map scale's survey noise (snap_m: 0.45 m at the most, agricultural land
        # at 1:2000), within the gap rule's 1 m: a gap an officer must look at
        gap = float(rng.uniform(0.5, 0.85))
        cut = shared.buffer(gap, cap_style="flat", join_style="mitre")
        shrunk = shapely.difference(sit.geoms[i], cut, grid_size=GRID)
        parts = polygons(shrunk, 1.0)
        if len(parts) != 1 or not parts[0].is_valid:
            continue
        sit.take(j, register=True, block_neighbours=True)
        sit.take(i, register=False, block_neighbours=True)
        return [_app(sit, i, "boundary_gap", parts[0], gap_width_m=gap)]
    return []


def _outside_ward(sit: Situation, rng: np.random.Generator, i: int) -> list[Application]:
    g = sit.geoms[i]
    if (sit.state[i] or not sit.on_edge[i] or sit.red_frac[i] > 0 or sit.prot_frac[i] > 0
            or not 60.0 < g.area < 20_000.0):
        return []
    edge = shapely.line_merge(shapely.intersection(g.boundary, sit.area.boundary))
    if edge.length < 4.0:
        return []
    width = float(rng.uniform(2.0, 8.0))
    lip = areal(shapely.difference(edge.buffer(width, cap_style="flat"), sit.area,
                                   grid_size=GRID))
    grown = shapely.union(g, lip, grid_size=GRID)
    if not isinstance(grown, Polygon) or not grown.is_valid or lip.area < 1.0:
        return []
    sit.take(i, register=False, block_neighbours=True)
    return [_app(sit, i, "outside_ward", grown, outside_width_m=width)]


def _in_zone(
    frac: np.ndarray, other: np.ndarray, rule: str
) -> Callable[[Situation, np.random.Generator, int], list[Application]]:
    def build(sit: Situation, rng: np.random.Generator, i: int) -> list[Application]:
        g = sit.geoms[i]
        if (sit.state[i] or sit.on_edge[i] or not 0.05 <= frac[i] <= 0.95 or other[i] > 0
                or not 60.0 < g.area < 20_000.0):
            return []
        sit.take(i, register=False, block_neighbours=False)
        return [_app(sit, i, rule, g, zone_fraction=float(frac[i]))]
    return build


def _road_redline(sit: Situation, rng: np.random.Generator, i: int) -> list[Application]:
    return list(_in_zone(sit.red_frac, sit.prot_frac, "road_redline")(sit, rng, i))


def _protection_zone(sit: Situation, rng: np.random.Generator, i: int) -> list[Application]:
    return list(_in_zone(sit.prot_frac, sit.red_frac, "protection_zone")(sit, rng, i))


def _invalid(sit: Situation, rng: np.random.Generator, i: int) -> list[Application]:
    if not sit.plain[i]:
        return []
    ring = list(sit.geoms[i].exterior.coords)[:-1]
    if len(ring) < 4:
        return []
    k = int(rng.integers(len(ring) - 1))
    ring[k], ring[k + 1] = ring[k + 1], ring[k]
    bowtie = Polygon(ring)  # deliberately self-intersecting
    if bowtie.is_valid:
        return []
    sit.take(i, register=False, block_neighbours=True)
    return [_app(sit, i, "invalid_geometry", bowtie, sit.geoms[i].area)]


def _already_registered(sit: Situation, rng: np.random.Generator, i: int) -> list[Application]:
    if not sit.plain[i]:
        return []
    g = sit.geoms[i]
    if g.interiors:
        return []
    ring = np.asarray(g.exterior.coords)[:-1]
    ring = ring + np.clip(rng.normal(0.0, 0.015, ring.shape), -0.04, 0.04)
    jittered = Polygon(ring)
    if not jittered.is_valid:  # a jitter may fold a narrow lot; GEOS cannot snap that
        return []
    copy = shapely.set_precision(jittered, GRID)
    if not isinstance(copy, Polygon) or not copy.is_valid:
        return []
    sit.take(i, register=True, block_neighbours=True)
    return [_app(sit, i, "already_registered", copy)]


def _fraction(geoms: np.ndarray, zone: BaseGeometry) -> np.ndarray:
    """Share of each parcel's area inside ``zone`` (0 where it does not reach)."""
    out = np.zeros(len(geoms))
    if zone.is_empty:
        return out
    shapely.prepare(zone)
    hit = np.flatnonzero(shapely.intersects(zone, geoms))
    inside = shapely.contains_properly(zone, geoms[hit])
    out[hit[inside]] = 1.0
    part = hit[~inside]
    if len(part):
        inter = shapely.area(shapely.intersection(geoms[part], zone, grid_size=GRID))
        out[part] = inter / shapely.area(geoms[part])
    out[out < 1e-4] = 0.0  # shared edges are not overlaps
    return out


def _backlog_timing(app: Application, rng: np.random.Generator) -> None:
    """Received by the former district before the July 2025 reform; never decided."""
    day = date(2024, 9, 1) + timedelta(days=int(rng.integers(0, 302)))
    minute = int(rng.integers(7 * 60 + 30, 16 * 60 + 30))
    app.received_at = datetime.combine(day, time(minute // 60, minute % 60), HUE_TZ)
    app.channel = "online" if rng.random() < 0.3 else "counter"
    app.state = "received" if rng.random() < 0.4 else "verifying"

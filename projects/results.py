"""What an impact evaluation answers: per parcel (take, remainder parts against the
minimum-lot rule, proposal, estimated cost), the totals, and the notices every report of it
carries (an estimate, not a compensation decision; synthetic demo data)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from config import projects as project_settings
from gis import lots as glots
from projects.records import CorridorVersion, ProjectRecord

ESTIMATE_NOTICE = ("Ước tính sơ bộ, không phải quyết định bồi thường / A rough estimate, not a "
                   "compensation decision")
SYNTHETIC_NOTICE = "Dữ liệu mô phỏng / SYNTHETIC demo data — not real cadastral records"


# ------------------------------------------------------------------------ results


@dataclass(frozen=True)
class PartResult:
    """One piece of a remainder and how it fares against the minimum-lot rule."""

    area_m2: float
    frontage_m: float | None
    road: str | None
    road_redline_width_m: float | None
    required_frontage_m: float | None
    depth_m: float | None
    road_access: bool
    failures: tuple[str, ...]
    judged: bool
    geometry: Polygon

    @property
    def fails(self) -> bool:
        return self.judged and bool(self.failures)


@dataclass(frozen=True)
class ParcelImpact:
    parcel_id: int
    version: int
    label: str
    former_unit: str
    sheet_no: int
    parcel_no: int
    land_use: str
    address: str | None
    legal_area: float | None
    holders: tuple[str, ...]
    holder_keys: tuple[str, ...]
    certificates: tuple[str, ...]
    state_land: bool
    area_m2: float
    taken_m2: float
    remainder_m2: float
    safety_m2: float
    sections: tuple[str, ...]
    take: str
    """``full`` (nothing usable left by geometry), ``partial``, ``noise`` (under the noise
    threshold: not a take), ``safety`` (only in the safety corridor)."""
    parts: tuple[PartResult, ...]
    sliver_m2: float
    proposal: str
    """``full_acquisition``, ``partial`` or ``none``."""
    proposed_m2: float
    rule_sources: tuple[str, ...]
    position: int
    unit_price: float | None
    cost_taken: float | None
    cost_proposed: float | None
    disputes: tuple[int, ...] = ()
    applications: tuple[int, ...] = ()
    taken: BaseGeometry = field(default_factory=Polygon)
    rule: glots.LotRule | None = None
    """The minimum-lot figures the remainder was judged by (None: not judged)."""

    @property
    def affected(self) -> bool:
        return self.take in ("full", "partial")

    @property
    def share_taken(self) -> float:
        return self.taken_m2 / self.area_m2 if self.area_m2 > 0 else 0.0

    @property
    def fails_minimum(self) -> bool:
        return any(p.fails for p in self.parts)


@dataclass(frozen=True)
class LandUseTotal:
    parcels: int = 0
    taken_m2: float = 0.0
    proposed_m2: float = 0.0
    cost_taken: float = 0.0
    cost_proposed: float = 0.0
    unpriced_m2: float = 0.0


@dataclass(frozen=True)
class Totals:
    parcels_affected: int
    state_land_parcels: int
    """Of the parcels affected, those the State or a public body holds (roads, river …)."""
    holders_affected: int
    full_takes: int
    partial_takes: int
    proposed_full_acquisition: int
    remainders_failing: int
    parts_created: int
    """Remainder parts of the partial takes: the lots the registry holds after the project
    in place of those parcels."""
    parcels_cut_in_several: int
    noise_parcels: int
    safety_only_parcels: int
    taken_m2: float
    proposed_m2: float
    cost_taken: float
    cost_proposed: float
    unpriced_m2: float
    by_land_use: dict[str, LandUseTotal]
    pending_applications: int
    open_disputes: int


@dataclass(frozen=True)
class Impact:
    project: ProjectRecord
    corridor: CorridorVersion
    section: str | None
    as_of: datetime | None
    on: date
    parcels: list[ParcelImpact]
    totals: Totals
    pending: list[dict[str, Any]]
    disputes: list[dict[str, Any]]
    price_table: project_settings.PriceTable | None
    settings_version: str
    lots_version: str
    redline_m2: float
    elapsed_ms: float

    @property
    def affected(self) -> list[ParcelImpact]:
        return [p for p in self.parcels if p.affected]


def totals(parcels: Sequence[ParcelImpact], pending: Sequence[Any] = (),
           disputes: Sequence[Any] = ()) -> Totals:
    affected = [p for p in parcels if p.affected]
    by_use: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for p in affected:
        row = by_use[p.land_use]
        row["parcels"] += 1
        row["taken_m2"] += p.taken_m2
        row["proposed_m2"] += p.proposed_m2
        row["cost_taken"] += p.cost_taken or 0.0
        row["cost_proposed"] += p.cost_proposed or 0.0
        if p.unit_price is None:
            row["unpriced_m2"] += p.taken_m2
    holders = {k for p in affected for k in p.holder_keys}
    partial = [p for p in affected if p.take == "partial"]
    return Totals(
        parcels_affected=len(affected), state_land_parcels=sum(p.state_land for p in affected),
        holders_affected=len(holders),
        full_takes=sum(p.take == "full" for p in affected), partial_takes=len(partial),
        proposed_full_acquisition=sum(p.proposal == "full_acquisition" for p in affected),
        remainders_failing=sum(p.fails_minimum for p in partial),
        parts_created=sum(len(p.parts) for p in partial),
        parcels_cut_in_several=sum(len(p.parts) > 1 for p in partial),
        noise_parcels=sum(p.take == "noise" for p in parcels),
        safety_only_parcels=sum(p.take == "safety" for p in parcels),
        taken_m2=sum(p.taken_m2 for p in affected),
        proposed_m2=sum(p.proposed_m2 for p in affected),
        cost_taken=sum(p.cost_taken or 0.0 for p in affected),
        cost_proposed=sum(p.cost_proposed or 0.0 for p in affected),
        unpriced_m2=sum(p.taken_m2 for p in affected if p.unit_price is None),
        by_land_use={u: LandUseTotal(parcels=int(r["parcels"]), taken_m2=r["taken_m2"],
                                     proposed_m2=r["proposed_m2"], cost_taken=r["cost_taken"],
                                     cost_proposed=r["cost_proposed"],
                                     unpriced_m2=r["unpriced_m2"])
                     for u, r in sorted(by_use.items())},
        pending_applications=len(pending), open_disputes=len(disputes))

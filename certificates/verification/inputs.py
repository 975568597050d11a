"""What a verification judges: the claim, and its surroundings as gathered from the registry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from shapely.geometry.base import BaseGeometry

from gis.frame import Zone
from parcels.cases import OpenDispute
from parcels.records import MapParcel

PENDING_STATES: Final = ("received", "verifying", "survey_extract", "field_check",
                          "waiting_applicant", "clock_stopped", "posting", "posted", "eligible",
                          "financial_obligations", "obligations_met")
CLAIM: Final = "claim"
"""The claim's id among the geometries the gis engine judges."""


@dataclass(frozen=True)
class PendingClaim:
    """Another application still in progress whose claim may overlap this one."""

    application_id: int
    application_key: str | None
    received_at: datetime
    geometry: BaseGeometry
    parcel_id: int | None = None

    @property
    def label(self) -> str:
        return self.application_key or f"#{self.application_id}"


@dataclass(frozen=True)
class Claim:
    """What is verified: the claimed geometry (EPSG:9214, maybe invalid) and the papers."""

    geometry: BaseGeometry | None
    application_id: int | None = None
    application_key: str | None = None
    received_at: datetime | None = None
    declared_area: float | None = None
    land_use: str | None = None
    former_unit: str | None = None
    sheet_no: int | None = None
    parcel_no: int | None = None

    @property
    def label(self) -> str:
        return self.application_key or (f"#{self.application_id}" if self.application_id
                                         else "claim")


@dataclass(frozen=True)
class Surroundings:
    """Everything :func:`evaluate` needs from the registry, fetched by :func:`gather`."""

    neighbours: tuple[MapParcel, ...] = ()
    pending: tuple[PendingClaim, ...] = ()
    claimed_parcels: frozenset[int] = frozenset()
    frame: BaseGeometry | None = None
    zones: tuple[Zone, ...] = ()
    zone_projects: Mapping[str, str] = field(default_factory=dict)
    disputes: tuple[OpenDispute, ...] = ()
    scale: int | None = None
    registry_version: int = 0

"""Open cases on the registry's parcels: applications not yet decided, disputes not yet closed.

Their tables belong to ``certificates``, which reads them; ``projects`` judges a road
corridor against them.  The records live here, below both, so that one type serves the
certificate checks, the corridor's cases and the impact evaluation without either package
importing the other (DESIGN.md's layout).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shapely.geometry.base import BaseGeometry


@dataclass(frozen=True, kw_only=True)
class PendingCase:
    """An application received and not yet decided: its claim (EPSG:9214; None when it
    was filed without one) and the parcel it names."""

    application_id: int
    application_key: str | None
    applicant_name: str
    procedure: str
    state: str
    received_on: date
    geometry: BaseGeometry | None
    parcel_id: int | None


@dataclass(frozen=True)
class OpenDispute:
    """A dispute over one or more parcels, opened and not yet closed."""

    dispute_id: int
    parcel_ids: tuple[int, ...]
    claimant: str
    opened_on: date
    state: str

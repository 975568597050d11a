"""What an impact evaluation takes in: the corridor and the registry around it as ``gather``
read them (``Inputs``), and the cases the caller reads from ``certificates`` (pending
applications and open disputes the corridor meets, as :mod:`parcels.cases` records)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from config import lots as lot_settings
from config import projects as project_settings
from parcels.cases import OpenDispute, PendingCase
from parcels.records import ParcelRecord
from projects.records import CorridorVersion, Element, ProjectRecord

# ------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Cases:
    pending: Sequence[PendingCase] = ()
    disputes: Sequence[OpenDispute] = ()


@dataclass(frozen=True)
class Inputs:
    """Everything ``evaluate`` needs, read in one go."""

    project: ProjectRecord
    corridor: CorridorVersion
    section: str | None
    elements: tuple[Element, ...]
    redline: MultiPolygon
    safety: MultiPolygon
    parcels: list[ParcelRecord]
    roads: list[tuple[int, BaseGeometry]]
    as_of: datetime | None
    on: date
    lots: lot_settings.LotSettings
    settings: project_settings.ProjectSettings
    read_ms: float = 0.0

    @property
    def area(self) -> BaseGeometry:
        """The red line and the safety band: where cases are looked for."""
        return shapely.union(self.redline, self.safety) if not self.safety.is_empty \
            else self.redline


"""What a road project is made of: its code rules and statuses, the stated specs a land
officer gives (project, sections, corridor elements), and the records read back (project,
section, corridor version, element, OGC centreline segment).

A project (Ring Road 3) has sections and phases (its Nguyễn Hoàng section inside the ward,
a later phase further north) and, per alternative ("A", "B" …), a corridor that is
versioned like a parcel: a new version closes the one in force (``valid_to``) and nothing
is overwritten, so the corridor in force on any day can be read back.  A corridor version
is a list of elements, each either a red-line polygon (the approved plan's authoritative
form) or a centreline with the planned width on each side, with the section it belongs to,
whether it gives road access (a bridge deck does not) and an optional safety corridor
beyond the red line.  ``projects.corridors`` checks and writes them, ``projects.reads``
reads them back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from shapely.geometry import LineString, MultiPolygon
from shapely.geometry.base import BaseGeometry

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
STATUSES = ("proposed", "planned", "approved", "under_construction", "completed", "suspended",
            "cancelled")


# ------------------------------------------------------------------------------ types


@dataclass(frozen=True)
class ElementSpec:
    """One element of a corridor as stated, geometries in EPSG:9214 (schemas convert)."""

    section_code: str | None = None
    name: str | None = None
    centreline: BaseGeometry | None = None
    left_width_m: float | None = None
    right_width_m: float | None = None
    existing_width_m: float | None = None
    redline: BaseGeometry | None = None
    redline_width_m: float | None = None
    gives_access: bool = True
    safety_m: float | None = None


@dataclass(frozen=True)
class CorridorSpec:
    elements: Sequence[ElementSpec]
    alternative: str = "A"
    label: str | None = None
    safety_m: float | None = None
    """Safety corridor width for elements that do not state their own."""
    source_document: str | None = None


@dataclass(frozen=True)
class SectionSpec:
    code: str
    name_vi: str
    name_en: str | None = None
    phase: int = 1
    description: str | None = None


@dataclass(frozen=True)
class ProjectSpec:
    code: str
    name_vi: str
    name_en: str
    description: str | None = None
    status: str = "planned"
    sections: Sequence[SectionSpec] = ()
    corridor: CorridorSpec | None = None
    synthetic: bool = False


@dataclass(frozen=True)
class Element:
    """A stored element; ``polygon`` is its red line (built from the centreline when that
    is how it was given)."""

    segment_no: int
    section_code: str | None
    name: str | None
    centreline: LineString | None
    left_width_m: float | None
    right_width_m: float | None
    existing_width_m: float | None
    polygon: MultiPolygon
    width_m: float
    """Red-line width: left + right for a centreline, as stated (or estimated) for a polygon."""
    width_estimated: bool
    gives_access: bool
    safety_m: float | None

    @property
    def form(self) -> str:
        return "centreline" if self.centreline is not None else "redline"


@dataclass(frozen=True)
class CorridorVersion:
    id: int
    project_code: str
    alternative: str
    version: int
    label: str | None
    redline: MultiPolygon
    safety: MultiPolygon
    valid_from: datetime
    valid_to: datetime | None
    recorded_at: datetime
    recorded_by: str
    reason: str
    source_document: str | None
    elements: tuple[Element, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.alternative}@{self.version}"


@dataclass(frozen=True)
class Section:
    code: str
    name_vi: str
    name_en: str | None
    phase: int
    description: str | None


@dataclass(frozen=True)
class ProjectRecord:
    code: str
    name_vi: str
    name_en: str
    description: str | None
    status: str
    adopted_alternative: str
    synthetic: bool
    created_at: datetime
    sections: tuple[Section, ...] = ()
    corridors: tuple[CorridorVersion, ...] = field(default_factory=tuple)
    """The version in force of each alternative, adopted one first."""
    outline: BaseGeometry | None = None
    """The red line on the project's own row, as the demo loads it (EPSG:9214; the ward
    overview draws it); the corridor in force is ``corridors``."""



@dataclass(frozen=True)
class SegmentRecord:
    id: int
    project_code: str
    project_name: str
    segment_no: int
    name: str | None
    left_width_m: float
    right_width_m: float
    existing_width_m: float | None
    synthetic: bool
    centreline: BaseGeometry  # EPSG:9214

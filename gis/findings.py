"""What every check reports: :class:`Finding` objects (one defect or notice each, ranked),
gathered in a :class:`Report` that records what it was judged with.

A finding names its rule, the features it is about, its figures, the geometry of the
problem and two sentences (Vietnamese and English); its severity and band come from the
rule settings (:mod:`gis.rules`).  Findings are ranked the way an officer works through
them: errors first, then warnings, then information, and within a severity the biggest
defect first (:meth:`Finding.magnitude`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely.geometry import mapping as geojson_mapping
from shapely.geometry.base import BaseGeometry

from gis.catalogue import RULES
from gis.crs import WARD, to_wgs84

if TYPE_CHECKING:
    from gis.rules import RuleSet


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    OFF = "off"

    @property
    def rank(self) -> int:
        """Sort key: errors first."""
        return ("error", "warning", "info", "off").index(self.value)


class Band(StrEnum):
    """Where a discrepancy falls against the two-sided tolerance."""

    NOISE = "noise"
    REVIEW = "review"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class MovedVertex:
    """One vertex a fix moves, removes (``target`` None) or inserts (``inserted``).

    An inserted vertex's ``source`` is the point of the old edge it was pulled from.
    """

    source: tuple[float, float] | None
    target: tuple[float, float] | None
    inserted: bool = False

    @property
    def distance_m(self) -> float:
        if self.source is None or self.target is None:
            return 0.0
        return math.dist(self.source, self.target)

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.source, "to": self.target, "distance_m": self.distance_m,
                "inserted": self.inserted}


@dataclass(frozen=True)
class Fix:
    """A proposed repair: the new geometry and what changed.  Never applied implicitly."""

    geometry: BaseGeometry
    description_en: str
    description_vi: str
    moved: tuple[MovedVertex, ...] = ()
    changed: bool = True

    def as_dict(self, source_crs: int | None = WARD) -> dict[str, Any]:
        return self._dict(to_wgs84(self.geometry, source_crs) if source_crs else self.geometry)

    def _dict(self, wgs84: BaseGeometry) -> dict[str, Any]:
        return {"description_en": self.description_en, "description_vi": self.description_vi,
                "changed": self.changed, "moved_vertices": [m.as_dict() for m in self.moved],
                "geometry": geojson_mapping(wgs84)}


def fixes_as_dicts(fixes: Sequence[Fix | None], source_crs: int | None = WARD
                   ) -> list[dict[str, Any] | None]:
    """``[f.as_dict() for f in fixes]`` with every geometry reprojected in one pass
    (one transform per fix cost a second for the ten thousand fixes of a survey batch)."""
    live = [k for k, f in enumerate(fixes) if f is not None]
    geoms = np.empty(len(live), dtype=object)
    geoms[:] = [fixes[k].geometry for k in live]  # type: ignore[union-attr]
    if source_crs and len(live):
        geoms = to_wgs84(geoms, source_crs)
    out: list[dict[str, Any] | None] = [None] * len(fixes)
    for k, geom in zip(live, geoms.tolist(), strict=True):
        f = fixes[k]
        assert f is not None
        out[k] = f._dict(geom)
    return out


Figure = float | int | str


@dataclass(frozen=True)
class Finding:
    """One defect (or notice): which rule, which features, how big, where, and what to do.

    ``parcels`` and ``applications`` describe the registry parcels and pending claims a
    certificate finding is about (for the land officer's report).
    """

    code: str
    version: int
    severity: Severity
    feature_ids: tuple[str, ...]
    figures: Mapping[str, Any]
    geometry: BaseGeometry | None
    message_vi: str
    message_en: str
    tolerance: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    band: Band | None = None
    labels: tuple[str, ...] = ()
    fix: Fix | None = None
    parcels: tuple[Mapping[str, Any], ...] = ()
    applications: tuple[Mapping[str, Any], ...] = ()

    @property
    def rule(self) -> str:
        """The rule's code, under the name reports give it."""
        return self.code

    def magnitude(self) -> tuple[float, float]:
        """How big the defect is, for ranking within a severity: the area in m² of the
        problem between parcels or with the frame (an overlap, a gap, a part outside the
        ward), then how far its width or distance goes into the tolerance (as a multiple of
        the conflict tolerance).  A shape or validity finding is about one parcel's drawing
        and has no size here (a sliver's area is the parcel's, not the defect's)."""
        rule = RULES.get(self.code)
        if rule is None or rule.category not in ("neighbours", "frame"):
            return 0.0, 0.0
        area = _figure(self.figures.get("area_m2"))
        reach = max(_figure(self.figures.get(k)) for k in ("width_m", "distance_m"))
        limit = _figure(self.tolerance.get("conflict_m"))
        return area, reach / limit if limit > 0 else reach

    def sort_key(self) -> tuple[Any, ...]:
        """Rank order: errors first, then the biggest (:meth:`magnitude`), then stable."""
        wkb = b"" if self.geometry is None else shapely.to_wkb(
            shapely.normalize(self.geometry), output_dimension=2)
        area, beyond = self.magnitude()
        return (self.severity.rank, -area, -beyond, self.code, self.feature_ids, wkb)

    def to_dict(self, source_crs: int | None = WARD) -> dict[str, Any]:
        """A JSON-ready dict; geometry in WGS 84 (or as is when ``source_crs`` is None)."""
        geom = None
        if self.geometry is not None and not self.geometry.is_empty:
            g = to_wgs84(self.geometry, source_crs) if source_crs else self.geometry
            geom = geojson_mapping(g)
        return {"rule": self.code, "version": self.version, "severity": str(self.severity),
                "band": None if self.band is None else str(self.band),
                "feature_ids": list(self.feature_ids), "labels": list(self.labels),
                "figures": dict(self.figures), "tolerance": dict(self.tolerance),
                "message_vi": self.message_vi, "message_en": self.message_en,
                "geometry": geom, "fix": None if self.fix is None else self.fix.as_dict(source_crs)}

    def to_geojson_feature(self, source_crs: int = WARD) -> dict[str, Any]:
        """A GeoJSON Feature in WGS 84 lon/lat with the figures as flat properties."""
        d = self.to_dict(source_crs)
        props = {k: v for k, v in d.items() if k not in ("geometry", "figures")}
        props.update(d["figures"])
        return {"type": "Feature", "geometry": d["geometry"], "properties": props}


def _figure(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return 0.0
    return float(v)


@dataclass(frozen=True)
class Report:
    """A run's findings plus what they depend on, so the same input gives the same report."""

    fingerprint: str
    ruleset_version: str
    rule_versions: Mapping[str, int]
    settings: Mapping[str, Any]
    findings: tuple[Finding, ...]
    feature_count: int

    @classmethod
    def build(cls, findings: Iterable[Finding | None], *, rules: RuleSet, fingerprint: str,
              feature_count: int) -> Report:
        found = sorted((f for f in findings if f is not None), key=Finding.sort_key)
        return cls(fingerprint=fingerprint, ruleset_version=rules.version,
                   rule_versions=MappingProxyType({c: r.version for c, r in RULES.items()}),
                   settings=MappingProxyType(rules.to_mapping()), findings=tuple(found),
                   feature_count=feature_count)

    def counts(self) -> dict[str, int]:
        """Findings per rule code."""
        out: dict[str, int] = {}
        for f in self.findings:
            out[f.code] = out.get(f.code, 0) + 1
        return dict(sorted(out.items()))

    def severities(self) -> dict[str, int]:
        """Findings per severity, errors first."""
        out = {str(s): 0 for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)}
        for f in self.findings:
            out[str(f.severity)] = out.get(str(f.severity), 0) + 1
        return out

    def by_code(self, code: str) -> list[Finding]:
        return [f for f in self.findings if f.code == code]

    @property
    def has_errors(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)

    def to_dict(self, source_crs: int | None = WARD) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "ruleset_version": self.ruleset_version,
                "rule_versions": dict(self.rule_versions), "settings": dict(self.settings),
                "feature_count": self.feature_count, "counts": self.counts(),
                "findings": [f.to_dict(source_crs) for f in self.findings]}

    def to_json(self, source_crs: int | None = WARD) -> str:
        return json.dumps(self.to_dict(source_crs), ensure_ascii=False, sort_keys=True)


def fingerprint(geoms: Sequence[BaseGeometry | None] | np.ndarray, ids: Sequence[Any],
                *, extra: Mapping[str, Any] | None = None) -> str:
    """SHA-256 of the normalised geometries' WKB with their ids, in id order.

    Normalising first makes the fingerprint independent of vertex start point and ring
    order; sorting by id makes it independent of input order.
    """
    arr = np.asarray(geoms, dtype=object)
    wkb = shapely.to_wkb(shapely.normalize(arr), output_dimension=2)
    h = hashlib.sha256()
    for i in sorted(range(len(arr)), key=lambda k: str(ids[k])):
        h.update(str(ids[i]).encode())
        h.update(b"\0")
        h.update(b"" if wkb[i] is None else wkb[i])
        h.update(b"\1")
    if extra:
        h.update(json.dumps(extra, sort_keys=True, default=str).encode())
    return h.hexdigest()

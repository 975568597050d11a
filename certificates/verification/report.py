"""What a verification answers: the findings, the verdict, and a finding as a report stores it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shapely.geometry.base import BaseGeometry

from certificates.rules import worst
from certificates.verification.inputs import CLAIM, Claim, Surroundings
from gis import labels as lab
from gis.catalogue import CERTIFICATE_RULES, render
from gis.crs import WARD
from gis.findings import Band, Finding, Fix, Severity
from gis.geojson import geometry_to_geojson


def finding_dict(f: Finding) -> dict[str, Any]:
    """A verification finding as a stored report carries it: JSON-ready, geometries as
    GeoJSON in WGS 84 (EPSG:4326), the proposed repair or snap beside the problem."""
    return {
        "rule": f.code, "severity": str(f.severity),
        "band": None if f.band is None else str(f.band),
        "message_vi": f.message_vi, "message_en": f.message_en,
        "figures": dict(f.figures), "parcels": [dict(p) for p in f.parcels],
        "applications": [dict(a) for a in f.applications],
        "tolerance": dict(f.tolerance),
        "geometry": _geojson(f.geometry),
        "proposed_geometry": _geojson(f.fix.geometry) if f.fix and f.fix.changed else None,
        "proposal": f.fix.description_en if f.fix else None,
        "proposal_vi": f.fix.description_vi if f.fix else None,
    }


@dataclass(frozen=True)
class Outcome:
    """The result of :func:`evaluate`: findings, verdict and the measured area."""

    verdict: str
    findings: tuple[Finding, ...]
    measured_area: float | None
    declared_area: float | None
    subject_parcel_id: int | None
    scale: int | None
    registry_version: int

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.findings:
            if f.severity is not Severity.INFO:
                out[f.rule] = out.get(f.rule, 0) + 1
        return dict(sorted(out.items()))

    def rules(self, *severities: Severity) -> set[str]:
        sev = severities or (Severity.ERROR, Severity.WARNING)
        return {f.rule for f in self.findings if f.severity in sev}

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]


def _geojson(geom: BaseGeometry | None) -> dict[str, Any] | None:
    if geom is None or geom.is_empty:
        return None
    return geometry_to_geojson(geom, WARD)


def rounded(v: Any, nd: int = 3) -> float:
    return round(float(v), nd)


def outcome(found: list[Finding], area: float | None, claim: Claim, subject: int | None,
             around: Surroundings) -> Outcome:
    kept = [f for f in found if f.severity is not Severity.OFF]
    kept.sort(key=lambda f: (f.severity.rank, f.rule, -float(f.figures.get("area_m2", 0) or 0)))
    return Outcome(verdict=worst([f.severity for f in kept]), findings=tuple(kept),
                   measured_area=area, declared_area=claim.declared_area,
                   subject_parcel_id=subject, scale=around.scale,
                   registry_version=around.registry_version)


def finding(rule: str, severity: Severity, figures: dict[str, Any], *,
             geometry: BaseGeometry | None = None, fix: Fix | None = None,
             band: Band | None = None, tolerance: Mapping[str, Any] | None = None,
             parcels: tuple[Mapping[str, Any], ...] = (),
             applications: tuple[Mapping[str, Any], ...] = (),
             words: Mapping[str, str] | None = None) -> Finding:
    """A finding of a certificate rule (:data:`gis.catalogue.CERTIFICATE_RULES`) about the
    claim, its sentences filled with ``figures`` and ``words``: names said differently in
    each language (a :class:`gis.labels.Label` says its English form)."""
    r = CERTIFICATE_RULES[rule]
    spoken = dict(words or {})
    vi_ctx = {**figures, **{k: str(v) for k, v in spoken.items()}}
    en_ctx = {**figures, **{k: lab.english(v) for k, v in spoken.items()}}
    return Finding(code=rule, version=r.version, severity=severity, feature_ids=(CLAIM,),
                   figures=figures, geometry=geometry, message_vi=render(r.message_vi, vi_ctx),
                   message_en=render(r.message_en, en_ctx), tolerance=dict(tolerance or {}),
                   band=band, fix=fix, parcels=parcels, applications=applications)

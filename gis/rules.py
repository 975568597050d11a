"""The rules' settings, and the findings and reports the rules produce.

What a rule is called and what it says is the catalogue's (:mod:`gis.catalogue`).  How
severe it is and which tolerances it uses come from a :class:`RuleSet` built from a
mapping, whose defaults live in ``config/rules.toml`` with their citations: an administrator
changes a tolerance without touching code, and every finding records the tolerance it
was judged with, so an old report stays explainable.  Every check (the registry audit,
survey intake, certificate verification) reports :class:`Finding` objects.

Two-sided rules judge a discrepancy (a width or a distance in metres) against the map
scale's tolerances: up to ``snap_m`` it is survey noise (a snap is proposed), up to
``conflict_m`` it is a warning to look at, above it a conflict.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping as geojson_mapping
from shapely.geometry.base import BaseGeometry

from gis.catalogue import RULES, Rule, render
from gis.crs import WARD, to_wgs84

DEFAULT_RULES_PATH = Path(__file__).resolve().parents[1] / "config" / "rules.toml"
"""The settings file holding the default severities and tolerances (with citations): the
same file as ``config.tables.RULES_TABLE``, named by path since ``gis`` imports nothing of ours."""


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


class RuleConfigError(ValueError):
    """The settings mapping does not describe a usable rule set."""


@dataclass(frozen=True)
class ScaleTolerance:
    """Positional accuracy of one map scale and the two thresholds derived from it."""

    scale: int
    positional_accuracy_m: float
    snap_m: float
    conflict_m: float
    agricultural_factor: float = 1.0


@dataclass(frozen=True)
class Tolerance:
    """The tolerance one judgement used; recorded in every finding."""

    scale: int
    snap_m: float
    conflict_m: float
    agricultural: bool = False

    def band(self, value: float) -> Band:
        """Classify a discrepancy in metres: noise, review or conflict."""
        if value <= self.snap_m:
            return Band.NOISE
        if value <= self.conflict_m:
            return Band.REVIEW
        return Band.CONFLICT

    def coarser(self, other: Tolerance) -> Tolerance:
        """The looser of two tolerances: two parcels are judged at the less accurate map."""
        return self if self.conflict_m >= other.conflict_m else other

    def as_dict(self) -> dict[str, float | int | bool]:
        return {"scale": self.scale, "snap_m": self.snap_m, "conflict_m": self.conflict_m,
                "agricultural": self.agricultural}


@dataclass(frozen=True)
class RuleConfig:
    """Severity and tolerances of one rule, as set in settings."""

    severity: Severity
    noise_severity: Severity = Severity.INFO
    review_severity: Severity = Severity.WARNING
    params: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))


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

    def sort_key(self) -> tuple[Any, ...]:
        wkb = b"" if self.geometry is None else shapely.to_wkb(
            shapely.normalize(self.geometry), output_dimension=2)
        return (self.severity.rank, self.code, self.feature_ids, wkb)

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


@dataclass(frozen=True)
class RuleSet:
    """Severities and tolerances of every rule: the settings a run is judged with."""

    version: str
    default_scale: int
    scales: Mapping[int, ScaleTolerance]
    rules: Mapping[str, RuleConfig]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RuleSet:
        """Build from a settings mapping shaped like ``config/rules.toml``; refuse gaps or typos."""
        try:
            settings = data["settings"]
            scales = {int(k): ScaleTolerance(scale=int(k), **{n: float(x) for n, x in v.items()})
                      for k, v in data["scales"].items()}
            raw_rules: Mapping[str, Mapping[str, Any]] = data["rules"]
        except (KeyError, TypeError, ValueError) as exc:
            raise RuleConfigError(f"rule settings are incomplete or malformed: {exc}") from exc
        unknown = sorted(set(raw_rules) - set(RULES))
        missing = sorted(set(RULES) - set(raw_rules))
        if unknown or missing:
            raise RuleConfigError(
                f"rule settings: unknown rules {unknown}, missing rules {missing}")
        rules: dict[str, RuleConfig] = {}
        for code, raw in raw_rules.items():
            rules[code] = _rule_config(RULES[code], raw)
        for s in scales.values():
            if not 0 < s.snap_m <= s.conflict_m:
                raise RuleConfigError(f"scale 1:{s.scale}: need 0 < snap_m <= conflict_m")
        default_scale = int(settings["default_scale"])
        if default_scale not in scales:
            raise RuleConfigError(f"default_scale 1:{default_scale} has no tolerances")
        return cls(version=str(settings["version"]), default_scale=default_scale,
                   scales=MappingProxyType(scales), rules=MappingProxyType(rules))

    def to_mapping(self) -> dict[str, Any]:
        """The inverse of :meth:`from_mapping` (recorded in every report)."""
        return {
            "settings": {"version": self.version, "default_scale": self.default_scale},
            "scales": {str(k): {"positional_accuracy_m": s.positional_accuracy_m,
                                "snap_m": s.snap_m, "conflict_m": s.conflict_m,
                                "agricultural_factor": s.agricultural_factor}
                       for k, s in sorted(self.scales.items())},
            "rules": {c: {"severity": str(r.severity), "noise_severity": str(r.noise_severity),
                          "review_severity": str(r.review_severity), **dict(r.params)}
                      for c, r in sorted(self.rules.items())},
        }

    def with_overrides(self, overrides: Mapping[str, Any]) -> RuleSet:
        """A new rule set with an administrator's overrides merged over this one."""
        return RuleSet.from_mapping(_deep_merge(self.to_mapping(), overrides))

    def tolerance(self, scale: int | None = None, agricultural: bool = False) -> Tolerance:
        """The two-sided tolerance for a map scale (default: the ward's usual scale)."""
        s = self.default_scale if scale is None else int(scale)
        if s not in self.scales:
            raise RuleConfigError(
                f"no tolerances for map scale 1:{s}; known: {sorted(self.scales)}")
        st = self.scales[s]
        k = st.agricultural_factor if agricultural else 1.0
        return Tolerance(scale=s, snap_m=round(st.snap_m * k, 6),
                         conflict_m=round(st.conflict_m * k, 6),
                         agricultural=agricultural and k != 1.0)

    def enabled(self, code: str) -> bool:
        return self.rules[code].severity is not Severity.OFF

    def param(self, code: str, name: str) -> float:
        return self.rules[code].params[name]

    def severity(self, code: str, band: Band | None = None) -> Severity:
        cfg = self.rules[code]
        if band is Band.NOISE:
            return cfg.noise_severity
        if band is Band.REVIEW:
            return cfg.review_severity
        return cfg.severity

    def finding(self, code: str, *, ids: Sequence[Any], figures: Mapping[str, Figure],
                geometry: BaseGeometry | None, tolerance: Tolerance | None = None,
                band: Band | None = None, labels: Sequence[str] = (),
                fix: Fix | None = None,
                context: Mapping[str, Any] | None = None) -> Finding | None:
        """Make a finding of ``code`` (None when its severity for that band is ``off``).

        ``context`` fills the message's placeholders without being recorded as figures.
        """
        rule = RULES[code]
        sev = self.severity(code, band)
        if sev is Severity.OFF:
            return None
        str_ids = tuple(str(i) for i in ids)
        named = bool(labels) and all(labels)
        names = tuple(labels) if named else str_ids
        clean = {k: _clean_figure(v) for k, v in figures.items()}
        tol: dict[str, Any] = dict(tolerance.as_dict()) if tolerance else {}
        tol.update({p: self.param(code, p) for p in rule.params})
        # the measured figures win over parameters of the same name (min_area's threshold
        # is ``area_m2`` too): a message states what was found, then the limit
        ctx: dict[str, Any] = {**tol, **clean}
        ctx.update({"features": _join_vi(names, named), "first": _join_vi(names[:1], named),
                    "second": _join_vi(names[1:2], named), **(context or {})})
        vi = render(rule.message_vi, ctx)
        ctx.update({"features": _join_en(names, named), "first": _join_en(names[:1], named),
                    "second": _join_en(names[1:2], named), **(context or {})})
        en = render(rule.message_en, ctx)
        if geometry is not None:  # same input, same vertex order, whatever GEOS returned
            geometry = shapely.orient_polygons(shapely.normalize(geometry), exterior_cw=False)
        return Finding(code=code, version=rule.version, severity=sev, feature_ids=str_ids,
                       figures=MappingProxyType(clean), geometry=geometry, message_vi=vi,
                       message_en=en, tolerance=MappingProxyType(tol), band=band,
                       labels=tuple(labels), fix=fix)


def _rule_config(rule: Rule, raw: Mapping[str, Any]) -> RuleConfig:
    try:
        sev = Severity(raw["severity"])
        noise = Severity(raw.get("noise_severity", "info"))
        review = Severity(raw.get("review_severity", "warning"))
    except (KeyError, ValueError) as exc:
        raise RuleConfigError(f"rule {rule.code}: bad or missing severity ({exc})") from exc
    if rule.two_sided and ("noise_severity" not in raw or "review_severity" not in raw):
        raise RuleConfigError(f"rule {rule.code}: two-sided, needs noise_severity and "
                              "review_severity")
    extra = set(raw) - {"severity", "noise_severity", "review_severity"} - set(rule.params)
    absent = set(rule.params) - set(raw)
    if extra or absent:
        raise RuleConfigError(f"rule {rule.code}: unknown settings {sorted(extra)}, "
                              f"missing {sorted(absent)}")
    params = {p: float(raw[p]) for p in rule.params}
    return RuleConfig(severity=sev, noise_severity=noise, review_severity=review,
                      params=MappingProxyType(params))


def load_ruleset(path: str | Path | None = None,
                 overrides: Mapping[str, Any] | None = None) -> RuleSet:
    """Read the settings file (default ``config/rules.toml``), then apply overrides."""
    with open(path or DEFAULT_RULES_PATH, "rb") as fh:
        rs = RuleSet.from_mapping(tomllib.load(fh))
    return rs.with_overrides(overrides) if overrides else rs


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, Mapping) and isinstance(
            out.get(k), Mapping) else v
    return out


def _clean_figure(v: Any) -> Figure:
    if isinstance(v, bool | int | str):
        return v
    f = float(v)
    return round(f, 6) if math.isfinite(f) else str(f)


def _join_vi(names: Sequence[str], named: bool) -> str:
    """Ids read as "thửa 12 và 13"; labels (e.g. "tờ 5 thửa 12") are used as given."""
    if not names:
        return "(không rõ thửa)"
    return " và ".join(names) if named else "thửa " + " và ".join(names)


def _join_en(names: Sequence[str], named: bool) -> str:
    if not names:
        return "(unknown parcel)"
    if named:
        return " and ".join(names)
    return ("parcel " if len(names) == 1 else "parcels ") + " and ".join(names)


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

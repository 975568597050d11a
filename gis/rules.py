"""The rules' settings: severities and tolerances, and the finding each rule makes.

What a rule is called and what it says is the catalogue's (:mod:`gis.catalogue`); what a
finding and a report are is :mod:`gis.findings`.  How severe a rule is and which
tolerances it uses come from a :class:`RuleSet` built from a mapping, whose defaults live
in ``config/rules.toml`` with their citations: an administrator changes a tolerance without
touching code, and every finding records the tolerance it was judged with, so an old
report stays explainable.

Two-sided rules judge a discrepancy (a width or a distance in metres) against the map
scale's tolerances: up to ``snap_m`` it is survey noise (a snap is proposed), up to
``conflict_m`` it is a warning to look at, above it a conflict.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from gis import labels as lab
from gis.catalogue import RULES, Rule, render
from gis.findings import Band, Figure, Finding, Fix, Severity

DEFAULT_RULES_PATH = Path(__file__).resolve().parents[1] / "config" / "rules.toml"
"""The settings file holding the default severities and tolerances (with citations): the
same file as ``config.tables.RULES_TABLE``, named by path since ``gis`` imports nothing of ours."""


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
        local = dict(context or {})
        ctx.update({"features": _join_vi(names, named), "first": _join_vi(names[:1], named),
                    "second": _join_vi(names[1:2], named), **_spoken(clean, vi=True), **local})
        vi = render(rule.message_vi, ctx)
        ctx.update({"features": _join_en(names, named), "first": _join_en(names[:1], named),
                    "second": _join_en(names[1:2], named), **_spoken(clean, vi=False),
                    **{k: lab.english(v) if isinstance(v, str) else v
                       for k, v in local.items()}})
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
    """Ids read as "thửa 12 và 13"; labels are joined as :mod:`gis.labels` joins them."""
    if not names:
        return "(không rõ thửa)"
    return lab.join_vi(names) if named else "thửa " + " và ".join(names)


def _join_en(names: Sequence[str], named: bool) -> str:
    if not names:
        return "(unknown parcel)"
    if named:
        return lab.join_en(names)
    return ("parcel " if len(names) == 1 else "parcels ") + " and ".join(names)


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def _spoken(figures: Mapping[str, Any], *, vi: bool) -> dict[str, str]:
    """Figures as a sentence says them: ``{point}`` labelled X (northing), Y (easting),
    ``{length}`` and ``{width}`` never rounded onto their limit, ``{area}`` never "0.00"."""
    out: dict[str, str] = {}
    x, y = _number(figures.get("x")), _number(figures.get("y"))
    if x is not None and y is not None:
        out["point"] = lab.point_vi(x, y) if vi else lab.point_en(x, y)
    for name, key, limit in (("length", "length_m", "threshold_m"),
                             ("width", "width_m", None), ("distance", "distance_m", None)):
        v = _number(figures.get(key))
        if v is not None:
            out[name] = lab.metres(v, _number(figures.get(limit)) if limit else None)
    a = _number(figures.get("area_m2"))
    if a is not None:
        out["area"] = lab.area_m2(a)
    return out

"""The settings certificate verification is judged with: severities by band, tolerances.

The rules themselves (codes and sentences) are the catalogue's
(:data:`gis.catalogue.CERTIFICATE_RULES`).  How severe a finding is comes from
``config/certificates.toml`` (per rule, or per band of the gis engine's two-sided tolerance:
noise up to ``snap_m``, review up to ``conflict_m``, conflict above); the tolerances by
map scale, the gap width and the shape rules come from the rules file every check reads
(``CADASTRE_RULES_FILE``, default ``config/rules.toml``), so that a tightened tolerance
changes a verification as it changes the registry audit and survey intake.  Nothing
numeric is decided in code, and every report records the settings version it was judged
with.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from certificates.deadlines import read_settings
from config import land_use
from gis.catalogue import CERTIFICATE_RULES
from gis.findings import Band, Severity
from gis.rules import RuleSet, load_ruleset

BANDED: Final = frozenset({"outside_ward", "overlap_registered", "overlap_state_land",
                           "overlap_uncertified", "overlap_pending", "boundary_gap",
                           "road_redline", "protection_zone", "plan_conformity"})


class CertificateSettingsError(ValueError):
    """The certificates settings file is incomplete or malformed."""


@dataclass(frozen=True)
class VerificationSettings:
    """Everything verification is judged with: this file's section plus the gis rule set."""

    version: str
    gis: RuleSet
    severities: Mapping[str, Mapping[str, Severity]]
    state_land_uses: frozenset[str]
    search_m: float
    same_parcel_factor: float
    shape_max_severity: Severity
    noise_floor_m: float
    gap_min_area_m2: float
    dispute_neighbour_m: float
    area_tolerance: Mapping[int, tuple[tuple[float, float], ...]] = field(
        default_factory=lambda: MappingProxyType({}))

    def severity(self, rule: str, band: Band | None = None) -> Severity:
        sev = self.severities[rule]
        if rule in BANDED:
            return sev[str(band or Band.CONFLICT)]
        return sev["severity"]

    def allowed_area_error(self, scale: int, area: float) -> float:
        """Allowed difference (m²) between declared and measured area at this map scale."""
        pts = self.area_tolerance.get(scale)
        if not pts:
            raise CertificateSettingsError(f"no area tolerance for map scale 1:{scale}")
        xs = [p[0] for p in pts]
        if area >= xs[-1]:
            a, e = pts[-1]
            return e * math.sqrt(area / a) if a > 0 else e
        k = bisect.bisect_right(xs, area)
        (a0, e0), (a1, e1) = pts[k - 1], pts[k]
        return e0 + (e1 - e0) * (area - a0) / (a1 - a0) if a1 > a0 else e1

    def as_dict(self) -> dict[str, Any]:
        """What a stored report records about the settings it was judged with."""
        return {"version": self.version, "gis_rules_version": self.gis.version,
                "severities": {k: {b: str(s) for b, s in v.items()}
                               for k, v in self.severities.items()},
                "search_m": self.search_m, "same_parcel_factor": self.same_parcel_factor,
                "noise_floor_m": self.noise_floor_m, "gap_min_area_m2": self.gap_min_area_m2}


def settings_from(data: Mapping[str, Any], gis: RuleSet) -> VerificationSettings:
    """Build from a mapping shaped like ``config/certificates.toml``; refuse gaps and typos."""
    try:
        v = data["verification"]
        raw_rules: Mapping[str, Mapping[str, str]] = v["rules"]
        sev: dict[str, Mapping[str, Severity]] = {}
        for code in CERTIFICATE_RULES:
            if code == "shape":
                continue
            raw = raw_rules[code]
            keys = ("noise", "review", "conflict") if code in BANDED else ("severity",)
            sev[code] = MappingProxyType({k: Severity(raw[k]) for k in keys})
        unknown = sorted(set(raw_rules) - set(CERTIFICATE_RULES))
        if unknown:
            raise CertificateSettingsError(f"unknown verification rules {unknown}")
        tables = {int(k): tuple((float(a), float(e)) for a, e in pts)
                  for k, pts in v["area_tolerance"].items()}
        for scale, pts in tables.items():
            if len(pts) < 2 or any(b[0] <= a[0] for a, b in itertools.pairwise(pts)):
                raise CertificateSettingsError(
                    f"area_tolerance 1:{scale}: need two or more points with rising areas")
        search = float(v["search_m"])
        if search < gis.param("gap", "max_width_m"):
            raise CertificateSettingsError("search_m must be at least rules.toml's "
                                           "gap.max_width_m")
        return VerificationSettings(
            version=str(data["settings"]["version"]), gis=gis, severities=MappingProxyType(sev),
            state_land_uses=land_use.load().state_managed, search_m=search,
            same_parcel_factor=float(v["same_parcel_factor"]),
            shape_max_severity=Severity(v["shape_max_severity"]),
            noise_floor_m=float(v["noise_floor_m"]),
            gap_min_area_m2=float(v["gap_min_area_m2"]),
            dispute_neighbour_m=float(raw_rules["dispute_open"].get("neighbour_m", 0.5)),
            area_tolerance=MappingProxyType(tables))
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, CertificateSettingsError):
            raise
        raise CertificateSettingsError(f"certificates settings are incomplete or malformed: "
                                       f"{exc!r}") from exc


# The gis engine's own severities are not used for certificate findings (they are set
# above per rule), but its noise band must not silence findings we still want to see:
# the overrides below make every band of the rules we read produce a finding.
GIS_OVERRIDES: Final = {"rules": {
    "overlap": {"noise_severity": "info", "review_severity": "warning", "severity": "error"},
    "gap": {"noise_severity": "info", "review_severity": "warning", "severity": "warning"},
    "outside_ward": {"noise_severity": "info", "review_severity": "warning",
                     "severity": "error"},
    "zone_crossing": {"noise_severity": "info", "review_severity": "warning",
                      "severity": "warning"},
}}


@lru_cache(maxsize=4)
def load_settings(rules_file: Path | None = None,
                  path: Path | None = None) -> VerificationSettings:
    """The verification settings: ``config/certificates.toml`` (or ``path``) over the rules file
    (``rules_file``, default ``config/rules.toml``)."""
    return settings_from(read_settings(path), load_ruleset(rules_file, GIS_OVERRIDES))


def worst(severities: Sequence[Severity]) -> str:
    """The verdict of a set of severities: fail on any error, review on warnings, else pass."""
    if Severity.ERROR in severities:
        return "fail"
    if Severity.WARNING in severities:
        return "review"
    return "pass"

"""The certificate verification rules: codes, severities by band, messages, tolerances.

A rule here is its stable code and its two sentences (Vietnamese and English).  How
severe a finding is comes from ``config/certificates.toml`` (per rule, or per band of the
gis engine's two-sided tolerance: noise up to ``snap_m``, review up to ``conflict_m``,
conflict above); the tolerances by map scale come from ``config/rules.toml``.  Nothing
numeric is decided in code, so an administrator changes a tolerance without a release
and every report records the settings version it was judged with.
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
from gis.rules import Band, RuleSet, Severity, load_ruleset

RULES: Final[Mapping[str, tuple[str, str]]] = MappingProxyType({
    "invalid_geometry": (
        "Ranh giới thửa khai báo không hợp lệ ({reason}) tại ({x:.3f}, {y:.3f}); "
        "xem hình đã sửa đề xuất.",
        "The claimed boundary is not a valid polygon ({reason}) at ({x:.3f}, {y:.3f}); "
        "see the proposed repaired shape."),
    "outside_ward": (
        "{area_m2:.2f} m² của thửa khai báo nằm ngoài ranh giới phường (rộng {width_m:.2f} m).",
        "{area_m2:.2f} m² of the claim lies outside the ward boundary ({width_m:.2f} m wide)."),
    "already_registered": (
        "Thửa khai báo trùng với thửa {parcel} đã cấp giấy chứng nhận số {certificate_no} "
        "cho {holder} (lệch tối đa {distance_m:.3f} m).",
        "The claim is the same parcel as {parcel}, already certified to {holder} under "
        "certificate {certificate_no} (at most {distance_m:.3f} m apart)."),
    "overlap_registered": (
        "Chồng lấn {area_m2:.2f} m² (rộng nhất {width_m:.2f} m) lên thửa {parcel} đã cấp "
        "giấy chứng nhận số {certificate_no} cho {holder}.",
        "Overlaps {area_m2:.2f} m² (at most {width_m:.2f} m wide) of parcel {parcel}, "
        "certified to {holder} under certificate {certificate_no}."),
    "overlap_state_land": (
        "Chồng lấn {area_m2:.2f} m² (rộng nhất {width_m:.2f} m) lên đất {land_use} do Nhà "
        "nước quản lý, thửa {parcel}.",
        "Overlaps {area_m2:.2f} m² (at most {width_m:.2f} m wide) of state land ({land_use}), "
        "parcel {parcel}."),
    "overlap_uncertified": (
        "Chồng lấn {area_m2:.2f} m² (rộng nhất {width_m:.2f} m) lên thửa {parcel} chưa được "
        "cấp giấy chứng nhận; cần xác minh ranh giới tại thực địa.",
        "Overlaps {area_m2:.2f} m² (at most {width_m:.2f} m wide) of parcel {parcel}, which "
        "has no certificate; check the boundary in the field."),
    "overlap_pending": (
        "Chồng lấn {area_m2:.2f} m² (rộng nhất {width_m:.2f} m) với hồ sơ {other} đang chờ "
        "xử lý; hồ sơ {first} nộp trước.",
        "Overlaps {area_m2:.2f} m² (at most {width_m:.2f} m wide) with pending application "
        "{other}; {first} was received first."),
    "boundary_gap": (
        "Khe hở {area_m2:.2f} m², rộng {width_m:.3f} m giữa thửa khai báo và {parcel}: ranh "
        "giới có lẽ phải trùng nhau; xem hình đề xuất đã bám ranh.",
        "A gap of {area_m2:.2f} m², {width_m:.3f} m wide, between the claim and {parcel}: "
        "the boundaries should probably coincide; see the proposed snapped shape."),
    "area_mismatch": (
        "Diện tích kê khai {declared_m2:.1f} m² khác diện tích đo {measured_m2:.1f} m² "
        "({difference_m2:+.1f} m², sai số cho phép 1:{scale} là {allowed_m2:.2f} m²); theo "
        "Điều 135 khoản 6 Luật Đất đai 2024, diện tích đo được ghi nếu ranh giới không đổi "
        "và không tranh chấp.",
        "Declared area {declared_m2:.1f} m² differs from the measured {measured_m2:.1f} m² "
        "({difference_m2:+.1f} m², allowed at 1:{scale}: {allowed_m2:.2f} m²); under Land Law "
        "2024 Art. 135(6) the measured area is used if the boundary is unchanged and "
        "undisputed."),
    "road_redline": (
        "{area_m2:.2f} m² ({share_pct:.1f}%) của thửa nằm trong chỉ giới đường đỏ {zone}.",
        "{area_m2:.2f} m² ({share_pct:.1f}%) of the claim lies inside the planned road red "
        "line {zone}."),
    "protection_zone": (
        "{area_m2:.2f} m² ({share_pct:.1f}%) của thửa nằm trong vùng bảo vệ {zone} "
        "({zone_kind}).",
        "{area_m2:.2f} m² ({share_pct:.1f}%) of the claim lies inside the protection zone "
        "{zone} ({zone_kind})."),
    "dispute_open": (
        "Thửa {parcel} có tranh chấp đang giải quyết (số {dispute_id}, từ {opened_on}, "
        "{claimant}).",
        "Parcel {parcel} has an open dispute (no. {dispute_id}, since {opened_on}, "
        "{claimant})."),
    "shape": ("{detail_vi}", "{detail_en}"),
})
"""Rule code -> (Vietnamese, English) message template; figures fill the placeholders."""

BANDED: Final = frozenset({"outside_ward", "overlap_registered", "overlap_state_land",
                           "overlap_uncertified", "overlap_pending", "boundary_gap",
                           "road_redline", "protection_zone"})


class CertificateSettingsError(ValueError):
    """The certificates settings file is incomplete or malformed."""


@dataclass(frozen=True)
class VerificationSettings:
    """Everything verification is judged with: this file's section plus the gis rule set."""

    version: str
    gis: RuleSet
    severities: Mapping[str, Mapping[str, Severity]]
    agricultural_land_uses: frozenset[str]
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
        for code in RULES:
            if code == "shape":
                continue
            raw = raw_rules[code]
            keys = ("noise", "review", "conflict") if code in BANDED else ("severity",)
            sev[code] = MappingProxyType({k: Severity(raw[k]) for k in keys})
        unknown = sorted(set(raw_rules) - set(RULES))
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
            agricultural_land_uses=frozenset(v["agricultural_land_uses"]),
            state_land_uses=frozenset(v["state_land_uses"]), search_m=search,
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
def load_settings(path: Path | None = None, gis_path: Path | None = None) -> VerificationSettings:
    """The verification settings in use (``config/certificates.toml`` over ``rules.toml``)."""
    return settings_from(read_settings(path), load_ruleset(gis_path, GIS_OVERRIDES))


def render(code: str, figures: Mapping[str, Any]) -> tuple[str, str]:
    """The finding's two sentences; a missing figure shows as "?" rather than failing."""
    vi, en = RULES[code]
    return _fill(vi, figures), _fill(en, figures)


class _Safe(dict[str, Any]):
    def __missing__(self, key: str) -> Any:
        return _Unknown()


class _Unknown:
    def __format__(self, spec: str) -> str:
        return "?"


def _fill(template: str, figures: Mapping[str, Any]) -> str:
    try:
        return template.format_map(_Safe(figures))
    except (ValueError, TypeError):  # a text figure where a number was expected
        for spec in (":.3f", ":.2f", ":.1f", ":+.1f"):
            template = template.replace(spec, "")
        return template.format_map(_Safe(figures))


def worst(severities: Sequence[Severity]) -> str:
    """The verdict of a set of severities: fail on any error, review on warnings, else pass."""
    if Severity.ERROR in severities:
        return "fail"
    if Severity.WARNING in severities:
        return "review"
    return "pass"

"""Matching a staged survey batch to the registry and validating it.

A batch is judged the way the registry will look once it is committed: each
feature either replaces the parcel it matches (same former unit, sheet and
number; or, for an unnumbered drawing, the one parcel it covers almost exactly)
or joins the registry as a new parcel.  So the topology rules run over the
batch's features plus the current parcels around them *minus* the parcels the
batch replaces, and only findings that involve at least one batch feature are
kept: the registry's own defects are the registry audit's business.

Everything here reads; :mod:`parcels.surveys` writes the results.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.audit import audit
from gis.convert import from_db, from_db_many, to_ewkb
from gis.crs import WARD
from gis.frame import Zone
from gis.intake.attributes import normalise_name
from gis.rules import Finding, RuleSet, Severity, fixes_as_dicts

Progress = Callable[[str], None]

NOT_STORABLE: Final = frozenset({
    "not_polygon", "empty", "too_few_points", "unclosed_ring", "self_intersection",
    "ring_self_touch", "invalid_rings", "non_finite", "multipart",
    "missing_identity", "bad_number", "bad_land_use", "unknown_former_unit", "duplicate_number",
})
"""Error findings an officer cannot override: the registry could not store the feature
(one valid polygon, a known former unit, whole sheet and parcel numbers, a land-use
code, a number used once).  The surveyor fixes the file and uploads it again."""

CONFLICT_RULES: Final = frozenset({"overlap", "contained", "duplicate"})
LAND_USE: Final = re.compile(r"^[A-Z]{3}(\+[A-Z]{3})*$")

INTAKE_MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "missing_identity": (
        "Đối tượng {feature}: thiếu {missing}; không thể đăng ký thửa mới.",
        "Feature {feature}: {missing} missing; it cannot be registered as a new parcel."),
    "bad_number": (
        "Đối tượng {feature}: {field} = {value!r} không phải số nguyên dương.",
        "Feature {feature}: {field} = {value!r} is not a positive whole number."),
    "bad_land_use": (
        "Đối tượng {feature}: mã loại đất {value!r} không hợp lệ (ví dụ ODT, CLN, LUC).",
        "Feature {feature}: land-use code {value!r} is not valid (e.g. ODT, CLN, LUC)."),
    "unknown_former_unit": (
        "Đối tượng {feature}: đơn vị hành chính cũ {value!r} không có trong phường.",
        "Feature {feature}: former unit {value!r} is not one of the ward's."),
    "duplicate_number": (
        "Các đối tượng {features} cùng số hiệu tờ {sheet_no} thửa {parcel_no} ({former_unit}).",
        "Features {features} share sheet {sheet_no} parcel {parcel_no} ({former_unit})."),
    "matched_by_position": (
        "Đối tượng {feature} không có số hiệu; được coi là thửa {label} (trùng {iou:.0%} "
        "diện tích).",
        "Feature {feature} has no number; taken as parcel {label} (overlapping {iou:.0%})."),
}


@dataclass
class StagedFeature:
    """One staged feature with the identity the registry would give it."""

    idx: int
    geom: BaseGeometry
    former_unit: str | None
    sheet_no: str | None
    parcel_no: str | None
    land_use: str | None
    unit: str | None = None
    sheet: int | None = None
    number: int | None = None
    matched_parcel_id: int | None = None
    matched_by: str | None = None


@dataclass
class IntakeFinding:
    """A finding as stored with the batch: batch features by index, parcels by id."""

    rule: str
    version: int
    severity: str
    band: str | None
    feature_idx: list[int]
    parcel_ids: list[int]
    figures: dict[str, Any]
    tolerance: dict[str, Any]
    message_vi: str
    message_en: str
    geometry: BaseGeometry | None
    fix: dict[str, Any] | None = None

    @property
    def overridable(self) -> bool:
        return self.severity == "error" and self.rule not in NOT_STORABLE

    @property
    def key(self) -> tuple[str, tuple[int, ...], tuple[int, ...]]:
        """What an officer's override is about, stable across re-validation."""
        return self.rule, tuple(sorted(self.feature_idx)), tuple(sorted(self.parcel_ids))


@dataclass
class Neighbours:
    """Current registered parcels near the batch, geometry in EPSG:9214."""

    parcel_ids: NDArray[np.int64]
    version_ids: NDArray[np.int64]
    geoms: NDArray[Any]
    labels: list[str]
    scales: list[int | None]
    units: list[str]
    sheets: list[int]
    numbers: list[int]

    def stamp(self) -> str:
        return registry_stamp(self.version_ids)


@dataclass
class Validation:
    features: list[StagedFeature]
    findings: list[IntakeFinding]
    conflicts: dict[int, list[int]] = field(default_factory=dict)
    stamp: str = ""
    ruleset_version: str = ""


def registry_stamp(version_ids: Sequence[int] | NDArray[np.int64]) -> str:
    """What the registry around a batch looked like: its current version ids, hashed."""
    ids = np.unique(np.asarray(version_ids, dtype=np.int64))
    return hashlib.sha256(ids.tobytes()).hexdigest()


def search_distance(rules: RuleSet) -> float:
    """How far around the batch neighbours matter: the widest gap a rule looks at."""
    gap = rules.param("gap", "max_width_m") if rules.enabled("gap") else 0.0
    conflict = max(s.conflict_m for s in rules.scales.values())
    return max(gap, conflict) + 0.01


# ------------------------------------------------------------------------ identity


def _whole(value: str | None) -> int | None:
    """"12", "12.0" → 12; anything else (12a, 0, -3, 1.5) → None."""
    if value is None:
        return None
    try:
        f = float(str(value).strip().replace(",", "."))
    except ValueError:
        return None
    if not np.isfinite(f) or f != int(f) or f <= 0 or f > 2**31 - 1:
        return None
    return int(f)


def resolve_identity(session: Session, *, ward_code: str, features: list[StagedFeature],
                     default_unit: str | None) -> list[IntakeFinding]:
    """Fill each feature's unit, sheet and number; findings for what cannot be read.

    The former unit comes from the feature, else the upload's default, else the
    former-unit boundary holding the feature.  Unit names are accepted as codes or
    names, without diacritics or case ("Kim Long" → kim_long).
    """
    rows = session.execute(text(
        "SELECT code, name FROM former_unit WHERE ward_code = :w"), {"w": ward_code}).all()
    known = {normalise_name(r.code): r.code for r in rows}
    known.update({normalise_name(r.name): r.code for r in rows})
    out: list[IntakeFinding] = []
    default = known.get(normalise_name(default_unit)) if default_unit else None
    need_boundary: list[StagedFeature] = []
    for f in features:
        if f.former_unit:
            f.unit = known.get(normalise_name(f.former_unit))
            if f.unit is None:
                out.append(_intake("unknown_former_unit", f, value=f.former_unit))
        elif default:
            f.unit = default
        else:
            need_boundary.append(f)
        for name, raw in (("sheet_no", f.sheet_no), ("parcel_no", f.parcel_no)):
            number = _whole(raw)
            if raw is not None and number is None:
                out.append(_intake("bad_number", f, field=name, value=raw))
            setattr(f, "sheet" if name == "sheet_no" else "number", number)
        if f.land_use is not None and not LAND_USE.match(f.land_use):
            out.append(_intake("bad_land_use", f, value=f.land_use))
    if need_boundary:
        _units_by_boundary(session, ward_code, need_boundary)
    return out


def _units_by_boundary(session: Session, ward_code: str, features: list[StagedFeature]) -> None:
    pts = shapely.point_on_surface(np.asarray([f.geom for f in features], dtype=object))
    rows = session.execute(text(
        "SELECT t.i, u.code FROM unnest(CAST(:i AS int[]), CAST(:g AS bytea[])) AS t(i, g) "
        "JOIN former_unit u ON u.ward_code = :w AND u.boundary IS NOT NULL "
        "AND ST_Covers(u.boundary, ST_GeomFromEWKB(t.g))"),
        {"w": ward_code, "i": list(range(len(features))),
         "g": list(to_ewkb(pts, WARD))}).all()
    for i, code in rows:
        features[i].unit = code


def match_by_number(session: Session, *, ward_code: str,
                    features: list[StagedFeature]) -> None:
    """Same former unit, sheet and number as a current parcel: a new version of it."""
    keyed = [f for f in features if f.unit and f.sheet and f.number]
    if not keyed:
        return
    rows = session.execute(text(
        "SELECT t.i, v.parcel_id FROM unnest(CAST(:i AS int[]), CAST(:u AS text[]), "
        "CAST(:s AS int[]), CAST(:n AS int[])) AS t(i, u, s, n) "
        "JOIN parcel_version v ON v.ward_code = :w AND v.former_unit = t.u "
        "AND v.sheet_no = t.s AND v.parcel_no = t.n AND v.valid_to IS NULL "
        "AND v.status = 'registered'"),
        {"w": ward_code, "i": [f.idx for f in keyed], "u": [f.unit for f in keyed],
         "s": [f.sheet for f in keyed], "n": [f.number for f in keyed]}).all()
    by_idx = {f.idx: f for f in keyed}
    for i, pid in rows:
        by_idx[i].matched_parcel_id = int(pid)
        by_idx[i].matched_by = "number"


def match_by_position(features: list[StagedFeature], nb: Neighbours,
                      min_iou: float) -> list[IntakeFinding]:
    """An unnumbered feature covering one current parcel almost exactly re-measures it.

    CAD drawings rarely carry parcel numbers as data; without this, a resurvey drawn
    in CAD could never update the parcels it re-measures.  The feature takes the
    parcel's identity, and an ``info`` finding says so.
    """
    todo = [f for f in features if f.matched_parcel_id is None
            and (f.sheet is None or f.number is None)]
    if not todo or len(nb.geoms) == 0:
        return []
    geoms = np.asarray([f.geom for f in todo], dtype=object)
    ok = shapely.is_valid(geoms)
    tree = shapely.STRtree(nb.geoms)
    a, b = tree.query(geoms[ok], predicate="intersects")
    src = np.flatnonzero(ok)[a]
    inter = shapely.area(shapely.intersection(geoms[src], nb.geoms[b]))
    union = shapely.area(geoms[src]) + shapely.area(nb.geoms[b]) - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    out: list[IntakeFinding] = []
    taken = {f.matched_parcel_id for f in features if f.matched_parcel_id}
    for k in np.flatnonzero(iou >= min_iou).tolist():
        f, j = todo[int(src[k])], int(b[k])
        pid = int(nb.parcel_ids[j])
        if f.matched_parcel_id is not None or pid in taken:
            continue
        f.matched_parcel_id, f.matched_by = pid, "position"
        f.unit, f.sheet, f.number = nb.units[j], nb.sheets[j], nb.numbers[j]
        taken.add(pid)
        out.append(_intake("matched_by_position", f, severity="info", parcels=[pid],
                           label=nb.labels[j], iou=float(iou[k])))
    return out


def identity_findings(features: list[StagedFeature]) -> list[IntakeFinding]:
    """What stops a feature from being registered: a missing identity, a number used twice."""
    out: list[IntakeFinding] = []
    seen: dict[tuple[str, int, int], list[StagedFeature]] = {}
    for f in features:
        if f.matched_parcel_id is None:
            missing = [name for name, v in (("former unit", f.unit or f.former_unit),
                                            ("sheet number", f.sheet_no),
                                            ("parcel number", f.parcel_no),
                                            ("land use", f.land_use)) if not v]
            if missing:
                out.append(_intake("missing_identity", f, missing=", ".join(missing)))
        if f.unit and f.sheet and f.number:
            seen.setdefault((f.unit, f.sheet, f.number), []).append(f)
    for (unit, sheet, number), group in seen.items():
        if len(group) > 1:
            vi, en = INTAKE_MESSAGES["duplicate_number"]
            names = ", ".join(str(g.idx + 1) for g in group)
            ctx = {"features": names, "sheet_no": sheet, "parcel_no": number,
                   "former_unit": unit}
            out.append(IntakeFinding(
                rule="duplicate_number", version=1, severity="error", band=None,
                feature_idx=[g.idx for g in group], parcel_ids=[],
                figures={"sheet_no": sheet, "parcel_no": number, "former_unit": unit},
                tolerance={}, message_vi=vi.format(**ctx), message_en=en.format(**ctx),
                geometry=_union([g.geom for g in group])))
    return out


def _union(geoms: list[BaseGeometry]) -> BaseGeometry | None:
    valid = [g for g in geoms if g.is_valid]
    return shapely.union_all(valid) if valid else None


def _intake(rule: str, f: StagedFeature, *, severity: str = "error",
            parcels: Sequence[int] = (), **figures: Any) -> IntakeFinding:
    vi, en = INTAKE_MESSAGES[rule]
    ctx = {"feature": f.idx + 1, **figures}
    return IntakeFinding(rule=rule, version=1, severity=severity, band=None,
                         feature_idx=[f.idx], parcel_ids=list(parcels),
                         figures={k: v for k, v in figures.items()
                                  if isinstance(v, str | int | float)},
                         tolerance={}, message_vi=vi.format(**ctx), message_en=en.format(**ctx),
                         geometry=shapely.point_on_surface(f.geom) if f.geom.is_valid else None)


# ---------------------------------------------------------------------- neighbours


NEAR_BATCH: Final = (
    "SELECT DISTINCT v.id FROM survey_feature f JOIN parcel_version v "
    "ON v.ward_code = :w AND v.valid_to IS NULL AND v.status = 'registered' "
    "AND ST_DWithin(v.geom, f.geom, :d) WHERE f.batch_id = :b")
"""Current versions near a batch's features, driven from the features so that each probes
the registry's spatial index (an EXISTS from the registry side scans the batch per parcel
when the planner has no statistics on freshly staged rows)."""


def neighbours(session: Session, *, ward_code: str, batch_id: int,
               distance: float) -> Neighbours:
    """Current registered parcels within ``distance`` of any feature of the batch (PostGIS)."""
    sql = ("SELECT v.parcel_id, v.id, ST_AsBinary(v.geom) AS wkb, v.former_unit, v.sheet_no, "
           "v.parcel_no, s.scale FROM parcel_version v "
           "LEFT JOIN map_sheet s ON s.ward_code = v.ward_code "
           "AND s.former_unit = v.former_unit AND s.sheet_no = v.sheet_no "
           "WHERE v.id IN (SELECT DISTINCT v.id FROM survey_feature f JOIN parcel_version v "
           "ON v.ward_code = :w AND v.valid_to IS NULL AND v.status = 'registered' "
           "AND ST_DWithin(v.geom, f.geom, :d) WHERE f.batch_id = :b) ORDER BY v.parcel_id")
    rows = session.execute(text(sql), {"w": ward_code, "b": batch_id, "d": distance}).all()
    return Neighbours(
        parcel_ids=np.asarray([r.parcel_id for r in rows], dtype=np.int64),
        version_ids=np.asarray([r.id for r in rows], dtype=np.int64),
        geoms=from_db_many(r.wkb for r in rows),
        labels=[f"tờ {r.sheet_no} thửa {r.parcel_no} ({r.former_unit})" for r in rows],
        scales=[r.scale for r in rows],
        units=[r.former_unit for r in rows],
        sheets=[r.sheet_no for r in rows],
        numbers=[r.parcel_no for r in rows],
    )


def current_stamp(session: Session, *, ward_code: str, batch_id: int, distance: float) -> str:
    """The registry stamp now; differs from the validation's when a neighbour changed."""
    ids = session.execute(text(NEAR_BATCH), {"w": ward_code, "b": batch_id, "d": distance}
                          ).scalars().all()
    return registry_stamp(ids)


def ward_frame(session: Session, ward_code: str) -> BaseGeometry | None:
    wkb = session.execute(text("SELECT ST_AsBinary(boundary) FROM ward WHERE code = :w"),
                          {"w": ward_code}).scalar_one_or_none()
    return from_db(wkb)


def ward_zones(session: Session, ward_code: str, extent: BaseGeometry) -> list[Zone]:
    rows = session.execute(text(
        "SELECT zone_key, kind, name, ST_AsBinary(geom) AS wkb FROM zone WHERE ward_code = :w "
        "AND valid_to IS NULL AND ST_Intersects(geom, ST_GeomFromEWKB(:e)) "
        "ORDER BY zone_key"), {"w": ward_code, "e": to_ewkb(extent, WARD)}).all()
    return [Zone(id=r.zone_key, kind=r.kind, name=r.name,
                 geometry=from_db(r.wkb)) for r in rows]


def sheet_scales(session: Session, ward_code: str) -> dict[tuple[str, int], int]:
    rows = session.execute(text("SELECT former_unit, sheet_no, scale FROM map_sheet "
                                "WHERE ward_code = :w"), {"w": ward_code}).all()
    return {(r.former_unit, r.sheet_no): r.scale for r in rows}


# ---------------------------------------------------------------------- validation


def validate(session: Session, *, ward_code: str, batch_id: int,
             features: list[StagedFeature], default_unit: str | None, rules: RuleSet,
             min_iou: float, progress: Progress | None = None) -> Validation:
    """Match every feature and run the rules within the batch and against the registry."""
    say = progress or (lambda _m: None)
    say("matching")
    findings = resolve_identity(session, ward_code=ward_code, features=features,
                                default_unit=default_unit)
    match_by_number(session, ward_code=ward_code, features=features)
    distance = search_distance(rules)
    nb = neighbours(session, ward_code=ward_code, batch_id=batch_id, distance=distance)
    findings += match_by_position(features, nb, min_iou)
    findings += identity_findings(features)
    replaced = {f.matched_parcel_id for f in features if f.matched_parcel_id is not None}
    keep = np.asarray([int(p) not in replaced for p in nb.parcel_ids], dtype=bool)
    keep_idx = np.flatnonzero(keep)

    scales_by_sheet = sheet_scales(session, ward_code)
    geoms = [f.geom for f in features] + list(nb.geoms[keep_idx])
    ids = [f"f{f.idx}" for f in features] + [f"p{int(nb.parcel_ids[j])}" for j in keep_idx]
    labels = [_label(f) for f in features] + [nb.labels[j] for j in keep_idx]
    scales = [scales_by_sheet.get((f.unit, f.sheet)) if f.unit and f.sheet else None
              for f in features] + [nb.scales[j] for j in keep_idx]
    frame = ward_frame(session, ward_code)
    extent = shapely.box(*shapely.total_bounds(
        np.asarray([f.geom for f in features], dtype=object))).buffer(distance)
    zones = ward_zones(session, ward_code, extent)
    say("validating")
    report = audit(np.asarray(geoms, dtype=object), ids, rules=rules, scales=scales,
                   labels=labels, frame=frame, zones=zones,
                   progress=lambda m: say(f"validating: {m}"))
    conflicts: dict[int, list[int]] = {}
    ours = [f for f in report.findings if any(i.startswith("f") for i in f.feature_ids)]
    fixes = fixes_as_dicts([f.fix for f in ours])
    for finding, fix in zip(ours, fixes, strict=True):
        stored = _stored(finding, fix)
        if stored is None:
            continue
        findings.append(stored)
        if finding.code in CONFLICT_RULES and finding.severity is Severity.ERROR \
                and stored.parcel_ids:
            for i in stored.feature_idx:
                conflicts.setdefault(i, []).extend(stored.parcel_ids)
    return Validation(features=features, findings=findings, conflicts=conflicts,
                      stamp=nb.stamp(), ruleset_version=rules.version)


def _label(f: StagedFeature) -> str:
    if f.sheet_no and f.parcel_no:
        return f"đối tượng {f.idx + 1} (tờ {f.sheet_no} thửa {f.parcel_no})"
    return f"đối tượng {f.idx + 1}"


def _stored(f: Finding, fix: dict[str, Any] | None) -> IntakeFinding | None:
    """The engine's finding in the batch's terms; None when no batch feature is involved."""
    idx = [int(i[1:]) for i in f.feature_ids if i.startswith("f")]
    if not idx:
        return None
    parcels = [int(i[1:]) for i in f.feature_ids if i.startswith("p")]
    return IntakeFinding(
        rule=f.code, version=f.version, severity=str(f.severity),
        band=None if f.band is None else str(f.band), feature_idx=idx, parcel_ids=parcels,
        figures=dict(f.figures), tolerance=dict(f.tolerance), message_vi=f.message_vi,
        message_en=f.message_en, geometry=f.geometry,
        fix=fix)

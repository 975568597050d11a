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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from config import land_use
from gis.audit import audit
from gis.findings import Finding, Severity
from gis.intake.attributes import unit_key
from gis.labels import Label, ParcelLabel
from gis.remeasure import compare, describe
from gis.rules import RuleSet
from parcels.nearby import near_batch, near_batch_versions
from parcels.numbers import current_by_number, sheet_scales
from parcels.records import MapParcel
from parcels.ward import boundary, former_units, former_units_at
from parcels.ward import neighbours as neighbour_wards
from parcels.zones import zones_in_force

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
"""Error findings that would put an overlap into the registry: never overridden as they
are.  Against one registered parcel the officer may have the commit amend that neighbour
(``amend_neighbour``) or record a dispute on both parcels (``dispute``, the batch waits);
within the batch the surveyor corrects the file."""
NEIGHBOUR_RULES: Final = frozenset({"overlap", "gap", "boundary_mismatch"})
"""Findings between two boundaries, dropped at or below the round-trip floor."""


def _known_land_use(code: str) -> bool:
    """A code of the land-use list (config/land_use.toml): each part of a mixed use known."""
    try:
        land_use.load().normalise(code)
    except land_use.UnknownLandUse:
        return False
    return code == code.strip().upper()


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


def feature_idx(f: Finding) -> list[int]:
    """The batch features a finding is about (0-based, as staged); its ids are ``f<idx>``."""
    return [int(i[1:]) for i in f.feature_ids if i.startswith("f")]


def parcel_ids(f: Finding) -> list[int]:
    """The registered parcels a finding is about; their ids are ``p<parcel id>``."""
    return [int(i[1:]) for i in f.feature_ids if i.startswith("p")]


def overridable(f: Finding) -> bool:
    """An error an officer may accept with a reason as it is: not one the registry cannot
    store, nor an overlap the registry would then hold (:data:`CONFLICT_RULES`)."""
    return f.severity is Severity.ERROR and f.code not in NOT_STORABLE | CONFLICT_RULES


def resolvable(rule: str, severity: str, features: Sequence[int], parcels: Sequence[int]
               ) -> bool:
    """An overlap of one batch feature with one registered parcel: the officer may have the
    commit amend the neighbour, or record a dispute on both parcels."""
    return rule in CONFLICT_RULES and severity == "error" and len(features) == 1 and \
        len(parcels) == 1


def override_key(f: Finding) -> tuple[str, tuple[int, ...], tuple[int, ...]]:
    """What an officer's override is about, stable across re-validation."""
    return f.code, tuple(sorted(feature_idx(f))), tuple(sorted(parcel_ids(f)))


@dataclass
class Neighbours:
    """Current registered parcels near the batch, with their geometries as one array."""

    parcels: list[MapParcel]
    geoms: NDArray[Any]

    @classmethod
    def of(cls, parcels: list[MapParcel]) -> Neighbours:
        return cls(parcels, np.asarray([p.geometry for p in parcels], dtype=object))

    def stamp(self) -> str:
        return registry_stamp([p.version_id or 0 for p in self.parcels])


@dataclass
class Validation:
    features: list[StagedFeature]
    findings: list[Finding]
    """Only findings about at least one batch feature."""
    conflicts: dict[int, list[int]] = field(default_factory=dict)
    stamp: str = ""
    ruleset_version: str = ""
    changes: dict[int, dict[str, Any]] = field(default_factory=dict)
    """What each re-measured feature changes in its parcel (by feature index)."""


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
                     default_unit: str | None, rules: RuleSet,
                     units: dict[str, str] | None = None) -> list[Finding]:
    """Fill each feature's unit, sheet and number; findings for what cannot be read.

    The former unit comes from the feature, else the upload's default, else the
    former-unit boundary holding the feature.  Unit names are accepted as codes or
    names, without diacritics or case ("Kim Long" → kim_long).
    """
    units = units if units is not None else former_units(session, ward_code)
    known = {unit_key(code): code for code in units}
    known.update({unit_key(name): code for code, name in units.items()})
    out: list[Finding | None] = []
    default = known.get(unit_key(default_unit)) if default_unit else None
    need_boundary: list[StagedFeature] = []
    for f in features:
        if f.former_unit:
            f.unit = known.get(unit_key(f.former_unit))
            if f.unit is None:
                out.append(_intake(rules, "unknown_former_unit", f, value=f.former_unit))
        elif default:
            f.unit = default
        else:
            need_boundary.append(f)
        for name, raw in (("sheet_no", f.sheet_no), ("parcel_no", f.parcel_no)):
            number = _whole(raw)
            if raw is not None and number is None:
                out.append(_intake(rules, "bad_number", f, field=name, value=raw))
            setattr(f, "sheet" if name == "sheet_no" else "number", number)
        if f.land_use is not None and not _known_land_use(f.land_use):
            out.append(_intake(rules, "bad_land_use", f, value=f.land_use))
    if need_boundary:
        _units_by_boundary(session, ward_code, need_boundary)
    return [x for x in out if x is not None]


def _units_by_boundary(session: Session, ward_code: str, features: list[StagedFeature]) -> None:
    pts = shapely.point_on_surface(np.asarray([f.geom for f in features], dtype=object))
    for i, code in former_units_at(session, ward_code, list(pts)).items():
        features[i].unit = code


def match_by_number(session: Session, *, ward_code: str,
                    features: list[StagedFeature]) -> None:
    """Same former unit, sheet and number as a current parcel: a new version of it."""
    keyed = [f for f in features if f.unit and f.sheet and f.number]
    if not keyed:
        return
    found = current_by_number(session, ward_code=ward_code, units=[f.unit for f in keyed],
                              sheets=[f.sheet for f in keyed], numbers=[f.number for f in keyed])
    for f, pid in zip(keyed, found, strict=True):
        if pid is not None:
            f.matched_parcel_id = pid
            f.matched_by = "number"


def match_by_position(features: list[StagedFeature], nb: Neighbours, min_iou: float,
                      rules: RuleSet) -> list[Finding]:
    """An unnumbered feature covering one current parcel almost exactly re-measures it.

    CAD drawings rarely carry parcel numbers as data; without this, a resurvey drawn
    in CAD could never update the parcels it re-measures.  The feature takes the
    parcel's identity, and an ``info`` finding says so.
    """
    todo = [f for f in features if f.matched_parcel_id is None
            and (f.sheet is None or f.number is None)]
    if not todo or not nb.parcels:
        return []
    geoms = np.asarray([f.geom for f in todo], dtype=object)
    ok = shapely.is_valid(geoms)
    tree = shapely.STRtree(nb.geoms)
    a, b = tree.query(geoms[ok], predicate="intersects")
    src = np.flatnonzero(ok)[a]
    inter = shapely.area(shapely.intersection(geoms[src], nb.geoms[b]))
    union = shapely.area(geoms[src]) + shapely.area(nb.geoms[b]) - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    out: list[Finding | None] = []
    taken = {f.matched_parcel_id for f in features if f.matched_parcel_id}
    for k in np.flatnonzero(iou >= min_iou).tolist():
        f, p = todo[int(src[k])], nb.parcels[int(b[k])]
        if f.matched_parcel_id is not None or p.parcel_id in taken:
            continue
        f.matched_parcel_id, f.matched_by = p.parcel_id, "position"
        f.unit, f.sheet, f.number = p.former_unit, p.sheet_no, p.parcel_no
        taken.add(p.parcel_id)
        out.append(_intake(rules, "matched_by_position", f, parcels=[p.parcel_id],
                           label=p.ref, iou=float(iou[k])))
    return [x for x in out if x is not None]


def identity_findings(features: list[StagedFeature], rules: RuleSet,
                      units: dict[str, str] | None = None) -> list[Finding]:
    """What stops a feature from being registered: a missing identity, a number used twice."""
    out: list[Finding | None] = []
    seen: dict[tuple[str, int, int], list[StagedFeature]] = {}
    for f in features:
        if f.matched_parcel_id is None:
            missing = [name for name, v in (("former unit", f.unit or f.former_unit),
                                            ("sheet number", f.sheet_no),
                                            ("parcel number", f.parcel_no),
                                            ("land use", f.land_use)) if not v]
            if missing:
                out.append(_intake(rules, "missing_identity", f, missing=", ".join(missing)))
        if f.unit and f.sheet and f.number:
            seen.setdefault((f.unit, f.sheet, f.number), []).append(f)
    for (unit, sheet, number), group in seen.items():
        if len(group) > 1:
            out.append(rules.finding(
                "duplicate_number", ids=[f"f{g.idx}" for g in group],
                figures={"sheet_no": sheet, "parcel_no": number, "former_unit": unit},
                geometry=_union([g.geom for g in group]),
                context={"features": ", ".join(str(g.idx + 1) for g in group),
                         "parcel": ParcelLabel(number, sheet, (units or {}).get(unit, unit))}))
    return [x for x in out if x is not None]


def _union(geoms: list[BaseGeometry]) -> BaseGeometry | None:
    valid = [g for g in geoms if g.is_valid]
    return shapely.union_all(valid) if valid else None


def _intake(rules: RuleSet, rule: str, f: StagedFeature, *, parcels: Sequence[int] = (),
            **figures: Any) -> Finding | None:
    """A finding about one feature; its message names the feature by its number in the file."""
    return rules.finding(
        rule, ids=[f"f{f.idx}", *(f"p{p}" for p in parcels)],
        figures={k: v for k, v in figures.items() if isinstance(v, str | int | float)},
        geometry=shapely.point_on_surface(f.geom) if f.geom.is_valid else None,
        context={"feature": f.idx + 1, **figures})


# ---------------------------------------------------------------------- neighbours


def current_stamp(session: Session, *, ward_code: str, batch_id: int, distance: float) -> str:
    """The registry stamp now; differs from the validation's when a neighbour changed."""
    return registry_stamp(near_batch_versions(session, ward_code=ward_code, batch_id=batch_id,
                                              distance=distance))


# ---------------------------------------------------------------------- validation


def validate(session: Session, *, ward_code: str, batch_id: int,
             features: list[StagedFeature], default_unit: str | None, rules: RuleSet,
             min_iou: float, noise_floor_m: float = 0.0,
             progress: Progress | None = None) -> Validation:
    """Match every feature and run the rules within the batch and against the registry.

    Neighbour findings (overlap, gap, mismatch) no wider than ``noise_floor_m`` are the
    rounding of coordinates (a parcel downloaded from the API and uploaded again) and are
    dropped; the same floor says when a re-measured corner has not moved.
    """
    say = progress or (lambda _m: None)
    say("matching")
    units = former_units(session, ward_code)
    findings = resolve_identity(session, ward_code=ward_code, features=features,
                                default_unit=default_unit, rules=rules, units=units)
    match_by_number(session, ward_code=ward_code, features=features)
    distance = search_distance(rules)
    nb = Neighbours.of(near_batch(session, ward_code=ward_code, batch_id=batch_id,
                                  distance=distance))
    findings += match_by_position(features, nb, min_iou, rules)
    findings += identity_findings(features, rules, units)
    replaced = {f.matched_parcel_id for f in features if f.matched_parcel_id is not None}
    kept = [p for p in nb.parcels if p.parcel_id not in replaced]

    scales_by_sheet = sheet_scales(session, ward_code)
    geoms = [f.geom for f in features] + [p.geometry for p in kept]
    ids = [f"f{f.idx}" for f in features] + [f"p{p.parcel_id}" for p in kept]
    labels = [_label(f, units) for f in features] + [p.ref for p in kept]
    scales = [scales_by_sheet.get((f.unit, f.sheet)) if f.unit and f.sheet else None
              for f in features] + [p.scale for p in kept]
    uses = [f.land_use for f in features] + [p.land_use for p in kept]
    frame = boundary(session, ward_code)
    extent = shapely.box(*shapely.total_bounds(
        np.asarray([f.geom for f in features], dtype=object))).buffer(distance)
    zones = [z.as_zone() for z in zones_in_force(session, ward_code=ward_code, near=extent,
                                                  order="zone_key")]
    say("validating")
    report = audit(np.asarray(geoms, dtype=object), ids, rules=rules, scales=scales,
                   labels=labels, frame=frame, zones=zones, land_uses=uses,
                   neighbours=neighbour_wards(session, ward_code),
                   progress=lambda m: say(f"validating: {m}"))
    conflicts: dict[int, list[int]] = {}
    for finding in report.findings:
        idx = feature_idx(finding)
        if not idx:  # the registry's own defects are the registry audit's business
            continue
        if finding.code in NEIGHBOUR_RULES and _within(finding, noise_floor_m):
            continue  # coordinates rounded on the way, not a discrepancy
        findings.append(finding)
        parcels = parcel_ids(finding)
        if finding.code in CONFLICT_RULES and finding.severity is Severity.ERROR and parcels:
            for i in idx:
                conflicts.setdefault(i, []).extend(parcels)
    changes = remeasured(features, nb.parcels, kept, noise_floor_m=noise_floor_m,
                         snap_m=rules.tolerance().snap_m)
    return Validation(features=features, findings=findings, conflicts=conflicts,
                      stamp=nb.stamp(), ruleset_version=rules.version, changes=changes)


def _within(f: Finding, floor: float) -> bool:
    """The finding's width or distance is no more than ``floor``."""
    size = max(float(f.figures.get(k, 0.0) or 0.0) for k in ("width_m", "distance_m"))
    return size <= floor


def remeasured(features: list[StagedFeature], parcels: list[MapParcel], kept: list[MapParcel],
               *, noise_floor_m: float, snap_m: float) -> dict[int, dict[str, Any]]:
    """For each feature matched to a registered parcel: what it changes there (the largest
    corner displacement, area before and after, edges changed) and which registered
    neighbours the changed part touches, with the sentence that says so."""
    by_id = {p.parcel_id: p for p in parcels}
    tree = shapely.STRtree(np.asarray([p.geometry for p in kept], dtype=object)) if kept \
        else None
    out: dict[int, dict[str, Any]] = {}
    for f in features:
        old = by_id.get(f.matched_parcel_id) if f.matched_parcel_id is not None else None
        if old is None or not f.geom.is_valid or f.geom.is_empty:
            continue
        change = compare(old.geometry, f.geom, noise_m=noise_floor_m)
        touched: list[MapParcel] = []
        if not change.unchanged and tree is not None:
            moved = shapely.symmetric_difference(old.geometry, f.geom)
            hits = tree.query(moved, predicate="dwithin", distance=snap_m)
            touched = [kept[i] for i in sorted(hits.tolist(), key=lambda i: kept[i].parcel_id)]
        vi, en = describe(change, old.ref, [p.ref for p in touched])
        out[f.idx] = {**change.as_dict(), "parcel_id": old.parcel_id,
                      "touched": [p.parcel_id for p in touched],
                      "message_vi": vi, "message_en": en}
    return out


def _label(f: StagedFeature, units: dict[str, str] | None = None) -> Label:
    """A feature by its number in the file, with the parcel it says it is."""
    if f.sheet_no and f.parcel_no:
        unit = (units or {}).get(f.unit or "", None) if f.unit else None
        ref = ParcelLabel(f.parcel_no, f.sheet_no, unit)
        return Label(f"đối tượng {f.idx + 1} ({ref})", f"feature {f.idx + 1} ({ref.en})")
    return Label(f"đối tượng {f.idx + 1}", f"feature {f.idx + 1}")

"""Validating a staged batch: every feature matched to the registry and judged, within the
batch and against its registered neighbours (:mod:`parcels.surveys.checks`); the findings
are stored with their geometry, an officer's earlier overrides carried over."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from config import clock
from config.settings import Settings
from db import audit
from db.audit import Actor
from gis.convert import from_db_many, to_ewkb
from gis.crs import WARD
from gis.findings import Finding, fixes_as_dicts
from parcels.surveys import checks
from parcels.surveys.batches import open_batch_row, raw_connection, ruleset
from parcels.surveys.checks import StagedFeature
from parcels.surveys.reads import batch_summary

Progress = Callable[[str], None]


def validate_batch(session: Session, *, actor: Actor, batch_id: int, settings: Settings,
                   progress: Progress | None = None, audited: bool = True) -> dict[str, Any]:
    """(Re)match and (re)validate an open batch against the registry as it is now.

    Findings are replaced; an officer's override carries over to the same finding
    (same rule, features and parcels) so that re-validating after a registry change
    only asks about what is new.
    """
    row = open_batch_row(session, actor, batch_id)
    rules = ruleset(settings)
    feats = session.execute(text(
        "SELECT idx, ST_AsBinary(geom) AS wkb, former_unit, sheet_no, parcel_no, land_use "
        "FROM survey_feature WHERE batch_id = :b ORDER BY idx"), {"b": batch_id}).all()
    geoms = from_db_many(r.wkb for r in feats)
    features = [StagedFeature(idx=r.idx, geom=g, former_unit=r.former_unit, sheet_no=r.sheet_no,
                              parcel_no=r.parcel_no, land_use=r.land_use)
                for r, g in zip(feats, geoms, strict=True)]
    overrides = {(r.rule, tuple(sorted(r.feature_idx)), tuple(sorted(r.parcel_ids))): r
                 for r in session.execute(text(
                     "SELECT rule, feature_idx, parcel_ids, override_reason, override_by, "
                     "override_at, resolution, dispute_id FROM survey_finding "
                     "WHERE batch_id = :b AND override_by IS NOT NULL"), {"b": batch_id})}
    v = checks.validate(session, ward_code=actor.ward_code, batch_id=batch_id,
                        features=features, default_unit=row.former_unit, rules=rules,
                        min_iou=settings.intake.position_match_min_iou,
                        noise_floor_m=settings.intake.noise_floor_m, progress=progress)
    (progress or (lambda _m: None))("storing findings")
    session.execute(text("DELETE FROM survey_finding WHERE batch_id = :b"), {"b": batch_id})
    _copy_findings(session, batch_id, actor.ward_code, v.findings, overrides)
    _store_matches(session, batch_id, v)
    session.execute(text(
        "UPDATE survey_batch SET state = 'validated', validated_at = :now, "
        "ruleset_version = :rv, registry_stamp = :stamp WHERE id = :b"),
        {"b": batch_id, "rv": v.ruleset_version, "stamp": v.stamp, "now": clock.now()})
    if audited:
        audit.record(session, actor=actor, action="validate", entity="survey_batch",
                     entity_ids=[batch_id], detail={"findings": len(v.findings)})
    return batch_summary(session, actor=actor, batch_id=batch_id)


def _copy_findings(session: Session, batch_id: int, ward: str, findings: list[Finding],
                   overrides: dict[tuple[str, tuple[int, ...], tuple[int, ...]], Any]) -> None:
    cols = ("batch_id, ward_code, rule, rule_version, severity, band, feature_idx, parcel_ids, "
            "figures, tolerance, message_vi, message_en, geom, fix, overridable, "
            "override_reason, override_by, override_at, resolution, dispute_id")
    # every fix reprojected in one pass (one transform each cost a second for 10,000)
    fixes = fixes_as_dicts([f.fix for f in findings])
    with raw_connection(session).cursor() as cur, \
            cur.copy(f"COPY survey_finding ({cols}) FROM STDIN") as cp:
        for f, fix in zip(findings, fixes, strict=True):
            can = checks.overridable(f)
            kept = overrides.get(checks.override_key(f))
            if kept is not None and not (
                    can if kept.resolution == "override" else checks.resolvable(
                        f.code, str(f.severity), checks.feature_idx(f), checks.parcel_ids(f))):
                kept = None  # what was settled is no longer what is found
            geom = None if f.geometry is None or f.geometry.is_empty else \
                to_ewkb(f.geometry, WARD, hex=True)
            cp.write_row((batch_id, ward, f.code, f.version, str(f.severity),
                          None if f.band is None else str(f.band),
                          checks.feature_idx(f), checks.parcel_ids(f),
                          json.dumps(dict(f.figures), ensure_ascii=False),
                          json.dumps(dict(f.tolerance)), f.message_vi, f.message_en, geom,
                          None if fix is None else json.dumps(fix), can,
                          kept.override_reason if kept else None,
                          kept.override_by if kept else None,
                          kept.override_at if kept else None,
                          kept.resolution if kept else None,
                          kept.dispute_id if kept else None))


def _store_matches(session: Session, batch_id: int, v: checks.Validation) -> None:
    fs = v.features
    kind = ["conflict" if f.idx in v.conflicts else
            "new_version" if f.matched_parcel_id is not None else "new" for f in fs]
    session.execute(text(
        "UPDATE survey_feature f SET match = t.kind, matched_parcel_id = t.pid, "
        "matched_by = t.mby, unit_code = t.unit, sheet = t.sheet, number = t.num, "
        "conflict_parcel_ids = COALESCE(CAST(t.conf AS bigint[]), '{}'), "
        "change = CAST(t.change AS jsonb) "
        "FROM unnest(CAST(:idx AS int[]), CAST(:kind AS text[]), CAST(:pid AS bigint[]), "
        "CAST(:mby AS text[]), CAST(:unit AS text[]), CAST(:sheet AS int[]), "
        "CAST(:num AS int[]), CAST(:conf AS text[]), CAST(:change AS text[])) "
        "AS t(idx, kind, pid, mby, unit, sheet, num, conf, change) "
        "WHERE f.batch_id = :b AND f.idx = t.idx"),
        {"b": batch_id, "idx": [f.idx for f in fs], "kind": kind,
         "pid": [f.matched_parcel_id for f in fs], "mby": [f.matched_by for f in fs],
         "unit": [f.unit for f in fs], "sheet": [f.sheet for f in fs],
         "num": [f.number for f in fs],
         "conf": ["{" + ",".join(str(p) for p in sorted(set(v.conflicts[f.idx]))) + "}"
                  if f.idx in v.conflicts else None for f in fs],
         "change": [json.dumps(v.changes[f.idx], ensure_ascii=False) if f.idx in v.changes
                    else None for f in fs]})

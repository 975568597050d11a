"""What a batch looks like to its readers: its summary, the batch list, its features and
its findings as GeoJSON in WGS 84."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.orm import Session

from db.audit import Actor
from gis.convert import from_db_many
from gis.geojson import geometries_to_geojson
from parcels.surveys.batches import batch_row
from parcels.surveys.checks import resolvable
from parcels.surveys.errors import FindingNotFound

MAX_PAGE: Final = 10_000


def batch_summary(session: Session, *, actor: Actor, batch_id: int) -> dict[str, Any]:
    """State, file facts, match counts and a findings summary of one batch."""
    row = batch_row(session, actor, batch_id)
    matches: dict[str, int] = dict(session.execute(text(
        "SELECT COALESCE(match, 'unmatched'), count(*) FROM survey_feature WHERE batch_id = :b "
        "GROUP BY 1"), {"b": batch_id}).all())
    by_rule: dict[str, dict[str, int]] = {}
    severities = {"error": 0, "warning": 0, "info": 0}
    open_errors = not_overridable = overridden = amending = disputed = 0
    for r in session.execute(text(
            "SELECT rule, severity, overridable, resolution, count(*) AS n "
            "FROM survey_finding WHERE batch_id = :b GROUP BY 1, 2, 3, 4"), {"b": batch_id}):
        by_rule.setdefault(r.rule, {}).setdefault(r.severity, 0)
        by_rule[r.rule][r.severity] += r.n
        severities[r.severity] += r.n
        if r.severity == "error":
            overridden += r.n if r.resolution == "override" else 0
            amending += r.n if r.resolution == "amend_neighbour" else 0
            disputed += r.n if r.resolution == "dispute" else 0
            open_errors += r.n if r.resolution in (None, "dispute") else 0
            not_overridable += 0 if r.overridable else r.n
    committed = session.execute(text(
        "SELECT count(*) FROM survey_feature WHERE batch_id = :b "
        "AND committed_parcel_id IS NOT NULL"), {"b": batch_id}).scalar_one()
    return {
        "id": row.id, "ward_code": row.ward_code, "state": row.state,
        "file_name": row.file_name, "sha256": row.sha256, "size_bytes": row.size_bytes,
        "format": row.format, "layer": row.layer, "source_crs": row.source_crs,
        "crs_override": row.crs_override, "swap_axes": row.swap_axes,
        "former_unit": row.former_unit, "mapping": row.mapping,
        "feature_count": row.feature_count, "uploaded_by": row.uploaded_by,
        "uploaded_at": row.uploaded_at, "warnings": row.warnings,
        "validated_at": row.validated_at, "ruleset_version": row.ruleset_version,
        "matches": {k: matches.get(k, 0) for k in ("new", "new_version", "conflict")},
        "findings": {**severities, "open_errors": open_errors, "overridden": overridden,
                     "neighbours_to_amend": amending, "disputed": disputed,
                     "not_overridable": not_overridable, "by_rule": by_rule},
        "changes": changes(session, batch_id=batch_id),
        "can_commit": row.state == "validated" and open_errors == 0,
        "decided_by": row.decided_by, "decided_at": row.decided_at,
        "decision_reason": row.decision_reason,
        "source_document_id": row.source_document_id, "committed_parcels": committed,
    }


CHANGES_SHOWN: Final = 50


def changes(session: Session, *, batch_id: int, limit: int = CHANGES_SHOWN) -> dict[str, Any]:
    """What the batch's re-measurements change, the largest corner displacement first:
    how many parcels, how many of them unchanged, and the first ``limit`` in full."""
    n, same = session.execute(text(
        "SELECT count(*), count(*) FILTER (WHERE (change->>'unchanged')::boolean) "
        "FROM survey_feature WHERE batch_id = :b AND change IS NOT NULL"),
        {"b": batch_id}).one()
    rows = session.execute(text(
        "SELECT idx, change FROM survey_feature WHERE batch_id = :b AND change IS NOT NULL "
        "ORDER BY (change->>'displacement_m')::float DESC, "
        "abs((change->>'area_after_m2')::float - (change->>'area_before_m2')::float) DESC, idx "
        "LIMIT :lim"), {"b": batch_id, "lim": limit}).all()
    return {"remeasured": int(n), "unchanged": int(same),
            "parcels": [{"feature": r.idx + 1, **r.change} for r in rows]}


def list_batches(session: Session, *, actor: Actor, state: str | None = None,
                 limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Batches newest first: a surveyor's own, everyone's for officers and officials."""
    rows = session.execute(text(
        "SELECT b.id, b.state, b.file_name, b.format, b.feature_count, b.uploaded_by, "
        "b.uploaded_at, b.decided_by, b.decided_at, "
        "(SELECT count(*) FROM survey_finding f WHERE f.batch_id = b.id "
        " AND f.severity = 'error' AND (f.override_by IS NULL OR f.resolution = 'dispute')) "
        "AS open_errors "
        "FROM survey_batch b WHERE b.ward_code = :w "
        "AND (CAST(:me AS text) IS NULL OR b.uploaded_by = :me) "
        "AND (CAST(:state AS text) IS NULL OR b.state = :state) "
        "ORDER BY b.uploaded_at DESC, b.id DESC LIMIT :lim OFFSET :off"),
        {"w": actor.ward_code, "me": actor.username if actor.role == "surveyor" else None,
         "state": state, "lim": min(limit, 1000), "off": offset}).all()
    return [dict(r._mapping) for r in rows]


def wgs84(wkbs: list[bytes | None]) -> list[dict[str, Any] | None]:
    """GeoJSON geometries in WGS 84 for many EPSG:9214 WKBs at once (None stays None)."""
    present = [k for k, w in enumerate(wkbs) if w is not None]
    out: list[dict[str, Any] | None] = [None] * len(wkbs)
    written = geometries_to_geojson(list(from_db_many(wkbs[k] for k in present)))
    for k, geometry in zip(present, written, strict=True):
        out[k] = geometry
    return out


def batch_features(session: Session, *, actor: Actor, batch_id: int, match: str | None = None,
                   limit: int = MAX_PAGE, offset: int = 0) -> dict[str, Any]:
    """The staged features as a GeoJSON FeatureCollection in WGS 84, with their match."""
    batch_row(session, actor, batch_id)
    rows = session.execute(text(
        "SELECT idx, source_index, source_layer, ST_AsBinary(geom) AS wkb, ST_Area(geom) AS area, "
        "former_unit, sheet_no, parcel_no, land_use, declared_area, attributes, unit_code, sheet, "
        "number, match, matched_parcel_id, matched_by, conflict_parcel_ids, committed_parcel_id, "
        "change, "
        "(SELECT count(*) FROM survey_finding s WHERE s.batch_id = f.batch_id "
        " AND f.idx = ANY(s.feature_idx) AND s.severity = 'error' "
        " AND (s.override_by IS NULL OR s.resolution = 'dispute')) "
        "AS open_errors "
        "FROM survey_feature f WHERE batch_id = :b "
        "AND (CAST(:m AS text) IS NULL OR match = :m) ORDER BY idx LIMIT :lim OFFSET :off"),
        {"b": batch_id, "m": match, "lim": min(limit, MAX_PAGE), "off": offset}).all()
    geoms = wgs84([bytes(r.wkb) for r in rows])
    feats = []
    for r, g in zip(rows, geoms, strict=True):
        props = {k: v for k, v in r._mapping.items() if k not in ("wkb", "area", "idx")}
        props["feature"] = r.idx + 1
        props["measured_area_m2"] = round(float(r.area), 2)
        feats.append({"type": "Feature", "id": r.idx + 1, "geometry": g, "properties": props})
    return {"type": "FeatureCollection", "features": feats}


FINDING_COLUMNS = ("id, rule, rule_version, severity, band, feature_idx, parcel_ids, figures, "
                   "tolerance, message_vi, message_en, ST_AsBinary(geom) AS wkb, fix, overridable, "
                   "override_reason, override_by, override_at, resolution, dispute_id")


def finding_feature(r: Any, geom: dict[str, Any] | None) -> dict[str, Any]:
    props = {k: v for k, v in r._mapping.items() if k not in ("wkb", "feature_idx")}
    props["features"] = [i + 1 for i in r.feature_idx]
    props["open"] = r.severity == "error" and r.resolution in (None, "dispute")
    # an overlap with one registered neighbour: settled by amending it or by a dispute
    props["settleable"] = resolvable(r.rule, r.severity, r.feature_idx, r.parcel_ids)
    props.update({k: v for k, v in (r.figures or {}).items() if k not in props})
    return {"type": "Feature", "id": r.id, "geometry": geom, "properties": props}


def batch_findings(session: Session, *, actor: Actor, batch_id: int,
                   severity: str | None = None, rule: str | None = None) -> dict[str, Any]:
    """Findings as a GeoJSON FeatureCollection in WGS 84: errors first, then by rule."""
    batch_row(session, actor, batch_id)
    rows = session.execute(text(
        f"SELECT {FINDING_COLUMNS} FROM survey_finding WHERE batch_id = :b "  # noqa: S608
        "AND (CAST(:s AS text) IS NULL OR severity = :s) "
        "AND (CAST(:r AS text) IS NULL OR rule = :r) "
        "ORDER BY array_position(ARRAY['error', 'warning', 'info'], severity), rule, id"),
        {"b": batch_id, "s": severity, "r": rule}).all()
    geoms = wgs84([None if r.wkb is None else bytes(r.wkb) for r in rows])
    return {"type": "FeatureCollection",
            "features": [finding_feature(r, g) for r, g in zip(rows, geoms, strict=True)]}


def finding(session: Session, *, actor: Actor, batch_id: int, finding_id: int) -> dict[str, Any]:
    """One finding as a GeoJSON Feature in WGS 84."""
    batch_row(session, actor, batch_id)
    sql = f"SELECT {FINDING_COLUMNS} FROM survey_finding WHERE id = :f AND batch_id = :b"  # noqa: S608
    r = session.execute(text(sql),
                        {"f": finding_id, "b": batch_id}).one_or_none()
    if r is None:
        raise FindingNotFound(f"batch {batch_id} has no finding {finding_id}",
                              finding_id=finding_id)
    return finding_feature(r, wgs84([None if r.wkb is None else bytes(r.wkb)])[0])

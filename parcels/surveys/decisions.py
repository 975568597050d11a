"""A land officer's decisions on a validated batch: override findings, reject, or commit
every feature to the registry in the caller's one transaction, under the ward lock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import geopandas as gpd
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient
from sqlalchemy import text
from sqlalchemy.orm import Session

from config import clock
from config.settings import Settings
from db import audit
from db.audit import Actor
from gis import crs as gcrs
from gis.convert import from_db_many
from parcels.bulk import bulk_register
from parcels.errors import InvalidInput
from parcels.registry import Source, lock_ward, record_source
from parcels.surveys import checks, neighbours
from parcels.surveys.batches import open_batch_row, reason_given, require_officer, ruleset
from parcels.surveys.errors import (
    CommitBlocked,
    FindingNotFound,
    NotOverridable,
    RegistryChanged,
)
from parcels.surveys.reads import batch_summary, finding
from parcels.versions import Changes, lock_current, write_successors

Progress = Callable[[str], None]


def override_finding(session: Session, *, actor: Actor, batch_id: int, finding_id: int,
                     reason: str) -> dict[str, Any]:
    """An officer accepts one error finding, with a reason; the commit may then go ahead."""
    require_officer(actor)
    why = reason_given(reason)
    open_batch_row(session, actor, batch_id)
    f = session.execute(text(
        "SELECT id, rule, severity, overridable, override_by FROM survey_finding "
        "WHERE id = :f AND batch_id = :b FOR UPDATE"), {"f": finding_id, "b": batch_id}
    ).one_or_none()
    if f is None:
        raise FindingNotFound(f"batch {batch_id} has no finding {finding_id}",
                              finding_id=finding_id)
    if f.severity != "error":
        raise NotOverridable(f"finding {finding_id} is a {f.severity}: only errors block a "
                             "commit, so there is nothing to override")
    if not f.overridable:
        raise NotOverridable(_why_not(finding_id, f.rule), rule=f.rule)
    if f.override_by is not None:
        raise NotOverridable(f"finding {finding_id} was already overridden by {f.override_by}")
    session.execute(text(
        "UPDATE survey_finding SET override_reason = :r, override_by = :by, "
        "override_at = :now, resolution = 'override' WHERE id = :f"),
        {"r": why, "by": actor.username, "f": finding_id, "now": clock.now()})
    audit.record(session, actor=actor, action="override_finding", entity="survey_batch",
                 entity_ids=[batch_id], reason=why,
                 detail={"finding_id": finding_id, "rule": f.rule})
    return finding(session, actor=actor, batch_id=batch_id, finding_id=finding_id)


def override_findings(session: Session, *, actor: Actor, batch_id: int,
                      overrides: list[tuple[int, str]]) -> dict[str, Any]:
    """An officer accepts many error findings at once, each with its reason; all or none.

    The same checks as :func:`override_finding` for every finding; if any fails, nothing
    is overridden and the error names every finding that failed.  One statement writes
    them and one audit event lists them (finding, rule, reason): a batch of ten thousand
    parcels can carry a thousand overridable findings, one request each took 14 s.
    """
    require_officer(actor)
    if not overrides:
        raise InvalidInput("name at least one finding to override")
    reasons: dict[int, str] = {}
    for fid, reason in overrides:
        if fid in reasons:
            raise InvalidInput(f"finding {fid} is named twice", finding_id=fid)
        reasons[fid] = reason_given(reason)
    open_batch_row(session, actor, batch_id)
    ids = sorted(reasons)
    rows = {r.id: r for r in session.execute(text(
        "SELECT id, rule, severity, overridable, override_by FROM survey_finding "
        "WHERE batch_id = :b AND id = ANY(:ids) ORDER BY id FOR UPDATE"),
        {"b": batch_id, "ids": ids})}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise FindingNotFound(f"batch {batch_id} has no finding {missing[0]}"
                              + (f" (nor {len(missing) - 1} more)" if len(missing) > 1 else ""),
                              finding_ids=missing[:100])
    refused = {i: ("not an error" if r.severity != "error" else
                   _why_not(i, r.rule) if not r.overridable else
                   f"already overridden by {r.override_by}")
               for i, r in rows.items()
               if r.severity != "error" or not r.overridable or r.override_by is not None}
    if refused:
        first = next(iter(refused))
        raise NotOverridable(
            f"{len(refused)} of the {len(ids)} findings cannot be overridden (finding {first}: "
            f"{refused[first]}); nothing was overridden",
            findings=[{"id": i, "rule": rows[i].rule, "why": w}
                      for i, w in list(refused.items())[:100]])
    session.execute(text(
        "UPDATE survey_finding f SET override_reason = t.reason, override_by = :by, "
        "override_at = :now, resolution = 'override' FROM unnest(CAST(:ids AS bigint[]), "
        "CAST(:reasons AS text[])) AS t(id, reason) WHERE f.id = t.id AND f.batch_id = :b"),
        {"by": actor.username, "b": batch_id, "ids": ids, "reasons": [reasons[i] for i in ids],
         "now": clock.now()})
    distinct = sorted(set(reasons.values()))
    audit.record(session, actor=actor, action="override_findings", entity="survey_batch",
                 entity_ids=[batch_id], reason=distinct[0] if len(distinct) == 1 else None,
                 detail={"findings": [{"id": i, "rule": rows[i].rule, "reason": reasons[i]}
                                      for i in ids]})
    return batch_summary(session, actor=actor, batch_id=batch_id)


def reject_batch(session: Session, *, actor: Actor, batch_id: int,
                 reason: str) -> dict[str, Any]:
    """Close a batch without touching the registry; the reason is shown to the surveyor."""
    require_officer(actor)
    why = reason_given(reason)
    open_batch_row(session, actor, batch_id)
    session.execute(text(
        "UPDATE survey_batch SET state = 'rejected', decided_by = :by, "
        "decided_at = :now, decision_reason = :r WHERE id = :b"),
        {"by": actor.username, "r": why, "b": batch_id, "now": clock.now()})
    audit.record(session, actor=actor, action="reject", entity="survey_batch",
                 entity_ids=[batch_id], reason=why)
    return batch_summary(session, actor=actor, batch_id=batch_id)


def commit_batch(session: Session, *, actor: Actor, batch_id: int, settings: Settings,
                 reason: str | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """Write every feature of a validated batch as a parcel version, all or nothing.

    Runs in the caller's transaction under the ward's registry lock, so the
    registry it checks is the registry it writes to: if any parcel near the batch
    changed since validation the commit is refused (validate again).  New parcels
    go in with ``bulk_register``; matched parcels get a new version (the old one
    is closed, never changed).  Any failure leaves nothing written.
    """
    say = progress or (lambda _m: None)
    require_officer(actor)
    lock_ward(session, actor.ward_code)
    row = open_batch_row(session, actor, batch_id)
    if row.state != "validated":
        raise CommitBlocked(f"survey batch {batch_id} is {row.state}: validate it first")
    rules = ruleset(settings)
    stamp = checks.current_stamp(session, ward_code=actor.ward_code, batch_id=batch_id,
                                        distance=checks.search_distance(rules))
    if stamp != row.registry_stamp:
        raise RegistryChanged(
            f"registered parcels around survey batch {batch_id} changed since it was "
            "validated; validate it again and review the findings", batch_id=batch_id)
    _require_no_open_errors(session, batch_id)
    why = (reason or "").strip() or f"survey batch {batch_id} ({row.file_name})"
    source = Source(kind="survey_batch", number=str(batch_id),
                    description=f"{row.file_name} (SHA-256 {row.sha256}), uploaded by "
                                f"{row.uploaded_by}")
    now = clock.now()
    say("registering new parcels")
    source_id = _register_new(session, actor, batch_id, source=source, reason=why, now=now)
    if source_id is None:
        source_id = record_source(session, actor, source)
    assert source_id is not None
    say("writing new versions")
    amended = _write_versions(session, actor, batch_id, source_id=source_id, reason=why, now=now)
    adjusted = neighbours.amend_neighbours(session, actor=actor, batch_id=batch_id,
                                           source_id=source_id, reason=why, now=now)
    say("checking the coverage")
    neighbours.require_clean_coverage(session, ward_code=actor.ward_code, batch_id=batch_id,
                                      rules=rules)
    session.execute(text(
        "UPDATE survey_batch SET state = 'committed', decided_by = :by, decided_at = :t, "
        "decision_reason = :r, source_document_id = :s WHERE id = :b"),
        {"by": actor.username, "t": now, "r": why, "s": source_id, "b": batch_id})
    audit.record(session, actor=actor, action="commit", entity="survey_batch",
                 entity_ids=[batch_id], reason=why,
                 detail={"source_document_id": source_id, "new_versions": len(amended),
                         "neighbours_amended": adjusted, "features": row.feature_count})
    return batch_summary(session, actor=actor, batch_id=batch_id)


def _why_not(finding_id: int, rule: str) -> str:
    """Why an error cannot be accepted as it is, and what to do instead."""
    if rule in checks.CONFLICT_RULES:
        return (f"finding {finding_id} ({rule}) is an overlap the registry would then hold: "
                "have the commit amend the registered neighbour, or record a dispute on both "
                "parcels (an overlap within the batch needs a corrected file)")
    return (f"finding {finding_id} ({rule}) describes a feature the registry cannot store; "
            "the surveyor must correct the file and upload it again")


def _require_no_open_errors(session: Session, batch_id: int) -> None:
    rows = session.execute(text(
        "SELECT id, rule, feature_idx, parcel_ids, severity, overridable, message_en, "
        "dispute_id FROM survey_finding WHERE batch_id = :b AND severity = 'error' "
        "AND (override_by IS NULL OR resolution = 'dispute') ORDER BY overridable, id"),
        {"b": batch_id}).all()
    if rows:
        waiting = [r.dispute_id for r in rows if r.dispute_id is not None]
        fixable = sum(1 for r in rows if r.overridable)
        settle = sum(1 for r in rows if r.dispute_id is None and checks.resolvable(
            r.rule, r.severity, r.feature_idx, r.parcel_ids))
        raise CommitBlocked(
            f"{len(rows)} error findings remain ({fixable} may be overridden by a land officer "
            f"with a reason, {settle} overlaps to settle by amending the neighbour or a "
            f"dispute, {len(waiting)} waiting for disputes {sorted(set(waiting))}, "
            f"{len(rows) - fixable - settle - len(waiting)} need a corrected file)",
            open_errors=len(rows),
            findings=[{"id": r.id, "rule": r.rule, "features": [i + 1 for i in r.feature_idx],
                       "overridable": r.overridable, "dispute_id": r.dispute_id,
                       "message": r.message_en} for r in rows[:50]])


def _register_new(session: Session, actor: Actor, batch_id: int, *, source: Source, reason: str,
                  now: datetime) -> int | None:
    """Register the unmatched features with COPY; returns the source document it made."""
    rows = session.execute(text(
        "SELECT idx, ST_AsBinary(geom) AS wkb, unit_code, sheet, number, land_use, "
        "declared_area FROM survey_feature WHERE batch_id = :b AND matched_parcel_id IS NULL "
        "ORDER BY idx"), {"b": batch_id}).all()
    if not rows:
        return None
    geoms = [_polygon(g) for g in from_db_many(r.wkb for r in rows)]
    gdf = gpd.GeoDataFrame({
        "former_unit": [r.unit_code for r in rows], "sheet_no": [r.sheet for r in rows],
        "parcel_no": [r.number for r in rows], "land_use": [r.land_use for r in rows],
        "legal_area": [r.declared_area if r.declared_area and r.declared_area > 0 else None
                       for r in rows],
    }, geometry=geoms, crs=f"EPSG:{gcrs.WARD}")
    source_id = record_source(session, actor, source)
    ids = bulk_register(session, actor=actor, parcels=gdf, reason=reason, source_id=source_id,
                        valid_from=now)
    session.execute(text(
        "UPDATE survey_feature f SET committed_parcel_id = t.pid FROM unnest("
        "CAST(:idx AS int[]), CAST(:pid AS bigint[])) AS t(idx, pid) "
        "WHERE f.batch_id = :b AND f.idx = t.idx"),
        {"b": batch_id, "idx": [r.idx for r in rows], "pid": ids})
    return source_id


def _polygon(geom: BaseGeometry) -> BaseGeometry:
    """One counter-clockwise polygon, as the registry stores it (validation made sure)."""
    if isinstance(geom, MultiPolygon) and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    return orient(geom, sign=1.0) if geom.geom_type == "Polygon" else geom


def _write_versions(session: Session, actor: Actor, batch_id: int, *, source_id: int,
                    reason: str, now: datetime) -> list[int]:
    """Close the current version of each matched parcel and write the surveyed one after it.

    Through the registry's set-based writer (two statements for any number of parcels);
    the surveyed geometry and land use replace the old ones, the legal area and address
    stay: they change by decision, not by measurement.
    """
    # Two steps, so the plan never depends on statistics of the just-staged rows (a join
    # planned before autovacuum had analysed them ran past the statement timeout at 10k).
    rows = session.execute(text(
        "SELECT matched_parcel_id AS pid, ST_AsBinary(geom) AS wkb, land_use "
        "FROM survey_feature WHERE batch_id = :b AND matched_parcel_id IS NOT NULL "
        "ORDER BY matched_parcel_id"), {"b": batch_id}).all()
    current = lock_current(session, [r.pid for r in rows])
    rows = [r for r in rows if r.pid in current]
    if not rows:
        return []
    geoms = from_db_many(r.wkb for r in rows)
    write_successors(session, versions=[current[r.pid] for r in rows], now=now,
                     recorded_by=actor.username, reason=reason, source_id=source_id,
                     change_kind="amend", changes=Changes(
                         geoms=[_polygon(g) for g in geoms],
                         land_use=[r.land_use for r in rows]))
    session.execute(text("UPDATE survey_feature SET committed_parcel_id = matched_parcel_id "
                         "WHERE batch_id = :b AND matched_parcel_id IS NOT NULL"),
                    {"b": batch_id})
    parcels = [int(r.pid) for r in rows]
    audit.record(session, actor=actor, action="amend", entity="parcel", entity_ids=parcels,
                 reason=reason, detail={"survey_batch": batch_id, "source_document_id": source_id,
                                        "fields": ["geometry", "land_use"]})
    return parcels

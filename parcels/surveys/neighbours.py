"""A batch and its registered neighbours: the registry stays a clean coverage.

An overlap beyond tolerance between a batch feature and a registered parcel cannot be
overridden as it is (the registry would then hold it).  The land officer settles it one
of two ways:

* :func:`amend_neighbour`: the commit gives the neighbour the surveyed boundary in the
  same act (its new version is the neighbour minus the surveyed parcel), when that leaves
  it one whole polygon;
* :func:`record_dispute`: where the officer cannot decide, the dispute entered on both
  parcels (by :mod:`certificates.disputes`, the dispute register's owner) is recorded on
  the finding, and the batch waits: a commit refuses while it is so.

Whatever was decided before, :func:`require_clean_coverage` checks the registry as the
commit leaves it, inside the commit's transaction: a committed parcel overlapping a
current neighbour beyond tolerance refuses the whole commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from config import clock
from db import audit
from db.audit import Actor
from gis.convert import from_db_many
from gis.findings import Severity
from gis.geojson import geometry_to_geojson
from gis.land_use import is_agricultural
from gis.overlaps import find_overlaps
from gis.remeasure import Adjustment, neighbour_adjustment
from gis.rules import RuleSet
from gis.topology import Context
from parcels.nearby import by_ids, near_batch
from parcels.surveys import checks
from parcels.surveys.batches import open_batch_row, reason_given, require_officer
from parcels.surveys.errors import CoverageBroken, FindingNotFound, NotResolvable
from parcels.surveys.reads import finding
from parcels.versions import Changes, lock_current, write_successors

MIN_NEIGHBOUR_M2: Final = 1.0
"""An amended neighbour keeps at least this much (less is a parcel gone, not amended)."""


def _settleable(session: Session, batch_id: int, finding_id: int) -> Row[Any]:
    f = session.execute(text(
        "SELECT id, rule, severity, feature_idx, parcel_ids, resolution, dispute_id "
        "FROM survey_finding WHERE id = :f AND batch_id = :b FOR UPDATE"),
        {"f": finding_id, "b": batch_id}).one_or_none()
    if f is None:
        raise FindingNotFound(f"batch {batch_id} has no finding {finding_id}",
                              finding_id=finding_id)
    if not checks.resolvable(f.rule, f.severity, f.feature_idx, f.parcel_ids):
        raise NotResolvable(
            f"finding {finding_id} ({f.rule}, {f.severity}) is not an overlap of one surveyed "
            "feature with one registered parcel: only such an overlap is settled by amending "
            "the neighbour or recording a dispute", rule=f.rule)
    return f


def _features(session: Session, batch_id: int, idx: list[int]) -> BaseGeometry:
    wkbs = session.execute(text(
        "SELECT ST_AsBinary(geom) FROM survey_feature WHERE batch_id = :b "
        "AND idx = ANY(:i) ORDER BY idx"), {"b": batch_id, "i": idx}).scalars().all()
    return shapely.union_all(np.asarray(from_db_many(wkbs), dtype=object))


def proposal(session: Session, *, ward_code: str, batch_id: int, parcel_id: int,
             feature_idx: list[int]) -> Adjustment:
    """The neighbour's boundary once it gives up what these features cover."""
    current = by_ids(session, ward_code=ward_code, parcel_ids=[parcel_id])
    if not current:
        raise NotResolvable(f"parcel {parcel_id} is no longer current; validate the batch again",
                            parcel_id=parcel_id)
    return neighbour_adjustment(current[0].geometry, _features(session, batch_id, feature_idx),
                                min_area_m2=MIN_NEIGHBOUR_M2)


def amend_neighbour(session: Session, *, actor: Actor, batch_id: int, finding_id: int,
                    reason: str) -> dict[str, Any]:
    """The officer accepts that the commit amends the registered neighbour to the surveyed
    boundary (it gives up the overlap); refused when the neighbour would not stay one
    polygon.  Returns the finding with the neighbour's proposed boundary (WGS 84)."""
    require_officer(actor)
    why = reason_given(reason)
    open_batch_row(session, actor, batch_id)
    f = _settleable(session, batch_id, finding_id)
    adj = proposal(session, ward_code=actor.ward_code, batch_id=batch_id,
                   parcel_id=f.parcel_ids[0], feature_idx=list(f.feature_idx))
    if adj.geometry is None:
        raise NotResolvable(
            f"parcel {f.parcel_ids[0]} cannot simply give up the overlap: {adj.refusal}; "
            "record a dispute, or have the surveyor correct the file",
            parcel_id=f.parcel_ids[0], refusal=adj.refusal)
    _settle(session, actor, f.id, "amend_neighbour", why, None)
    detail = {"finding_id": finding_id, "rule": f.rule, "parcel_id": f.parcel_ids[0],
              "area_before_m2": round(adj.area_before_m2, 2),
              "area_after_m2": round(adj.area_after_m2, 2)}
    audit.record(session, actor=actor, action="amend_neighbour", entity="survey_batch",
                 entity_ids=[batch_id], reason=why, detail=detail)
    out = finding(session, actor=actor, batch_id=batch_id, finding_id=finding_id)
    out["proposal"] = {**detail, "geometry": geometry_to_geojson(adj.geometry)}
    return out


def disputed_parcels(session: Session, *, actor: Actor, batch_id: int,
                     finding_id: int) -> list[int]:
    """The registered parcels a dispute over this finding is about: the neighbour, and the
    parcel the surveyed feature re-measures (when it matches one)."""
    require_officer(actor)
    open_batch_row(session, actor, batch_id)
    f = _settleable(session, batch_id, finding_id)
    matched = session.execute(text(
        "SELECT matched_parcel_id FROM survey_feature WHERE batch_id = :b AND idx = :i"),
        {"b": batch_id, "i": f.feature_idx[0]}).scalar_one_or_none()
    return sorted({int(f.parcel_ids[0]), *([int(matched)] if matched else [])})


def record_dispute(session: Session, *, actor: Actor, batch_id: int, finding_id: int,
                   dispute_id: int, reason: str) -> dict[str, Any]:
    """Record that the overlap is disputed (dispute ``dispute_id``, already entered on both
    parcels): the batch waits until the officer settles the finding another way."""
    require_officer(actor)
    why = reason_given(reason)
    open_batch_row(session, actor, batch_id)
    f = _settleable(session, batch_id, finding_id)
    _settle(session, actor, f.id, "dispute", why, dispute_id)
    audit.record(session, actor=actor, action="dispute_finding", entity="survey_batch",
                 entity_ids=[batch_id], reason=why,
                 detail={"finding_id": finding_id, "rule": f.rule, "dispute_id": dispute_id,
                         "parcel_ids": list(f.parcel_ids)})
    return finding(session, actor=actor, batch_id=batch_id, finding_id=finding_id)


def _settle(session: Session, actor: Actor, finding_id: int, resolution: str, reason: str,
            dispute_id: int | None) -> None:
    session.execute(text(
        "UPDATE survey_finding SET override_reason = :r, override_by = :by, override_at = :now, "
        "resolution = :res, dispute_id = :d WHERE id = :f"),
        {"r": reason, "by": actor.username, "now": clock.now(), "res": resolution,
         "d": dispute_id, "f": finding_id})


def amend_neighbours(session: Session, *, actor: Actor, batch_id: int, source_id: int,
                     reason: str, now: datetime) -> list[int]:
    """Write the new version of every neighbour an officer agreed to amend: the neighbour
    minus the surveyed features it overlapped (they are committed in the same act)."""
    rows = session.execute(text(
        "SELECT parcel_ids[1] AS pid, array_agg(DISTINCT feature_idx[1]) AS idx, "
        "string_agg(DISTINCT override_reason, '; ') AS why FROM survey_finding "
        "WHERE batch_id = :b AND resolution = 'amend_neighbour' GROUP BY 1 ORDER BY 1"),
        {"b": batch_id}).all()
    if not rows:
        return []
    current = lock_current(session, [r.pid for r in rows])
    geoms = []
    for r in rows:
        if r.pid not in current:
            raise NotResolvable(f"parcel {r.pid} is no longer current; validate the batch again",
                                parcel_id=r.pid)
        adj = proposal(session, ward_code=actor.ward_code, batch_id=batch_id, parcel_id=r.pid,
                       feature_idx=list(r.idx))
        if adj.geometry is None:
            raise NotResolvable(f"parcel {r.pid} cannot give up the overlap: {adj.refusal}",
                                parcel_id=r.pid, refusal=adj.refusal)
        geoms.append(adj.geometry)
    write_successors(session, versions=[current[r.pid] for r in rows], now=now,
                     recorded_by=actor.username, source_id=source_id, change_kind="amend",
                     reason=f"ranh giới điều chỉnh theo lô đo đạc {batch_id} / boundary "
                            f"adjusted to survey batch {batch_id}: {reason}",
                     changes=Changes(geoms=geoms))
    parcels = [int(r.pid) for r in rows]
    audit.record(session, actor=actor, action="amend", entity="parcel", entity_ids=parcels,
                 reason=reason, detail={"survey_batch": batch_id, "source_document_id": source_id,
                                        "fields": ["geometry"], "adjusted_to_survey": True,
                                        "officers_reasons": [r.why for r in rows]})
    return parcels


def require_clean_coverage(session: Session, *, ward_code: str, batch_id: int,
                           rules: RuleSet) -> None:
    """Refuse (the caller's transaction rolls back) when a parcel this batch committed
    overlaps a current neighbour beyond tolerance: the registry must stay a clean coverage,
    whatever was overridden before this rule existed."""
    parcels = near_batch(session, ward_code=ward_code, batch_id=batch_id,
                         distance=checks.search_distance(rules))
    committed = set(session.execute(text(
        "SELECT committed_parcel_id FROM survey_feature WHERE batch_id = :b "
        "AND committed_parcel_id IS NOT NULL"), {"b": batch_id}).scalars())
    focus = [k for k, p in enumerate(parcels) if p.parcel_id in committed]
    if not focus:
        return
    ctx = Context.build([p.geometry for p in parcels], [p.parcel_id for p in parcels],
                        rules=rules, scales=[p.scale for p in parcels],
                        agricultural=[is_agricultural(p.land_use) for p in parcels],
                        labels=[p.ref for p in parcels])
    bad = [f for f in find_overlaps(ctx, focus) if f.severity is Severity.ERROR]
    if bad:
        raise CoverageBroken(
            f"the commit would leave {len(bad)} overlap(s) beyond tolerance in the registry "
            f"({bad[0].message_en}); settle each by amending the neighbour or recording a "
            "dispute, then commit again; nothing was written",
            overlaps=[{"rule": f.code, "parcel_ids": [int(i) for i in f.feature_ids],
                       "area_m2": f.figures.get("area_m2"), "message_vi": f.message_vi,
                       "message_en": f.message_en} for f in bad[:50]])

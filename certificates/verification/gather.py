"""Fetching a claim's surroundings from PostGIS: a handful of indexed statements around it,
the registry's through :mod:`parcels` and the pending claims from the applications."""

# ruff: noqa: S608 (only constant SQL fragments are interpolated; values are bound parameters)
from __future__ import annotations

import time
from typing import Final

from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from certificates.rules import VerificationSettings
from certificates.verification.evaluate import evaluate
from certificates.verification.inputs import (
    PENDING_STATES,
    Claim,
    PendingClaim,
    Surroundings,
)
from certificates.verification.report import Outcome
from db.engine import sql
from gis.convert import from_db, to_ewkb
from gis.crs import WARD
from parcels.cases import OpenDispute
from parcels.nearby import head, near_geometry
from parcels.zones import zones_in_force

FRAME_MARGIN_M: Final = 10.0
"""The ward frame and the zones are clipped to the claim's envelope grown by this much."""


def gather(session: Session, *, ward_code: str, claim: Claim, settings: VerificationSettings,
           exclude_application: int | None = None) -> Surroundings:
    """Fetch the claim's surroundings from PostGIS: five indexed statements around it.

    The first reads what a check is pinned to (:func:`parcels.nearby.head`: the registry
    version, the claim's map scale and the ward frame around it); then the registry
    around it with holders; the other pending claims, and which of those parcels another
    pending claim names; the zones; the open disputes on those parcels.
    """
    geom = claim.geometry
    usable = geom is not None and not geom.is_empty and geom.is_valid
    pinned = head(session, ward_code=ward_code, geometry=geom, former_unit=claim.former_unit,
                  sheet_no=claim.sheet_no, frame_margin_m=FRAME_MARGIN_M)
    if not usable:
        return Surroundings(scale=pinned.scale, registry_version=pinned.registry_version)
    assert geom is not None
    neighbours = tuple(near_geometry(session, ward_code=ward_code, geometry=geom,
                                     distance=settings.search_m, former_unit=claim.former_unit,
                                     sheet_no=claim.sheet_no, parcel_no=claim.parcel_no))
    pending, claimed = _pending_claims(session, ward_code, geom, exclude_application,
                                       [n.parcel_id for n in neighbours])
    zones = zones_in_force(session, ward_code=ward_code, near=geom, clip_m=FRAME_MARGIN_M)
    return Surroundings(
        neighbours=neighbours, pending=pending, claimed_parcels=claimed, frame=pinned.frame,
        zones=tuple(z.as_zone() for z in zones),
        zone_projects={z.zone_key: z.project_name for z in zones if z.project_name},
        disputes=_open_disputes(session, ward_code, [n.parcel_id for n in neighbours]),
        scale=pinned.scale, registry_version=pinned.registry_version)


def _pending_claims(session: Session, ward_code: str, geom: BaseGeometry, exclude: int | None,
                    parcel_ids: list[int]) -> tuple[tuple[PendingClaim, ...], frozenset[int]]:
    """Other pending claims overlapping this one, and which of ``parcel_ids`` another pending
    claim names: one statement."""
    me = "coalesce(CAST(:me AS bigint), -1)"
    rows = session.execute(sql(f"""
        SELECT true AS overlapping, id, application_key, received_at,
               ST_AsBinary(geom) AS wkb, parcel_id
        FROM application
        WHERE ward_code = :w AND geom_valid AND state IN {PENDING_STATES!r}
          AND id <> {me} AND ST_Intersects(geom, ST_GeomFromEWKB(:g))
        UNION ALL
        SELECT DISTINCT false, NULL::bigint, NULL::text, NULL::timestamptz, NULL::bytea,
               parcel_id
        FROM application
        WHERE ward_code = :w AND parcel_id = ANY(CAST(:ids AS bigint[]))
          AND state IN {PENDING_STATES!r} AND id <> {me}
        ORDER BY 2"""),
        {"w": ward_code, "g": to_ewkb(geom, WARD), "me": exclude, "ids": parcel_ids}).all()
    pending = tuple(PendingClaim(r.id, r.application_key, r.received_at,
                                 from_db(r.wkb), r.parcel_id)
                    for r in rows if r.overlapping)
    return pending, frozenset(int(r.parcel_id) for r in rows if not r.overlapping)


def _open_disputes(session: Session, ward_code: str, ids: list[int]) -> tuple[OpenDispute, ...]:
    if not ids:
        return ()
    rows = session.execute(sql(
        "SELECT id, parcel_ids, claimant, opened_on, state FROM dispute "
        "WHERE ward_code = :w AND state IN ('open', 'mediation') AND parcel_ids && "
        "CAST(:ids AS bigint[]) ORDER BY id"), {"w": ward_code, "ids": ids}).all()
    return tuple(OpenDispute(r.id, tuple(r.parcel_ids), r.claimant, r.opened_on, r.state)
                 for r in rows)


def run(session: Session, *, ward_code: str, claim: Claim, settings: VerificationSettings,
        ) -> tuple[Outcome, float]:
    """Gather and evaluate; returns the outcome and the elapsed milliseconds."""
    t0 = time.perf_counter()
    around = gather(session, ward_code=ward_code, claim=claim, settings=settings,
                    exclude_application=claim.application_id)
    outcome = evaluate(claim, around, settings)
    return outcome, (time.perf_counter() - t0) * 1000.0

"""Open cases inside an area (a road corridor): pending applications and open disputes.

An official deciding a road project must see the files the ward has not finished where
the red line runs: a first-time certificate application waiting on a parcel the road will
take, a dispute over a parcel it cuts.  These are this package's tables, so the reads are
here; the records they answer (:mod:`parcels.cases`) lie below both packages, and the API
and the command line pass them to ``projects.impact``.  As of an instant: an application
was pending then when it had been received and not yet decided; a dispute was open when it
had been opened and not yet closed (on the ward's dates).
"""

# ruff: noqa: S608 (only constant SQL fragments are interpolated; values are bound parameters)
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from certificates.verification import PENDING_STATES
from config import clock
from db.engine import sql
from gis.convert import from_db, to_ewkb
from gis.crs import WARD
from parcels.cases import OpenDispute, PendingCase


def pending_in_area(session: Session, *, ward_code: str, area: BaseGeometry,
                    parcel_ids: Sequence[int] = (),
                    as_of: datetime | None = None) -> list[PendingCase]:
    """Applications pending (then) whose claim meets ``area`` or that name one of
    ``parcel_ids``."""
    when = "a.state = ANY(:pending)" if as_of is None else (
        "a.received_at <= :as_of AND (a.decided_at IS NULL OR a.decided_at > :as_of)")
    rows = session.execute(sql(
        "SELECT a.id, a.application_key, a.applicant_name, a.procedure, a.state, "
        "a.received_on, a.parcel_id, ST_AsBinary(a.geom) AS wkb FROM application a "
        f"WHERE a.ward_code = :w AND {when} AND ((a.geom_valid AND a.geom IS NOT NULL "
        "AND ST_Intersects(a.geom, ST_GeomFromEWKB(:g))) OR a.parcel_id = ANY(:ids)) "
        "ORDER BY a.id"),
        {"w": ward_code, "pending": list(PENDING_STATES), "as_of": as_of,
         "g": to_ewkb(area, WARD),
         "ids": list(parcel_ids)}).all()
    return [PendingCase(application_id=r.id, application_key=r.application_key,
                        applicant_name=r.applicant_name, procedure=r.procedure, state=r.state,
                        received_on=r.received_on, geometry=from_db(r.wkb),
                        parcel_id=r.parcel_id) for r in rows]


def disputes_on(session: Session, *, ward_code: str, parcel_ids: Sequence[int],
                as_of: datetime | None = None) -> list[OpenDispute]:
    """Disputes open (then) over any of ``parcel_ids``."""
    if not parcel_ids:
        return []
    when = "d.state IN ('open', 'mediation')" if as_of is None else (
        "d.opened_on <= :day AND (d.closed_on IS NULL OR d.closed_on > :day)")
    rows = session.execute(sql(
        "SELECT d.id, d.parcel_ids, d.claimant, d.state, d.opened_on FROM dispute d "
        f"WHERE d.ward_code = :w AND {when} AND d.parcel_ids && CAST(:ids AS bigint[]) "
        "ORDER BY d.id"),
        {"w": ward_code, "ids": list(parcel_ids),
         "day": clock.ward_date(as_of) if as_of is not None else None}).all()
    return [OpenDispute(r.id, tuple(r.parcel_ids), r.claimant, r.opened_on, r.state)
            for r in rows]

"""The ward's dispute register: who disputes which parcels, since when, and where it stands.

Verification reads it (``dispute_open``): a certificate is not issued for a parcel, or
next to a neighbour, with an open dispute (DOMAIN.md: the ward confirms "whether a
dispute is open").  Entries are never deleted; closing one records the day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from certificates.errors import DisputeNotFound, InvalidDispute
from certificates.models import Dispute
from db import audit
from db.audit import Actor
from db.errors import Forbidden
from parcels import surveys
from parcels.numbers import current_ids

OPEN = ("open", "mediation")
CLOSED = ("resolved", "withdrawn")


def _officer(actor: Actor) -> None:
    if actor.role != "land_officer":
        raise Forbidden("only a land officer keeps the dispute register", role=actor.role)


def open_dispute(session: Session, *, actor: Actor, parcel_ids: Sequence[int], claimant: str,
                 description: str, opened_on: date, respondent: str | None = None) -> Dispute:
    """Enter a dispute over one or more current parcels of the ward."""
    _officer(actor)
    ids = sorted(set(parcel_ids))
    if not ids:
        raise InvalidDispute("name at least one disputed parcel", field="parcel_ids")
    if not claimant.strip() or not description.strip():
        raise InvalidDispute("claimant and description are required")
    found = current_ids(session, ward_code=actor.ward_code, parcel_ids=ids)
    missing = [i for i in ids if i not in found]
    if missing:
        raise InvalidDispute(f"no current parcel {missing} in ward {actor.ward_code}",
                             parcel_ids=missing)
    d = Dispute(ward_code=actor.ward_code, parcel_ids=ids, claimant=claimant.strip(),
                respondent=respondent, description=description.strip(), opened_on=opened_on,
                state="open", recorded_by=actor.username)
    session.add(d)
    session.flush()
    audit.record(session, actor=actor, action="open", entity="dispute", entity_ids=[d.id],
                 reason=description, detail={"parcel_ids": ids, "claimant": claimant})
    return d


def set_state(session: Session, *, actor: Actor, dispute_id: int, state: str, on: date,
              reason: str) -> Dispute:
    """Move a dispute to mediation, or close it (resolved, withdrawn) on a day."""
    _officer(actor)
    if state not in (*OPEN, *CLOSED):
        raise InvalidDispute(f"unknown dispute state {state!r}", field="state")
    d = session.execute(select(Dispute).where(Dispute.id == dispute_id,
                                              Dispute.ward_code == actor.ward_code)
                        .with_for_update()).scalar_one_or_none()
    if d is None:
        raise DisputeNotFound(f"no dispute {dispute_id} in ward {actor.ward_code}")
    if d.state in CLOSED:
        raise InvalidDispute(f"dispute {dispute_id} is already {d.state}")
    previous = d.state
    d.state = state
    d.closed_on = on if state in CLOSED else None
    audit.record(session, actor=actor, action=state, entity="dispute", entity_ids=[d.id],
                 reason=reason, detail={"from": previous, "to": state, "on": on.isoformat()})
    session.flush()
    return d


def list_disputes(session: Session, *, ward_code: str, open_only: bool = True,
                  parcel_id: int | None = None) -> list[Dispute]:
    q = select(Dispute).where(Dispute.ward_code == ward_code)
    if open_only:
        q = q.where(Dispute.state.in_(OPEN))
    if parcel_id is not None:
        q = q.where(Dispute.parcel_ids.contains([parcel_id]))
    return list(session.execute(q.order_by(Dispute.id)).scalars())


def dispute_survey_finding(session: Session, *, actor: Actor, batch_id: int, finding_id: int,
                           claimant: str, description: str, opened_on: date,
                           respondent: str | None = None) -> tuple[Dispute, dict[str, Any]]:
    """An overlap between a surveyed parcel and its registered neighbour the officer cannot
    decide: a dispute entered on both parcels (the neighbour and the parcel re-measured),
    recorded on the finding, so that the batch waits (its commit refuses) until the finding
    is settled otherwise.  Returns the dispute and the finding."""
    parcel_ids = surveys.disputed_parcels(session, actor=actor, batch_id=batch_id,
                                          finding_id=finding_id)
    d = open_dispute(session, actor=actor, parcel_ids=parcel_ids, claimant=claimant,
                     description=description, opened_on=opened_on, respondent=respondent)
    found = surveys.record_dispute(session, actor=actor, batch_id=batch_id,
                                   finding_id=finding_id, dispute_id=d.id, reason=description)
    return d, found

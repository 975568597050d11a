"""Rights on parcels (LA_RRR) and the parties who hold them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcels.models import ParcelRight, Party


@dataclass(frozen=True)
class PartyDetails:
    """Who a right is granted to, as the application names them."""

    full_name: str
    id_number: str | None = None
    address: str | None = None


def grant_use_right(session: Session, *, ward_code: str, parcel_id: int, holder: PartyDetails,
                    party_id: int | None, certificate_no: str, issued_on: date,
                    source_id: int | None, recorded_by: str) -> int:
    """Record a certified use right on a parcel; returns the holder's party id.

    The party is ``party_id`` when known, else the ward's party with the same identity
    number, else a new person.
    """
    party_id = party_id or _party(session, ward_code, holder)
    session.add(ParcelRight(ward_code=ward_code, parcel_id=parcel_id, party_id=party_id,
                            kind="use_right", certificate_no=certificate_no,
                            issued_on=issued_on, source_document_id=source_id,
                            recorded_by=recorded_by))
    return party_id


def _party(session: Session, ward_code: str, holder: PartyDetails) -> int:
    found = None
    if holder.id_number:
        found = session.execute(select(Party.id).where(
            Party.ward_code == ward_code, Party.id_number == holder.id_number)).scalars().first()
    if found is not None:
        return int(found)
    party = Party(ward_code=ward_code, kind="person", full_name=holder.full_name,
                  id_number=holder.id_number, address=holder.address)
    session.add(party)
    session.flush()
    return party.id

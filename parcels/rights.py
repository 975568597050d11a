"""Rights on parcels (LA_RRR), the parties who hold them, and the certificate they rest on."""


from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import clock
from db.engine import sql
from parcels.models import ParcelRight, Party


@dataclass(frozen=True)
class PartyDetails:
    """Who a right is granted to, as the application names them."""

    full_name: str
    id_number: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class CertificateFields:
    """What a first-time certificate states about the right (Circular 10/2024/TT-BTNMT's
    certificate content; the form names are UNCERTAIN, see config/certificates.toml)."""

    serial: str
    """The blank's serial (số phát hành); recorded as the right's certificate number."""
    register_no: str
    """The number in the ward's register of certificates issued (số vào sổ cấp GCN)."""
    issued_on: date
    term_of_use: str
    use_origin: str
    use_form: str
    """``rieng``: one user (a person, a household, a married couple); ``chung``: several."""


def grant_use_right(session: Session, *, ward_code: str, parcel_id: int, holder: PartyDetails,
                    party_id: int | None, certificate_no: str, issued_on: date,
                    source_id: int | None, recorded_by: str,
                    certificate: CertificateFields | None = None,
                    co_holders: Sequence[PartyDetails] = ()) -> int:
    """Record a certified use right on a parcel for the holder and each co-holder (both
    spouses on one certificate); returns the holder's party id.

    A party is ``party_id`` when known, else the ward's party with the same identity number,
    else a new person.  The right starts now on the service clock.
    """
    party_id = party_id or _party(session, ward_code, holder)
    parties = [party_id, *(_party(session, ward_code, h) for h in co_holders)]
    now = clock.now()
    for pid in parties:
        session.add(ParcelRight(
            ward_code=ward_code, parcel_id=parcel_id, party_id=pid, kind="use_right",
            share=Decimal(1), certificate_no=certificate_no, issued_on=issued_on,
            serial=certificate.serial if certificate else None,
            register_no=certificate.register_no if certificate else None,
            term_of_use=certificate.term_of_use if certificate else None,
            use_origin=certificate.use_origin if certificate else None,
            use_form=certificate.use_form if certificate else None,
            source_document_id=source_id, valid_from=now, recorded_by=recorded_by))
    return party_id


def next_register_no(session: Session, *, ward_code: str, prefix: str) -> str:
    """The next number of the ward's register of certificates issued: ``prefix`` and five
    digits, one more than the highest so far (the caller holds the ward's registry lock)."""
    last = session.execute(sql(
        "SELECT max(CAST(substr(register_no, length(:p) + 1) AS integer)) FROM parcel_right "
        "WHERE ward_code = :w AND register_no LIKE :p || '%' "
        "AND substr(register_no, length(:p) + 1) ~ '^[0-9]+$'"),
        {"w": ward_code, "p": prefix}).scalar_one()
    return f"{prefix}{(last or 0) + 1:05d}"


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

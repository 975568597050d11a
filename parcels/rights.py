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


@dataclass(frozen=True)
class UseRight:
    """One certified use right of a bulk grant: the parcel, its holder's party, the
    certificate."""

    parcel_id: int
    party_id: int
    certificate_no: str
    issued_on: date


def add_parties(session: Session, *, ward_code: str,
                parties: Sequence[PartyDetails]) -> list[int]:
    """Record new persons at once (a whole ward's holders in one statement); their ids in
    the order given.

    The ids are drawn from the sequence first, as :func:`parcels.versions.insert_parcels`
    does, so the caller ties its rows to them without relying on the order of RETURNING.
    """
    if not parties:
        return []
    ids = [int(i) for i in session.execute(sql(
        "SELECT nextval('party_id_seq') FROM generate_series(1, :n)"),
        {"n": len(parties)}).scalars()]
    session.execute(sql(
        "INSERT INTO party (id, ward_code, kind, full_name, id_number, address, created_at) "
        "SELECT t.id, :w, 'person', t.n, t.i, t.a, :t FROM unnest(CAST(:id AS bigint[]), "
        "CAST(:n AS text[]), CAST(:i AS text[]), CAST(:a AS text[])) AS t(id, n, i, a)"),
        {"w": ward_code, "t": clock.now(), "id": ids, "n": [p.full_name for p in parties],
         "i": [p.id_number for p in parties], "a": [p.address for p in parties]})
    return ids


def grant_use_rights(session: Session, *, ward_code: str, rights: Sequence[UseRight],
                     source_id: int | None, recorded_by: str) -> int:
    """Record many certified use rights in one statement (a ward's load: one INSERT per
    right would cost seconds); returns how many.  The parties exist already
    (:func:`add_parties`)."""
    if not rights:
        return 0
    session.execute(sql(
        "INSERT INTO parcel_right (ward_code, parcel_id, party_id, kind, certificate_no, "
        "issued_on, recorded_by, source_document_id, valid_from) "
        "SELECT :w, t.p, t.y, 'use_right', t.c, t.d, :by, :src, :t "
        "FROM unnest(CAST(:p AS bigint[]), CAST(:y AS bigint[]), CAST(:c AS text[]), "
        "CAST(:d AS date[])) AS t(p, y, c, d)"),
        {"w": ward_code, "by": recorded_by, "src": source_id, "t": clock.now(),
         "p": [r.parcel_id for r in rights], "y": [r.party_id for r in rights],
         "c": [r.certificate_no for r in rights], "d": [r.issued_on for r in rights]})
    return len(rights)

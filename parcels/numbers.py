"""Parcels by their map identity: (ward, former unit, sheet, parcel number).

Sheet numbering restarted in each former unit merged into the ward, so a number names
one current parcel only together with its former unit (a partial unique index holds it).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from db.engine import sql
from parcels.errors import DuplicateParcelNumber
from parcels.ward import require_former_unit


def current_by_number(session: Session, *, ward_code: str, units: Sequence[str | None],
                      sheets: Sequence[int | None],
                      numbers: Sequence[int | None]) -> list[int | None]:
    """The current registered parcel of each (unit, sheet, number), None where there is
    none; one statement for any number of rows (a survey batch, a load)."""
    rows = session.execute(sql(
        "SELECT t.i, v.parcel_id FROM unnest(CAST(:u AS text[]), CAST(:s AS int[]), "
        "CAST(:n AS int[])) WITH ORDINALITY AS t(u, s, n, i) "
        "JOIN parcel_version v ON v.ward_code = :w AND v.former_unit = t.u "
        "AND v.sheet_no = t.s AND v.parcel_no = t.n AND v.valid_to IS NULL "
        "AND v.status = 'registered'"),
        {"w": ward_code, "u": list(units), "s": list(sheets), "n": list(numbers)}).all()
    out: list[int | None] = [None] * len(units)
    for i, pid in rows:
        out[int(i) - 1] = int(pid)
    return out


def subject_by_number(session: Session, *, ward_code: str, former_unit: str | None,
                      sheet_no: int | None, parcel_no: int | None) -> int | None:
    """The one current parcel with this sheet and number (in ``former_unit`` when given);
    None when there is none, or several in different former units."""
    if sheet_no is None or parcel_no is None:
        return None
    rows = session.execute(sql(
        "SELECT parcel_id FROM parcel_version WHERE ward_code = :w AND sheet_no = :s "
        "AND parcel_no = :n AND valid_to IS NULL AND status = 'registered' "
        "AND (CAST(:u AS text) IS NULL OR former_unit = :u)"),
        {"w": ward_code, "s": sheet_no, "n": parcel_no, "u": former_unit}).scalars().all()
    return int(rows[0]) if len(rows) == 1 else None


def require_number_free(session: Session, *, ward_code: str, former_unit: str, sheet_no: int,
                        parcel_no: int, except_parcels: Sequence[int] = ()) -> None:
    """Refuse a sheet and number a current parcel (other than ``except_parcels``) holds, or
    a former unit the ward does not have."""
    require_former_unit(session, ward_code, former_unit)
    holder = current_by_number(session, ward_code=ward_code, units=[former_unit],
                               sheets=[sheet_no], numbers=[parcel_no])[0]
    if holder is not None and holder not in except_parcels:
        raise DuplicateParcelNumber(
            f"sheet {sheet_no} parcel {parcel_no} of {former_unit} is already parcel {holder}",
            conflicting_parcels=[holder],
        )


def next_number(session: Session, *, ward_code: str, former_unit: str, sheet_no: int) -> int:
    """The next free parcel number on a sheet (one above the highest ever used)."""
    return int(session.execute(sql(
        "SELECT coalesce(max(parcel_no), 0) + 1 FROM parcel_version WHERE ward_code = :w "
        "AND former_unit = :u AND sheet_no = :s"),
        {"w": ward_code, "u": former_unit, "s": sheet_no}).scalar_one())


def current_ids(session: Session, *, ward_code: str, parcel_ids: Sequence[int]) -> set[int]:
    """Which of ``parcel_ids`` are parcels of the ward with a current version."""
    return {int(p) for p in session.execute(sql(
        "SELECT parcel_id FROM parcel_version WHERE ward_code = :w AND valid_to IS NULL "
        "AND parcel_id = ANY(:ids)"), {"w": ward_code, "ids": list(parcel_ids)}).scalars()}


def sheet_scales(session: Session, ward_code: str) -> dict[tuple[str, int], int]:
    """The scale of every map sheet of the ward, by (former unit, sheet number)."""
    rows = session.execute(sql("SELECT former_unit, sheet_no, scale FROM map_sheet "
                               "WHERE ward_code = :w"), {"w": ward_code}).all()
    return {(r.former_unit, r.sheet_no): r.scale for r in rows}

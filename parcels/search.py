"""Finding a parcel the way people ask for one: by sheet and number, a holder, an address.

A search box takes "12/345", "tờ 12 thửa 345" or "12 345" (sheet, then parcel number);
anything else is looked for in the names of the current holders and in the addresses of
parcels in force, ignoring case and diacritics on both sides (PostgreSQL's ``unaccent``,
migration 0021): "nguyen van" finds "Nguyễn Văn", "dong da" finds "Đống Đa", as people
type on a keyboard without Vietnamese input.  Only registered parcels in force are found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from sqlalchemy.orm import Session

from db.engine import sql
from parcels.errors import InvalidInput

NUMBER: Final = re.compile(
    r"^\s*(?:t[ờo]\s*)?(\d{1,5})\s*(?:[/,;\s-]|\s*th[ửu]a\s*)\s*(\d{1,6})\s*$", re.IGNORECASE)
MAX_HITS: Final = 100


@dataclass(frozen=True)
class Hit:
    parcel_id: int
    former_unit: str
    sheet_no: int
    parcel_no: int
    land_use: str
    address: str | None
    measured_area: float
    legal_area: Decimal | None
    holders: list[str]
    matched: str
    """What matched: ``number``, ``holder`` or ``address``."""


def parse_number(text: str) -> tuple[int, int] | None:
    """(sheet, parcel number) when the text is one, else None."""
    m = NUMBER.match(text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search(session: Session, *, ward_code: str, text: str, limit: int = 50) -> list[Hit]:
    """Parcels in force matching ``text`` (see the module's note), by sheet and number."""
    text = text.strip()
    if len(text) < 2 and parse_number(text) is None:
        raise InvalidInput("type at least two letters, or a sheet and parcel number such as "
                           "12/345", field="q", vi="Nhập ít nhất hai ký tự, hoặc số tờ và số "
                           "thửa như 12/345.")
    if not 1 <= limit <= MAX_HITS:
        raise InvalidInput(f"limit must be between 1 and {MAX_HITS}", field="limit")
    number = parse_number(text)
    holders = ("(SELECT coalesce(array_agg(y.full_name ORDER BY r.id), '{}') FROM parcel_right r "
               "JOIN party y ON y.id = r.party_id WHERE r.parcel_id = v.parcel_id "
               "AND r.valid_to IS NULL)")
    columns = ("v.parcel_id, v.former_unit, v.sheet_no, v.parcel_no, v.land_use, v.address, "
               f"v.measured_area, v.legal_area, {holders} AS holders")
    current = "v.ward_code = :w AND v.valid_to IS NULL AND v.status = 'registered'"
    if number is not None:
        rows = session.execute(sql(
            f"SELECT {columns}, 'number' AS matched FROM parcel_version v WHERE {current} "
            "AND v.sheet_no = :s AND v.parcel_no = :n ORDER BY v.former_unit LIMIT :lim"),
            {"w": ward_code, "s": number[0], "n": number[1], "lim": limit}).all()
    else:
        rows = session.execute(sql(
            f"SELECT {columns}, m.matched FROM ("
            "  SELECT DISTINCT ON (parcel_id) parcel_id, matched FROM ("
            "    SELECT r.parcel_id, 'holder' AS matched FROM parcel_right r "
            "    JOIN party y ON y.id = r.party_id WHERE r.ward_code = :w "
            "    AND r.valid_to IS NULL AND unaccent(y.full_name) ILIKE unaccent(:like)"
            "    UNION ALL "
            "    SELECT v.parcel_id, 'address' FROM parcel_version v "
            f"    WHERE {current} AND unaccent(v.address) ILIKE unaccent(:like)) found "
            "  ORDER BY parcel_id, matched DESC) m "
            f"JOIN parcel_version v ON v.parcel_id = m.parcel_id AND {current} "
            "ORDER BY v.former_unit, v.sheet_no, v.parcel_no LIMIT :lim"),
            {"w": ward_code, "like": _like(text), "lim": limit}).all()
    return [Hit(parcel_id=r.parcel_id, former_unit=r.former_unit, sheet_no=r.sheet_no,
                parcel_no=r.parcel_no, land_use=r.land_use, address=r.address,
                measured_area=float(r.measured_area), legal_area=r.legal_area,
                holders=list(r.holders), matched=r.matched) for r in rows]


"""The read model of a parcel: one type for every reader of the registry.

:class:`MapParcel` is what a check needs of a parcel on the map (identity, use,
geometry, map scale, holders); :class:`ParcelRecord` adds the version's history
fields the API shows.  ``holders`` is ``None`` when the read did not fetch them, so that
nothing presents "not read" as "nobody holds a right".
"""

# ruff: noqa: S608 (only constant SQL fragments are interpolated; values are bound parameters)
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from shapely.geometry.base import BaseGeometry

from gis.labels import ParcelLabel

USE_RIGHT: Final = "use_right"


@dataclass(frozen=True)
class Holder:
    """A current right on a parcel and who holds it (LA_RRR)."""

    party_id: int | None
    full_name: str | None
    right: str
    share: Decimal
    certificate_no: str | None
    issued_on: date | None
    register_no: str | None = None
    """The certificate's number in the ward's register (số vào sổ cấp GCN)."""
    term_of_use: str | None = None
    use_origin: str | None = None
    """Origin of use (nguồn gốc sử dụng) as the certificate states it."""
    use_form: str | None = None
    """``rieng`` (one user: a person, a household, a married couple) or ``chung``."""


def holders_sql(as_of_param: str | None = None) -> str:
    """The holders of ``v.parcel_id`` as one JSON array column (one round trip with the
    versions); rights in force now, or at the timestamp parameter named ``as_of_param``."""
    when = "r.valid_to IS NULL" if as_of_param is None else (
        f"r.valid_from <= {as_of_param} AND (r.valid_to IS NULL OR r.valid_to > {as_of_param})")
    return ("(SELECT coalesce(json_agg(json_build_array(r.party_id, y.full_name, r.kind, "
            "r.share, r.certificate_no, r.issued_on, r.register_no, r.term_of_use, r.use_origin, "
            "r.use_form) ORDER BY r.id), '[]') FROM parcel_right r "
            f"LEFT JOIN party y ON y.id = r.party_id WHERE r.parcel_id = v.parcel_id AND {when})")


def holders_from_json(rows: list[list[Any]] | None) -> list[Holder]:
    return [Holder(party_id=h[0], full_name=h[1], right=h[2], share=Decimal(str(h[3])),
                   certificate_no=h[4], issued_on=date.fromisoformat(h[5]) if h[5] else None,
                   register_no=h[6], term_of_use=h[7], use_origin=h[8], use_form=h[9])
            for h in rows or []]


@dataclass(frozen=True, kw_only=True)
class MapParcel:
    """A parcel version on the map, geometry in EPSG:9214."""

    parcel_id: int
    former_unit: str
    sheet_no: int
    parcel_no: int
    land_use: str
    geometry: BaseGeometry
    version_id: int | None = None
    scale: int | None = None
    """The scale of the map sheet it is drawn on (its positional tolerance)."""
    holders: list[Holder] | None = None
    unit_name: str | None = None
    """The former unit's name ("Hương Long"), where the read joined it."""
    measured_area: float | None = None
    """m², computed by the database from the stored geometry (a map's popup shows it)."""
    address: str | None = None

    @property
    def label(self) -> str:
        return f"{self.former_unit} tờ {self.sheet_no} thửa {self.parcel_no}"

    @property
    def ref(self) -> ParcelLabel:
        """How a sentence names it: "thửa đất số 12, tờ bản đồ số 5 (Hương Long cũ)"."""
        return ParcelLabel(self.parcel_no, self.sheet_no, self.unit_name or self.former_unit)

    @property
    def identity(self) -> dict[str, Any]:
        """Who the parcel is, as a finding about it records it."""
        return {"parcel_id": self.parcel_id, "former_unit": self.former_unit,
                "sheet_no": self.sheet_no, "parcel_no": self.parcel_no,
                "land_use": self.land_use}

    @property
    def certified(self) -> bool:
        """Someone holds a certificate of the use right."""
        return any(h.certificate_no for h in self.use_rights)

    @property
    def use_rights(self) -> list[Holder]:
        return [h for h in self.holders or () if h.right == USE_RIGHT]

    @property
    def holder_names(self) -> list[str]:
        """Who holds a use right, by right (parties without a name left out)."""
        return [h.full_name for h in self.use_rights if h.full_name]

    def describe(self) -> dict[str, Any]:
        """The parcel as a verification report names it."""
        return {"parcel_id": self.parcel_id, "former_unit": self.former_unit,
                "sheet_no": self.sheet_no, "parcel_no": self.parcel_no,
                "land_use": self.land_use, "certified": self.certified,
                "holders": [{"name": h.full_name, "certificate_no": h.certificate_no,
                             "issued_on": h.issued_on.isoformat() if h.issued_on else None}
                            for h in self.use_rights]}


@dataclass(frozen=True, kw_only=True)
class ParcelRecord(MapParcel):
    """One version of a parcel with its history fields, as the API shows it."""

    version: int
    measured_area: float
    legal_area: Decimal | None
    address: str | None
    status: str
    change_kind: str
    valid_from: datetime
    valid_to: datetime | None
    recorded_at: datetime
    recorded_by: str
    reason: str
    source_document_id: int | None
    geohash: str | None


def record(m: Mapping[Any, Any], geometry: BaseGeometry,
           holders: list[Holder] | None) -> ParcelRecord:
    """A :class:`ParcelRecord` from a row of ``VERSION_COLUMNS`` (either driver)."""
    values = {k: m[k] for k in m if k not in ("wkb", "holders_json", "matched")}
    return ParcelRecord(geometry=geometry, holders=holders, **values)

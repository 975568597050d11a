"""Registry writes: register, amend, split, merge, retire.

Every operation runs inside the caller's transaction, takes the ward's registry
lock (so that a spatial check and the write that depends on it are atomic),
closes the current version instead of changing it, and writes an audit event.
Measured area is computed by the database from the stored geometry (a
generated column), never taken from input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config import clock
from db import audit
from db.audit import Actor
from db.engine import sql
from gis import crs as gcrs
from gis.convert import to_db
from gis.errors import OutsideWard
from parcels.errors import (
    DuplicateParcelNumber,
    InvalidGeometry,
    InvalidInput,
    MergeMismatch,
    ParcelNotFound,
    ParcelRetired,
    SplitMismatch,
    UnknownCRS,
    WrongCRS,
)
from parcels.models import Parcel, ParcelLineage, ParcelVersion, SourceDocument, Ward

SPLIT_AREA_TOLERANCE_M2 = 0.01
"""Children of a split must cover the parent to within this area (issue 2)."""
WARD_EDGE_TOLERANCE_M = 1.0
"""A parcel may stick out of the ward outline by this much (digitising noise of the outline)."""


@dataclass(frozen=True)
class Source:
    """The document a change rests on: a certificate, decision, survey batch, field record."""

    kind: str
    number: str | None = None
    issued_on: date | None = None
    issued_by: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class ParcelSpec:
    """What a caller states about a parcel; geometry in ``srid`` (default the ward's CRS)."""

    former_unit: str
    sheet_no: int
    parcel_no: int
    land_use: str
    geometry: BaseGeometry
    srid: int = gcrs.WARD
    legal_area: float | Decimal | None = None
    address: str | None = None


@dataclass(frozen=True)
class Amendment:
    """Fields to change in a new version; ``None`` keeps the current value."""

    geometry: BaseGeometry | None = None
    srid: int = gcrs.WARD
    land_use: str | None = None
    legal_area: float | Decimal | None = None
    address: str | None = None
    sheet_no: int | None = None
    parcel_no: int | None = None
    former_unit: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


# ----------------------------------------------------------------------- checks


def prepare_geometry(geometry: BaseGeometry, srid: int) -> Polygon:
    """Check a stated geometry and return it as a polygon in EPSG:9214.

    Refuses (never repairs silently) what a land officer must look at: a shape
    that is not one polygon, non-finite or too few coordinates, an invalid ring.
    """
    if srid not in gcrs.SUPPORTED:
        raise UnknownCRS(
            f"EPSG:{srid} is not accepted; use one of "
            + ", ".join(f"EPSG:{c} ({n})" for c, n in gcrs.SUPPORTED.items())
        )
    if geometry is None or geometry.is_empty:
        raise InvalidGeometry("the geometry is empty")
    if isinstance(geometry, MultiPolygon) and len(geometry.geoms) == 1:
        geometry = geometry.geoms[0]
    if not isinstance(geometry, Polygon):
        raise InvalidGeometry(
            f"a parcel is one polygon, got {geometry.geom_type}", geometry_type=geometry.geom_type
        )
    coords = shapely.get_coordinates(geometry)
    if not coords.size or not np.isfinite(coords).all() or not (np.abs(coords) < 1e9).all():
        raise InvalidGeometry("the geometry has NaN, infinite or absurd coordinates")
    if len(set(geometry.exterior.coords)) < 3:
        raise InvalidGeometry("a polygon ring needs at least 4 points (3 distinct corners, closed)")
    if geometry.has_z:
        geometry = shapely.force_2d(geometry)
    if not geometry.is_valid:
        reason = shapely.is_valid_reason(geometry)
        raise InvalidGeometry(f"the polygon is not valid: {reason}", reason=reason)
    if srid == gcrs.WARD and (abs(coords[:, 0]) <= 180).all() and (abs(coords[:, 1]) <= 90).all():
        raise WrongCRS(
            "the coordinates look like longitude/latitude degrees but were given as "
            "EPSG:9214 metres; send srid 4326 (WGS 84) or 4756 (VN-2000 geographic)"
        )
    projected = gcrs.to_ward(geometry, srid)
    assert isinstance(projected, Polygon)
    if not projected.is_valid:
        raise InvalidGeometry("the polygon becomes invalid once projected to EPSG:9214")
    return orient(projected, sign=1.0)


def _require_in_ward(session: Session, ward_code: str, geom: Polygon) -> None:
    row = session.execute(
        sql(
            "SELECT ST_CoveredBy(ST_GeomFromWKB(:g, 9214), ST_Buffer(boundary, :tol)), "
            "ST_Distance(ST_GeomFromWKB(:g, 9214), boundary), "
            "ST_Area(ST_Difference(ST_GeomFromWKB(:g, 9214), boundary)) "
            "FROM ward WHERE code = :w"
        ),
        {"g": shapely.to_wkb(geom), "tol": WARD_EDGE_TOLERANCE_M, "w": ward_code},
    ).one_or_none()
    if row is None:
        raise InvalidInput(f"ward {ward_code} is not in the registry")
    inside, distance, outside_area = row
    if not inside:
        if distance > 10_000:
            raise WrongCRS(
                f"the parcel is {distance / 1000:.0f} km from ward {ward_code}: the coordinates "
                "are probably in another CRS than stated (swapped axes, another zone?)",
                distance_m=round(distance, 1),
            )
        raise OutsideWard(
            f"{outside_area:.1f} m² of the parcel lies outside ward {ward_code}",
            area_outside_m2=round(outside_area, 2),
        )


def _check_land_use(code: str) -> str:
    code = code.strip().upper()
    if not (len(code) == 3 and code.isalpha()) and "+" not in code:
        raise InvalidInput(f"land-use code {code!r} is not a Vietnamese land-use code (ODT, CLN…)")
    return code


def lock_ward(session: Session, ward_code: str) -> None:
    """Serialise registry writes of one ward until the transaction ends.

    A ward sees a few hundred writes a day; one lock per ward makes every
    spatial check and the write depending on it atomic without retry logic.
    """
    session.execute(sql("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                    {"k": f"registry:{ward_code}"})


def record_source(session: Session, actor: Actor, source: Source | None) -> int | None:
    if source is None:
        return None
    doc = SourceDocument(
        ward_code=actor.ward_code, kind=source.kind, number=source.number,
        issued_on=source.issued_on, issued_by=source.issued_by,
        description=source.description, created_by=actor.username,
    )
    session.add(doc)
    session.flush()
    return doc.id


def _require_number_free(session: Session, ward_code: str, former_unit: str, sheet_no: int,
                         parcel_no: int, *, except_parcels: Sequence[int] = ()) -> None:
    q = select(ParcelVersion.parcel_id).where(
        ParcelVersion.ward_code == ward_code, ParcelVersion.former_unit == former_unit,
        ParcelVersion.sheet_no == sheet_no, ParcelVersion.parcel_no == parcel_no,
        ParcelVersion.valid_to.is_(None), ParcelVersion.status == "registered",
    )
    holder = session.execute(q).scalars().first()
    if holder is not None and holder not in except_parcels:
        raise DuplicateParcelNumber(
            f"sheet {sheet_no} parcel {parcel_no} of {former_unit} is already parcel {holder}",
            conflicting_parcels=[holder],
        )


def current_version(session: Session, parcel_id: int, *, for_update: bool = True) -> ParcelVersion:
    q = select(ParcelVersion).where(
        ParcelVersion.parcel_id == parcel_id, ParcelVersion.valid_to.is_(None)
    )
    if for_update:
        q = q.with_for_update()
    v = session.execute(q).scalar_one_or_none()
    if v is None:
        raise ParcelNotFound(f"no parcel with id {parcel_id}", parcel_id=parcel_id)
    return v


def _flush(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        if "uq_parcel_version_identity" in str(exc.orig):
            raise DuplicateParcelNumber("that sheet and parcel number is already in use") from exc
        raise


# ----------------------------------------------------------------------- writes


def register_parcel(session: Session, *, actor: Actor, spec: ParcelSpec, reason: str,
                    source: Source | None = None) -> ParcelVersion:
    """Register a new parcel (version 1) and audit it."""
    geom = prepare_geometry(spec.geometry, spec.srid)
    ward = actor.ward_code
    lock_ward(session, ward)
    _require_in_ward(session, ward, geom)
    _require_number_free(session, ward, spec.former_unit, spec.sheet_no, spec.parcel_no)
    source_id = record_source(session, actor, source)
    version = _new_parcel(session, actor=actor, spec=spec, geom=geom, reason=reason,
                          source_id=source_id, now=clock.now(), change_kind="register")
    audit.record(session, actor=actor, action="register", entity="parcel",
                 entity_ids=[version.parcel_id], reason=reason,
                 detail={"sheet_no": spec.sheet_no, "parcel_no": spec.parcel_no,
                         "former_unit": spec.former_unit, "source_document_id": source_id})
    return version


def _new_parcel(session: Session, *, actor: Actor, spec: ParcelSpec, geom: Polygon, reason: str,
                source_id: int | None, now: datetime, change_kind: str) -> ParcelVersion:
    parcel = Parcel(ward_code=actor.ward_code)
    session.add(parcel)
    session.flush()
    version = ParcelVersion(
        parcel_id=parcel.id, ward_code=actor.ward_code, version=1,
        former_unit=spec.former_unit, sheet_no=spec.sheet_no, parcel_no=spec.parcel_no,
        land_use=_check_land_use(spec.land_use), geom=to_db(geom, gcrs.WARD),
        legal_area=_area(spec.legal_area), address=spec.address, status="registered",
        change_kind=change_kind, valid_from=now, recorded_by=actor.username, reason=reason,
        source_document_id=source_id,
    )
    session.add(version)
    _flush(session)
    session.execute(
        sql("UPDATE parcel SET geohash = (SELECT ST_GeoHash(ST_Transform(ST_PointOnSurface(geom), "
             "4326), 12) FROM parcel_version WHERE id = :v) WHERE id = :p"),
        {"v": version.id, "p": parcel.id},
    )
    return version


def _area(value: float | Decimal | None) -> Decimal | None:
    if value is None:
        return None
    area = Decimal(str(value)).quantize(Decimal("0.1"))
    if area <= 0:
        raise InvalidInput(f"legal area must be positive, got {value}")
    return area


def _close(session: Session, version: ParcelVersion, now: datetime) -> None:
    session.execute(
        sql("UPDATE parcel_version SET valid_to = :t WHERE id = :id AND valid_to IS NULL"),
        {"t": now, "id": version.id},
    )


def _successor(old: ParcelVersion, *, actor: Actor, now: datetime, reason: str,
               source_id: int | None, change_kind: str, status: str = "registered",
               **changes: object) -> ParcelVersion:
    fields = {
        "former_unit": old.former_unit, "sheet_no": old.sheet_no, "parcel_no": old.parcel_no,
        "land_use": old.land_use, "geom": old.geom, "legal_area": old.legal_area,
        "address": old.address,
    }
    fields.update({k: v for k, v in changes.items() if v is not None})
    return ParcelVersion(
        parcel_id=old.parcel_id, ward_code=old.ward_code, version=old.version + 1,
        status=status, change_kind=change_kind, valid_from=now, recorded_by=actor.username,
        reason=reason, source_document_id=source_id, **fields,
    )


def amend_parcel(session: Session, *, actor: Actor, parcel_id: int, amendment: Amendment,
                 reason: str, source: Source | None = None) -> ParcelVersion:
    """Write a new version with the amended fields; the old one is closed, not changed."""
    lock_ward(session, actor.ward_code)
    old = current_version(session, parcel_id)
    if old.status != "registered":
        raise ParcelRetired(f"parcel {parcel_id} is retired and cannot be amended")
    geom = None
    if amendment.geometry is not None:
        poly = prepare_geometry(amendment.geometry, amendment.srid)
        _require_in_ward(session, actor.ward_code, poly)
        geom = to_db(poly, gcrs.WARD)
    number_changes = (amendment.former_unit, amendment.sheet_no, amendment.parcel_no)
    if any(x is not None for x in number_changes):
        _require_number_free(
            session, actor.ward_code, amendment.former_unit or old.former_unit,
            amendment.sheet_no or old.sheet_no, amendment.parcel_no or old.parcel_no,
            except_parcels=[parcel_id],
        )
    if all(v is None for v in (geom, amendment.land_use, amendment.legal_area, amendment.address,
                               *number_changes)):
        raise InvalidInput("the amendment changes nothing")
    source_id = record_source(session, actor, source)
    now = clock.now()
    _close(session, old, now)
    new = _successor(
        old, actor=actor, now=now, reason=reason, source_id=source_id, change_kind="amend",
        geom=geom, land_use=_check_land_use(amendment.land_use) if amendment.land_use else None,
        legal_area=_area(amendment.legal_area), address=amendment.address,
        sheet_no=amendment.sheet_no, parcel_no=amendment.parcel_no,
        former_unit=amendment.former_unit,
    )
    session.add(new)
    _flush(session)
    audit.record(session, actor=actor, action="amend", entity="parcel", entity_ids=[parcel_id],
                 reason=reason, detail={"version": new.version, "source_document_id": source_id,
                                        "fields": sorted(k for k, v in {
                                            "geometry": geom, "land_use": amendment.land_use,
                                            "legal_area": amendment.legal_area,
                                            "address": amendment.address,
                                            "sheet_no": amendment.sheet_no,
                                            "parcel_no": amendment.parcel_no,
                                            "former_unit": amendment.former_unit,
                                        }.items() if v is not None)})
    return new


def retire_parcel(session: Session, *, actor: Actor, parcel_id: int, reason: str,
                  source: Source | None = None) -> ParcelVersion:
    """Retire a parcel: a final version with status 'retired'; nothing is deleted."""
    lock_ward(session, actor.ward_code)
    old = current_version(session, parcel_id)
    if old.status != "registered":
        raise ParcelRetired(f"parcel {parcel_id} is already retired")
    source_id = record_source(session, actor, source)
    now = clock.now()
    new = _retire(session, old, actor=actor, now=now, reason=reason, source_id=source_id,
                  change_kind="retire")
    audit.record(session, actor=actor, action="retire", entity="parcel", entity_ids=[parcel_id],
                 reason=reason, detail={"source_document_id": source_id})
    return new


def _retire(session: Session, old: ParcelVersion, *, actor: Actor, now: datetime, reason: str,
            source_id: int | None, change_kind: str) -> ParcelVersion:
    _close(session, old, now)
    new = _successor(old, actor=actor, now=now, reason=reason, source_id=source_id,
                     change_kind=change_kind, status="retired")
    session.add(new)
    _flush(session)
    return new


def split_parcel(session: Session, *, actor: Actor, parcel_id: int,
                 children: Sequence[ParcelSpec], reason: str,
                 source: Source | None = None) -> list[ParcelVersion]:
    """Split a parcel into children that cover it exactly; the parent is retired."""
    if len(children) < 2:
        raise InvalidInput("a split needs at least two parts")
    lock_ward(session, actor.ward_code)
    parent = current_version(session, parcel_id)
    if parent.status != "registered":
        raise ParcelRetired(f"parcel {parcel_id} is retired and cannot be split")
    parent_geom = shapely.from_wkb(bytes(parent.geom.data))
    geoms = [prepare_geometry(c.geometry, c.srid) for c in children]
    _check_cover(parent_geom, geoms)
    numbers = [(c.former_unit, c.sheet_no, c.parcel_no) for c in children]
    if len(set(numbers)) != len(numbers):
        raise DuplicateParcelNumber("two parts of the split have the same sheet and parcel number")
    for c in children:
        _require_number_free(session, actor.ward_code, c.former_unit, c.sheet_no, c.parcel_no,
                             except_parcels=[parcel_id])
    source_id = record_source(session, actor, source)
    now = clock.now()
    _retire(session, parent, actor=actor, now=now, reason=reason, source_id=source_id,
            change_kind="split")
    made = []
    for spec, geom in zip(children, geoms, strict=True):
        v = _new_parcel(session, actor=actor, spec=spec, geom=geom, reason=reason,
                        source_id=source_id, now=now, change_kind="split")
        session.add(ParcelLineage(parent_parcel_id=parcel_id, child_parcel_id=v.parcel_id,
                                  ward_code=actor.ward_code, kind="split",
                                  source_document_id=source_id))
        made.append(v)
    _flush(session)
    audit.record(session, actor=actor, action="split", entity="parcel",
                 entity_ids=[parcel_id, *(v.parcel_id for v in made)], reason=reason,
                 detail={"parent": parcel_id, "children": [v.parcel_id for v in made],
                         "source_document_id": source_id})
    return made


def _check_cover(parent: BaseGeometry, parts: Sequence[Polygon]) -> None:
    """Children must not overlap one another and must cover the parent to 0.01 m²."""
    tree = shapely.STRtree(parts)
    left, right = tree.query(parts, predicate="intersects")
    for i, j in zip(left, right, strict=True):
        if i < j:
            overlap = parts[i].intersection(parts[j]).area
            if overlap > SPLIT_AREA_TOLERANCE_M2:
                raise SplitMismatch(f"parts {i + 1} and {j + 1} overlap by {overlap:.2f} m²",
                                    overlap_m2=round(overlap, 3))
    union = shapely.union_all(parts)
    missing = parent.difference(union).area
    extra = union.difference(parent).area
    if missing > SPLIT_AREA_TOLERANCE_M2 or extra > SPLIT_AREA_TOLERANCE_M2:
        raise SplitMismatch(
            f"the parts leave {missing:.2f} m² of the parent uncovered and add {extra:.2f} m² "
            f"outside it (tolerance {SPLIT_AREA_TOLERANCE_M2} m²)",
            uncovered_m2=round(missing, 3), outside_m2=round(extra, 3),
        )


def merge_parcels(session: Session, *, actor: Actor, parcel_ids: Sequence[int],
                  result: ParcelSpec | None = None, former_unit: str | None = None,
                  sheet_no: int | None = None, parcel_no: int | None = None,
                  land_use: str | None = None, legal_area: float | None = None,
                  address: str | None = None, reason: str,
                  source: Source | None = None) -> ParcelVersion:
    """Merge adjacent parcels into one new parcel; the originals are retired.

    The merged geometry is the union of the parents (it must be one polygon);
    numbering and land use default to the first parent's.
    """
    ids = list(dict.fromkeys(parcel_ids))
    if len(ids) < 2:
        raise InvalidInput("a merge needs at least two different parcels")
    lock_ward(session, actor.ward_code)
    parents = [current_version(session, pid) for pid in ids]
    for p in parents:
        if p.status != "registered":
            raise ParcelRetired(f"parcel {p.parcel_id} is retired and cannot be merged")
    geoms = [shapely.from_wkb(bytes(p.geom.data)) for p in parents]
    union = shapely.union_all(geoms)
    if isinstance(union, MultiPolygon):
        union = shapely.union_all([shapely.buffer(g, 0.005, join_style="mitre") for g in geoms])
        union = shapely.buffer(union, -0.005, join_style="mitre")
    if not isinstance(union, Polygon):
        raise MergeMismatch("the parcels do not touch: a merged parcel must be one polygon",
                            conflicting_parcels=ids)
    first = parents[0]
    spec = result or ParcelSpec(
        former_unit=former_unit or first.former_unit, sheet_no=sheet_no or first.sheet_no,
        parcel_no=parcel_no or first.parcel_no, land_use=land_use or first.land_use,
        geometry=union, legal_area=legal_area, address=address or first.address,
    )
    geom = prepare_geometry(spec.geometry, spec.srid)
    if abs(geom.area - sum(g.area for g in geoms)) > SPLIT_AREA_TOLERANCE_M2 * len(geoms):
        raise MergeMismatch("the merged parcel's area differs from the sum of its parts")
    _require_number_free(session, actor.ward_code, spec.former_unit, spec.sheet_no,
                         spec.parcel_no, except_parcels=ids)
    source_id = record_source(session, actor, source)
    now = clock.now()
    for p in parents:
        _retire(session, p, actor=actor, now=now, reason=reason, source_id=source_id,
                change_kind="merge")
    merged = _new_parcel(session, actor=actor, spec=spec, geom=geom, reason=reason,
                         source_id=source_id, now=now, change_kind="merge")
    for pid in ids:
        session.add(ParcelLineage(parent_parcel_id=pid, child_parcel_id=merged.parcel_id,
                                  ward_code=actor.ward_code, kind="merge",
                                  source_document_id=source_id))
    _flush(session)
    audit.record(session, actor=actor, action="merge", entity="parcel",
                 entity_ids=[*ids, merged.parcel_id], reason=reason,
                 detail={"parents": ids, "child": merged.parcel_id,
                         "source_document_id": source_id})
    return merged


def ward_exists(session: Session, code: str) -> bool:
    return session.get(Ward, code) is not None

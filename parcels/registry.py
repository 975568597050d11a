"""Registry writes: register, amend, split, merge, retire.

Every operation runs inside the caller's transaction, takes the ward's registry
lock (so that a spatial check and the write that depends on it are atomic),
closes the current version instead of changing it, and writes an audit event.
Measured area is computed by the database from the stored geometry (a
generated column), never taken from input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Final

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from config import clock, land_use
from db import audit
from db.audit import Actor
from db.engine import sql
from db.errors import StaleVersion
from gis import crs as gcrs
from gis.convert import from_db
from parcels.errors import (
    DuplicateParcelNumber,
    InvalidInput,
    MergeMismatch,
    ParcelNotFound,
    ParcelRetired,
    SplitMismatch,
    UnknownLandUse,
)
from parcels.lots import check_parts, require_lots
from parcels.models import ParcelLineage, ParcelVersion, SourceDocument
from parcels.numbers import require_number_free
from parcels.stated import place, prepare
from parcels.versions import Changes, NewParcels, Written, insert_parcels, write_successors
from parcels.ward import require_inside

SPLIT_AREA_TOLERANCE_M2 = 0.01
"""Children of a split must cover the parent to within this area (issue 2)."""


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


def check_land_use(code: str) -> str:
    """The code normalised (upper case), or :class:`UnknownLandUse` naming the code that is
    in neither code set of the land-use list (``config/land_use.toml``)."""
    try:
        return land_use.load().normalise(code)
    except land_use.UnknownLandUse as exc:
        raise UnknownLandUse(str(exc), land_use=exc.code) from exc


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


DEMO_LOAD: Final = "demo_load"
"""The kind of source document the synthetic demo load records; its number is the load's
fingerprint, which names the generated folder (the maps find the demo rasters by it)."""


def latest_source_number(session: Session, *, ward_code: str, kind: str) -> str | None:
    """The number of the ward's latest source document of a kind (None when there is none)."""
    return session.execute(sql(
        "SELECT number FROM source_document WHERE kind = :k AND ward_code = :w "
        "ORDER BY id DESC LIMIT 1"), {"k": kind, "w": ward_code}).scalar_one_or_none()


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


def parcel_etag(parcel_id: int, version: int) -> str:
    """The entity tag of a parcel's version (HTTP ETag / If-Match; the CLI's field)."""
    return f'"parcel-{parcel_id}-v{version}"'


def require_version(current: ParcelVersion, expected: int | None) -> None:
    """Refuse a change based on another version than the current one (no lost update).

    Called after the ward lock and the row lock: two officers who read version 3 and both
    send "based on 3" go one after the other, and the second finds version 4.
    """
    if expected is not None and current.version != expected:
        raise StaleVersion(
            f"parcel {current.parcel_id} is at version {current.version}, not {expected}: "
            "someone changed it since you read it; read it again and redo your change",
            parcel_id=current.parcel_id, current_version=current.version,
            expected_version=expected, etag=parcel_etag(current.parcel_id, current.version))


def _area(value: float | Decimal | None) -> Decimal | None:
    if value is None:
        return None
    area = Decimal(str(value)).quantize(Decimal("0.1"))
    if area <= 0:
        raise InvalidInput(f"legal area must be positive, got {value}")
    return area


def _new(session: Session, *, actor: Actor, specs: Sequence[ParcelSpec],
         geoms: Sequence[Polygon], reason: str, source_id: int | None, now: datetime,
         change_kind: str) -> list[Written]:
    """New parcels through the one version writer."""
    rows = NewParcels(
        former_unit=[s.former_unit for s in specs], sheet_no=[s.sheet_no for s in specs],
        parcel_no=[s.parcel_no for s in specs],
        land_use=[check_land_use(s.land_use) for s in specs],
        geoms=np.asarray(geoms, dtype=object), legal_area=[_area(s.legal_area) for s in specs],
        address=[s.address for s in specs])
    ids = insert_parcels(session, ward_code=actor.ward_code, parcels=rows, valid_from=now,
                         recorded_by=actor.username, reason=reason, source_id=source_id,
                         change_kind=change_kind)
    return [Written(parcel_id=i, version=1, valid_from=now, source_document_id=source_id)
            for i in ids]


def _retire(session: Session, old: Sequence[ParcelVersion], *, actor: Actor, now: datetime,
            reason: str, source_id: int | None, change_kind: str) -> list[Written]:
    return write_successors(session, versions=[v.id for v in old], now=now,
                            recorded_by=actor.username, reason=reason, source_id=source_id,
                            change_kind=change_kind, status="retired")


# ----------------------------------------------------------------------- writes


def register_parcel(session: Session, *, actor: Actor, spec: ParcelSpec, reason: str,
                    source: Source | None = None) -> Written:
    """Register a new parcel (version 1) and audit it."""
    geom = prepare(spec.geometry, spec.srid)
    ward = actor.ward_code
    lock_ward(session, ward)
    require_inside(session, ward, [geom])
    require_number_free(session, ward_code=ward, former_unit=spec.former_unit,
                        sheet_no=spec.sheet_no, parcel_no=spec.parcel_no)
    source_id = record_source(session, actor, source)
    [version] = _new(session, actor=actor, specs=[spec], geoms=[geom], reason=reason,
                     source_id=source_id, now=clock.now(), change_kind="register")
    audit.record(session, actor=actor, action="register", entity="parcel",
                 entity_ids=[version.parcel_id], reason=reason,
                 detail={"sheet_no": spec.sheet_no, "parcel_no": spec.parcel_no,
                         "former_unit": spec.former_unit, "source_document_id": source_id})
    return version


def amend_parcel(session: Session, *, actor: Actor, parcel_id: int, amendment: Amendment,
                 reason: str, source: Source | None = None,
                 expected_version: int | None = None) -> Written:
    """Write a new version with the amended fields; the old one is closed, not changed.
    ``expected_version``: the version the change was based on (stale: StaleVersion)."""
    lock_ward(session, actor.ward_code)
    old = current_version(session, parcel_id)
    require_version(old, expected_version)
    if old.status != "registered":
        raise ParcelRetired(f"parcel {parcel_id} is retired and cannot be amended")
    geom = None
    if amendment.geometry is not None:
        geom = place(session, ward_code=actor.ward_code, geometry=amendment.geometry,
                     srid=amendment.srid)
    number_changes = (amendment.former_unit, amendment.sheet_no, amendment.parcel_no)
    if any(x is not None for x in number_changes):
        require_number_free(
            session, ward_code=actor.ward_code,
            former_unit=amendment.former_unit or old.former_unit,
            sheet_no=amendment.sheet_no or old.sheet_no,
            parcel_no=amendment.parcel_no or old.parcel_no, except_parcels=[parcel_id],
        )
    if all(v is None for v in (geom, amendment.land_use, amendment.legal_area, amendment.address,
                               *number_changes)):
        raise InvalidInput("the amendment changes nothing")
    source_id = record_source(session, actor, source)
    [new] = write_successors(
        session, versions=[old.id], now=clock.now(), recorded_by=actor.username, reason=reason,
        source_id=source_id, change_kind="amend", changes=Changes(
            geoms=[geom],
            land_use=[check_land_use(amendment.land_use) if amendment.land_use else None],
            legal_area=[_area(amendment.legal_area)], address=[amendment.address],
            sheet_no=[amendment.sheet_no], parcel_no=[amendment.parcel_no],
            former_unit=[amendment.former_unit]))
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
                  source: Source | None = None, expected_version: int | None = None) -> Written:
    """Retire a parcel: a final version with status 'retired'; nothing is deleted."""
    lock_ward(session, actor.ward_code)
    old = current_version(session, parcel_id)
    require_version(old, expected_version)
    if old.status != "registered":
        raise ParcelRetired(f"parcel {parcel_id} is already retired")
    source_id = record_source(session, actor, source)
    [new] = _retire(session, [old], actor=actor, now=clock.now(), reason=reason,
                    source_id=source_id, change_kind="retire")
    audit.record(session, actor=actor, action="retire", entity="parcel", entity_ids=[parcel_id],
                 reason=reason, detail={"source_document_id": source_id})
    return new


def split_parcel(session: Session, *, actor: Actor, parcel_id: int,
                 children: Sequence[ParcelSpec], reason: str,
                 source: Source | None = None,
                 merge_with: Mapping[int, int] | None = None,
                 expected_version: int | None = None) -> list[Written]:
    """Split a parcel into children that cover it exactly; the parent is retired.

    Each resulting lot must meet the minimum-lot figures of its land use in force today
    (area, frontage by the road's red-line width, depth, road access: :mod:`parcels.lots`)
    or the split is refused naming the failed figures.  ``merge_with`` maps a child (its
    index) to a neighbouring parcel merged with it in the same act (Land Law 2024
    Art. 220(2)(a)): the neighbour is retired and the lot judged is the merged one.
    ``expected_version``: the parent's version the split is based on (If-Match).
    """
    if len(children) < 2:
        raise InvalidInput("a split needs at least two parts")
    merges = dict(merge_with or {})
    if any(not 0 <= k < len(children) for k in merges):
        raise InvalidInput("merge_with names a part the split does not have")
    if parcel_id in merges.values() or len(set(merges.values())) != len(merges):
        raise InvalidInput("merge_with: each part merges with a different neighbour, not the "
                           "parent")
    lock_ward(session, actor.ward_code)
    parent = current_version(session, parcel_id)
    require_version(parent, expected_version)
    if parent.status != "registered":
        raise ParcelRetired(f"parcel {parcel_id} is retired and cannot be split")
    parent_geom = from_db(parent.geom)
    geoms = [prepare(c.geometry, c.srid) for c in children]
    _check_cover(parent_geom, geoms)
    neighbours = {k: current_version(session, pid) for k, pid in merges.items()}
    for k, nb in neighbours.items():
        if nb.status != "registered":
            raise ParcelRetired(f"parcel {nb.parcel_id} is retired and cannot be merged")
        geoms[k] = _one_polygon([geoms[k], from_db(nb.geom)], [nb.parcel_id])
    land_uses = [check_land_use(c.land_use) for c in children]
    require_lots(check_parts(session, ward_code=actor.ward_code, geoms=geoms,
                             land_uses=land_uses, on=clock.today(),
                             ignore_parcels=[parcel_id, *merges.values()]))
    numbers = [(c.former_unit, c.sheet_no, c.parcel_no) for c in children]
    if len(set(numbers)) != len(numbers):
        raise DuplicateParcelNumber("two parts of the split have the same sheet and parcel number")
    for c in children:
        require_number_free(session, ward_code=actor.ward_code, former_unit=c.former_unit,
                            sheet_no=c.sheet_no, parcel_no=c.parcel_no,
                            except_parcels=[parcel_id, *merges.values()])
    source_id = record_source(session, actor, source)
    now = clock.now()
    _retire(session, [parent], actor=actor, now=now, reason=reason, source_id=source_id,
            change_kind="split")
    if neighbours:
        _retire(session, list(neighbours.values()), actor=actor, now=now, reason=reason,
                source_id=source_id, change_kind="merge")
    made = _new(session, actor=actor, specs=children, geoms=geoms, reason=reason,
                source_id=source_id, now=now, change_kind="split")
    session.add_all([ParcelLineage(parent_parcel_id=parcel_id, child_parcel_id=v.parcel_id,
                                   ward_code=actor.ward_code, kind="split",
                                   source_document_id=source_id) for v in made])
    session.add_all([ParcelLineage(parent_parcel_id=nb.parcel_id,
                                   child_parcel_id=made[k].parcel_id, ward_code=actor.ward_code,
                                   kind="merge", source_document_id=source_id)
                     for k, nb in neighbours.items()])
    session.flush()
    audit.record(session, actor=actor, action="split", entity="parcel",
                 entity_ids=[parcel_id, *merges.values(), *(v.parcel_id for v in made)],
                 reason=reason,
                 detail={"parent": parcel_id, "children": [v.parcel_id for v in made],
                         "merged_with": {str(made[k].parcel_id): nb.parcel_id
                                         for k, nb in neighbours.items()},
                         "source_document_id": source_id})
    return made


def _one_polygon(geoms: Sequence[BaseGeometry], ids: Sequence[int]) -> Polygon:
    """The union of touching parcels as one polygon (a hair-thin seam closed), or refused."""
    union = shapely.union_all(geoms)
    if isinstance(union, MultiPolygon):
        union = shapely.union_all([shapely.buffer(g, 0.005, join_style="mitre") for g in geoms])
        union = shapely.buffer(union, -0.005, join_style="mitre")
    if not isinstance(union, Polygon):
        raise MergeMismatch("the parcels do not touch: a merged parcel must be one polygon",
                            conflicting_parcels=list(ids))
    return union


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
                  source: Source | None = None,
                  expected_versions: Mapping[int, int] | None = None) -> Written:
    """Merge adjacent parcels into one new parcel; the originals are retired.

    The merged geometry is the union of the parents (it must be one polygon);
    numbering and land use default to the first parent's.  ``expected_versions``: the
    version of each parent the merge was based on.
    """
    ids = list(dict.fromkeys(parcel_ids))
    if len(ids) < 2:
        raise InvalidInput("a merge needs at least two different parcels")
    lock_ward(session, actor.ward_code)
    parents = [current_version(session, pid) for pid in ids]
    for p in parents:
        require_version(p, (expected_versions or {}).get(p.parcel_id))
    for p in parents:
        if p.status != "registered":
            raise ParcelRetired(f"parcel {p.parcel_id} is retired and cannot be merged")
    geoms = [from_db(p.geom) for p in parents]
    union = _one_polygon(geoms, ids)
    first = parents[0]
    spec = result or ParcelSpec(
        former_unit=former_unit or first.former_unit, sheet_no=sheet_no or first.sheet_no,
        parcel_no=parcel_no or first.parcel_no, land_use=land_use or first.land_use,
        geometry=union, legal_area=legal_area, address=address or first.address,
    )
    geom = prepare(spec.geometry, spec.srid)
    if abs(geom.area - sum(g.area for g in geoms)) > SPLIT_AREA_TOLERANCE_M2 * len(geoms):
        raise MergeMismatch("the merged parcel's area differs from the sum of its parts")
    require_number_free(session, ward_code=actor.ward_code, former_unit=spec.former_unit,
                        sheet_no=spec.sheet_no, parcel_no=spec.parcel_no, except_parcels=ids)
    source_id = record_source(session, actor, source)
    now = clock.now()
    _retire(session, parents, actor=actor, now=now, reason=reason, source_id=source_id,
            change_kind="merge")
    [merged] = _new(session, actor=actor, specs=[spec], geoms=[geom], reason=reason,
                    source_id=source_id, now=now, change_kind="merge")
    session.add_all([ParcelLineage(parent_parcel_id=pid, child_parcel_id=merged.parcel_id,
                                   ward_code=actor.ward_code, kind="merge",
                                   source_document_id=source_id) for pid in ids])
    session.flush()
    audit.record(session, actor=actor, action="merge", entity="parcel",
                 entity_ids=[*ids, merged.parcel_id], reason=reason,
                 detail={"parents": ids, "child": merged.parcel_id,
                         "source_document_id": source_id})
    return merged

"""The one writer of parcel versions: new parcels, and successors of current versions.

Register, split and merge children, the bulk load and a survey commit's new parcels go
through :func:`insert_parcels` (``COPY``: one INSERT per parcel costs minutes at ward
scale); amend, retire, the parents of a split or merge and a survey commit's re-measured
parcels go through :func:`write_successors` (set-based: two statements for any number
of parcels).  A version is never changed: the current one is closed (``valid_to``) and
its successor written after it.  Measured area is a generated column, computed by the
database from the stored geometry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import numpy as np
import psycopg
import shapely
from numpy.typing import NDArray
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config import clock
from db.engine import sql
from gis import crs as gcrs
from gis.convert import to_ewkb
from parcels.errors import ClockBeforeVersion, DuplicateParcelNumber

CHUNK: Final = 5000
"""Progress is reported every this many rows of a COPY."""


@dataclass(frozen=True)
class Written:
    """A version just written."""

    parcel_id: int
    version: int
    valid_from: datetime
    source_document_id: int | None


@dataclass(frozen=True)
class NewParcels:
    """Columns of new parcels, row-aligned; geometries are valid polygons in EPSG:9214."""

    former_unit: Sequence[str]
    sheet_no: Sequence[int]
    parcel_no: Sequence[int]
    land_use: Sequence[str]
    geoms: NDArray[Any]
    legal_area: Sequence[float | Decimal | None]
    address: Sequence[str | None]

    def __len__(self) -> int:
        return len(self.geoms)


def _duplicate(exc: Exception) -> DuplicateParcelNumber:
    return DuplicateParcelNumber("that sheet and parcel number is already in use in this ward")


def insert_parcels(session: Session, *, ward_code: str, parcels: NewParcels, valid_from: datetime,
                   recorded_by: str, reason: str, source_id: int | None, change_kind: str,
                   progress: Callable[[int], None] | None = None) -> list[int]:
    """Write new parcels (identity and version 1) with ``COPY``; returns their ids in order.

    Exterior rings are stored counter-clockwise (OGC/GeoJSON order); the geohash of a
    point on each parcel's surface is set afterwards in one statement.
    """
    n = len(parcels)
    if n == 0:
        return []
    ids = [r[0] for r in session.execute(
        sql("SELECT nextval('parcel_id_seq') FROM generate_series(1, :n)"), {"n": n})]
    geoms = shapely.orient_polygons(np.asarray(parcels.geoms, dtype=object), exterior_cw=False)
    wkb = to_ewkb(geoms, gcrs.WARD, hex=True)
    raw = session.connection().connection.driver_connection
    try:
        _copy(raw, ward_code=ward_code, ids=ids, parcels=parcels, wkb=wkb, start=valid_from,
              recorded_by=recorded_by, reason=reason, source_id=source_id,
              change_kind=change_kind, progress=progress)
    except psycopg.errors.UniqueViolation as exc:
        raise _duplicate(exc) from exc
    session.execute(sql(
        "UPDATE parcel p SET geohash = ST_GeoHash(ST_Transform(ST_PointOnSurface(v.geom), 4326), "
        "12) FROM parcel_version v WHERE v.parcel_id = p.id AND p.id BETWEEN :a AND :b "
        "AND v.version = 1"), {"a": min(ids), "b": max(ids)})
    return ids


def _copy(raw: Any, *, ward_code: str, ids: list[int], parcels: NewParcels, wkb: np.ndarray,
          start: datetime, recorded_by: str, reason: str, source_id: int | None,
          change_kind: str, progress: Callable[[int], None] | None) -> None:
    n = len(ids)
    with raw.cursor() as cur:
        recorded = clock.now()
        with cur.copy("COPY parcel (id, ward_code, created_at) FROM STDIN") as cp:
            for pid in ids:
                cp.write_row((pid, ward_code, recorded))
        cols = ("parcel_id, ward_code, version, former_unit, sheet_no, parcel_no, land_use, geom, "
                "legal_area, address, status, change_kind, valid_from, recorded_at, recorded_by, "
                "reason, source_document_id")
        done = 0
        with cur.copy(f"COPY parcel_version ({cols}) FROM STDIN") as cp:
            for i, row in enumerate(zip(ids, parcels.former_unit, parcels.sheet_no,
                                        parcels.parcel_no, parcels.land_use, wkb,
                                        parcels.legal_area, parcels.address, strict=True)):
                pid, unit, sheet, number, use, g, area, addr = row
                cp.write_row((pid, ward_code, 1, unit, int(sheet), int(number),
                              str(use).upper(), g,
                              None if area is None or area != area else round(float(area), 1),
                              addr if isinstance(addr, str) else None, "registered", change_kind,
                              start, recorded, recorded_by, reason, source_id))
                if progress and (i + 1) % CHUNK == 0:
                    progress(i + 1 - done)
                    done = i + 1
        if progress:
            progress(n - done)


def lock_current(session: Session, parcel_ids: Sequence[int]) -> dict[int, int]:
    """Lock the current registered version of each parcel (until the transaction ends);
    returns parcel id → version id for those that have one."""
    if not parcel_ids:
        return {}
    rows = session.execute(sql(
        "SELECT id, parcel_id FROM parcel_version WHERE parcel_id = ANY(:ids) "
        "AND valid_to IS NULL AND status = 'registered' FOR UPDATE"),
        {"ids": list(parcel_ids)}).all()
    return {int(r.parcel_id): int(r.id) for r in rows}


@dataclass(frozen=True)
class Changes:
    """What successors change, row-aligned with the versions they follow; a ``None`` column,
    or a ``None`` in a column, keeps the current value."""

    geoms: Sequence[Any] | None = None
    """Valid polygons in EPSG:9214, exterior counter-clockwise."""
    land_use: Sequence[str | None] | None = None
    legal_area: Sequence[Decimal | None] | None = None
    address: Sequence[str | None] | None = None
    former_unit: Sequence[str | None] | None = None
    sheet_no: Sequence[int | None] | None = None
    parcel_no: Sequence[int | None] | None = None


def write_successors(session: Session, *, versions: Sequence[int], now: datetime,
                     recorded_by: str, reason: str, source_id: int | None, change_kind: str,
                     status: str = "registered", changes: Changes | None = None) -> list[Written]:
    """Close the given current versions and write the next version of each parcel.

    ``versions`` are version ids (locked by the caller); the successor copies every field
    of its predecessor but those ``changes`` sets.  Two statements for any number of
    parcels; returns what was written, by parcel id.
    """
    if not versions:
        return []
    n = len(versions)
    c = changes or Changes()

    def col(values: Sequence[Any] | None) -> list[Any]:
        return [None] * n if values is None else list(values)

    geoms = [None] * n if c.geoms is None else [
        None if g is None else to_ewkb(g, gcrs.WARD) for g in c.geoms]
    latest = session.execute(sql("SELECT max(valid_from) FROM parcel_version "
                                 "WHERE id = ANY(:ids)"), {"ids": list(versions)}).scalar_one()
    if latest is not None and latest > now:
        # A clock started in the past (the demo's) must not write a version that ends
        # before it began: the history would read backwards.  Refused, nothing written.
        raise ClockBeforeVersion(
            f"the service clock ({now.isoformat()}) is earlier than the start of a version "
            f"this change would close ({latest.isoformat()}): set the clock "
            "(CADASTRE_CLOCK_START) after the registry's last change", clock=now.isoformat(),
            version_valid_from=latest.isoformat())
    session.execute(sql("UPDATE parcel_version SET valid_to = :t WHERE id = ANY(:ids) "
                        "AND valid_to IS NULL"), {"t": now, "ids": list(versions)})
    try:
        rows = session.execute(sql(
            "INSERT INTO parcel_version (parcel_id, ward_code, version, former_unit, sheet_no, "
            "parcel_no, land_use, geom, legal_area, address, status, change_kind, valid_from, "
            "recorded_at, recorded_by, reason, source_document_id) "
            "SELECT o.parcel_id, o.ward_code, o.version + 1, COALESCE(t.unit, o.former_unit), "
            "COALESCE(t.sheet, o.sheet_no), COALESCE(t.num, o.parcel_no), "
            "COALESCE(t.use, o.land_use), COALESCE(ST_GeomFromEWKB(t.g), o.geom), "
            "COALESCE(t.area, o.legal_area), COALESCE(t.addr, o.address), :status, :kind, :t, "
            ":t, :by, :r, :s FROM unnest(CAST(:ids AS bigint[]), CAST(:unit AS text[]), "
            "CAST(:sheet AS int[]), CAST(:num AS int[]), CAST(:use AS text[]), "
            "CAST(:g AS bytea[]), CAST(:area AS numeric[]), CAST(:addr AS text[])) "
            "AS t(id, unit, sheet, num, use, g, area, addr) JOIN parcel_version o ON o.id = t.id "
            "RETURNING parcel_id, version, valid_from"),
            {"ids": list(versions), "unit": col(c.former_unit), "sheet": col(c.sheet_no),
             "num": col(c.parcel_no), "use": col(c.land_use), "g": geoms,
             "area": col(c.legal_area), "addr": col(c.address), "status": status,
             "kind": change_kind, "t": now, "by": recorded_by, "r": reason,
             "s": source_id}).all()
    except IntegrityError as exc:
        if "uq_parcel_version_identity" in str(exc.orig):
            raise _duplicate(exc) from exc
        raise
    return sorted((Written(parcel_id=int(r.parcel_id), version=int(r.version),
                           valid_from=r.valid_from, source_document_id=source_id) for r in rows),
                  key=lambda w: w.parcel_id)

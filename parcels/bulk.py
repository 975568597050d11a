"""Bulk registration with COPY: loading a whole ward (tens of thousands of parcels) at once.

Same rules as :func:`parcels.registry.register_parcel` (valid single polygons
in EPSG:9214, unique sheet/number per former unit, one audit event, one
transaction) but checked vectorised and written with ``COPY``, because one
INSERT per parcel costs minutes at ward scale.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import geopandas as gpd
import numpy as np
import psycopg
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from config import clock
from db import audit
from db.audit import Actor
from gis import crs as gcrs
from gis.errors import OutsideWard
from parcels.errors import DuplicateParcelNumber, InvalidGeometry, InvalidInput
from parcels.registry import WARD_EDGE_TOLERANCE_M, Source, lock_ward, record_source

REQUIRED = ("former_unit", "sheet_no", "parcel_no", "land_use", "geometry")
CHUNK = 5000


def bulk_register(session: Session, *, actor: Actor, parcels: gpd.GeoDataFrame, reason: str,
                  source: Source | None = None, valid_from: datetime | None = None,
                  progress: Callable[[int], None] | None = None) -> list[int]:
    """Register every row of ``parcels`` as a new parcel; returns their ids in row order."""
    missing = [c for c in REQUIRED if c not in parcels.columns]
    if missing:
        raise InvalidInput(f"missing columns: {', '.join(missing)}")
    if parcels.crs is None or parcels.crs.to_epsg() != gcrs.WARD:
        raise InvalidInput(f"parcels must be in EPSG:{gcrs.WARD}, got {parcels.crs}")
    n = len(parcels)
    if n == 0:
        return []
    geoms = parcels.geometry.values
    kinds = shapely.get_type_id(geoms)
    bad = np.flatnonzero((kinds != 3) | ~shapely.is_valid(geoms) | shapely.is_empty(geoms))
    if bad.size:
        i = int(bad[0])
        raise InvalidGeometry(
            f"{bad.size} rows are not valid polygons; first: row {i} "
            f"({shapely.is_valid_reason(geoms[i])})", rows=[int(x) for x in bad[:20]])
    keys = parcels[["former_unit", "sheet_no", "parcel_no"]]
    dup = keys.duplicated(keep=False)
    if dup.any():
        first = keys[dup].iloc[0]
        raise DuplicateParcelNumber(
            f"{int(dup.sum())} rows share a sheet/parcel number, e.g. {first.former_unit} "
            f"sheet {first.sheet_no} parcel {first.parcel_no}")

    lock_ward(session, actor.ward_code)
    _require_inside(session, actor.ward_code, geoms)
    source_id = record_source(session, actor, source)
    start = valid_from or clock.now()
    ids = [r[0] for r in session.execute(
        text("SELECT nextval('parcel_id_seq') FROM generate_series(1, :n)"), {"n": n})]
    # Exterior rings counter-clockwise, as register_parcel stores them (OGC/GeoJSON order).
    geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    wkb = shapely.to_wkb(geoms, hex=True, include_srid=False)
    legal = parcels["legal_area"] if "legal_area" in parcels.columns else [None] * n
    address = parcels["address"] if "address" in parcels.columns else [None] * n
    raw = session.connection().connection.driver_connection
    try:
        _copy(raw, ids=ids, parcels=parcels, wkb=wkb, legal=legal, address=address, actor=actor,
              start=start, reason=reason, source_id=source_id, progress=progress)
    except psycopg.errors.UniqueViolation as exc:
        raise DuplicateParcelNumber(
            "some sheet/parcel numbers are already registered in this ward") from exc
    session.execute(text(
        "UPDATE parcel p SET geohash = ST_GeoHash(ST_Transform(ST_PointOnSurface(v.geom), 4326), "
        "12) FROM parcel_version v WHERE v.parcel_id = p.id AND p.id BETWEEN :a AND :b "
        "AND v.version = 1"), {"a": min(ids), "b": max(ids)})
    audit.record(session, actor=actor, action="bulk_register", entity="parcel",
                 entity_ids=[min(ids), max(ids)], reason=reason,
                 detail={"count": n, "first_id": min(ids), "last_id": max(ids),
                         "source_document_id": source_id})
    return ids


def _require_inside(session: Session, ward_code: str, geoms: np.ndarray) -> None:
    wkb = session.execute(text("SELECT ST_AsBinary(boundary) FROM ward WHERE code = :w"),
                          {"w": ward_code}).scalar_one_or_none()
    if wkb is None:
        raise InvalidInput(f"ward {ward_code} is not in the registry")
    frame = shapely.buffer(shapely.from_wkb(bytes(wkb)), WARD_EDGE_TOLERANCE_M)
    shapely.prepare(frame)
    outside = np.flatnonzero(~shapely.covered_by(geoms, frame))
    if outside.size:
        raise OutsideWard(f"{outside.size} parcels lie partly outside ward {ward_code}; "
                          f"first: row {int(outside[0])}", rows=[int(x) for x in outside[:20]])


def _copy(raw: Any, *, ids: list[int], parcels: gpd.GeoDataFrame, wkb: np.ndarray,
          legal: Any, address: Any, actor: Actor, start: datetime, reason: str,
          source_id: int | None, progress: Callable[[int], None] | None) -> None:
    n = len(ids)
    with raw.cursor() as cur:
        with cur.copy("COPY parcel (id, ward_code) FROM STDIN") as cp:
            for pid in ids:
                cp.write_row((pid, actor.ward_code))
        cols = ("parcel_id, ward_code, version, former_unit, sheet_no, parcel_no, land_use, geom, "
                "legal_area, address, status, change_kind, valid_from, recorded_by, reason, "
                "source_document_id")
        done = 0
        with cur.copy(f"COPY parcel_version ({cols}) FROM STDIN") as cp:
            for i, row in enumerate(zip(ids, parcels["former_unit"], parcels["sheet_no"],
                                        parcels["parcel_no"], parcels["land_use"], wkb, legal,
                                        address, strict=True)):
                pid, unit, sheet, number, use, g, area, addr = row
                cp.write_row((pid, actor.ward_code, 1, unit, int(sheet), int(number),
                              str(use).upper(), f"SRID={gcrs.WARD};{g}",
                              None if area is None or area != area else round(float(area), 1),
                              addr if isinstance(addr, str) else None, "registered", "register",
                              start, actor.username, reason, source_id))
                if progress and (i + 1) % CHUNK == 0:
                    progress(i + 1 - done)
                    done = i + 1
        if progress:
            progress(n - done)

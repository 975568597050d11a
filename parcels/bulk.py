"""Bulk registration with COPY: loading a whole ward (tens of thousands of parcels) at once.

Same rules as :func:`parcels.registry.register_parcel` (valid single polygons
in EPSG:9214, unique sheet/number per former unit, one audit event, one
transaction) but checked vectorised and written with ``COPY``, because one
INSERT per parcel costs minutes at ward scale.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy.orm import Session

from config import clock
from db import audit
from db.audit import Actor
from gis import crs as gcrs
from parcels.errors import DuplicateParcelNumber, InvalidGeometry, InvalidInput
from parcels.registry import Source, lock_ward, record_source
from parcels.versions import NewParcels, insert_parcels
from parcels.ward import require_inside

REQUIRED = ("former_unit", "sheet_no", "parcel_no", "land_use", "geometry")


def bulk_register(session: Session, *, actor: Actor, parcels: gpd.GeoDataFrame, reason: str,
                  source: Source | None = None, source_id: int | None = None,
                  valid_from: datetime | None = None,
                  progress: Callable[[int], None] | None = None) -> list[int]:
    """Register every row of ``parcels`` as a new parcel; returns their ids in row order.

    The change rests on ``source`` (recorded here) or on the already recorded document
    ``source_id``.
    """
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
    require_inside(session, actor.ward_code, np.asarray(geoms, dtype=object))
    if source is not None:
        source_id = record_source(session, actor, source)
    none = [None] * n
    ids = insert_parcels(
        session, ward_code=actor.ward_code, valid_from=valid_from or clock.now(),
        recorded_by=actor.username, reason=reason, source_id=source_id, change_kind="register",
        progress=progress, parcels=NewParcels(
            former_unit=parcels["former_unit"], sheet_no=parcels["sheet_no"],
            parcel_no=parcels["parcel_no"], land_use=parcels["land_use"],
            geoms=np.asarray(geoms, dtype=object),
            legal_area=parcels["legal_area"] if "legal_area" in parcels.columns else none,
            address=parcels["address"] if "address" in parcels.columns else none))
    audit.record(session, actor=actor, action="bulk_register", entity="parcel",
                 entity_ids=[min(ids), max(ids)], reason=reason,
                 detail={"count": n, "first_id": min(ids), "last_id": max(ids),
                         "source_document_id": source_id})
    return ids

"""Audit the registry: every geometry and topology finding over the registered parcels.

The registry is fetched from PostGIS (current versions, or those in force at ``as_of``)
as WKB, with each parcel's map-sheet scale (its positional tolerance) and whether its
land use is agricultural (a looser tolerance at 1:1000 and 1:2000), together with the
ward boundary (the frame) and the protection and red-line zones, and judged by
:func:`gis.audit.audit`: the same engine, rules and tolerances a survey batch or an
application is judged by.

Where the pairwise work runs (measured, ``bench/audit.py --registry``; two shared cores).
On the full demo ward (47,368 parcels, an exact coverage since the generator shares
vertices) finding every overlapping pair with its area took PostGIS 8.1 s (GiST
self-join, ``ST_Relate(.., 'T********')`` + ``ST_Intersection``) against 5.0 s here
(1.5 s fetch with ``ST_AsBinary`` + 3.6 s STRtree and GEOS); the whole audit, fetch
included, takes 17 s, most of it building the 17,000 shape findings.
GEOS in this process is kept because everything after the pair search (overlap widths,
gaps, mismatches, snaps) is GEOS work on the fetched geometries anyway, and because the
coverage pre-screen (``shapely.coverage_invalid_edges``, 2.7 s for the ward) has no
PostGIS 3.3 equivalent (``ST_CoverageInvalidEdges`` needs 3.4).  PostGIS only selects
and ships rows.  On the tiny demo ward (374 parcels) both take 0.09 s.

A subset (``sheet_no``, ``former_unit``) is audited with its neighbours within reach
(gap width, largest conflict tolerance) fetched as context, and only findings that
involve a parcel of the subset are kept: a sheet's parcel overlapping one on the next
sheet is reported; two parcels of the next sheet are not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from db import audit as audit_log
from db.audit import Actor, system_actor
from db.engine import sql
from gis.audit import audit
from gis.crs import WARD
from gis.findings import Report
from gis.frame import Zone
from gis.land_use import is_agricultural
from gis.rules import RuleSet
from parcels import ward
from parcels.errors import InvalidInput
from parcels.nearby import by_ids, in_force_with_context
from parcels.zones import zones_in_force

Progress = Callable[[str], None]

ZONE_KINDS = ("river_corridor", "heritage_1", "heritage_2", "road_redline")
"""Zone kinds a registered parcel is checked against ('planning' zones are advisory)."""


@dataclass(frozen=True)
class RegistrySet:
    """The engine's input from the registry, aligned by row (ids are parcel ids)."""

    ids: list[int]
    geoms: np.ndarray
    labels: list[str]
    scales: list[int | None]
    agricultural: list[bool]
    focus: np.ndarray
    """True for the parcels asked about, False for neighbours fetched as context."""
    frame: BaseGeometry | None
    zones: list[Zone]
    land_uses: list[str] = field(default_factory=list)
    parcels: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each parcel's identity (unit, sheet, number, land use), by id as findings name it."""
    neighbours: list[Zone] = field(default_factory=list)
    """The wards around this one, to name the one a parcel reaches into."""


def reach_m(rules: RuleSet) -> float:
    """How far a neighbour can be and still matter to a finding (gap width, conflict)."""
    gap = rules.param("gap", "max_width_m") if rules.enabled("gap") else 0.0
    conflict = max(rules.tolerance(s, a).conflict_m for s in rules.scales for a in (False, True))
    return max(gap, conflict)


def fetch_registry(session: Session, *, ward_code: str, rules: RuleSet,
                   sheet_no: int | None = None, former_unit: str | None = None,
                   as_of: datetime | None = None) -> RegistrySet:
    """Registered parcels in force (filtered, with context neighbours), frame and zones."""
    parcels, n_focus = in_force_with_context(
        session, ward_code=ward_code, reach=reach_m(rules), sheet_no=sheet_no,
        former_unit=former_unit, as_of=as_of)
    zones = zones_in_force(session, ward_code=ward_code, as_of=as_of, kinds=ZONE_KINDS,
                           order="zone_key")
    geoms = np.asarray([p.geometry for p in parcels], dtype=object)
    # Ring orientation is how a row happens to be stored (register_parcel orients, the bulk
    # load keeps the file's), not a defect of the parcel: normalise instead of reporting
    # one "orientation" notice per parcel.
    geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    return RegistrySet(
        ids=[p.parcel_id for p in parcels],
        geoms=np.asarray(geoms, dtype=object),
        labels=[p.ref for p in parcels],
        scales=[p.scale for p in parcels],
        agricultural=[is_agricultural(p.land_use) for p in parcels],
        focus=np.arange(len(parcels)) < n_focus,
        frame=ward.boundary(session, ward_code),
        zones=[z.as_zone() for z in zones],
        land_uses=[p.land_use for p in parcels],
        parcels={str(p.parcel_id): {**p.identity, "unit_name": p.unit_name} for p in parcels},
        neighbours=ward.neighbours(session, ward_code),
    )


def overlaps_in_database(session: Session, *, ward_code: str) -> tuple[int, float]:
    """Overlapping pairs of current parcels and their total area, found by PostGIS (a GiST
    self-join): the alternative the audit's GEOS pair search is measured against."""
    n, area = session.execute(sql("""
        SELECT count(*), coalesce(sum(ST_Area(ST_Intersection(a.geom, b.geom))), 0)
        FROM parcel_version a JOIN parcel_version b
          ON a.parcel_id < b.parcel_id AND a.geom && b.geom
         AND ST_Relate(a.geom, b.geom, 'T********')
        WHERE a.ward_code = :w AND b.ward_code = :w
          AND a.valid_to IS NULL AND a.status = 'registered'
          AND b.valid_to IS NULL AND b.status = 'registered'"""), {"w": ward_code}).one()
    return int(n), float(area)


def audit_registry(session: Session, *, ward_code: str, rules: RuleSet,
                   sheet_no: int | None = None, former_unit: str | None = None,
                   as_of: datetime | None = None, progress: Progress | None = None,
                   actor: Actor | None = None) -> Report:
    """Audit the ward's registered parcels (optionally one sheet and/or former unit).

    Records an ``audit`` event (fingerprint, counts, filters) in the session's transaction:
    the caller commits it.  Raises :class:`~parcels.errors.InvalidInput` for an unknown
    ward or former unit, a sheet number that is not positive, or filters that match no
    registered parcel (a typo, most likely; a whole ward with none is audited, empty).
    Parcels on a sheet missing from ``map_sheet`` are judged at the settings' default scale.
    """
    say = progress or (lambda _m: None)
    if sheet_no is not None and sheet_no <= 0:
        raise InvalidInput(f"sheet number must be positive, got {sheet_no}", field="sheet_no")
    if not ward.ward_exists(session, ward_code):
        raise InvalidInput(f"ward {ward_code} is not in the registry", field="ward_code")
    if former_unit is not None:
        ward.require_former_unit(session, ward_code, former_unit)
    started = time.perf_counter()
    say("fetch")
    reg = fetch_registry(session, ward_code=ward_code, rules=rules, sheet_no=sheet_no,
                         former_unit=former_unit, as_of=as_of)
    fetched = time.perf_counter()
    if not reg.focus.any() and (sheet_no is not None or former_unit is not None):
        scope = " ".join(x for x in (f"unit {former_unit}" if former_unit else "",
                                     f"sheet {sheet_no}" if sheet_no is not None else "") if x)
        raise InvalidInput(f"no registered parcels in {scope} of ward {ward_code}"
                           + (f" on {as_of.isoformat()}" if as_of else ""))
    report = audit(reg.geoms, reg.ids, rules=rules, scales=reg.scales,
                   agricultural=reg.agricultural, labels=reg.labels, frame=reg.frame,
                   zones=reg.zones, land_uses=reg.land_uses, neighbours=reg.neighbours,
                   progress=say)
    n_focus = int(reg.focus.sum())
    found = report.findings
    if n_focus < len(reg.ids):
        mine = {str(i) for i, f in zip(reg.ids, reg.focus, strict=True) if f}
        found = tuple(f for f in found if mine.intersection(f.feature_ids))
    report = replace(report, feature_count=n_focus, findings=tuple(
        replace(f, parcels=tuple(reg.parcels[i] for i in f.feature_ids if i in reg.parcels))
        for f in found))
    severities = {k: v for k, v in report.severities().items() if v}
    who = actor or system_actor(ward_code)
    audit_log.record(session, actor=who, action="audit", entity="ward", entity_ids=[ward_code],
                     reason="registry geometry and topology audit",
                     detail={"fingerprint": report.fingerprint, "counts": report.counts(),
                             "severities": severities, "parcels": n_focus,
                             "context_parcels": len(reg.ids) - n_focus,
                             "ruleset_version": report.ruleset_version,
                             "filters": {"sheet_no": sheet_no, "former_unit": former_unit,
                                         "as_of": None if as_of is None else as_of.isoformat()},
                             "fetch_s": round(fetched - started, 3),
                             "audit_s": round(time.perf_counter() - fetched, 3)})
    return report


def affected_parcels(session: Session, *, ward_code: str, report: Report,
                     as_of: datetime | None = None) -> gpd.GeoDataFrame:
    """The parcels the report's findings are about, with their identity (unit, sheet,
    number, land use) and shape in EPSG:9214: the ``parcels`` layer of the GeoPackage."""
    ids = sorted({int(i) for f in report.findings for i in f.feature_ids if i.isdigit()})
    found = by_ids(session, ward_code=ward_code, parcel_ids=ids, as_of=as_of)
    return gpd.GeoDataFrame(
        {"parcel_id": [p.parcel_id for p in found],
         "former_unit": [p.former_unit for p in found],
         "unit_name": [p.unit_name for p in found], "sheet_no": [p.sheet_no for p in found],
         "parcel_no": [p.parcel_no for p in found], "land_use": [p.land_use for p in found]},
        geometry=[p.geometry for p in found], crs=f"EPSG:{WARD}")

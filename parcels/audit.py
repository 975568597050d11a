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
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from db import audit as audit_log
from db.audit import Actor, system_actor
from gis.audit import audit
from gis.rules import Report, RuleSet
from gis.topology import Zone
from parcels.errors import InvalidInput
from parcels.queries import in_force

Progress = Callable[[str], None]

AGRICULTURAL_USES = frozenset({"LUC", "LUK", "LUN", "HNK", "BHK", "NHK", "CLN", "RSX", "RPH",
                               "RDD", "NTS", "LMU", "NKH"})
"""Agricultural land-use codes (Circular 08/2024/TT-BTNMT classification): rice, annual
and perennial crops, forest, aquaculture, salt, other agricultural land."""

ZONE_KINDS = ("river_corridor", "heritage_1", "heritage_2", "road_redline")
"""Zone kinds a registered parcel is checked against ('planning' zones are advisory)."""

PARCEL_COLUMNS = """
    v.parcel_id, v.former_unit, v.sheet_no, v.parcel_no, v.land_use, ms.scale,
    ST_AsBinary(v.geom) AS wkb
"""
PARCEL_FROM = """
    FROM parcel_version v
    LEFT JOIN map_sheet ms ON ms.ward_code = v.ward_code AND ms.former_unit = v.former_unit
                          AND ms.sheet_no = v.sheet_no
"""


@dataclass(frozen=True)
class RegistrySet:
    """What the engine needs from the registry, aligned by row (ids are parcel ids)."""

    ids: list[int]
    geoms: np.ndarray
    labels: list[str]
    scales: list[int | None]
    agricultural: list[bool]
    focus: np.ndarray
    """True for the parcels asked about, False for neighbours fetched as context."""
    frame: BaseGeometry | None
    zones: list[Zone]


def is_agricultural(land_use: str) -> bool:
    """Agricultural when the main (first) use of a possibly mixed code like ``CLN+ODT`` is."""
    return land_use.split("+", 1)[0].upper() in AGRICULTURAL_USES


def reach_m(rules: RuleSet) -> float:
    """How far a neighbour can be and still matter to a finding (gap width, conflict)."""
    gap = rules.param("gap", "max_width_m") if rules.enabled("gap") else 0.0
    conflict = max(rules.tolerance(s, a).conflict_m for s in rules.scales for a in (False, True))
    return max(gap, conflict)


def fetch_registry(session: Session, *, ward_code: str, rules: RuleSet,
                   sheet_no: int | None = None, former_unit: str | None = None,
                   as_of: datetime | None = None) -> RegistrySet:
    """Registered parcels in force (filtered, with context neighbours), frame and zones."""
    where = ["v.ward_code = :w", "v.status = 'registered'", in_force(as_of)]
    params: dict[str, Any] = {"w": ward_code, "as_of": as_of}
    if sheet_no is not None:
        where.append("v.sheet_no = :sheet")
        params["sheet"] = sheet_no
    if former_unit is not None:
        where.append("v.former_unit = :unit")
        params["unit"] = former_unit
    cond = " AND ".join(where)
    rows = list(session.execute(
        text(f"SELECT {PARCEL_COLUMNS} {PARCEL_FROM} WHERE {cond} ORDER BY v.parcel_id"),
        params).all())
    n_focus = len(rows)
    if (sheet_no is not None or former_unit is not None) and rows:
        params["reach"] = reach_m(rules)
        # SQL from constants only; every value is bound
        context = (
            f"WITH focus AS (SELECT v.parcel_id, v.geom FROM parcel_version v WHERE {cond}) "  # noqa: S608
            f"SELECT {PARCEL_COLUMNS} {PARCEL_FROM} "
            f"WHERE v.ward_code = :w AND v.status = 'registered' AND {in_force(as_of)} "
            "AND v.parcel_id NOT IN (SELECT parcel_id FROM focus) "
            "AND EXISTS (SELECT 1 FROM focus f WHERE ST_DWithin(v.geom, f.geom, :reach)) "
            "ORDER BY v.parcel_id")
        rows += session.execute(text(context), params).all()
    frame_wkb = session.execute(text("SELECT ST_AsBinary(boundary) FROM ward WHERE code = :w"),
                                {"w": ward_code}).scalar_one_or_none()
    zone_rows = session.execute(text(
        "SELECT zone_key, kind, name, ST_AsBinary(geom) FROM zone WHERE ward_code = :w "
        "AND kind = ANY(:kinds) AND (CASE WHEN CAST(:as_of AS timestamptz) IS NULL "
        "THEN valid_to IS NULL ELSE valid_from <= :as_of AND (valid_to IS NULL OR "
        "valid_to > :as_of) END) ORDER BY zone_key"),
        {"w": ward_code, "kinds": list(ZONE_KINDS), "as_of": as_of}).all()
    geoms = shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else np.empty(0, object)
    # Ring orientation is how a row happens to be stored (register_parcel orients, the bulk
    # load keeps the file's), not a defect of the parcel: normalise instead of reporting
    # one "orientation" notice per parcel.
    geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    return RegistrySet(
        ids=[int(r.parcel_id) for r in rows],
        geoms=np.asarray(geoms, dtype=object),
        labels=[f"{r.former_unit} tờ {r.sheet_no} thửa {r.parcel_no}" for r in rows],
        scales=[None if r.scale is None else int(r.scale) for r in rows],
        agricultural=[is_agricultural(r.land_use) for r in rows],
        focus=np.arange(len(rows)) < n_focus,
        frame=None if frame_wkb is None else shapely.from_wkb(bytes(frame_wkb)),
        zones=[Zone(id=str(k), kind=str(kind), name=str(name), geometry=shapely.from_wkb(bytes(g)))
               for k, kind, name, g in zone_rows],
    )


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
    if session.execute(text("SELECT 1 FROM ward WHERE code = :w"),
                       {"w": ward_code}).first() is None:
        raise InvalidInput(f"ward {ward_code} is not in the registry", field="ward_code")
    if former_unit is not None and session.execute(
            text("SELECT 1 FROM former_unit WHERE ward_code = :w AND code = :u"),
            {"w": ward_code, "u": former_unit}).first() is None:
        known = session.execute(text("SELECT code FROM former_unit WHERE ward_code = :w "
                                     "ORDER BY code"), {"w": ward_code}).scalars().all()
        raise InvalidInput(f"unknown former unit {former_unit!r}; known: {', '.join(known)}",
                           field="former_unit")
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
                   zones=reg.zones, progress=say)
    n_focus = int(reg.focus.sum())
    if n_focus < len(reg.ids):
        mine = {str(i) for i, f in zip(reg.ids, reg.focus, strict=True) if f}
        report = replace(report, findings=tuple(
            f for f in report.findings if mine.intersection(f.feature_ids)),
            feature_count=n_focus)
    severities: dict[str, int] = {}
    for f in report.findings:
        severities[str(f.severity)] = severities.get(str(f.severity), 0) + 1
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

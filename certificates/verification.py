"""Verification of a claimed parcel against the registry: findings, verdict, stored report.

Two halves.  :func:`evaluate` is pure: the claim, its neighbours (map parcels with
their certificates), other pending claims, the ward frame, zones and open disputes in,
findings out; the overlap, gap, width, frame and zone maths are the gis engine's
(:mod:`gis.topology`, :mod:`gis.validity`).  :func:`gather` fetches that context from
PostGIS with a handful of indexed queries around the claim.

How the map's parcels are treated (every parcel of the cadastral map is a registered
parcel version; a certificate is a current use right with a certificate number):

* the **subject** parcel, the map parcel the claim is for (same former unit, sheet and
  number, or the same boundary within the scale's tolerance), is not a neighbour: the
  claim is expected to coincide with it;
* a claim that is the same parcel as a **certified** map parcel is ``already_registered``;
* a **certified** neighbour overlapped beyond the positional tolerance is
  ``overlap_registered`` (error);
* an **uncertified** neighbour of a state use (road, river, public land) is
  ``overlap_state_land`` (warning in the review band, error beyond);
* any other **uncertified** neighbour is ``overlap_uncertified`` (warning): nobody holds
  a right on paper, but the map says someone uses the land, so the field check settles
  the boundary; when that parcel is itself claimed by a pending application, the overlap
  is reported once, as ``overlap_pending`` against that application.
"""

# ruff: noqa: S608 (only constant SQL fragments are interpolated; values are bound parameters)
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from certificates.rules import VerificationSettings, render, worst
from db.engine import sql
from gis.convert import from_db, to_ewkb
from gis.crs import WARD
from gis.frame import Zone, find_outside, find_zone_crossings
from gis.gaps import gap_polygons_near
from gis.geojson import geometry_to_geojson
from gis.measures import band_widths, max_width
from gis.overlaps import find_overlaps
from gis.repair import make_valid
from gis.rules import Band, Finding, Severity
from gis.snap import snap_to_neighbours
from gis.topology import Context
from gis.validity import check_feature, is_ogc_invalid_code

PENDING_STATES = ("received", "verifying", "field_check", "waiting_applicant")
CLAIM = "claim"
TOUCH_M = 1e-5
"""A gap piece within this distance of a parcel touches it (the gis engine's own reach)."""


# ------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class Holder:
    name: str | None
    certificate_no: str | None
    issued_on: date | None = None


@dataclass(frozen=True)
class MapParcel:
    """A current map parcel near the claim, with who holds a certificate on it."""

    parcel_id: int
    former_unit: str
    sheet_no: int
    parcel_no: int
    land_use: str
    geometry: BaseGeometry
    scale: int | None = None
    holders: tuple[Holder, ...] = ()

    @property
    def certified(self) -> bool:
        return any(h.certificate_no for h in self.holders)

    @property
    def label(self) -> str:
        return f"{self.former_unit} tờ {self.sheet_no} thửa {self.parcel_no}"

    def describe(self) -> dict[str, Any]:
        return {"parcel_id": self.parcel_id, "former_unit": self.former_unit,
                "sheet_no": self.sheet_no, "parcel_no": self.parcel_no,
                "land_use": self.land_use, "certified": self.certified,
                "holders": [{"name": h.name, "certificate_no": h.certificate_no,
                             "issued_on": h.issued_on.isoformat() if h.issued_on else None}
                            for h in self.holders]}


@dataclass(frozen=True)
class PendingClaim:
    """Another application still in progress whose claim may overlap this one."""

    application_id: int
    application_key: str | None
    received_at: datetime
    geometry: BaseGeometry
    parcel_id: int | None = None

    @property
    def label(self) -> str:
        return self.application_key or f"#{self.application_id}"


@dataclass(frozen=True)
class OpenDispute:
    dispute_id: int
    parcel_ids: tuple[int, ...]
    claimant: str
    opened_on: date
    state: str


@dataclass(frozen=True)
class Claim:
    """What is verified: the claimed geometry (EPSG:9214, maybe invalid) and the papers."""

    geometry: BaseGeometry | None
    application_id: int | None = None
    application_key: str | None = None
    received_at: datetime | None = None
    declared_area: float | None = None
    land_use: str | None = None
    former_unit: str | None = None
    sheet_no: int | None = None
    parcel_no: int | None = None

    @property
    def label(self) -> str:
        return self.application_key or (f"#{self.application_id}" if self.application_id
                                         else "claim")


@dataclass(frozen=True)
class Surroundings:
    """Everything :func:`evaluate` needs from the registry, fetched by :func:`gather`."""

    neighbours: tuple[MapParcel, ...] = ()
    pending: tuple[PendingClaim, ...] = ()
    claimed_parcels: frozenset[int] = frozenset()
    frame: BaseGeometry | None = None
    zones: tuple[Zone, ...] = ()
    zone_projects: Mapping[str, str] = field(default_factory=dict)
    disputes: tuple[OpenDispute, ...] = ()
    scale: int | None = None
    registry_version: int = 0


# ----------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class CertFinding:
    """One finding of a certificate verification, ready for a land officer."""

    rule: str
    severity: Severity
    message_vi: str
    message_en: str
    figures: Mapping[str, Any]
    parcels: tuple[Mapping[str, Any], ...] = ()
    applications: tuple[Mapping[str, Any], ...] = ()
    geometry: BaseGeometry | None = None
    proposed: BaseGeometry | None = None
    proposal_en: str | None = None
    band: str | None = None
    tolerance: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; geometries as GeoJSON in WGS 84 (EPSG:4326)."""
        return {
            "rule": self.rule, "severity": str(self.severity), "band": self.band,
            "message_vi": self.message_vi, "message_en": self.message_en,
            "figures": dict(self.figures), "parcels": [dict(p) for p in self.parcels],
            "applications": [dict(a) for a in self.applications],
            "tolerance": dict(self.tolerance),
            "geometry": _geojson(self.geometry),
            "proposed_geometry": _geojson(self.proposed), "proposal": self.proposal_en,
        }


@dataclass(frozen=True)
class Outcome:
    """The result of :func:`evaluate`: findings, verdict and the measured area."""

    verdict: str
    findings: tuple[CertFinding, ...]
    measured_area: float | None
    declared_area: float | None
    subject_parcel_id: int | None
    scale: int | None
    registry_version: int

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.findings:
            if f.severity is not Severity.INFO:
                out[f.rule] = out.get(f.rule, 0) + 1
        return dict(sorted(out.items()))

    def rules(self, *severities: Severity) -> set[str]:
        sev = severities or (Severity.ERROR, Severity.WARNING)
        return {f.rule for f in self.findings if f.severity in sev}

    def errors(self) -> list[CertFinding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]


def _geojson(geom: BaseGeometry | None) -> dict[str, Any] | None:
    if geom is None or geom.is_empty:
        return None
    return geometry_to_geojson(geom, WARD)


def _round(v: Any, nd: int = 3) -> float:
    return round(float(v), nd)


# ---------------------------------------------------------------------- evaluate


def evaluate(claim: Claim, around: Surroundings, settings: VerificationSettings) -> Outcome:
    """Judge one claim against its surroundings (no database: the maths and the rules)."""
    gis = settings.gis
    out: list[CertFinding] = []
    d = check_feature(claim.geometry, fid=CLAIM, rules=gis, label=claim.label)
    geom = d.geometry
    invalid = [f for f in d.findings if is_ogc_invalid_code(f.code) or f.code == "multipart"]
    if geom is None or invalid:
        out += _invalid(claim, invalid, settings)
        repaired = make_valid(claim.geometry).geometry if claim.geometry is not None and \
            claim.geometry.geom_type in ("Polygon", "MultiPolygon") else None
        area = float(repaired.area) if repaired is not None else None
        return _outcome(out, area, claim, None, around)
    out += _shape(d.findings, settings)
    agricultural = (claim.land_use or "") in settings.agricultural_land_uses
    scale = around.scale

    same, subject = _same_parcels(claim, geom, around, settings, scale, agricultural)
    for nb, dist in same:
        if nb.certified:
            out.append(_already(nb, dist, geom, settings))
    excluded = {nb.parcel_id for nb, _ in same} | ({subject} if subject else set())
    nbs = [n for n in around.neighbours if n.parcel_id not in excluded]
    by_id = {n.parcel_id: n for n in nbs}
    touching = [nbs[i] for i in _overlapping(geom, [n.geometry for n in nbs],
                                             settings.noise_floor_m)]
    ctx = _context(geom, claim, touching, settings, scale, agricultural)
    out += _registry_overlaps(find_overlaps(ctx, [0]), by_id, around, settings)
    out += _gaps(geom, nbs, settings, scale, agricultural)
    alone = _context(geom, claim, [], settings, scale, agricultural)
    if around.frame is not None:
        out += _outside(find_outside(alone, around.frame, [0]), settings)
    out += _zones(find_zone_crossings(alone, list(around.zones), [0]), around, settings)
    out += _pending(claim, geom, scale, agricultural, around, settings)
    area_f = _area(claim, geom, scale, settings)
    if area_f is not None:
        out.append(area_f)
    out += _disputes(geom, subject, around, settings)
    return _outcome(out, float(geom.area), claim, subject, around)


def _context(geom: BaseGeometry, claim: Claim, nbs: Sequence[MapParcel],
             settings: VerificationSettings, scale: int | None, agricultural: bool) -> Context:
    return Context.build([geom, *(n.geometry for n in nbs)], [CLAIM, *(n.parcel_id for n in nbs)],
                         rules=settings.gis, scales=[scale, *(n.scale for n in nbs)],
                         agricultural=[agricultural, *([False] * len(nbs))],
                         labels=[claim.label, *(n.label for n in nbs)])


def _overlapping(geom: BaseGeometry, others: Sequence[BaseGeometry], floor: float) -> list[int]:
    """Indices of ``others`` whose overlap with ``geom`` is wider than ``floor`` metres.

    An overlap is wider than ``floor`` exactly when eroding it by half of that leaves
    something; the test is cheap, whereas measuring the width of the sub-millimetre
    slivers that shared edges on a 1 mm grid leave would cost the width routine tens of
    milliseconds each.
    """
    if not others:
        return []
    arr = np.asarray(others, dtype=object)
    shapely.prepare(geom)
    idx = np.flatnonzero(shapely.intersects(geom, arr))
    if not len(idx):
        return []
    inter = shapely.intersection(geom, arr[idx])
    wide = ~shapely.is_empty(shapely.buffer(inter, -floor / 2.0, join_style="mitre"))
    return [int(i) for i in idx[wide]]


def _outcome(found: list[CertFinding], area: float | None, claim: Claim, subject: int | None,
             around: Surroundings) -> Outcome:
    kept = [f for f in found if f.severity is not Severity.OFF]
    kept.sort(key=lambda f: (f.severity.rank, f.rule, -float(f.figures.get("area_m2", 0) or 0)))
    return Outcome(verdict=worst([f.severity for f in kept]), findings=tuple(kept),
                   measured_area=area, declared_area=claim.declared_area,
                   subject_parcel_id=subject, scale=around.scale,
                   registry_version=around.registry_version)


def _finding(rule: str, severity: Severity, figures: dict[str, Any], **kw: Any) -> CertFinding:
    vi, en = render(rule, figures)
    return CertFinding(rule=rule, severity=severity, message_vi=vi, message_en=en,
                       figures=figures, **kw)


def _invalid(claim: Claim, found: Sequence[Finding], settings: VerificationSettings
             ) -> list[CertFinding]:
    sev = settings.severity("invalid_geometry")
    if not found:
        return [_finding("invalid_geometry", sev, {"reason": "not a polygon", "x": "?", "y": "?"})]
    out = []
    for f in found:
        figures = {"reason": f.figures.get("reason", f.code), "defect": f.code,
                   **{k: f.figures[k] for k in ("x", "y") if k in f.figures}}
        fix = f.fix or (make_valid(claim.geometry) if claim.geometry is not None else None)
        out.append(_finding("invalid_geometry", sev, figures, geometry=f.geometry,
                            proposed=fix.geometry if fix is not None else None,
                            proposal_en=fix.description_en if fix is not None else None))
    return out


def _shape(found: Sequence[Finding], settings: VerificationSettings) -> list[CertFinding]:
    cap = settings.shape_max_severity
    out = []
    for f in found:
        if f.code in ("orientation", "z_or_m") or f.severity is Severity.OFF:
            continue
        sev = f.severity if f.severity.rank >= cap.rank else cap
        out.append(_finding("shape", sev, {"defect": f.code, "detail_vi": f.message_vi,
                                           "detail_en": f.message_en, **dict(f.figures)},
                            geometry=f.geometry))
    return out


def _same_parcels(claim: Claim, geom: BaseGeometry, around: Surroundings,
                  settings: VerificationSettings, scale: int | None, agricultural: bool
                  ) -> tuple[list[tuple[MapParcel, float]], int | None]:
    """Map parcels that are the claim's own (same boundary within tolerance), and the subject.

    The subject is the uncertified map parcel the claim is for: by its former unit,
    sheet and number when given, else the uncertified parcel with the same boundary.
    """
    gis = settings.gis
    same: list[tuple[MapParcel, float]] = []
    own_tol = gis.tolerance(scale, agricultural)
    for nb in around.neighbours:
        tol = own_tol.coarser(gis.tolerance(nb.scale, False)).conflict_m
        limit = tol * settings.same_parcel_factor
        if abs(nb.geometry.area - geom.area) > 2 * limit * geom.length:  # cheap filter
            continue
        dist = float(shapely.hausdorff_distance(geom, nb.geometry))
        if dist <= limit:
            same.append((nb, dist))
    subject = None
    if claim.sheet_no is not None and claim.parcel_no is not None:
        for nb in around.neighbours:
            if (nb.sheet_no, nb.parcel_no) == (claim.sheet_no, claim.parcel_no) and \
                    (claim.former_unit is None or nb.former_unit == claim.former_unit) and \
                    not nb.certified:
                subject = nb.parcel_id
    if subject is None:
        subject = next((nb.parcel_id for nb, _ in same if not nb.certified), None)
    return same, subject


def _already(nb: MapParcel, dist: float, geom: BaseGeometry,
             settings: VerificationSettings) -> CertFinding:
    h = next(h for h in nb.holders if h.certificate_no)
    figures = {"parcel": nb.label, "parcel_id": nb.parcel_id, "holder": h.name,
               "certificate_no": h.certificate_no, "distance_m": _round(dist),
               "area_m2": _round(nb.geometry.area, 2)}
    return _finding("already_registered", settings.severity("already_registered"), figures,
                    parcels=(nb.describe(),), geometry=nb.geometry)


def _overlap_figures(f: Finding) -> tuple[float, float, Band]:
    area = float(f.figures.get("area_m2", 0.0))
    width = float(f.figures["width_m"]) if "width_m" in f.figures else \
        float(max_width(f.geometry)) if f.geometry is not None else 0.0
    band = f.band if f.band is not None else Band.CONFLICT  # contained, duplicate
    return area, width, band


def _registry_overlaps(found: Sequence[Finding], by_id: Mapping[Any, MapParcel],
                       around: Surroundings, settings: VerificationSettings) -> list[CertFinding]:
    out = []
    for f in found:
        other = next(by_id[i] for i in _ids(f, by_id))
        area, width, band = _overlap_figures(f)
        if other.certified:
            rule = "overlap_registered"
        elif other.land_use in settings.state_land_uses:
            rule = "overlap_state_land"
        elif other.parcel_id in around.claimed_parcels:
            continue  # reported as overlap_pending against the application claiming it
        else:
            rule = "overlap_uncertified"
        h = next((h for h in other.holders if h.certificate_no), None)
        figures = {"parcel": other.label, "parcel_id": other.parcel_id, "area_m2": _round(area, 2),
                   "width_m": _round(width), "land_use": other.land_use,
                   "holder": h.name if h else None,
                   "certificate_no": h.certificate_no if h else None, "kind": f.code}
        out.append(_finding(rule, settings.severity(rule, band), figures,
                            parcels=(other.describe(),), geometry=f.geometry, band=str(band),
                            tolerance=dict(f.tolerance)))
    return out


def _ids(f: Finding, by_id: Mapping[Any, Any]) -> list[Any]:
    keys = {str(k): k for k in by_id}
    return [keys[i] for i in f.feature_ids if i in keys]


def _gaps(geom: BaseGeometry, nbs: Sequence[MapParcel], settings: VerificationSettings,
          scale: int | None, agricultural: bool) -> list[CertFinding]:
    """Gaps narrower than rules.toml's gap.max_width_m between the claim and its neighbours.

    The pieces are the gis engine's (:func:`gis.gaps.gap_polygons_near`, the morphological
    closing of the local union); pieces no wider than ``noise_floor_m`` are dropped by an
    erosion test before their width is measured (see :func:`_overlapping`).
    """
    gis = settings.gis
    max_w = gis.param("gap", "max_width_m")
    near = [n for n in nbs if shapely.dwithin(geom, n.geometry, max_w)]
    if not near:
        return []
    own = gis.tolerance(scale, agricultural)
    out = []
    for piece in gap_polygons_near(np.asarray([geom, *(n.geometry for n in near)],
                                              dtype=object), max_w, geom, TOUCH_M):
        if shapely.buffer(piece, -settings.noise_floor_m / 2.0, join_style="mitre").is_empty:
            continue  # no wider than the noise floor
        if not shapely.buffer(piece, -max_w / 2.0, join_style="mitre").is_empty:
            continue  # wider than a gap: a lane, a road, unregistered land
        others = [n for n in near if shapely.dwithin(n.geometry, piece, TOUCH_M)]
        if not others:
            continue
        tol = own
        for o in others:
            tol = tol.coarser(gis.tolerance(o.scale, False))
        # The inscribed circle only where the band needs it (above the snap tolerance):
        # a long sliver costs GEOS tens of milliseconds to measure exactly.
        widths, _ = band_widths(np.asarray([piece], dtype=object),
                                floor=settings.noise_floor_m, snap=tol.snap_m)
        width = float(widths[0])
        if width > max_w:
            continue
        band = tol.band(width)
        fix = snap_to_neighbours(geom, [o.geometry for o in others], max(width * 1.05, tol.snap_m))
        area = float(piece.area)
        sev = settings.severity("boundary_gap", band)
        if area < settings.gap_min_area_m2:
            sev = Severity.INFO
        figures = {"parcel": ", ".join(o.label for o in others),
                   "parcel_ids": [o.parcel_id for o in others],
                   "area_m2": _round(area, 3), "width_m": _round(width, 4)}
        out.append(_finding("boundary_gap", sev, figures,
                            parcels=tuple(o.describe() for o in others), geometry=piece,
                            proposed=fix.geometry if fix.changed else None,
                            proposal_en=fix.description_en, band=str(band),
                            tolerance=tol.as_dict()))
    return out


def _outside(found: Sequence[Finding], settings: VerificationSettings) -> list[CertFinding]:
    out = []
    for f in found:
        band = f.band or Band.CONFLICT
        figures = {"area_m2": _round(f.figures["area_m2"], 2),
                   "width_m": _round(f.figures["width_m"])}
        out.append(_finding("outside_ward", settings.severity("outside_ward", band), figures,
                            geometry=f.geometry, band=str(band), tolerance=dict(f.tolerance)))
    return out


PROTECTION_KINDS = {"river_corridor": "hành lang bảo vệ sông / river corridor",
                    "heritage_1": "khu vực bảo vệ I di tích / heritage zone I",
                    "heritage_2": "khu vực bảo vệ II di tích / heritage zone II"}


def _zones(found: Sequence[Finding], around: Surroundings,
           settings: VerificationSettings) -> list[CertFinding]:
    out = []
    for f in found:
        kind = str(f.figures["zone_kind"])
        if kind == "road_redline":
            rule = "road_redline"
        elif kind in PROTECTION_KINDS:
            rule = "protection_zone"
        else:
            continue
        band = f.band or Band.CONFLICT
        zone_id = str(f.figures["zone_id"])
        figures = {"zone": f.figures["zone"], "zone_id": zone_id, "zone_kind": kind,
                   "project": around.zone_projects.get(zone_id),
                   "area_m2": _round(f.figures["area_m2"], 2),
                   "width_m": _round(f.figures["width_m"]),
                   "share_pct": _round(100 * float(f.figures["share"]), 2)}
        out.append(_finding(rule, settings.severity(rule, band), figures, geometry=f.geometry,
                            band=str(band), tolerance=dict(f.tolerance)))
    return out


def _pending(claim: Claim, geom: BaseGeometry, scale: int | None, agricultural: bool,
             around: Surroundings, settings: VerificationSettings) -> list[CertFinding]:
    others = [p for p in around.pending if p.application_id != claim.application_id]
    others = [others[i] for i in _overlapping(geom, [p.geometry for p in others],
                                              settings.noise_floor_m)]
    if not others:
        return []
    ctx = Context.build([geom, *(p.geometry for p in others)],
                        [CLAIM, *(f"a{p.application_id}" for p in others)], rules=settings.gis,
                        scales=[scale] * (1 + len(others)),
                        agricultural=[agricultural] * (1 + len(others)))
    by_id = {f"a{p.application_id}": p for p in others}
    out = []
    for f in find_overlaps(ctx, [0]):
        other = next(by_id[i] for i in f.feature_ids if i in by_id)
        area, width, band = _overlap_figures(f)
        mine_first = claim.received_at is not None and (
            (claim.received_at, claim.application_id or 0)
            < (other.received_at, other.application_id))
        figures = {"other": other.label, "other_id": other.application_id,
                   "first": claim.label if mine_first else other.label,
                   "received_first": "this" if mine_first else "other",
                   "area_m2": _round(area, 2), "width_m": _round(width)}
        out.append(_finding("overlap_pending", settings.severity("overlap_pending", band), figures,
                            applications=({"application_id": other.application_id,
                                           "application_key": other.application_key,
                                           "received_at": other.received_at.isoformat()},),
                            geometry=f.geometry, band=str(band), tolerance=dict(f.tolerance)))
    return out


def _area(claim: Claim, geom: BaseGeometry, scale: int | None,
          settings: VerificationSettings) -> CertFinding | None:
    if claim.declared_area is None:
        return None
    s = scale or settings.gis.default_scale
    measured = float(geom.area)
    allowed = settings.allowed_area_error(s, measured)
    diff = float(claim.declared_area) - measured
    if abs(diff) <= allowed:
        return None
    figures = {"declared_m2": float(claim.declared_area), "measured_m2": _round(measured, 2),
               "difference_m2": _round(diff, 2), "allowed_m2": _round(allowed, 3),
               "difference_pct": _round(100 * diff / measured, 2) if measured else None,
               "scale": s}
    return _finding("area_mismatch", settings.severity("area_mismatch"), figures)


def _disputes(geom: BaseGeometry, subject: int | None, around: Surroundings,
              settings: VerificationSettings) -> list[CertFinding]:
    if not around.disputes:
        return []
    near = {n.parcel_id: n for n in around.neighbours
            if shapely.dwithin(geom, n.geometry, settings.dispute_neighbour_m)}
    out = []
    for d in around.disputes:
        hit = [p for p in d.parcel_ids if p == subject or p in near]
        if not hit:
            continue
        labels = [near[p].label if p in near else f"#{p}" for p in hit]
        figures = {"dispute_id": d.dispute_id, "parcel": ", ".join(labels),
                   "parcel_ids": hit, "claimant": d.claimant,
                   "opened_on": d.opened_on.isoformat(), "state": d.state}
        out.append(_finding("dispute_open", settings.severity("dispute_open"), figures,
                            parcels=tuple(near[p].describe() for p in hit if p in near)))
    return out


# ------------------------------------------------------------------------ gather


def gather(session: Session, *, ward_code: str, claim: Claim, settings: VerificationSettings,
           exclude_application: int | None = None) -> Surroundings:
    """Fetch the claim's surroundings from PostGIS: five indexed statements around it.

    The first reads what a check is pinned to (the registry version: the ward's newest
    parcel version id, a backward primary-key scan), the claim's map scale and the ward
    frame clipped to a window around the claim from the outline's indexed pieces; then
    the registry around it with holders and whether another pending claim names each
    parcel; the other pending claims; the zones; the open disputes on those parcels.
    """
    geom = claim.geometry
    usable = geom is not None and not geom.is_empty and geom.is_valid
    wkb = to_ewkb(geom, WARD) if usable else None
    g = "ST_GeomFromEWKB(:g)"
    me = "coalesce(CAST(:me AS bigint), -1)"
    head = session.execute(sql(f"""
        SELECT (SELECT id FROM parcel_version WHERE ward_code = :w
                ORDER BY id DESC LIMIT 1) AS version,
               coalesce((SELECT scale FROM map_sheet WHERE ward_code = :w
                         AND former_unit = CAST(:u AS text) AND sheet_no = CAST(:s AS int)),
                        (SELECT scale FROM map_sheet WHERE ward_code = :w
                         AND extent IS NOT NULL AND ST_Covers(extent, ST_GeomFromEWKB(:p))
                         ORDER BY scale LIMIT 1)) AS scale,
               (SELECT ST_AsBinary(coalesce(ST_Union(ST_Intersection(wp.geom, b.box)),
                                            ST_GeomFromText('POLYGON EMPTY', {WARD})))
                FROM (SELECT ST_Expand(ST_Envelope({g}), 10) AS box) b
                LEFT JOIN ward_piece wp ON wp.ward_code = :w AND wp.geom && b.box
                WHERE b.box IS NOT NULL) AS frame"""),
        {"w": ward_code, "u": claim.former_unit, "s": claim.sheet_no, "g": wkb,
         "p": _scale_point(geom)}).one()
    version = int(head.version or 0)
    scale = int(head.scale) if head.scale is not None else None
    if not usable:
        return Surroundings(scale=scale, registry_version=version)
    p = {"w": ward_code, "g": wkb, "d": settings.search_m, "u": claim.former_unit,
         "s": claim.sheet_no, "n": claim.parcel_no, "me": exclude_application}
    rows = session.execute(sql(f"""
        WITH near AS (
            SELECT v.parcel_id FROM parcel_version v
            WHERE v.ward_code = :w AND v.valid_to IS NULL AND v.status = 'registered'
              AND ST_DWithin(v.geom, {g}, :d)
            UNION
            SELECT v.parcel_id FROM parcel_version v
            WHERE v.ward_code = :w AND v.valid_to IS NULL AND v.status = 'registered'
              AND v.former_unit = CAST(:u AS text) AND v.sheet_no = CAST(:s AS int)
              AND v.parcel_no = CAST(:n AS int))
        SELECT v.parcel_id, v.former_unit, v.sheet_no, v.parcel_no, v.land_use,
               ST_AsBinary(v.geom) AS wkb, s.scale,
               (SELECT coalesce(json_agg(json_build_object(
                        'name', y.full_name, 'certificate_no', r.certificate_no,
                        'issued_on', r.issued_on) ORDER BY r.id), '[]')
                FROM parcel_right r LEFT JOIN party y ON y.id = r.party_id
                WHERE r.parcel_id = v.parcel_id AND r.valid_to IS NULL
                  AND r.kind = 'use_right') AS holders,
               EXISTS (SELECT FROM application a
                       WHERE a.ward_code = :w AND a.parcel_id = v.parcel_id
                         AND a.state IN {PENDING_STATES!r} AND a.id <> {me}) AS claimed
        FROM near JOIN parcel_version v ON v.parcel_id = near.parcel_id AND v.valid_to IS NULL
        LEFT JOIN map_sheet s ON s.ward_code = v.ward_code AND s.former_unit = v.former_unit
                             AND s.sheet_no = v.sheet_no
        ORDER BY v.parcel_id"""), p).all()
    neighbours = tuple(MapParcel(
        parcel_id=r.parcel_id, former_unit=r.former_unit, sheet_no=r.sheet_no,
        parcel_no=r.parcel_no, land_use=r.land_use, geometry=from_db(r.wkb),
        scale=r.scale, holders=tuple(Holder(h["name"], h["certificate_no"],
                                            date.fromisoformat(h["issued_on"])
                                            if h["issued_on"] else None)
                                     for h in r.holders)) for r in rows)
    pend = session.execute(sql(f"""
        SELECT id, application_key, received_at, ST_AsBinary(geom) AS wkb, parcel_id
        FROM application
        WHERE ward_code = :w AND geom_valid AND state IN {PENDING_STATES!r}
          AND id <> {me} AND ST_Intersects(geom, {g})
        ORDER BY id"""), {"w": ward_code, "g": wkb, "me": exclude_application}).all()
    pending = tuple(PendingClaim(r.id, r.application_key, r.received_at,
                                 from_db(r.wkb), r.parcel_id) for r in pend)
    zone_rows = session.execute(sql(f"""
        SELECT z.id, z.zone_key, z.kind, z.name, z.project_code, p.name_vi, p.name_en,
               ST_AsBinary(ST_Intersection(z.geom, ST_Expand(ST_Envelope({g}), 10))) AS wkb
        FROM zone z LEFT JOIN project p ON p.ward_code = z.ward_code AND p.code = z.project_code
        WHERE z.ward_code = :w AND z.valid_to IS NULL AND ST_Intersects(z.geom, {g})
        ORDER BY z.id"""), {"w": ward_code, "g": wkb}).all()
    zones = tuple(Zone(id=r.zone_key, kind=r.kind, name=r.name,
                       geometry=from_db(r.wkb)) for r in zone_rows)
    projects = {r.zone_key: f"{r.project_code}: {r.name_vi} / {r.name_en}"
                for r in zone_rows if r.project_code}
    return Surroundings(
        neighbours=neighbours, pending=pending,
        claimed_parcels=frozenset(r.parcel_id for r in rows if r.claimed),
        frame=from_db(head.frame),
        zones=zones, zone_projects=projects,
        disputes=_open_disputes(session, ward_code, [n.parcel_id for n in neighbours]),
        scale=scale, registry_version=version)


def _open_disputes(session: Session, ward_code: str, ids: list[int]) -> tuple[OpenDispute, ...]:
    if not ids:
        return ()
    rows = session.execute(sql(
        "SELECT id, parcel_ids, claimant, opened_on, state FROM dispute "
        "WHERE ward_code = :w AND state IN ('open', 'mediation') AND parcel_ids && "
        "CAST(:ids AS bigint[]) ORDER BY id"), {"w": ward_code, "ids": ids}).all()
    return tuple(OpenDispute(r.id, tuple(r.parcel_ids), r.claimant, r.opened_on, r.state)
                 for r in rows)


def _scale_point(geom: BaseGeometry | None) -> bytes | None:
    """A point inside the claim, to find the map sheet under it when its number is unknown."""
    if geom is None or geom.is_empty:
        return None
    pt = geom.representative_point() if geom.is_valid else shapely.centroid(geom)
    return to_ewkb(pt, WARD)


def run(session: Session, *, ward_code: str, claim: Claim, settings: VerificationSettings,
        ) -> tuple[Outcome, float]:
    """Gather and evaluate; returns the outcome and the elapsed milliseconds."""
    t0 = time.perf_counter()
    around = gather(session, ward_code=ward_code, claim=claim, settings=settings,
                    exclude_application=claim.application_id)
    outcome = evaluate(claim, around, settings)
    return outcome, (time.perf_counter() - t0) * 1000.0

"""Judging one claim against its surroundings: pure, no database; the overlap, gap,
width, frame and zone maths are the gis engine's (:mod:`gis.topology`, :mod:`gis.geometry`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from certificates.rules import VerificationSettings
from certificates.verification.inputs import CLAIM, Claim, Surroundings
from certificates.verification.report import Outcome, finding, outcome, rounded
from config import land_use
from gis import labels as lab
from gis.findings import Band, Finding, Severity
from gis.frame import find_outside, find_zone_crossings
from gis.gaps import gap_polygons_near
from gis.land_use import is_agricultural
from gis.measures import band_widths, max_width
from gis.overlaps import find_overlaps
from gis.repair import make_valid
from gis.snap import snap_to_neighbours
from gis.topology import Context
from gis.validity import check_feature, is_ogc_invalid_code
from parcels.records import MapParcel

TOUCH_M: Final = 1e-5
"""A gap piece within this distance of a parcel touches it (the gis engine's own reach)."""


def evaluate(claim: Claim, around: Surroundings, settings: VerificationSettings) -> Outcome:
    """Judge one claim against its surroundings (no database: the maths and the rules)."""
    gis = settings.gis
    out: list[Finding] = []
    d = check_feature(claim.geometry, fid=CLAIM, rules=gis, label=claim.label)
    geom = d.geometry
    invalid = [f for f in d.findings if is_ogc_invalid_code(f.code) or f.code == "multipart"]
    if geom is None or invalid:
        out += _invalid(claim, invalid, settings)
        repaired = make_valid(claim.geometry).geometry if claim.geometry is not None and \
            claim.geometry.geom_type in ("Polygon", "MultiPolygon") else None
        area = float(repaired.area) if repaired is not None else None
        return outcome(out, area, claim, None, around)
    out += _shape(d.findings, settings)
    agricultural = is_agricultural(claim.land_use)
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
    out += _zones(find_zone_crossings(alone, list(around.zones), [0]), around, settings,
                  claim.land_use)
    out += _pending(claim, geom, scale, agricultural, around, settings)
    area_f = _area(claim, geom, scale, settings)
    if area_f is not None:
        out.append(area_f)
    out += _disputes(geom, subject, around, settings)
    return outcome(out, float(geom.area), claim, subject, around)


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


def _invalid(claim: Claim, found: Sequence[Finding], settings: VerificationSettings
             ) -> list[Finding]:
    sev = settings.severity("invalid_geometry")
    if not found:
        return [finding("invalid_geometry", sev, {"reason": "not a polygon", "x": "?", "y": "?"})]
    out = []
    for f in found:
        figures = {"reason": f.figures.get("reason", f.code), "defect": f.code,
                   **{k: f.figures[k] for k in ("x", "y") if k in f.figures}}
        fix = f.fix or (make_valid(claim.geometry) if claim.geometry is not None else None)
        out.append(finding("invalid_geometry", sev, figures, geometry=f.geometry, fix=fix,
                           words={"point": _point(f.figures)}))
    return out


def _shape(found: Sequence[Finding], settings: VerificationSettings) -> list[Finding]:
    cap = settings.shape_max_severity
    out = []
    for f in found:
        if f.code in ("orientation", "z_or_m") or f.severity is Severity.OFF:
            continue
        sev = f.severity if f.severity.rank >= cap.rank else cap
        out.append(finding("shape", sev, {"defect": f.code, "detail_vi": f.message_vi,
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
             settings: VerificationSettings) -> Finding:
    holders, certificates = _holders(nb)
    figures = {"parcel": str(nb.ref), "parcel_id": nb.parcel_id, "holder": holders,
               "certificate_no": certificates, "distance_m": rounded(dist),
               "area_m2": rounded(nb.geometry.area, 2)}
    return finding("already_registered", settings.severity("already_registered"), figures,
                    parcels=(nb.describe(),), geometry=nb.geometry, words=_words(nb))


def _overlap_figures(f: Finding) -> tuple[float, float, Band]:
    area = float(f.figures.get("area_m2", 0.0))
    width = float(f.figures["width_m"]) if "width_m" in f.figures else \
        float(max_width(f.geometry)) if f.geometry is not None else 0.0
    band = f.band if f.band is not None else Band.CONFLICT  # contained, duplicate
    return area, width, band


def _registry_overlaps(found: Sequence[Finding], by_id: Mapping[Any, MapParcel],
                       around: Surroundings, settings: VerificationSettings) -> list[Finding]:
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
        holders, certificates = _holders(other)
        figures = {"parcel": str(other.ref), "parcel_id": other.parcel_id,
                   "area_m2": rounded(area, 2), "width_m": rounded(width),
                   "land_use": other.land_use, "holder": holders or None,
                   "certificate_no": certificates or None, "kind": f.code}
        out.append(finding(rule, settings.severity(rule, band), figures,
                            parcels=(other.describe(),), geometry=f.geometry, band=band,
                            tolerance=dict(f.tolerance), words=_words(other)))
    return out


def _ids(f: Finding, by_id: Mapping[Any, Any]) -> list[Any]:
    keys = {str(k): k for k in by_id}
    return [keys[i] for i in f.feature_ids if i in keys]


def _gaps(geom: BaseGeometry, nbs: Sequence[MapParcel], settings: VerificationSettings,
          scale: int | None, agricultural: bool) -> list[Finding]:
    """Gaps narrower than rules.toml's gap.max_width_m between the claim and its neighbours.

    The pieces are the gis engine's (:func:`gis.topology.gap_polygons_near`, the morphological
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
        refs = [o.ref for o in others]
        figures = {"parcel": lab.join_vi(refs), "parcel_ids": [o.parcel_id for o in others],
                   "area_m2": rounded(area, 3), "width_m": rounded(width, 4)}
        out.append(finding("boundary_gap", sev, figures,
                            parcels=tuple(o.describe() for o in others), geometry=piece,
                            fix=fix, band=band, tolerance=tol.as_dict(),
                            words={"parcel": lab.Label(lab.join_vi(refs), lab.join_en(refs))}))
    return out


def _outside(found: Sequence[Finding], settings: VerificationSettings) -> list[Finding]:
    out = []
    for f in found:
        band = f.band or Band.CONFLICT
        figures = {"area_m2": rounded(f.figures["area_m2"], 2),
                   "width_m": rounded(f.figures["width_m"])}
        out.append(finding("outside_ward", settings.severity("outside_ward", band), figures,
                            geometry=f.geometry, band=band, tolerance=dict(f.tolerance)))
    return out


def _holders(nb: MapParcel) -> tuple[str, str]:
    """Every co-holder of a parcel's certified use right, and every certificate number:
    "Lê Văn Bình và Nguyễn Thị Hoa", "CS 000123" (each named once, in record order)."""
    rights = [h for h in nb.use_rights if h.certificate_no]
    names = list(dict.fromkeys(h.full_name for h in rights if h.full_name))
    numbers = list(dict.fromkeys(str(h.certificate_no) for h in rights))
    return lab.join_vi(names), ", ".join(numbers)


def _words(nb: MapParcel) -> dict[str, str]:
    """How the sentences of a finding about ``nb`` name it and its holders."""
    holders, _ = _holders(nb)
    names = list(dict.fromkeys(h.full_name for h in nb.use_rights
                               if h.certificate_no and h.full_name))
    return {"parcel": nb.ref, "holder": lab.Label(holders, lab.join_en(names)),
            "land_use": _use_words(nb.land_use)}


def _use_words(code: str) -> lab.Label:
    """A land use in words, the code only in brackets: "đất giao thông (DGT)"."""
    names = land_use.load()
    try:
        return lab.Label(f"{names.name(code, 'vi').lower()} ({code})",
                         f"{names.name(code, 'en').lower()} ({code})")
    except land_use.UnknownLandUse:
        return lab.Label(f"đất {code}", f"{code} land")


def _point(figures: Mapping[str, Any]) -> str:
    x, y = figures.get("x"), figures.get("y")
    if isinstance(x, int | float) and isinstance(y, int | float):
        return lab.Label(lab.point_vi(float(x), float(y)), lab.point_en(float(x), float(y)))
    return lab.Label("(không rõ)", "(unknown)")


PROTECTION_KINDS = {"river_corridor": "hành lang bảo vệ sông / river corridor",
                    "heritage_1": "khu vực bảo vệ I di tích / heritage zone I",
                    "heritage_2": "khu vực bảo vệ II di tích / heritage zone II"}


def _conforms(declared: str, planned: Sequence[str]) -> bool:
    """Every part of the declared (possibly mixed) use is one the plan allows."""
    return all(part in planned for part in declared.upper().split("+"))


def _zones(found: Sequence[Finding], around: Surroundings, settings: VerificationSettings,
           claim_use: str | None = None) -> list[Finding]:
    zones = {z.id: z for z in around.zones}
    out = []
    for f in found:
        kind = str(f.figures["zone_kind"])
        if kind == "road_redline":
            rule = "road_redline"
        elif kind in PROTECTION_KINDS:
            rule = "protection_zone"
        elif kind == "planning" and claim_use:
            zone = zones.get(str(f.figures["zone_id"]))
            if zone is None or not zone.planned_uses or _conforms(claim_use, zone.planned_uses):
                continue
            rule = "plan_conformity"
        else:
            continue
        band = f.band or Band.CONFLICT
        zone_id = str(f.figures["zone_id"])
        figures = {"zone": f.figures["zone"], "zone_id": zone_id, "zone_kind": kind,
                   "project": around.zone_projects.get(zone_id),
                   **(_plan_figures(claim_use, zones[zone_id].planned_uses)
                      if rule == "plan_conformity" and claim_use else {}),
                   "area_m2": rounded(f.figures["area_m2"], 2),
                   "width_m": rounded(f.figures["width_m"]),
                   "share_pct": rounded(100 * float(f.figures["share"]), 2)}
        out.append(finding(rule, settings.severity(rule, band), figures, geometry=f.geometry,
                            band=band, tolerance=dict(f.tolerance),
                            words={"zone_kind": lab.zone_kind(kind)}))
    return out


def _plan_figures(declared: str, planned: Sequence[str]) -> dict[str, Any]:
    """The declared and planned uses in words, each code in brackets."""
    names = land_use.load()

    def named(codes: Sequence[str], lang: str) -> str:
        return ", ".join(f"{c} ({names.name(c, lang)})" if c in names.codes else c
                         for c in codes)

    parts = declared.upper().split("+")
    return {"declared": declared, "planned_uses": list(planned),
            "declared_vi": named(parts, "vi"), "declared_en": named(parts, "en"),
            "planned_vi": named(planned, "vi"), "planned_en": named(planned, "en")}


def _pending(claim: Claim, geom: BaseGeometry, scale: int | None, agricultural: bool,
             around: Surroundings, settings: VerificationSettings) -> list[Finding]:
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
                   "area_m2": rounded(area, 2), "width_m": rounded(width)}
        out.append(finding("overlap_pending", settings.severity("overlap_pending", band), figures,
                            applications=({"application_id": other.application_id,
                                           "application_key": other.application_key,
                                           "received_at": other.received_at.isoformat()},),
                            geometry=f.geometry, band=band, tolerance=dict(f.tolerance)))
    return out


def _area(claim: Claim, geom: BaseGeometry, scale: int | None,
          settings: VerificationSettings) -> Finding | None:
    if claim.declared_area is None:
        return None
    s = scale or settings.gis.default_scale
    measured = float(geom.area)
    allowed = settings.allowed_area_error(s, measured)
    diff = float(claim.declared_area) - measured
    if abs(diff) <= allowed:
        return None
    figures = {"declared_m2": float(claim.declared_area), "measured_m2": rounded(measured, 2),
               "difference_m2": rounded(diff, 2), "allowed_m2": rounded(allowed, 3),
               "difference_pct": rounded(100 * diff / measured, 2) if measured else None,
               "scale": s}
    return finding("area_mismatch", settings.severity("area_mismatch"), figures,
                   words={"difference": lab.Label(lab.difference_vi(diff),
                                                  lab.difference_en(diff))})


def _disputes(geom: BaseGeometry, subject: int | None, around: Surroundings,
              settings: VerificationSettings) -> list[Finding]:
    if not around.disputes:
        return []
    near = {n.parcel_id: n for n in around.neighbours
            if shapely.dwithin(geom, n.geometry, settings.dispute_neighbour_m)}
    out = []
    for d in around.disputes:
        hit = [p for p in d.parcel_ids if p == subject or p in near]
        if not hit:
            continue
        refs: list[str] = [near[p].ref if p in near else lab.Label(
            f"thửa có mã số {p}", f"parcel record {p}") for p in hit]
        figures = {"dispute_id": d.dispute_id, "parcel": lab.join_vi(refs),
                   "parcel_ids": hit, "claimant": d.claimant,
                   "opened_on": d.opened_on.isoformat(), "state": d.state}
        out.append(finding("dispute_open", settings.severity("dispute_open"), figures,
                            parcels=tuple(near[p].describe() for p in hit if p in near),
                            words={"parcel": lab.Label(lab.join_vi(refs), lab.join_en(refs))}))
    return out

"""What the maps read from the registry and the rasters, gathered into their inputs.

The map builders (:mod:`maps.field`, :mod:`maps.extract`, :mod:`maps.package`) are pure;
the functions here do the reading: the application and its latest report
(:mod:`certificates.applications`), the registered parcels near it and the other pending
claims (:func:`parcels.nearby.near_geometry`, :func:`certificates.applications.pending_claims`),
the ward's frame (:mod:`parcels.ward`), and the raster cuts (:mod:`maps.rasters`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from certificates import applications as apps
from certificates.models import Application
from config import clock
from config.maps import FloodLevel, MapSettings
from db.audit import Actor
from gis.convert import from_db
from gis.crs import WARD, to_ward, to_wgs84
from gis.errors import DomainError
from gis.geojson import geometry_from_geojson
from gis.raster import ElevationStats
from gis.rules import load_ruleset
from gis.validity import diagnose
from maps import impact, rasters
from maps.extract import ExtractInput
from maps.field import FieldMapInput, empty_frame
from maps.impact import ImpactMapInput
from maps.survey import SurveyMapInput
from maps.ward import WardMapInput
from parcels import queries
from parcels import ward as registry_ward
from parcels.nearby import near_geometry
from parcels.numbers import sheet_scales
from parcels.records import MapParcel
from parcels.registry import DEMO_LOAD, latest_source_number

STATE_NAMES = {
    "received": ("đã tiếp nhận", "received"), "verifying": ("đang kiểm tra", "verifying"),
    "field_check": ("kiểm tra thực địa", "field check"),
    "waiting_applicant": ("chờ bổ sung", "waiting for the applicant"),
    "approved": ("đã duyệt", "approved"), "rejected": ("từ chối", "rejected"),
    "certificate_issued": ("đã cấp giấy", "certificate issued"),
}


EXTRACT_RADIUS_M = 60.0
"""Neighbours drawn around an extract's parcel (the frame shows at most ~90 m at 1:500)."""


class NoClaimGeometry(DomainError):
    code = "no_claim_geometry"
    title = "Nothing to map"


@dataclass(frozen=True)
class MapContext:
    """What every map read needs: the ward, the map settings and where the rasters are."""

    ward_code: str
    settings: MapSettings
    rasters: rasters.Rasters
    synthetic: bool
    flood: FloodLevel


def context(session: Session, *, ward_code: str, settings: MapSettings,
            state_dir: Path) -> MapContext:
    fingerprint = latest_source_number(session, ward_code=ward_code, kind=DEMO_LOAD)
    found = rasters.locate(settings, state_dir=state_dir, fingerprint=fingerprint)
    return MapContext(ward_code, settings, found,
                      registry_ward.is_synthetic(session, ward_code), settings.flood())


def neighbours_frame(near: Sequence[MapParcel], stats: Sequence[ElevationStats | None],
                     unit_names: dict[str, str] | None = None) -> gpd.GeoDataFrame:
    """Registered parcels as a map layer: numbers, use, area, certificate and the use
    rights' holders (former units by name where ``unit_names`` are given)."""
    if not near:
        return empty_frame("parcel_id", "former_unit", "sheet_no", "parcel_no", "land_use",
                           "area_m2", "certified", "holders", "elevation")
    return gpd.GeoDataFrame({
        "parcel_id": [p.parcel_id for p in near],
        "former_unit": [(unit_names or {}).get(p.former_unit, p.former_unit) for p in near],
        "sheet_no": [p.sheet_no for p in near], "parcel_no": [p.parcel_no for p in near],
        "land_use": [p.land_use for p in near],
        "area_m2": [p.measured_area for p in near],
        "certified": [p.certified for p in near],
        "holders": ["; ".join(p.holder_names) for p in near],
        "elevation": [s.as_dict() if s else None for s in stats],
    }, geometry=[p.geometry for p in near], crs=WARD)


def _crossings(geom: BaseGeometry) -> gpd.GeoDataFrame:
    """Where an invalid claim's boundary crosses or touches itself (the gis engine's
    diagnosis: each defect's point), as X/Y for the field."""
    found = diagnose(geom, fid="claim", rules=load_ruleset())
    pts = [(f.code, f.geometry) for f in found.findings
           if f.geometry is not None and f.geometry.geom_type == "Point"]
    if not pts:
        return empty_frame("reason", "easting", "northing")
    return gpd.GeoDataFrame({"reason": [c for c, _ in pts],
                             "easting": [g.x for _, g in pts],
                             "northing": [g.y for _, g in pts]},
                            geometry=[g for _, g in pts], crs=WARD)


def _findings(report: Any) -> gpd.GeoDataFrame:
    if report is None or not report.findings:
        return empty_frame("rule", "severity", "message_vi", "message_en", "figures")
    rows = report.findings
    geoms = [to_ward(geometry_from_geojson(f["geometry"]), 4326) if f.get("geometry") else None
             for f in rows]
    return gpd.GeoDataFrame({
        "rule": [f["rule"] for f in rows], "severity": [f["severity"] for f in rows],
        "message_vi": [f["message_vi"] for f in rows],
        "message_en": [f["message_en"] for f in rows],
        "figures": [f.get("figures") or {} for f in rows]}, geometry=geoms, crs=WARD)


def application_facts(app: Application) -> list[tuple[str, str, Any]]:
    state_vi, state_en = STATE_NAMES.get(app.state, (app.state, app.state))
    return [("Số hồ sơ", "application", app.application_key or f"#{app.id}"),
            ("Người nộp", "applicant", app.applicant_name),
            ("Trạng thái", "state", f"{state_vi} / {state_en}"),
            ("Ngày nhận", "received", app.received_on.isoformat()),
            ("Hạn giải quyết", "due", app.due_on.isoformat()),
            ("Diện tích kê khai", "declared area",
             f"{float(app.declared_area):.1f} m²" if app.declared_area is not None else None),
            ("Loại đất kê khai", "declared land use", app.declared_land_use)]


def application_map_input(session: Session, ctx: MapContext, *, application_id: int
                          ) -> FieldMapInput:
    """The field map's input for one application (404 when the ward has no such file)."""
    app = apps.get(session, ward_code=ctx.ward_code, application_id=application_id)
    geom = from_db(app.geom)
    if geom is None or geom.is_empty:
        raise NoClaimGeometry(f"application {app.id} has no claimed boundary to draw",
                              application_id=app.id)
    valid = bool(app.geom_valid) and geom.is_valid
    report = apps.latest_report(session, app)
    radius = ctx.settings.neighbour_radius_m
    near = near_geometry(session, ward_code=ctx.ward_code, geometry=geom, distance=radius)
    flood = ctx.flood.level_m
    stats = rasters.elevation_stats(ctx.rasters.elevation,
                                    [p.geometry for p in near] + [geom if valid else geom.envelope],
                                    flood)
    area = geom.envelope.buffer(radius, join_style="mitre")
    wgs = to_wgs84(area).bounds
    others, _ = apps.pending_claims(session, ward_code=ctx.ward_code, bbox=wgs, limit=200)
    others = [a for a in others if a.id != app.id]
    pending = (gpd.GeoDataFrame({
        "application_id": [a.id for a in others],
        "label": [a.application_key or f"#{a.id}" for a in others],
        "received_on": [a.received_on.isoformat() for a in others],
        "state": [" / ".join(STATE_NAMES.get(a.state, (a.state, a.state))) for a in others]},
        geometry=[from_db(a.geom) for a in others], crs=WARD) if others
        else empty_frame("application_id", "label", "received_on", "state"))
    clip_area = geom.envelope.buffer(radius + ctx.settings.clip_margin_m, join_style="mitre")
    imagery = rasters.imagery_clip(ctx.rasters.imagery, clip_area)
    hillshade = rasters.hillshade_clip(ctx.rasters.elevation, clip_area)
    notes = []
    if imagery is None:
        notes.append(("Không có ảnh nền cho khu vực này", "no imagery covers this area"))
    if not valid:
        notes.append(("Ranh giới kê khai tự cắt: bản đồ vẽ ranh giới như đã nộp",
                      "the claimed boundary crosses itself: drawn as filed"))
    return FieldMapInput(
        title_vi=f"Hồ sơ {app.application_key or '#' + str(app.id)} · {app.applicant_name}",
        title_en=f"application {app.application_key or '#' + str(app.id)}",
        claim=gpd.GeoDataFrame({"application_id": [app.id]}, geometry=[geom], crs=WARD),
        claim_valid=valid, neighbours=neighbours_frame(near, stats[:-1]), pending=pending,
        findings=_findings(report),
        crossings=_crossings(geom) if not valid else empty_frame("reason", "easting",
                                                                  "northing"),
        facts=application_facts(app), imagery=imagery, hillshade=hillshade, notes=notes,
        elevation=stats[-1], flood=ctx.flood, synthetic=ctx.synthetic,
        report=({"id": report.id, "verdict": report.verdict,
                 "checked_at": report.checked_at.astimezone(clock.WARD_TIMEZONE)
                 .strftime("%d/%m/%Y %H:%M")}
                if report is not None else {}))


def _near_frame(near: Sequence[MapParcel]) -> gpd.GeoDataFrame:
    return neighbours_frame(near, [None] * len(near))


def parcel_extract_input(session: Session, ctx: MapContext, *, parcel_id: int, record_url: str,
                         printed_on: date) -> ExtractInput:
    """The extract of a registered parcel (404 when the ward has no such parcel)."""
    rec = queries.get_parcel(session, ward_code=ctx.ward_code, parcel_id=parcel_id)
    near = [p for p in near_geometry(session, ward_code=ctx.ward_code, geometry=rec.geometry,
                                     distance=EXTRACT_RADIUS_M)
            if p.parcel_id != rec.parcel_id]
    units = registry_ward.former_units(session, ctx.ward_code)
    stats = rasters.elevation_stats(ctx.rasters.elevation, [rec.geometry], ctx.flood.level_m)
    return ExtractInput(
        geometry=rec.geometry, valid=True, area_m2=float(rec.measured_area),
        neighbours=_near_frame(near), sheet_no=rec.sheet_no, parcel_no=rec.parcel_no,
        former_unit=units.get(rec.former_unit, rec.former_unit), land_use=rec.land_use,
        holders=[h.full_name for h in rec.holders or () if h.full_name], address=rec.address,
        ward_name=_ward_name(session, ctx), record_url=record_url, printed_on=printed_on,
        reference=f"thửa {rec.parcel_no}, tờ {rec.sheet_no} (mã {rec.parcel_id})",
        synthetic=ctx.synthetic,
        sheet_scale=sheet_scales(session, ctx.ward_code).get((rec.former_unit, rec.sheet_no)),
        elevation=stats[0], flood=ctx.flood)


def application_extract_input(session: Session, ctx: MapContext, *, application_id: int,
                              record_url: str, printed_on: date) -> ExtractInput:
    """The survey extract of an application's claim (the boundary as filed)."""
    app = apps.get(session, ward_code=ctx.ward_code, application_id=application_id)
    geom = from_db(app.geom)
    if geom is None or geom.is_empty:
        raise NoClaimGeometry(f"application {app.id} has no claimed boundary to draw",
                              application_id=app.id)
    valid = bool(app.geom_valid) and geom.is_valid
    near = near_geometry(session, ward_code=ctx.ward_code, geometry=geom,
                         distance=EXTRACT_RADIUS_M)
    units = registry_ward.former_units(session, ctx.ward_code)
    subject = next((p for p in near if p.parcel_id == app.parcel_id), None)
    stats = (rasters.elevation_stats(ctx.rasters.elevation, [geom], ctx.flood.level_m)
             if valid else [None])
    notes = ["Ranh giới theo hồ sơ kê khai, chưa được phê duyệt (the boundary as filed, "
             "not yet approved)."]
    if not valid:
        notes.append("Ranh giới kê khai tự cắt: diện tích không xác định; xem bản đồ thực địa.")
    unit = app.former_unit or (subject.former_unit if subject else None)
    sheet_no = app.sheet_no or (subject.sheet_no if subject else None)
    return ExtractInput(
        geometry=geom, valid=valid, area_m2=float(geom.area) if valid else None,
        neighbours=_near_frame([p for p in near if p.parcel_id != app.parcel_id]),
        sheet_no=sheet_no, parcel_no=app.parcel_no or (subject.parcel_no if subject else None),
        former_unit=units.get(unit, unit) if unit else None, land_use=app.declared_land_use,
        holders=[app.applicant_name], address=(subject.address if subject else None)
        or app.applicant_address, ward_name=_ward_name(session, ctx), record_url=record_url,
        printed_on=printed_on, reference=f"hồ sơ {app.application_key or '#' + str(app.id)}",
        synthetic=ctx.synthetic,
        sheet_scale=sheet_scales(session, ctx.ward_code).get((unit, sheet_no))
        if unit and sheet_no else None,
        elevation=stats[0], flood=ctx.flood, notes=notes)


def _ward_name(session: Session, ctx: MapContext) -> str:
    name = registry_ward.ward_name(session, ctx.ward_code) or f"Phường {ctx.ward_code}"
    return name.split(" (")[0] + ", thành phố Huế"


def ward_map_input(session: Session, ctx: MapContext) -> WardMapInput:
    """The ward overview's inline layers (parcels come as tiles)."""
    from parcels.zones import list_zones
    from projects.reads import list_segments, project_rows

    outline = registry_ward.boundary(session, ctx.ward_code)
    name = registry_ward.ward_name(session, ctx.ward_code)
    if outline is None or name is None:
        raise NoClaimGeometry(f"ward {ctx.ward_code} is not in the registry")
    units = registry_ward.former_units(session, ctx.ward_code)
    sheets = registry_ward.map_sheets(session, ctx.ward_code)
    zones, _ = list_zones(session, ward_code=ctx.ward_code, limit=1000)
    projects = [p for p in project_rows(session, ward_code=ctx.ward_code)
                if p.outline is not None]
    segments, _ = list_segments(session, ward_code=ctx.ward_code, limit=1000)
    pending: list[Application] = []
    while True:
        page, more = apps.pending_claims(session, ward_code=ctx.ward_code, limit=1000,
                                         offset=len(pending))
        pending += page
        if not more:
            break
    geoms = [g for g in (from_db(a.geom) for a in pending) if g is not None]
    return WardMapInput(
        ward_name=name,
        outline=gpd.GeoDataFrame({"code": [ctx.ward_code]}, geometry=[outline], crs=WARD),
        sheets=gpd.GeoDataFrame({
            "former_unit": [s.former_unit for s in sheets],
            "unit_name": [units.get(s.former_unit, s.former_unit) for s in sheets],
            "sheet_no": [s.sheet_no for s in sheets], "scale": [s.scale for s in sheets]},
            geometry=[s.extent for s in sheets], crs=WARD),
        zones=gpd.GeoDataFrame({"kind": [z.kind for z in zones], "name": [z.name for z in zones]},
                               geometry=[z.geometry for z in zones], crs=WARD),
        projects=gpd.GeoDataFrame({"code": [p.code for p in projects],
                                   "name_vi": [p.name_vi for p in projects],
                                   "name_en": [p.name_en for p in projects]},
                                  geometry=[p.outline for p in projects], crs=WARD),
        centrelines=gpd.GeoDataFrame({
            "project_code": [s.project_code for s in segments],
            "segment_no": [s.segment_no for s in segments],
            "left_width_m": [s.left_width_m for s in segments],
            "right_width_m": [s.right_width_m for s in segments]},
            geometry=[s.centreline for s in segments], crs=WARD),
        pending=gpd.GeoDataFrame({
            "application_id": [a.id for a in pending],
            "label": [a.application_key or f"#{a.id}" for a in pending],
            "state": [" / ".join(STATE_NAMES.get(a.state, (a.state, a.state)))
                      for a in pending],
            "received_on": [a.received_on.isoformat() for a in pending],
            "due_on": [a.due_on.isoformat() for a in pending]},
            geometry=[g.representative_point() if g.is_valid else g.envelope.centroid
                      for g in geoms], crs=WARD),
        registry_version=queries.registry_version(session, ward_code=ctx.ward_code),
        land_uses=tuple(queries.land_uses(session, ward_code=ctx.ward_code)),
        synthetic=ctx.synthetic, imagery=ctx.rasters.imagery is not None,
        hillshade=ctx.rasters.elevation is not None)


def parcel_popup(session: Session, ctx: MapContext, *, parcel_id: int) -> dict[str, Any]:
    """A parcel's facts and elevation statistics for the ward overview's popup."""
    rec = queries.get_parcel(session, ward_code=ctx.ward_code, parcel_id=parcel_id)
    units = registry_ward.former_units(session, ctx.ward_code)
    stats = rasters.elevation_stats(ctx.rasters.elevation, [rec.geometry], ctx.flood.level_m)
    row = neighbours_frame([rec], stats, units).drop(columns="geometry").iloc[0].to_dict()
    from maps.field import neighbour_popup

    return {"parcel_id": rec.parcel_id, "sheet_no": rec.sheet_no, "parcel_no": rec.parcel_no,
            "land_use": rec.land_use, "area_m2": round(float(rec.measured_area), 1),
            "elevation": stats[0].as_dict() if stats[0] else None,
            "popup": neighbour_popup(row, ctx.flood)}


def _ward_frame(fc: dict[str, Any], columns: Sequence[str]) -> gpd.GeoDataFrame:
    """A WGS 84 FeatureCollection (as the survey reads give it) back in EPSG:9214."""
    feats = [f for f in fc["features"] if f.get("geometry")]
    if not feats:
        return empty_frame(*columns)
    geoms = to_ward(np.asarray([geometry_from_geojson(f["geometry"]) for f in feats],
                               dtype=object), 4326)
    return gpd.GeoDataFrame([{c: f["properties"].get(c) for c in columns} for f in feats],
                            geometry=list(geoms), crs=WARD)


def survey_map_input(session: Session, ctx: MapContext, *, actor: Actor, batch_id: int
                     ) -> SurveyMapInput:
    """A survey batch on a map (404 for a batch the actor may not see)."""
    from parcels import surveys

    info = surveys.batch_summary(session, actor=actor, batch_id=batch_id)
    features = _ward_frame(surveys.batch_features(session, actor=actor, batch_id=batch_id),
                           ("feature", "sheet_no", "parcel_no", "land_use", "match",
                            "measured_area_m2", "open_errors"))
    findings = _ward_frame(surveys.batch_findings(session, actor=actor, batch_id=batch_id),
                           ("rule", "severity", "message_vi", "message_en", "features"))
    near: list[MapParcel] = []
    imagery = None
    if len(features):
        extent = shapely.union_all(list(features.geometry)).envelope
        near = near_geometry(session, ward_code=ctx.ward_code, geometry=extent,
                             distance=ctx.settings.clip_margin_m)
        imagery = rasters.imagery_clip(ctx.rasters.imagery,
                                       extent.buffer(ctx.settings.clip_margin_m))
    return SurveyMapInput(batch_id=batch_id, file_name=info["file_name"], state=info["state"],
                          uploaded_by=info["uploaded_by"], features=features,
                          findings=findings, neighbours=_near_frame(near), imagery=imagery,
                          synthetic=ctx.synthetic)


def project_map_input(session: Session, ctx: MapContext, *, code: str,
                      section: str | None = None) -> tuple[ImpactMapInput, Any]:
    """A road project's impact map: the projects module's impact of the corridor in force
    (the adopted alternative), with each parcel's outline; also the impact itself."""
    from projects import impact as project_impact

    inputs = project_impact.gather(session, ward_code=ctx.ward_code, code=code, section=section)
    result = project_impact.evaluate(inputs)
    centrelines = [(" · ".join(x for x in (e.section_code, e.name, f"#{e.segment_no}") if x),
                    e.centreline) for e in inputs.elements if e.centreline is not None]
    data = impact.from_parcel_impacts(
        result.parcels, geometries={p.parcel_id: p.geometry for p in inputs.parcels},
        code=code + (f" · {section}" if section else ""), name_vi=inputs.project.name_vi,
        name_en=inputs.project.name_en, redline=inputs.redline, safety=inputs.safety,
        centrelines=centrelines, synthetic=ctx.synthetic or inputs.project.synthetic)
    return data, result

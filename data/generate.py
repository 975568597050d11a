"""Generate the synthetic Kim Long ward: ``ward.gpkg``, ``elevation.tif``, ``imagery.tif``.

The one entry point is :func:`generate`.  It is deterministic: every random
draw comes from a stream keyed by (seed, part), every collection is iterated
in a fixed order, and the GeoPackage is written with a fixed creation date,
so the same seed and size give the same features and the same files.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely.geometry import Polygon

from data.applications import Application, Situation, plan_backlog
from data.frame import UNITS, Frame, Size, build_frame
from data.imagery import imagery_interest, write_elevation, write_imagery
from data.intake import build_intake
from data.manifest import GENERATOR_VERSION, NOTICE, Manifest, content_hash, file_hash
from data.parcels import STATE_USES, Pieces, build_parcels, representative_points
from data.people import UNIT_NAMES, build_people, full_names
from data.projects import Project, build_projects
from data.roads import build_roads, road_land
from data.seeds import rng_for
from data.sheets import Sheet, number_parcels
from data.zones import Zone, build_zones
from gis.crs import WARD

CRS: Final = f"EPSG:{WARD}"
REGISTERED_SHARE: Final = 0.85
FULL_PARCELS: Final = 45_000
"""Parcel count the full-size proportions are scaled from."""
FIXED_DATE: Final = "2025-08-25T00:00:00Z"


def generate(*, size: Size, seed: int, out: Path, outline: Polygon) -> Manifest:
    """Write the synthetic ward for ``size`` and ``seed`` into ``out`` and return its manifest."""
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    frame = build_frame(outline, size, seed)
    roads = build_roads(frame, rng_for(seed, "roads"))
    land = road_land(frame, roads)
    pieces = _ordered(frame, build_parcels(frame, roads, land, rng_for(seed, "parcels")))
    geoms, uses, units = pieces.geometry, pieces.land_use, pieces.unit
    sheets, sheet_no, parcel_no = pieces.sheets, pieces.sheet_no, pieces.parcel_no
    n = len(geoms)
    keys = [f"P{i + 1:06d}" for i in range(n)]
    projects = build_projects(frame)
    zones = build_zones(frame, projects)
    state = np.array([u in STATE_USES for u in uses])
    scale = 1.0 if size == "full" else n / FULL_PARCELS
    sit = Situation(
        geoms=geoms, land_use=uses, state=state, area=frame.area,
        redline=shapely.union_all([z.geometry for z in zones if z.kind == "road_redline"]),
        protection=shapely.union_all([z.geometry for z in zones if z.kind != "road_redline"]),
    )
    names = full_names(rng_for(seed, "applicants"), 200 + int(4_000 * scale))
    backlog = plan_backlog(sit, rng_for(seed, "backlog"), scale, names)
    registered = _registration(sit, rng_for(seed, "registration"))
    legal = _legal_areas(geoms, rng_for(seed, "legal_area"))
    reg_idx = [int(i) for i in np.flatnonzero(registered)]
    parties, rights = build_people(rng_for(seed, "people"), [keys[i] for i in reg_idx],
                                   [units[i] for i in reg_idx])
    party_name = {p.party_key: p.full_name for p in parties}
    key_to_idx = {k: i for i, k in enumerate(keys)}
    holder: dict[int, str] = {}
    for r in rights:
        holder.setdefault(key_to_idx[r.parcel_key], party_name[r.party_key])
    pool_rng = rng_for(seed, "pool")
    pool = [int(i) for i in pool_rng.permutation(n)
            if not registered[i] and sit.plain[i] and int(i) not in sit.used]
    intake = build_intake(rng_for(seed, "intake"), scale, pool=pool, registered=reg_idx,
                          geoms=geoms, land_use=uses, legal_area=legal, holder_name=holder,
                          names=names[len(backlog):])
    apps = backlog + intake

    gpkg = out / "ward.gpkg"
    layers = {
        "ward": _ward_layer(frame, size),
        "former_units": gpd.GeoDataFrame(
            {"code": [u.code for u in frame.units], "name_vi": [u.name_vi for u in frame.units]},
            geometry=[u.geometry for u in frame.units], crs=CRS),
        "map_sheets": _sheets_layer(sheets),
        "parcels": gpd.GeoDataFrame({
            "parcel_key": keys, "former_unit": units, "sheet_no": sheet_no,
            "parcel_no": parcel_no, "land_use": uses, "legal_area": legal,
            "address": _addresses(rng_for(seed, "address"), units, sheet_no, parcel_no, uses),
            "registered": registered,
        }, geometry=geoms, crs=CRS),
        "parties": pd.DataFrame([vars(p) for p in parties]),
        "rights": pd.DataFrame([{**vars(r), "issued_on": r.issued_on.isoformat()}
                                for r in rights]),
        "zones": _zones_layer(zones),
        "projects": _projects_layer(projects, frame),
        "project_sections": _sections_layer(projects, frame),
        "project_segments": _segments_layer(projects, frame),
        "applications": _applications_layer(apps, keys, units, sheet_no, parcel_no),
    }
    _write_gpkg(gpkg, layers, seed, size)
    write_elevation(str(out / "elevation.tif"), frame.terrain, frame.area, frame.river,
                    rng_for(seed, "dem"))
    interest = imagery_interest(frame.area, frame.urban,
                                [z.geometry for z in zones if z.kind == "road_redline"],
                                whole=size != "full")
    write_imagery(str(out / "imagery.tif"), geoms, uses, interest, rng_for(seed, "imagery"))

    manifest = _manifest(seed, size, layers, apps, out)
    manifest.seconds = round(time.perf_counter() - started, 2)
    manifest.write(out / "manifest.json")
    return manifest


class _Ordered(Pieces):
    sheets: list[Sheet]
    sheet_no: np.ndarray
    parcel_no: np.ndarray


def _ordered(frame: Frame, pieces: Pieces) -> _Ordered:
    """Number the parcels and put them in (former unit, sheet, parcel) order: the key order."""
    pts = representative_points(pieces.geometry)
    sheets, sheet_no, parcel_no = number_parcels(frame.units, frame.urban, pieces.unit, pts)
    unit_rank = {code: k for k, (code, _, _) in enumerate(UNITS)}
    rank = np.array([unit_rank[u] for u in pieces.unit])
    order = np.lexsort((parcel_no, sheet_no, rank))
    out = _Ordered()
    out.geometry = [pieces.geometry[i] for i in order]
    out.land_use = [pieces.land_use[i] for i in order]
    out.unit = [pieces.unit[i] for i in order]
    out.kind = [pieces.kind[i] for i in order]
    out.sheets, out.sheet_no, out.parcel_no = sheets, sheet_no[order], parcel_no[order]
    return out


def _registration(sit: Situation, rng: np.random.Generator) -> np.ndarray:
    """About 85% of the land that can be held is registered; the backlog's parcels are not."""
    registered = ~sit.state
    for i in sit.must_not_register:
        registered[i] = False
    candidates = np.array([i for i in np.flatnonzero(~sit.state)
                           if int(i) not in sit.must_register
                           and int(i) not in sit.must_not_register], dtype=np.int64)
    target = round((1 - REGISTERED_SHARE) * int((~sit.state).sum())) - len(sit.must_not_register)
    if target > 0 and len(candidates):
        registered[rng.choice(candidates, size=min(target, len(candidates)), replace=False)] = False
    return registered


def _legal_areas(geoms: list[Polygon], rng: np.random.Generator) -> np.ndarray:
    """Legal area = measured, rounded to 0.1 m²; one in seven papers differs a little."""
    measured = shapely.area(np.asarray(geoms, dtype=object))
    drift = np.where(rng.random(len(geoms)) < 0.15, rng.normal(0.0, 0.012, len(geoms)), 0.0)
    return np.round(measured * (1.0 + drift), 1)


def _addresses(rng: np.random.Generator, units: list[str], sheet_no: np.ndarray,
               parcel_no: np.ndarray, uses: list[str]) -> list[str]:
    out = []
    for u, s, p, use in zip(units, sheet_no, parcel_no, uses, strict=True):
        if use in ("ODT", "TMD"):
            out.append(f"Số {2 * int(p) + int(rng.integers(0, 2))} đường Số {int(s)}, "
                       f"khu vực {UNIT_NAMES[u]}, phường Kim Long, TP Huế")
        else:
            out.append(f"Tổ {int(rng.integers(1, 25))}, khu vực {UNIT_NAMES[u]}, "
                       "phường Kim Long, TP Huế")
    return out


def _ward_layer(frame: Frame, size: str) -> gpd.GeoDataFrame:
    coverage = "whole ward" if size == "full" else f"window of the ward (size {size})"
    return gpd.GeoDataFrame({"code": ["19774"], "name": ["Phường Kim Long"], "synthetic": [True],
                             "coverage": [coverage], "notice": [NOTICE]},
                            geometry=[frame.area], crs=CRS)


def _sheets_layer(sheets: list[Sheet]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "former_unit": [s.former_unit for s in sheets], "sheet_no": [s.sheet_no for s in sheets],
        "scale": [s.scale for s in sheets]}, geometry=[s.geometry for s in sheets], crs=CRS)


def _zones_layer(zones: list[Zone]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "zone_key": [z.zone_key for z in zones], "kind": [z.kind for z in zones],
        "name": [z.name for z in zones], "project_code": [z.project_code for z in zones]},
        geometry=[z.geometry for z in zones], crs=CRS)


def _projects_layer(projects: list[Project], frame: Frame) -> gpd.GeoDataFrame:
    projects = [p for p in projects if not p.redline(frame.area).is_empty]
    return gpd.GeoDataFrame({
        "project_code": [p.code for p in projects], "name_vi": [p.name_vi for p in projects],
        "name_en": [p.name_en for p in projects],
        "description": [p.description for p in projects],
        "status": [p.status for p in projects], "adopted": [p.adopted for p in projects]},
        geometry=[p.redline(frame.area) for p in projects], crs=CRS)


def _sections_layer(projects: list[Project], frame: Frame) -> pd.DataFrame:
    projects = [p for p in projects if not p.redline(frame.area).is_empty]
    return pd.DataFrame([{"project_code": p.code, "code": s.code, "name_vi": s.name_vi,
                          "name_en": s.name_en, "phase": s.phase, "description": s.description}
                         for p in projects for s in p.sections],
                        columns=["project_code", "code", "name_vi", "name_en", "phase",
                                 "description"])


def _segments_layer(projects: list[Project], frame: Frame) -> gpd.GeoDataFrame:
    rows: list[dict[str, Any]] = []
    geoms = []
    for p in projects:
        for alt, segments in sorted(p.alternatives.items()):
            for s in segments:
                inside = shapely.intersection(s.geometry, frame.area)
                parts = [g for g in shapely.get_parts(inside) if g.length > 1.0]
                if not parts:
                    continue
                rows.append({"project_code": s.project_code, "alternative": alt,
                             "segment_no": s.segment_no, "section_code": s.section_code,
                             "name": s.name, "left_width_m": s.left_width_m,
                             "right_width_m": s.right_width_m,
                             "existing_width_m": s.existing_width_m,
                             "gives_access": s.gives_access, "safety_m": s.safety_m})
                geoms.append(max(parts, key=lambda g: g.length))  # the longest piece inside
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=CRS)


def _applications_layer(apps: list[Application], keys: list[str], units: list[str],
                        sheet_no: np.ndarray, parcel_no: np.ndarray) -> gpd.GeoDataFrame:
    order = sorted(range(len(apps)), key=lambda k: (apps[k].cohort != "backlog",
                                                   apps[k].received_at, k))
    rows = []
    for n, k in enumerate(order, start=1):
        a = apps[k]
        i = a.parcel
        rows.append({
            "application_key": f"A{n:06d}", "cohort": a.cohort, "procedure": a.procedure,
            "received_at": a.received_at.isoformat(), "channel": a.channel, "state": a.state,
            "decided_at": a.decided_at.isoformat() if a.decided_at else None,
            "applicant_name": a.applicant_name, "declared_area": a.declared_area,
            "declared_land_use": a.declared_land_use,
            "parcel_key": keys[i] if i is not None else None,
            "former_unit": units[i] if i is not None else None,
            "sheet_no": int(sheet_no[i]) if i is not None else None,
            "parcel_no": int(parcel_no[i]) if i is not None else None,
            "expected_rule": a.expected_rule, "expected_verdict": a.expected_verdict,
            "defect": ";".join(f"{k}={v:.3f}" for k, v in sorted(a.defect.items())) or None,
        })
    frame = gpd.GeoDataFrame(rows, geometry=[apps[k].geometry for k in order], crs=CRS)
    for col in ("sheet_no", "parcel_no"):
        frame[col] = frame[col].astype("Int64")
    return frame


def _write_gpkg(path: Path, layers: dict[str, pd.DataFrame], seed: int, size: str) -> None:
    if path.exists():
        path.unlink()
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_DATE})
    try:
        for name, df in layers.items():
            meta = {"SYNTHETIC": NOTICE, "seed": str(seed), "size": size}
            if isinstance(df, gpd.GeoDataFrame):
                geom_type = {"project_segments": "LineString", "projects": "Unknown"}.get(
                    name, "Polygon")
                pyogrio.write_dataframe(df, path, layer=name, driver="GPKG",
                                        geometry_type=geom_type, layer_metadata=meta,
                                        layer_options={"DESCRIPTION": f"{NOTICE}: {name}"})
            else:
                pyogrio.write_dataframe(df, path, layer=name, driver="GPKG", layer_metadata=meta,
                                        layer_options={"DESCRIPTION": f"{NOTICE}: {name}"})
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


def _manifest(seed: int, size: str, layers: dict[str, pd.DataFrame], apps: list[Application],
              out: Path) -> Manifest:
    from data.outline import LICENCE, SOURCE_PATH, SOURCE_REPO

    m = Manifest(seed=seed, size=size)
    m.real_inputs = {"outline": f"{SOURCE_REPO}:{SOURCE_PATH} ({LICENCE}); everything else "
                                "in these files is invented"}
    m.counts = {name: len(df) for name, df in layers.items()}
    m.land_use = dict(sorted(Counter(layers["parcels"]["land_use"]).items()))
    backlog = [a for a in apps if a.cohort == "backlog"]
    intake = [a for a in apps if a.cohort == "intake_2025"]
    decided = [a for a in intake if a.decided_at is not None]
    from data.applications import STATUTORY_DAYS
    from data.calendar import add_working_days
    late = sum(a.decided_at is not None and a.decided_at.date() > add_working_days(
        a.received_at.date(), STATUTORY_DAYS[a.procedure]) for a in intake)
    m.applications = {
        "backlog_by_rule": dict(sorted(Counter(str(a.expected_rule) for a in backlog).items())),
        "intake": len(intake),
        "intake_by_procedure": dict(sorted(Counter(a.procedure for a in intake).items())),
        "intake_online_share": round(sum(a.channel == "online" for a in intake) / len(intake), 4),
        "intake_on_time_share": round((len(decided) - late) / len(intake), 4),
        "intake_late_share": round(late / len(intake), 4),
        "intake_in_progress_share": round((len(intake) - len(decided)) / len(intake), 4),
    }
    table = layers["applications"]
    m.planted_defects = [
        {"application_key": r.application_key, "expected_rule": r.expected_rule,
         "expected_verdict": r.expected_verdict, "parcel_key": r.parcel_key, "defect": r.defect}
        for r in table.itertuples() if r.cohort == "backlog" and r.expected_rule != "clean"
    ]
    m.content_sha256 = {name: content_hash(df if isinstance(df, gpd.GeoDataFrame)
                                           else gpd.GeoDataFrame(df, geometry=[None] * len(df)))
                        for name, df in layers.items()}
    m.files = {p.name: file_hash(p) for p in sorted(out.glob("*")) if p.suffix in (".gpkg", ".tif")}
    return m


def cache_folder(state_dir: Path, size: str, seed: int) -> Path:
    """Where a generated ward is cached: keyed on size, seed and generator version, so a
    changed generator never serves a stale ward."""
    return state_dir / "demo" / f"{size}-seed{seed}-v{GENERATOR_VERSION}"

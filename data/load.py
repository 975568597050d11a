"""Load a generated demo ward (``ward.gpkg``) into the registry, once, in one transaction.

The load is recorded as a source document of kind ``demo_load`` carrying the
manifest's content hashes; loading the same data again is a no-op, and a
database that already holds another ward's parcels is never touched.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd
import pyogrio
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from config import clock
from data.load_applications import load_applications
from data.outline import neighbour_wards
from data.people import UNIT_NAMES
from db import audit
from db.audit import Actor
from db.engine import transaction
from gis import crs as gcrs
from parcels.bulk import bulk_register
from parcels.queries import count_parcels
from parcels.registry import DEMO_LOAD, Source, latest_source_number, record_source
from parcels.rights import PartyDetails, UseRight, add_parties, grant_use_rights
from parcels.ward import FormerUnit, MapSheet, record_frame, ward_exists
from parcels.zones import NewZone, record_zones

WARD_CODE = "19774"
RECORDED_AT = datetime(2024, 8, 1, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
"""The instant the synthetic registry is stamped as recorded (versions, rights, zones,
corridors): 1 August 2024, the Land Law 2024's first day, before every demo application and
before the demo's clock, so that a change made while the demo runs closes versions that
began earlier, whatever the host's date when the ward was loaded."""
DEMO_ACTOR = Actor(username="demo-loader", role="admin", ward_code=WARD_CODE)


@dataclass(frozen=True)
class LoadResult:
    loaded: bool
    parcels: int
    message: str


def _layer(path: Path, name: str) -> gpd.GeoDataFrame | pd.DataFrame:
    return pyogrio.read_dataframe(path, layer=name)


def loaded_fingerprint(session: Session) -> str | None:
    return latest_source_number(session, ward_code=WARD_CODE, kind=DEMO_LOAD)


def load_neighbour_wards(engine: Engine, external_dir: Path) -> int:
    """Enter the real outlines of the wards around Kim Long (not synthetic; no parcels) so
    that a parcel reaching out of the ward names the ward it reaches into; returns how many
    were new."""
    added = 0
    with transaction(engine) as s:
        for n in neighbour_wards(external_dir):
            if not ward_exists(s, n.code):
                record_frame(s, ward_code=n.code, name=n.name, boundary=n.boundary,
                             synthetic=False, units=(), sheets=())
                added += 1
    return added


def load_demo(engine: Engine, folder: Path, *,
              progress: Callable[[str, int, int], None] | None = None) -> LoadResult:
    """Load ``folder``'s ward.gpkg (made by :func:`data.generate.generate`) into the registry."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    fingerprint = manifest["content_sha256"]["parcels"][:16] + "-" + manifest["size"]
    gpkg = folder / "ward.gpkg"
    with transaction(engine) as s:
        found = loaded_fingerprint(s)
        if found == fingerprint:
            n = count_parcels(s, ward_code=WARD_CODE)
            added = load_applications(s, gpkg)  # a ward loaded before applications existed
            return LoadResult(added > 0, n, f"demo ward already loaded ({n} parcels)"
                              + (f"; {added} applications added" if added else ""))
        if found is not None or count_parcels(s, ward_code=WARD_CODE):
            return LoadResult(False, 0, "the registry already holds other data for ward "
                              f"{WARD_CODE}; not loading the demo over it (use a fresh "
                              "CADASTRE_HOME or database)")
        with clock.running_at(RECORDED_AT):
            _load(s, gpkg, manifest, fingerprint, progress)
        n = count_parcels(s, ward_code=WARD_CODE)
    with engine.connect() as c:
        c.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return LoadResult(True, n, f"loaded {n} synthetic parcels")


def _load(s: Session, gpkg: Path, manifest: dict[str, Any], fingerprint: str,
          progress: Callable[[str, int, int], None] | None) -> None:
    def step(name: str, done: int, total: int) -> None:
        if progress:
            progress(name, done, total)

    units = _layer(gpkg, "former_units")
    boundaries = dict(zip(units["code"], units.geometry, strict=True))
    sheets = _layer(gpkg, "map_sheets")
    record_frame(
        s, ward_code=WARD_CODE, name="Phường Kim Long (dữ liệu mô phỏng / synthetic demo)",
        boundary=_layer(gpkg, "ward").geometry.iloc[0], synthetic=True,
        units=[FormerUnit(code, name, boundaries.get(code)) for code, name in UNIT_NAMES.items()],
        sheets=[MapSheet(u, int(n), int(sc), g) for u, n, sc, g in zip(
            sheets["former_unit"], sheets["sheet_no"], sheets["scale"], sheets.geometry,
            strict=True)])

    parcels = _layer(gpkg, "parcels")
    parcels = parcels.set_crs(gcrs.WARD, allow_override=True)
    total = len(parcels)
    done = 0

    def tick(k: int) -> None:
        nonlocal done
        done += k
        step("parcels", done, total)

    source_id = record_source(s, DEMO_ACTOR, Source(
        kind=DEMO_LOAD, number=fingerprint,
        description=f"{manifest['notice']}; seed {manifest['seed']}, size {manifest['size']}"))
    ids = bulk_register(s, actor=DEMO_ACTOR, parcels=parcels, source_id=source_id,
                        reason="synthetic demo ward load", progress=tick)
    parcel_id = dict(zip(parcels["parcel_key"], ids, strict=True))

    parties = _layer(gpkg, "parties")
    party_id = dict(zip(parties["party_key"], add_parties(s, ward_code=WARD_CODE, parties=[
        PartyDetails(n, i, a) for n, i, a in zip(
            parties["full_name"], parties["id_number"], parties["address"], strict=True)]),
        strict=True))
    step("parties", len(parties), len(parties))

    rights = _layer(gpkg, "rights")
    grant_use_rights(s, ward_code=WARD_CODE, source_id=source_id,
                     recorded_by=DEMO_ACTOR.username, rights=[
                         UseRight(parcel_id[p], party_id[y], c, date.fromisoformat(str(d)[:10]))
                         for p, y, c, d in zip(rights["parcel_key"], rights["party_key"],
                                               rights["certificate_no"], rights["issued_on"],
                                               strict=True)])
    step("rights", len(rights), len(rights))

    record_zones(s, ward_code=WARD_CODE, source="synthetic demo", synthetic=True, zones=[
        NewZone(z.zone_key, z.kind, z.name, z.geometry,
                z.project_code if isinstance(z.project_code, str) else None)
        for z in _layer(gpkg, "zones").itertuples()])
    load_projects(s, gpkg)
    step("applications", load_applications(s, gpkg), 1)
    audit.record(s, actor=DEMO_ACTOR, action="demo_load", entity="ward", entity_ids=[WARD_CODE],
                 reason="synthetic demo ward",
                 detail={"fingerprint": fingerprint, "counts": manifest["counts"]})


DEMO_OFFICER = Actor(username="demo-loader", role="land_officer", ward_code=WARD_CODE)
"""The loader records the demo's road projects as the ward's land officer would."""


def load_projects(s: Session, gpkg: Path) -> None:
    """Ring Road 3 with its sections and both alternatives' corridors (version 1 each),
    through the same domain functions a land officer's request uses."""
    from projects import corridors as pc
    from projects.records import ProjectSpec, SectionSpec

    projects = _layer(gpkg, "projects")
    sections = _layer(gpkg, "project_sections")
    segments = _layer(gpkg, "project_segments")
    for p in projects.itertuples():
        mine = segments[segments["project_code"] == p.project_code]

        spec = ProjectSpec(
            code=p.project_code, name_vi=p.name_vi, name_en=p.name_en,
            description=p.description, status=p.status, synthetic=True,
            sections=[SectionSpec(r.code, r.name_vi, r.name_en, int(r.phase), r.description)
                      for r in sections[sections["project_code"] == p.project_code]
                      .itertuples()],
            corridor=_corridor(p.adopted, mine[mine["alternative"] == p.adopted], p.adopted))
        pc.create_project(s, actor=DEMO_OFFICER, spec=spec,
                          reason="synthetic demo ward: invented road project")
        for alt in sorted(set(mine["alternative"]) - {p.adopted}):
            pc.new_corridor_version(s, actor=DEMO_OFFICER, code=p.project_code,
                                    spec=_corridor(alt, mine[mine["alternative"] == alt],
                                                   p.adopted),
                                    reason="synthetic demo ward: an invented alternative")


def _corridor(alternative: str, rows: pd.DataFrame, adopted: str) -> Any:
    from projects.records import CorridorSpec, ElementSpec

    return CorridorSpec(alternative=alternative, label=(
        "phương án chọn (giả lập)" if alternative == adopted
        else f"phương án {alternative} (giả lập)"), elements=[ElementSpec(
            section_code=g.section_code, name=g.name, centreline=g.geometry,
            left_width_m=float(g.left_width_m), right_width_m=float(g.right_width_m),
            existing_width_m=None if pd.isna(g.existing_width_m) else float(g.existing_width_m),
            gives_access=bool(g.gives_access),
            safety_m=None if pd.isna(g.safety_m) else float(g.safety_m))
            for g in rows.sort_values("segment_no").itertuples()])

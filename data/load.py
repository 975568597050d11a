"""Load a generated demo ward (``ward.gpkg``) into the registry, once, in one transaction.

The load is recorded as a source document of kind ``demo_load`` carrying the
manifest's content hashes; loading the same data again is a no-op, and a
database that already holds another ward's parcels is never touched.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd
import pyogrio
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from config import clock
from data.load_applications import load_applications
from data.people import UNIT_NAMES
from db import audit
from db.audit import Actor
from db.engine import transaction
from gis import crs as gcrs
from gis.convert import to_ewkb
from parcels.bulk import bulk_register
from parcels.registry import Source

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


def _multi(geom: Any) -> MultiPolygon:
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    return geom


def loaded_fingerprint(session: Session) -> str | None:
    return session.execute(text(
        "SELECT number FROM source_document WHERE kind = 'demo_load' AND ward_code = :w "
        "ORDER BY id DESC LIMIT 1"), {"w": WARD_CODE}).scalar_one_or_none()


def load_demo(engine: Engine, folder: Path, *,
              progress: Callable[[str, int, int], None] | None = None) -> LoadResult:
    """Load ``folder``'s ward.gpkg (made by :func:`data.generate.generate`) into the registry."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    fingerprint = manifest["content_sha256"]["parcels"][:16] + "-" + manifest["size"]
    gpkg = folder / "ward.gpkg"
    with transaction(engine) as s:
        found = loaded_fingerprint(s)
        if found == fingerprint:
            n = s.execute(text("SELECT count(*) FROM parcel WHERE ward_code = :w"),
                          {"w": WARD_CODE}).scalar_one()
            added = load_applications(s, gpkg)  # a ward loaded before applications existed
            return LoadResult(added > 0, n, f"demo ward already loaded ({n} parcels)"
                              + (f"; {added} applications added" if added else ""))
        if found is not None or s.execute(text(
                "SELECT count(*) FROM parcel WHERE ward_code = :w"), {"w": WARD_CODE}
        ).scalar_one():
            return LoadResult(False, 0, "the registry already holds other data for ward "
                              f"{WARD_CODE}; not loading the demo over it (use a fresh "
                              "CADASTRE_HOME or database)")
        with clock.running_at(RECORDED_AT):
            _load(s, gpkg, manifest, fingerprint, progress)
        n = s.execute(text("SELECT count(*) FROM parcel WHERE ward_code = :w"),
                      {"w": WARD_CODE}).scalar_one()
    with engine.connect() as c:
        c.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return LoadResult(True, n, f"loaded {n} synthetic parcels")


def _load(s: Session, gpkg: Path, manifest: dict[str, Any], fingerprint: str,
          progress: Callable[[str, int, int], None] | None) -> None:
    def step(name: str, done: int, total: int) -> None:
        if progress:
            progress(name, done, total)

    ward = _layer(gpkg, "ward")
    s.execute(text(
        "INSERT INTO ward (code, name, boundary, synthetic) VALUES (:c, :n, "
        "ST_GeomFromEWKB(:g), true) ON CONFLICT (code) DO NOTHING"),
        {"c": WARD_CODE, "n": "Phường Kim Long (dữ liệu mô phỏng / synthetic demo)",
         "g": to_ewkb(_multi(ward.geometry.iloc[0]), gcrs.WARD)})
    units = _layer(gpkg, "former_units")
    present = set(units["code"])
    for code, name in UNIT_NAMES.items():
        row = units[units["code"] == code]
        geom = to_ewkb(_multi(row.geometry.iloc[0]), gcrs.WARD) if code in present else None
        s.execute(text("INSERT INTO former_unit (ward_code, code, name, boundary) VALUES "
                       "(:w, :c, :n, ST_GeomFromEWKB(:g)) ON CONFLICT DO NOTHING"),
                  {"w": WARD_CODE, "c": code, "n": name, "g": geom})
    sheets = _layer(gpkg, "map_sheets")
    s.execute(text("INSERT INTO map_sheet (ward_code, former_unit, sheet_no, scale, extent) "
                   "SELECT :w, u, n, sc, ST_GeomFromEWKB(g) FROM unnest("
                   "CAST(:u AS text[]), CAST(:n AS int[]), CAST(:sc AS int[]), "
                   "CAST(:g AS bytea[])) AS t(u, n, sc, g)"),
              {"w": WARD_CODE, "u": list(sheets["former_unit"]),
               "n": [int(x) for x in sheets["sheet_no"]], "sc": [int(x) for x in sheets["scale"]],
               "g": [to_ewkb(g, gcrs.WARD) for g in sheets.geometry]})

    parcels = _layer(gpkg, "parcels")
    parcels = parcels.set_crs(gcrs.WARD, allow_override=True)
    total = len(parcels)
    done = 0

    def tick(k: int) -> None:
        nonlocal done
        done += k
        step("parcels", done, total)

    ids = bulk_register(
        s, actor=DEMO_ACTOR, parcels=parcels, reason="synthetic demo ward load",
        source=Source(kind="demo_load", number=fingerprint,
                      description=f"{manifest['notice']}; seed {manifest['seed']}, "
                                  f"size {manifest['size']}"),
        progress=tick)
    key_to_id = dict(zip(parcels["parcel_key"], ids, strict=True))
    s.execute(text("CREATE TEMP TABLE demo_parcel_key (key text PRIMARY KEY, id bigint) "
                   "ON COMMIT DROP"))
    s.execute(text("INSERT INTO demo_parcel_key SELECT * FROM unnest(CAST(:k AS text[]), "
                   "CAST(:i AS bigint[]))"),
              {"k": list(key_to_id), "i": list(key_to_id.values())})

    parties = _layer(gpkg, "parties")
    s.execute(text("CREATE TEMP TABLE demo_party_key (key text PRIMARY KEY, id bigint) "
                   "ON COMMIT DROP"))
    s.execute(text(
        "WITH ins AS (INSERT INTO party (ward_code, kind, full_name, id_number, address) "
        "SELECT :w, 'person', n, i, a FROM unnest(CAST(:n AS text[]), CAST(:i AS text[]), "
        "CAST(:a AS text[]), CAST(:k AS text[])) WITH ORDINALITY AS t(n, i, a, k, o) ORDER BY o "
        "RETURNING id, id_number) "
        "INSERT INTO demo_party_key SELECT t.k, ins.id FROM ins JOIN unnest(CAST(:i AS text[]), "
        "CAST(:k AS text[])) AS t(i, k) ON t.i = ins.id_number"),
        {"w": WARD_CODE, "n": list(parties["full_name"]), "i": list(parties["id_number"]),
         "a": list(parties["address"]), "k": list(parties["party_key"])})
    step("parties", len(parties), len(parties))

    rights = _layer(gpkg, "rights")
    s.execute(text(
        "INSERT INTO parcel_right (ward_code, parcel_id, party_id, kind, certificate_no, "
        "issued_on, valid_from, recorded_by, source_document_id) "
        "SELECT :w, pk.id, yk.id, 'use_right', t.c, CAST(t.d AS date), :t, :by, "
        "(SELECT max(id) FROM source_document WHERE kind = 'demo_load') "
        "FROM unnest(CAST(:p AS text[]), CAST(:y AS text[]), CAST(:c AS text[]), "
        "CAST(:d AS text[])) AS t(p, y, c, d) "
        "JOIN demo_parcel_key pk ON pk.key = t.p JOIN demo_party_key yk ON yk.key = t.y"),
        {"w": WARD_CODE, "by": DEMO_ACTOR.username, "t": clock.now(),
         "p": list(rights["parcel_key"]),
         "y": list(rights["party_key"]), "c": list(rights["certificate_no"]),
         "d": [str(x)[:10] for x in rights["issued_on"]]})
    step("rights", len(rights), len(rights))

    zones = _layer(gpkg, "zones")
    for z in zones.itertuples():
        s.execute(text(
            "INSERT INTO zone (ward_code, zone_key, kind, name, project_code, geom, synthetic, "
            "source, valid_from) VALUES (:w, :k, :kind, :n, :p, ST_Multi(ST_GeomFromEWKB(:g)), "
            "true, 'synthetic demo', :t)"),
            {"w": WARD_CODE, "t": clock.now(), "k": z.zone_key, "kind": z.kind, "n": z.name,
             "p": z.project_code if isinstance(z.project_code, str) else None,
             "g": to_ewkb(z.geometry, gcrs.WARD)})
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

    projects = _layer(gpkg, "projects")
    sections = _layer(gpkg, "project_sections")
    segments = _layer(gpkg, "project_segments")
    for p in projects.itertuples():
        mine = segments[segments["project_code"] == p.project_code]

        spec = pc.ProjectSpec(
            code=p.project_code, name_vi=p.name_vi, name_en=p.name_en,
            description=p.description, status=p.status, synthetic=True,
            sections=[pc.SectionSpec(r.code, r.name_vi, r.name_en, int(r.phase), r.description)
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
    from projects import corridors as pc

    return pc.CorridorSpec(alternative=alternative, label=(
        "phương án chọn (giả lập)" if alternative == adopted
        else f"phương án {alternative} (giả lập)"), elements=[pc.ElementSpec(
            section_code=g.section_code, name=g.name, centreline=g.geometry,
            left_width_m=float(g.left_width_m), right_width_m=float(g.right_width_m),
            existing_width_m=None if pd.isna(g.existing_width_m) else float(g.existing_width_m),
            gives_access=bool(g.gives_access),
            safety_m=None if pd.isna(g.safety_m) else float(g.safety_m))
            for g in rows.sort_values("segment_no").itertuples()])

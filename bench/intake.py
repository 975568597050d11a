"""Benchmark survey intake: upload, validate against the demo ward, commit; per format.

    .venv/bin/python bench/intake.py                 # 10,000 parcels against the full ward
    .venv/bin/python bench/intake.py --size tiny     # CI smoke: 200 parcels, tiny ward

The demo ward (data.generate, seed 2025) is reused from .cadastre/demo/<size>-seed2025
or .cadastre/bench/intake-<size>-seed2025 when present, generated otherwise, and
loaded (in a child process, so that its memory is not counted) into a database of
its own, ``cadastre_bench_intake``, dropped and rebuilt each run.  The batch is the
first N parcels of the ward re-measured: every feature should match its parcel and
become a new version (the GeoPackage and Shapefile by number, the DXF, which has
no numbers, by position).  Each file goes through the ASGI app (the HTTP upload,
then the officer's commit); stage times inside the upload are taken by wrapping
the domain functions.  Targets: the whole cycle < 20 s for 10,000 parcels; peak
memory of this process (the server side) < 1 GiB.  A refused upload, a feature not
matched to its parcel, or a commit that did not land (every parcel of the batch with a
new current version from the batch's source document) exits 1.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ezdxf
import geopandas as gpd
import pyogrio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import analyze, bench_engine, demo_folder, expect, peak_mb
from gis.crs import WARD

DATABASE = "cadastre_bench_intake"
SIZES = {"tiny": ("small", 200), "full": ("full", 10_000)}
"""--size tiny uses the small ward (≈1,900 parcels): the tiny one is a window too narrow
for a contiguous batch."""
SEED = 2025


def load(folder: str) -> None:
    """Child process: fresh database, demo ward loaded, one surveyor and one officer."""
    from api.users import add_user
    from data.load import load_demo
    from db.audit import system_actor
    from db.engine import transaction

    engine, settings = bench_engine(DATABASE)
    t = time.perf_counter()
    result = load_demo(engine, Path(folder))
    # `cadastre demo` loads as the owner, whose closing ANALYZE covers every table; the
    # service role's ANALYZE skips tables it does not own, which left the parcel versions with
    # no statistics and the first commit's registry probe planned as 47,368 batch scans.
    analyze(settings)
    system = system_actor(settings.data.ward_code)
    with transaction(engine) as s:
        add_user(s, actor=system, username="bench_surveyor", role="surveyor",
                 password="bench-password-1")
        add_user(s, actor=system, username="bench_officer", role="land_officer",
                 password="bench-password-1")
    print(f"demo ward: {result.message} in {time.perf_counter() - t:.1f} s", flush=True)
    engine.dispose()


def batch_files(folder: Path, n: int, out: Path) -> dict[str, tuple[Path, dict[str, str]]]:
    """The first ``n`` parcels of the ward as a GeoPackage, a zipped Shapefile and a DXF."""
    parcels = pyogrio.read_dataframe(folder / "ward.gpkg", layer="parcels", max_features=n)
    gdf = gpd.GeoDataFrame({
        "former_unit": parcels["former_unit"], "so_to": parcels["sheet_no"],
        "so_thua": parcels["parcel_no"], "loai_dat": parcels["land_use"],
        "dien_tich": parcels.geometry.area.round(1)}, geometry=parcels.geometry, crs=WARD)
    gpkg = out / "khao_sat.gpkg"
    pyogrio.write_dataframe(gdf, gpkg, layer="thua_dat")
    shp_dir = out / "shp"
    shp_dir.mkdir()
    pyogrio.write_dataframe(gdf, shp_dir / "thua_dat.shp")
    import zipfile

    shp = out / "khao_sat_shp.zip"
    with zipfile.ZipFile(shp, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(shp_dir.iterdir()):
            zf.write(p, p.name)
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    for g in gdf.geometry:  # a lot with holes: its outline and each hole's, as CAD draws it
        for ring in (g.exterior, *g.interiors):
            msp.add_lwpolyline(list(ring.coords)[:-1], close=True,
                               dxfattribs={"layer": "THUA"})
    dxf = out / "ban_ve.dxf"
    doc.saveas(dxf)
    return {"gpkg": (gpkg, {}),
            "shapefile": (shp, {"mapping": '{"former_unit": "former_uni"}'}),
            "dxf": (dxf, {})}


class Stages:
    """Wraps the domain steps to time them inside the HTTP upload."""

    def __init__(self) -> None:
        self.times: dict[str, float] = defaultdict(float)

    def wrap(self, module: Any, name: str, label: str) -> None:
        fn = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.times[label] += time.perf_counter() - t

        setattr(module, name, timed)

    def take(self) -> dict[str, float]:
        out = dict(self.times)
        self.times.clear()
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", choices=SIZES, default="full")
    args = ap.parse_args()
    ward_size, n = SIZES[args.size]
    folder = demo_folder(ward_size, SEED)
    child = mp.get_context("spawn").Process(target=load, args=(str(folder),))
    child.start()
    child.join()
    if child.exitcode != 0:
        sys.exit(f"loading the demo ward failed ({child.exitcode})")

    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.auth import issue_token
    from api.users import User
    from config.intake import IntakeSettings
    from db.engine import make_engine
    from parcels.surveys import checks, staging, validation

    _, settings = bench_engine_settings()
    stages = Stages()
    stages.wrap(staging, "read_survey_file", "read")
    stages.wrap(staging, "_copy_features", "stage")
    stages.wrap(checks, "validate", "validate")
    stages.wrap(validation, "_copy_findings", "store findings")
    engine = make_engine(settings.db)
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        files = batch_files(folder, n, Path(tmp))
        settings = settings.model_copy(update={"intake": IntakeSettings(
            work_dir=Path(tmp) / "work")})
        app = create_app(settings, engine=engine)
        with engine.connect() as c:
            from sqlalchemy import text

            ids: dict[str, int] = {r.username: r.id for r in c.execute(
                text("SELECT username, id FROM app_user"))}
        tok = {name: issue_token(settings.auth, User(id=ids[name], username=name, role=role,
                                                     ward_code=settings.data.ward_code), 0)[0]
               for name, role in (("bench_surveyor", "surveyor"),
                                  ("bench_officer", "land_officer"))}
        hdr = {k: {"Authorization": f"Bearer {v}"} for k, v in tok.items()}
        sizes = ", ".join(f"{k} {p.stat().st_size / 1e6:.1f} MB" for k, (p, _) in files.items())
        print(f"\nbatch: {n:,} re-measured parcels of the demo ward ({sizes})")
        with TestClient(app) as client:
            for fmt, (path, form) in files.items():
                cycle(client, hdr, fmt, path, form, n, stages)
                landed(engine, client, hdr, fmt, n)
    engine.dispose()
    print(f"\npeak memory of this process (server side): {peak_mb():.0f} MB (target < 1024 MB)")


def bench_engine_settings() -> tuple[None, Any]:
    """The bench database's settings (the child process created and loaded it)."""
    import os

    from config.auth import AuthSettings
    from config.database import DatabaseSettings
    from config.settings import Settings

    return None, Settings(environment="test",
                          db=DatabaseSettings(url=os.environ.get("BENCH_DATABASE_URL"),
                                              database=DATABASE, pool_size=4),
                          auth=AuthSettings(secret="bench-secret-" + "b" * 40))


def cycle(client: Any, hdr: dict[str, dict[str, str]], fmt: str, path: Path,
          form: dict[str, str], n: int, stages: Stages) -> None:
    def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
        t = time.perf_counter()
        r = fn()
        return r, time.perf_counter() - t

    with path.open("rb") as fh:
        r, up = timed(lambda: client.post("/api/v1/surveys", headers=hdr["bench_surveyor"],
                                          data=form, files={"file": (path.name, fh)}))
    expect(r.status_code in (200, 201), f"{fmt}: upload accepted ({r.status_code}: "
                                        f"{r.text[:300] if r.status_code >= 300 else 'ok'})")
    inner = stages.take()
    b = r.json()
    bid = b["id"]
    override = 0.0
    if b["findings"]["open_errors"]:
        errors = client.get(f"/api/v1/surveys/{bid}/findings", params={"severity": "error"},
                            headers=hdr["bench_officer"]).json()["features"]
        t = time.perf_counter()
        ids = [f["id"] for f in errors if f["properties"]["overridable"]]
        if ids:  # one request for all of them (the bulk override)
            client.post(f"/api/v1/surveys/{bid}/findings/override",
                        headers=hdr["bench_officer"],
                        json={"finding_ids": ids, "reason": "benchmark"})
        override = time.perf_counter() - t
    c, commit = timed(lambda: client.post(f"/api/v1/surveys/{bid}/commit",
                                          headers=hdr["bench_officer"]))
    ok = c.status_code == 200
    total = up + override + commit
    m, f = b["matches"], b["findings"]
    print(f"\n{fmt}: {b['feature_count']:,} features → {m['new_version']:,} new versions, "
          f"{m['new']:,} new, {m['conflict']:,} conflicts; findings {f['error']} errors, "
          f"{f['warning']} warnings, {f['info']} info")

    def rate(s: float) -> str:
        return f"{s:6.2f} s  {n / s:9,.0f} parcels/s" if s > 0 else "     -"

    print(f"  upload (HTTP, all of below) {rate(up)}")
    for label in ("read", "stage", "validate", "store findings"):
        print(f"    {label:24}  {rate(inner.get(label, 0.0))}")
    if override:
        print(f"  overrides ({f['error']} errors)  {rate(override)}")
    print(f"  commit (HTTP)               {rate(commit)}"
          + ("" if ok else f"  REFUSED {c.status_code}: {c.text[:200]}"))
    print(f"  whole cycle                 {rate(total)}  (target < 20 s for 10,000)")
    expect((b["feature_count"], m["new_version"], m["new"], m["conflict"]) == (n, n, 0, 0),
           f"{fmt}: every one of {n} re-measured parcels matched to its parcel "
           f"({b['feature_count']} features, {m['new_version']} new versions, {m['new']} new, "
           f"{m['conflict']} conflicts)")
    expect(ok, f"{fmt}: commit accepted ({c.status_code})")


def landed(engine: Any, client: Any, hdr: dict[str, dict[str, str]], fmt: str, n: int) -> None:
    """The last committed batch is in the registry: committed, and each of its ``n``
    parcels has a current version written from the batch's source document."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from config.data import DataSettings
    from parcels.queries import current_totals

    with Session(engine) as s:
        batch = s.execute(text("SELECT id, state, source_document_id FROM survey_batch "
                               "ORDER BY id DESC LIMIT 1")).one()
        current = current_totals(s, ward_code=DataSettings().ward_code,
                                 source_document_id=batch.source_document_id).parcels
    summary = client.get(f"/api/v1/surveys/{batch.id}", headers=hdr["bench_officer"]).json()
    expect((batch.state, current, summary["committed_parcels"]) == ("committed", n, n),
           f"{fmt}: the commit landed (batch {batch.state}, {current} current versions from "
           f"its source document, {summary['committed_parcels']} committed parcels; "
           f"{n} expected)")


if __name__ == "__main__":
    main()

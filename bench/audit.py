"""Benchmark the whole-set audit (gis.audit) against a naive geopandas self-overlay.

    .venv/bin/python bench/audit.py                 # 100,000 synthetic parcels
    .venv/bin/python bench/audit.py --size tiny     # CI smoke, a few seconds
    .venv/bin/python bench/audit.py --gpkg ward.gpkg [--layer parcels]
    .venv/bin/python bench/audit.py --registry      # the full demo ward from PostGIS
    .venv/bin/python bench/audit.py --registry --size tiny   # CI smoke of the same path

``--registry`` generates (or reuses, from ``.cadastre/demo/<size>-seed2025`` as
``cadastre demo`` does; tiny uses seed 7) the demo ward, loads it into its own database
``cadastre_bench_audit`` in a child process (so this process's peak memory is the
audit's), then times ``parcels.audit.audit_registry`` (fetch + audit) and compares the
overlap part done by PostGIS (a GiST self-join) with GEOS in this process.

The synthetic set is a grid of 20 m quads with randomly shifted shared corners (a clean
coverage, like a digitised cadastral sheet) in EPSG:9214 near Kim Long, with planted
defects: corners pushed into a neighbour (overlaps), pulled back (gaps) and duplicated
parcels.  It is deterministic from ``--seed``.  The naive baseline is
``geopandas.overlay(set, set)`` (every pairwise intersection), run on a subset when the
set is large and scaled linearly to the full size; the output says so.

Wrong answers exit 1: on the synthetic set, a planted defect not found or a finding that
no planted defect explains; on the registry, an error on the demo ward's clean parcels,
a parcel left out, or PostGIS and GEOS disagreeing on the overlapping pairs.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import expect
from gis.audit import audit, audit_frame
from gis.audit_summary import summarise
from gis.crs import WARD
from gis.rules import load_ruleset
from parcels.queries import current_totals

SIZES = {"tiny": 2_000, "small": 20_000, "full": 100_000}


def synthetic(n: int, seed: int = 7, defects: int = 50
              ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """About ``n`` perturbed grid quads plus planted defects; returns the geometries and,
    per defect, the indices of the quads planted with it (a duplicate's copy is appended
    after the ``n`` quads, in the order of ``planted["duplicate"]``)."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    cell = 20.0
    gx, gy = np.meshgrid(np.arange(side + 1) * cell, np.arange(side + 1) * cell)
    x = 555_000.0 + gx + rng.uniform(-3, 3, gx.shape)
    y = 1_817_000.0 + gy + rng.uniform(-3, 3, gy.shape)
    r, c = np.divmod(np.arange(side * side), side)
    corners = [(r, c), (r, c + 1), (r + 1, c + 1), (r + 1, c)]  # counter-clockwise
    ring = np.stack([np.stack([x[a, b], y[a, b]], axis=-1) for a, b in corners + corners[:1]],
                    axis=1)
    ring = ring[:n]
    picks = rng.choice(n, size=3 * defects, replace=False)
    over, gap, dup = np.split(picks, 3)
    centre = ring[:, :4].mean(axis=1)
    for idx, factor in ((over, 0.5), (gap, -0.3)):
        k = rng.integers(0, 4, len(idx))
        v = ring[idx, k] - centre[idx]
        ring[idx, k] += v / np.hypot(*v.T)[:, None] * factor
        ring[idx, 4] = ring[idx, 0]
    geoms = shapely.polygons(ring)
    geoms = np.concatenate([geoms, geoms[dup]])
    return geoms, {"overlap": over, "gap": gap, "duplicate": dup}


def check_synthetic(report: Any, planted: dict[str, np.ndarray], n: int) -> None:
    """Every planted defect found, and every finding explained by one (exit 1 otherwise).

    A corner pushed into a neighbour overlaps up to three of them, and the edges it moved
    no longer match theirs (boundary mismatch); a corner pulled back opens one gap among
    the quads around it; a duplicate is reported as such, once, not as an overlap.
    """
    ids: dict[str, list[set[int]]] = {}
    for f in report.findings:
        ids.setdefault(f.code, []).append({int(i) for i in f.feature_ids})
    over, gap = set(planted["overlap"].tolist()), set(planted["gap"].tolist())
    dups = {frozenset((int(i), n + k)) for k, i in enumerate(planted["duplicate"].tolist())}
    expect(set(ids) <= {"overlap", "gap", "duplicate", "boundary_mismatch"},
           f"only the planted kinds of defect reported: {sorted(ids)}")
    expect({frozenset(s) for s in ids.get("duplicate", [])} == dups
           and len(ids.get("duplicate", [])) == len(dups),
           f"{len(ids.get('duplicate', []))} duplicates reported, the {len(dups)} planted")
    for code, planted_here in (("overlap", over), ("gap", gap)):
        found = ids.get(code, [])
        missed = planted_here - set().union(*found)
        unexplained = [s for s in found if not s & planted_here]
        expect(not missed and not unexplained,
               f"{len(planted_here)} planted {code}s all found ({len(missed)} missed) in "
               f"{len(found)} {code} findings, each touching a planted one "
               f"({len(unexplained)} do not)")
    moved = over | gap
    unexplained = [s for s in ids.get("boundary_mismatch", []) if not s & moved]
    expect(not unexplained, f"{len(ids.get('boundary_mismatch', []))} boundary mismatches, "
                            f"each at a moved corner ({len(unexplained)} are not)")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def naive(gdf: gpd.GeoDataFrame, limit: int) -> tuple[float, int, int]:
    """Self-overlay of the first ``limit`` features; returns (seconds, features used, pairs)."""
    sub = gdf.iloc[:limit].copy()
    sub["fid"] = np.arange(len(sub))
    t = time.perf_counter()
    out = gpd.overlay(sub, sub, how="intersection", keep_geom_type=True)
    dt = time.perf_counter() - t
    pairs = int((out["fid_1"] < out["fid_2"]).sum())
    return dt, len(sub), pairs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size", choices=sorted(SIZES), default="full")
    ap.add_argument("--n", type=int, help="number of synthetic parcels (overrides --size)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--gpkg", type=Path, help="also audit this GeoPackage (metric CRS)")
    ap.add_argument("--layer")
    ap.add_argument("--naive-limit", type=int, default=5_000,
                    help="features the naive self-overlay runs on (scaled linearly)")
    ap.add_argument("--registry", action="store_true",
                    help="audit the demo ward loaded in PostGIS (see above)")
    args = ap.parse_args(argv)
    rules = load_ruleset()
    if args.registry:
        return registry_bench(args.size, rules)

    n = args.n or SIZES[args.size]
    geoms, planted = synthetic(n, args.seed)
    ids = list(range(len(geoms)))
    print(f"synthetic set: {len(geoms):,} parcels, planted "
          f"{ {k: len(v) for k, v in planted.items()} }")
    base_rss = rss_mb()
    t = time.perf_counter()
    report = audit(geoms, ids, rules=rules, scales=1000)
    wall = time.perf_counter() - t
    peak = rss_mb()
    counts = report.counts()
    print(f"audit: {wall:.2f} s wall, peak RSS {peak:.0f} MB (+{peak - base_rss:.0f} MB during "
          f"the audit), {len(report.findings)} findings {counts}")
    print(f"  per 100,000 parcels: {wall / len(geoms) * 100_000:.2f} s (target < 5 s)")
    check_synthetic(report, planted, n)

    gdf = gpd.GeoDataFrame({"geometry": geoms}, crs=WARD)
    limit = min(args.naive_limit, len(gdf))
    nt, used, pairs = naive(gdf, limit)
    scaled = nt * len(gdf) / used
    t = time.perf_counter()
    audit(geoms[:used], ids[:used], rules=rules, scales=1000)
    same = time.perf_counter() - t
    note = "" if used == len(gdf) else f" (run on the first {used:,}, scaled linearly)"
    print(f"naive geopandas.overlay(self): {nt:.2f} s on {used:,} parcels, {pairs} pairs with an "
          f"area intersection{note}; estimated {scaled:.1f} s for all (overlaps only: no "
          f"gaps, mismatches or validity)")
    print(f"  ratio naive/audit: same {used:,} parcels {nt / same:.1f}x; "
          f"full set (estimated) {scaled / wall:.1f}x")

    if args.gpkg:
        kw: dict[str, Any] = {"layer": args.layer} if args.layer else {}
        real = gpd.read_file(args.gpkg, **kw)
        t = time.perf_counter()
        rep = audit_frame(real, rules=rules)
        print(f"{args.gpkg}: {len(real):,} parcels audited in {time.perf_counter() - t:.2f} s, "
              f"peak RSS {rss_mb():.0f} MB, {rep.counts()}")
    return 0


REGISTRY_SEEDS = {"tiny": 7, "small": 11, "full": 2025}
MAX_DEFECTS_PER_1000 = 10.0
"""Errors and warnings the demo ward may have per 1,000 parcels: its real defects (acute
corners, a few thin lots), no artefacts of the generator (issue 14 measured 344.6 before
the generator cleaned its coverage and facts stopped being warnings)."""
"""Demo seeds per size (2025 as ``cadastre demo``)."""


def _prepare_registry(size: str, seed: int) -> None:
    """Generate (or reuse) and load the demo ward; run in a child process."""
    from bench.common import analyze, bench_engine, demo_folder
    from data.load import load_demo
    from db.engine import make_engine

    engine, settings = bench_engine("cadastre_bench_audit")
    engine.dispose()
    folder = demo_folder(size, seed)
    owner = make_engine(settings.db, as_owner=True)
    t = time.perf_counter()
    print(load_demo(owner, folder).message, f"({time.perf_counter() - t:.1f} s)")
    owner.dispose()
    analyze(settings)


def registry_bench(size: str, rules: Any) -> int:
    """Whole-ward registry audit: wall time, peak memory, PostGIS vs GEOS for overlaps."""
    import multiprocessing

    from sqlalchemy.orm import Session

    from config.data import DataSettings
    from config.database import DatabaseSettings
    from db.engine import make_engine
    from gis.overlaps import overlap_pairs
    from gis.topology import Context
    from parcels.audit import audit_registry, fetch_registry, overlaps_in_database

    seed = REGISTRY_SEEDS[size]
    child = multiprocessing.get_context("spawn").Process(target=_prepare_registry,
                                                        args=(size, seed))
    child.start()
    child.join()
    if child.exitcode != 0:
        print(f"preparing the demo ward failed (exit {child.exitcode})")
        return 1
    engine = make_engine(DatabaseSettings(url=os.environ.get("BENCH_DATABASE_URL"),
                                          database="cadastre_bench_audit", pool_size=2))
    ward = DataSettings().ward_code
    base = rss_mb()
    with Session(engine) as s:
        t = time.perf_counter()
        report = audit_registry(s, ward_code=ward, rules=rules)
        wall = time.perf_counter() - t
        s.rollback()
    peak = rss_mb()
    sev = report.severities()
    summary = summarise(report, top=5)
    print(f"registry audit ({size}, seed {seed}): {report.feature_count:,} parcels, "
          f"{wall:.2f} s wall (fetch + audit), peak RSS {peak:.0f} MB (+{peak - base:.0f} MB)")
    print(f"  findings by rule {report.counts()}; by severity {sev}")
    print(f"  errors and warnings per 1,000 parcels: {summary.per_thousand:.1f} "
          f"({sev['error']} errors, {sev['warning']} warnings; all findings "
          f"{1000 * len(report.findings) / max(report.feature_count, 1):.1f} per 1,000)")
    for r in summary.rules:
        if r.error or r.warning:
            print(f"    {r.rule}: {r.error} errors, {r.warning} warnings")
    with Session(engine) as s:
        registered = current_totals(s, ward_code=ward).parcels
    expect(report.feature_count == registered > 0,
           f"{report.feature_count:,} parcels audited, the {registered:,} registered")
    noisy = [f for f in report.findings if f.code in ("overlap", "gap")
             and float(f.figures["width_m"]) >= 0.005]
    expect(sev.get("error", 0) == 0 and not noisy,
           f"the demo ward's clean parcels: {sev.get('error', 0)} errors, {len(noisy)} overlaps "
           "or gaps 5 mm wide or more (none expected: the generator plants no registry defect)")
    expect(summary.per_thousand <= MAX_DEFECTS_PER_1000,
           f"{summary.per_thousand:.1f} errors and warnings per 1,000 parcels, at most "
           f"{MAX_DEFECTS_PER_1000} (a kept registry: the French cadastre of "
           "tests/gis/test_external.py gives 10 to 11 with these rules)")

    with Session(engine) as s:
        t = time.perf_counter()
        reg = fetch_registry(s, ward_code=ward, rules=rules)
        fetch = time.perf_counter() - t
        t = time.perf_counter()
        n_pg, area_pg = overlaps_in_database(s, ward_code=ward)
        pg = time.perf_counter() - t
    t = time.perf_counter()
    ctx = Context.build(reg.geoms, reg.ids, rules=rules)
    pairs = overlap_pairs(ctx)
    areas = shapely.area(shapely.intersection(ctx.geoms[pairs[:, 0]], ctx.geoms[pairs[:, 1]])) \
        if len(pairs) else np.zeros(0)
    geos = time.perf_counter() - t
    print(f"overlapping pairs and their areas: PostGIS self-join {pg:.2f} s ({n_pg} pairs, "
          f"{float(area_pg):.3f} m²); GEOS here {geos:.2f} s + fetch {fetch:.2f} s "
          f"({len(pairs)} pairs, {float(areas.sum()):.3f} m²); "
          f"ratio PostGIS/(GEOS+fetch) {pg / (geos + fetch):.1f}x")
    expect(n_pg == len(pairs) and abs(float(area_pg) - float(areas.sum())) < 1e-6 + 1e-9 * float(
        area_pg), f"PostGIS and GEOS agree: {n_pg} and {len(pairs)} pairs, "
                  f"{float(area_pg):.6f} and {float(areas.sum()):.6f} m²")
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

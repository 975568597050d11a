"""Benchmark road-project impact on the synthetic demo ward: Ring Road 3 and its Nguyễn Hoàng
section, against a naive ``geopandas.overlay`` of the corridor with every parcel.

    .venv/bin/python bench/impact.py                 # full ward (~46,000 parcels)
    .venv/bin/python bench/impact.py --size tiny     # CI smoke (~370 parcels)

Runs on its own database (``cadastre_bench_impact``), dropped and rebuilt each run; the
generated ward is cached under ``.cadastre/demo/``.  Prints, for the whole project and for
the section: wall time of the impact (registry reads, takes, remainders, frontage, the
minimum-lot rule, cost, open cases), p50 and worst of the runs; the naive overlay's time
in the same run and the ratio; peak memory; and the totals an official reads.  Exits 1
when an answer is wrong: the areas taken must add up to the overlay's (within 0.01%),
taken + remainder must equal each parcel's area, both must find the same parcels, and the
section must be part of the project.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import geopandas as gpd
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.project_impact import project_impact
from bench.common import analyze, bench_engine, demo_folder, peak_mb
from data.load import WARD_CODE, load_demo
from db.engine import transaction
from gis import crs as gcrs
from parcels.nearby import in_force_with_context
from projects import exports
from projects.compare import compare
from projects.results import Impact

PROJECT = "RING_ROAD_3"
SECTION = "NH"
SEEDS = {"tiny": 7, "small": 11, "full": 2025}
TARGET_MS = {None: 1000.0, SECTION: 300.0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", choices=SEEDS, default="full")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--runs", type=int, default=0, help="timed runs of each impact")
    ap.add_argument("--folder", type=Path, default=None, help="an already generated ward")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else SEEDS[args.size]
    runs = args.runs or (10 if args.size == "full" else 5)
    folder = args.folder or demo_folder(args.size, seed)
    engine, settings = bench_engine("cadastre_bench_impact")
    t = time.perf_counter()
    print(load_demo(engine, folder).message, f"({time.perf_counter() - t:.1f} s)")
    analyze(settings)
    print("SYNTHETIC demo ward: invented parcels, holders, widths and prices")

    errors: list[str] = []
    results: dict[str | None, Impact] = {}
    walls: dict[str | None, float] = {}
    with transaction(engine) as s:
        for section in (None, SECTION):
            project_impact(s, ward_code=WARD_CODE, code=PROJECT, section=section)  # warm caches
            samples = []
            for _ in range(runs):
                t0 = time.perf_counter()
                results[section] = project_impact(s, ward_code=WARD_CODE, code=PROJECT,
                                                  section=section)
                samples.append(time.perf_counter() - t0)
            walls[section] = statistics.median(samples)
            name = f"{PROJECT}" + (f" section {section}" if section else " (whole project)")
            print(f"impact {name}: {len(results[section].parcels)} parcels touched, "
                  f"p50 {statistics.median(samples) * 1000:.1f} ms, worst "
                  f"{max(samples) * 1000:.1f} ms over {runs} runs (target < "
                  f"{TARGET_MS[section]:.0f} ms, reads + takes + remainders + frontage + "
                  "rule + cost + open cases)")
        t0 = time.perf_counter()
        parcels = _all_parcels(s)
        read_all = time.perf_counter() - t0
        t0 = time.perf_counter()
        xlsx = exports.to_xlsx(results[None])
        print(f"XLSX export of the whole project: {len(xlsx):,} bytes in "
              f"{(time.perf_counter() - t0) * 1000:.0f} ms")
        cmp = compare(project_impact(s, ward_code=WARD_CODE, code=PROJECT, alternative="A"),
                      project_impact(s, ward_code=WARD_CODE, code=PROJECT, alternative="B"))

    whole = results[None]
    corridor = gpd.GeoDataFrame({"project": [PROJECT]}, geometry=[whole.corridor.redline],
                                crs="EPSG:9214")
    t0 = time.perf_counter()
    naive = gpd.overlay(corridor, parcels, how="intersection", keep_geom_type=True)
    overlay = time.perf_counter() - t0
    ours = walls[None]
    print(f"naive geopandas.overlay(corridor, every parcel): {overlay * 1000:.1f} ms "
          f"(+ {read_all * 1000:.0f} ms to read {len(parcels):,} parcels); it gives the "
          "intersections only, no remainders, frontage, rule or cost")
    print(f"ratio naive overlay / impact: {overlay / ours:,.2f}x "
          f"(overlay + reading every parcel: {(overlay + read_all) / ours:,.2f}x)")
    print(f"peak memory (this process): {peak_mb():.0f} MB")

    # -- answers
    naive_area = float(naive.geometry.area.sum())
    taken = sum(p.taken_m2 for p in whole.parcels)
    if abs(taken - naive_area) > 1e-4 * max(naive_area, 1.0):
        errors.append(f"conservation: taken {taken:.2f} m² vs overlay {naive_area:.2f} m²")
    for p in whole.parcels:
        if abs(p.taken_m2 + p.remainder_m2 - p.area_m2) > 1e-3:
            errors.append(f"{p.label}: taken {p.taken_m2} + remainder {p.remainder_m2} "
                          f"!= {p.area_m2}")
    ours_ids = {p.parcel_id for p in whole.parcels if p.taken_m2 > 1e-6}
    naive_ids = set(naive.loc[naive.geometry.area > 1e-6, "parcel_id"])
    if ours_ids != naive_ids:
        errors.append(f"parcels differ: only ours {sorted(ours_ids - naive_ids)[:5]}, only "
                      f"the overlay's {sorted(naive_ids - ours_ids)[:5]}")
    section_ids = {p.parcel_id for p in results[SECTION].affected}
    if not section_ids or not section_ids <= {p.parcel_id for p in whole.affected}:
        errors.append("the section's affected parcels are not a non-empty part of the project's")
    if whole.totals.parcels_affected == 0:
        errors.append("Ring Road 3 affects no parcel")

    for section in (None, SECTION):
        _print_totals(results[section])
    d = cmp["difference_b_minus_a"]
    print(f"alternatives A vs B: only A {len(cmp['only_a'])}, only B {len(cmp['only_b'])}, "
          f"both {cmp['in_both']}; B − A {d['parcels_affected']:+.0f} parcels, "
          f"{d['taken_m2']:+,.1f} m², {d['cost_proposed']:+,.0f} đ (proposed)")
    if errors:
        print("WRONG ANSWERS:\n  " + "\n  ".join(errors[:20]))
        return 1
    print("answers checked: conservation within 0.01%, taken + remainder = area for "
          f"{len(whole.parcels)} parcels, same parcels as the overlay")
    return 0


def _all_parcels(s: Session) -> gpd.GeoDataFrame:
    found, _ = in_force_with_context(s, ward_code=WARD_CODE, reach=0.0)
    return gpd.GeoDataFrame({"parcel_id": [p.parcel_id for p in found],
                             "land_use": [p.land_use for p in found]},
                            geometry=[p.geometry for p in found], crs=f"EPSG:{gcrs.WARD}")


def _print_totals(r: Impact) -> None:
    t = r.totals
    name = f"{r.project.code}" + (f"/{r.section}" if r.section else "")
    print(f"totals {name} (corridor {r.corridor.ref}, red line {r.redline_m2:,.0f} m²): "
          f"parcels {t.parcels_affected} (state land {t.state_land_parcels}), holders "
          f"{t.holders_affected}, full takes "
          f"{t.full_takes}, partial {t.partial_takes}, proposed for full acquisition "
          f"{t.proposed_full_acquisition}, remainder parts {t.parts_created}, safety only "
          f"{t.safety_only_parcels}, noise {t.noise_parcels}, pending applications "
          f"{t.pending_applications}, open disputes {t.open_disputes}")
    print(f"  taken {t.taken_m2:,.1f} m², proposed {t.proposed_m2:,.1f} m²; estimated cost "
          f"(INVENTED prices) {t.cost_taken:,.0f} đ taken, {t.cost_proposed:,.0f} đ proposed")
    for use, x in t.by_land_use.items():
        print(f"    {use:5} {x.parcels:5} parcels {x.taken_m2:11,.1f} m² taken "
              f"{x.cost_taken:18,.0f} đ")


if __name__ == "__main__":
    sys.exit(main())

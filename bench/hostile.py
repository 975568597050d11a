"""Hostile uploads: for the worst file of each kind, what refusing it costs the server.

    .venv/bin/python bench/hostile.py                # the pen test's sizes and the upload cap
    .venv/bin/python bench/hostile.py --size tiny    # CI smoke: the pen test's sizes

Each file (bench/hostile_files.py) is read as an upload is: in the limited worker process
(gis.intake.worker) with the service's default intake settings, and the worker reports
its CPU seconds and peak memory above its idle size.  Targets (issue 20): every hostile
file refused, each refusal under 256 MiB above idle and under 2 s of CPU.  Exit 1 when a
hostile file is accepted or a bound is exceeded.  For scale, a legitimate file at the
caps (99,000 parcels, about a million vertices) is read too: it must be accepted within
the worker's budget.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import hostile_files as hostile
from bench.common import expect
from config.intake import IntakeSettings
from gis.crs import WARD
from gis.intake.errors import ReadError
from gis.intake.worker import Cost, cost_of, read_isolated
from parcels.surveys.staging import intake_limits, worker_budget

MiB = 1024 * 1024
TARGET_MEMORY = 256 * MiB
TARGET_CPU_S = 2.0
Maker = Callable[[Path], Path]


def hostile_set(size: str) -> dict[str, Maker]:
    """The pen test's files (``tiny``), and at ``full`` each kind grown to the upload cap."""
    big = size == "full"
    return {
        "gpkg: view with a recursive query": lambda d: hostile.gpkg_view(
            d / "v.gpkg", rows=10_000_000 if not big else 1_000_000_000),
        "geojson: 3.3 M pairs (19.8 MB)": lambda d: hostile.geojson_pairs(
            d / "p.geojson", pairs=3_300_000),
        **({"geojson: 16.6 M pairs (100 MB)": lambda d: hostile.geojson_pairs(
            d / "q.geojson", pairs=16_600_000)} if big else {}),
        "dxf: 120,000 bulges (3.5 MB)": lambda d: hostile.dxf_bulges(
            d / "b.dxf", vertices=120_000),
        **({"dxf: 2.8 M bulges (100 MB)": lambda d: hostile.dxf_bulges(
            d / "c.dxf", vertices=2_800_000)} if big else {}),
        "kml: coordinate list past the cap": lambda d: hostile.kml_coordinates(
            d / "k.kml", tuples=1_100_000 if not big else 3_500_000),
        "zip: 400 MiB of spaces": lambda d: hostile.zip_bomb(d / "z.zip", megabytes=400),
        "csv: 1.2 M points": lambda d: hostile.csv_rows(d / "c.csv", rows=1_200_000),
    }


def legitimate_at_caps(folder: Path, n: int) -> Path:
    """``n`` small square parcels in the ward: at 99,000, about the feature and vertex caps."""
    x0, y0 = hostile.ANCHOR
    side = 10.0
    cols = 400
    geoms = [shapely.box(x0 - 2000 + (i % cols) * side, y0 - 2000 + (i // cols) * side,
                         x0 - 2000 + (i % cols) * side + side * 0.9,
                         y0 - 2000 + (i // cols) * side + side * 0.9) for i in range(n)]
    geoms = [shapely.segmentize(g, side * 0.9 / 2) for g in geoms]  # 9 vertices each
    gdf = gpd.GeoDataFrame({"so_to": [1] * n, "so_thua": list(range(1, n + 1))},
                           geometry=geoms, crs=WARD)
    path = folder / "at_caps.gpkg"
    pyogrio.write_dataframe(gdf, path, layer="thua_dat")
    return path


def read(path: Path, folder: Path) -> tuple[str, Cost]:
    intake = IntakeSettings()
    try:
        result, cost = read_isolated(path, workdir=folder, budget=worker_budget(intake),
                                     filename=path.name, limits=intake_limits(intake))
    except ReadError as exc:
        measured = cost_of(exc)
        assert measured is not None
        return exc.code, measured
    return f"accepted ({len(result.features):,} parcels)", cost


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", choices=["tiny", "full"], default="full")
    args = ap.parse_args()
    intake = IntakeSettings()
    print(f"worker budget: {intake.worker_cpu_seconds:g} s CPU, {intake.worker_memory_mb} MiB; "
          f"caps: {intake.max_vertices:,} vertices, {intake.max_features:,} features; "
          f"targets for a refusal: < {TARGET_MEMORY // MiB} MiB, < {TARGET_CPU_S:g} s CPU")
    print(f"{'file':38} {'size':>9}  {'answer':28} {'CPU s':>6} {'peak MiB':>9} {'wall s':>7}")
    failures = []
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        for name, make in hostile_set(args.size).items():
            folder = Path(tempfile.mkdtemp(dir=tmp))
            path = make(folder)
            answer, cost = read(path, folder)
            size = path.stat().st_size
            print(f"{name:38} {size / MiB:7.1f}MB  {answer:28} {cost.cpu_seconds:6.2f} "
                  f"{cost.peak_bytes / MiB:9.1f} {cost.wall_seconds:7.2f}", flush=True)
            if answer.startswith("accepted"):
                failures.append(f"{name}: accepted")
            if not cost.cpu_seconds < TARGET_CPU_S:
                failures.append(f"{name}: {cost.cpu_seconds:.2f} s CPU")
            if not 0 <= cost.peak_bytes < TARGET_MEMORY:
                failures.append(f"{name}: {cost.peak_bytes / MiB:.0f} MiB")
            path.unlink()
        folder = Path(tempfile.mkdtemp(dir=tmp))
        n = 99_000 if args.size == "full" else 5_000
        answer, cost = read(legitimate_at_caps(folder, n), folder)
        print(f"{'gpkg: legitimate, ' + f'{n:,} parcels':38} {'':9}  {answer:28} "
              f"{cost.cpu_seconds:6.2f} {cost.peak_bytes / MiB:9.1f} {cost.wall_seconds:7.2f}")
        if not answer.startswith("accepted"):
            failures.append(f"a legitimate file of {n:,} parcels was refused: {answer}")
    for failure in failures:
        print("FAIL", failure)
    expect(not failures, "every hostile file refused within the bounds; the legitimate one read")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The pen test's hostile files, read in the limited worker: refused, and what it cost.

Issue 20, findings 1 and 2: each file is the one the outside test sent (at its size), and
each test checks the refusal and the bound measured in the worker process (CPU seconds,
peak memory above the worker's idle size).  bench/hostile.py prints the same figures.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import hostile_files as hostile
from gis.intake.errors import ReadError, UploadTooCostlyError
from gis.intake.types import Limits
from gis.intake.worker import Budget, Cost, cost_of, read_isolated

MiB = 1024 * 1024
BOUND_CPU_S = 2.0
BOUND_MEMORY = 256 * MiB
BUDGET = Budget(cpu_seconds=30, memory_bytes=384 * MiB, wall_seconds=120)


@pytest.fixture()
def upload(tmp_path: Path) -> Path:
    folder = tmp_path / "upload"
    folder.mkdir()
    return folder


def refused(path: Path, folder: Path, code: str, budget: Budget = BUDGET) -> Cost:
    with pytest.raises(ReadError) as caught:
        read_isolated(path, workdir=folder, budget=budget, filename=path.name,
                      limits=Limits())
    assert caught.value.code == code, caught.value.to_dict()
    cost = cost_of(caught.value)
    assert cost is not None
    return cost


def within_bounds(cost: Cost) -> None:
    assert cost.cpu_seconds < BOUND_CPU_S, cost
    assert 0 <= cost.peak_bytes < BOUND_MEMORY, cost


def test_a_geopackage_view_with_a_recursive_query_is_refused_unread(upload: Path) -> None:
    """Finding 1: a 96 KB GeoPackage whose layer is a view counting to ten million took
    10 s of server CPU inside GDAL.  The view is refused before GDAL opens the file."""
    path = hostile.gpkg_view(upload / "thua.gpkg", rows=10_000_000)
    assert path.stat().st_size < 200_000
    cost = refused(path, upload, "unsafe_geopackage")
    within_bounds(cost)
    assert cost.cpu_seconds < 0.5


def test_what_the_guards_miss_is_stopped_by_the_cpu_limit(upload: Path) -> None:
    """A read that takes more processor time than the budget is stopped by the kernel
    (RLIMIT_CPU) and refused as too costly, however it spends the time: here a GeoJSON of
    60,000 parcels against a one-second budget."""
    def square(i: int) -> list[list[list[float]]]:
        x, y, d = 107.55 + (i % 300) * 1e-4, 16.45 + (i // 300) * 1e-4, 5e-5
        return [[[x, y], [x + d, y], [x + d, y + d], [x, y]]]

    features = [{"type": "Feature", "properties": {"so_thua": i},
                 "geometry": {"type": "Polygon", "coordinates": square(i)}}
                for i in range(60_000)]
    path = upload / "thua.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    cost = refused(path, upload, "upload_too_costly",
                   Budget(cpu_seconds=1, memory_bytes=384 * MiB, wall_seconds=60))
    assert cost.limit == "cpu" and cost.wall_seconds < 30


def test_what_the_guards_miss_is_stopped_by_the_memory_limit(upload: Path) -> None:
    """An allocation past the memory budget fails in the worker (RLIMIT_AS): refused as
    too costly, the server's own memory untouched."""
    path = hostile.kml_coordinates(upload / "thua.kml", tuples=400_000)
    cost = refused(path, upload, "upload_too_costly",
                   Budget(cpu_seconds=30, memory_bytes=8 * MiB, wall_seconds=60))
    assert cost.limit == "memory"


def test_a_geojson_of_millions_of_pairs_is_counted_not_parsed(upload: Path) -> None:
    """Finding 2: a 19.8 MB GeoJSON of 3.3 million pairs took the server from 277 to
    1,239 MiB before its 422.  The pairs are counted from the bytes and the file refused
    unparsed."""
    path = hostile.geojson_pairs(upload / "thua.geojson", pairs=3_300_000)
    assert path.stat().st_size == pytest.approx(19.8e6, rel=0.01)
    cost = refused(path, upload, "too_many_vertices")
    within_bounds(cost)
    assert cost.peak_bytes < 64 * MiB


def test_dxf_bulges_are_counted_before_gdal_draws_them(upload: Path) -> None:
    """Finding 2: a 4.4 MB DXF polyline with 120,000 bulges became 5.5 million vertices
    inside GDAL (320 → 608 MiB).  The arcs GDAL would draw are counted first."""
    path = hostile.dxf_bulges(upload / "ban_ve.dxf", vertices=120_000)
    cost = refused(path, upload, "too_many_vertices")
    within_bounds(cost)
    assert cost.peak_bytes < 64 * MiB


def test_a_long_kml_coordinate_list_costs_numbers_not_objects(upload: Path) -> None:
    """Finding 2: a 5.6 MB KML coordinate list took 153 MiB as Python tuples.  It is now
    parsed by numpy (a few tens of MiB at most) and, past the vertex cap, refused after
    counting."""
    path = hostile.kml_coordinates(upload / "thua.kml", tuples=220_000)
    assert path.stat().st_size > 5_000_000
    result, cost = read_isolated(path, workdir=upload, budget=BUDGET, filename=path.name,
                                 limits=Limits())
    assert len(result.features) == 1
    within_bounds(cost)
    assert cost.peak_bytes < 96 * MiB
    over = hostile.kml_coordinates(upload / "over.kml", tuples=1_100_000)
    within_bounds(refused(over, upload, "too_many_vertices"))


def test_a_worker_refusal_is_the_readers_own_error(upload: Path) -> None:
    """Errors come back from the worker as the class and facts the reader raised."""
    path = upload / "thua.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                    '"properties": {}, "geometry": {"type": "Point", "coordinates": [1, 2]}}]}')
    with pytest.raises(ReadError) as caught:
        read_isolated(path, workdir=upload, budget=BUDGET, filename=path.name)
    assert caught.value.code == "not_polygon" and caught.value.extra["others"] == {"Point": 1}
    assert not isinstance(caught.value, UploadTooCostlyError)

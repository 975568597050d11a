"""The synthetic ward generator: topology, numbering, planted defects, determinism, intake.

Checks use plain shapely, never the project's rules engine, so that the
ground-truth labels are judged independently of the code they will score.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, box

from data.calendar import add_working_days, is_working_day
from data.frame import ANCHOR
from data.generate import generate
from data.outline import FILE_NAME, OutlineNotFound, find_outline, load_outline
from tests.conftest import require_external

REPO = Path(__file__).resolve().parents[2]
EXTERNAL = Path(os.environ.get("CADASTRE_EXTERNAL_DATA", REPO.parent / "shared/data/external"))
REAL = EXTERNAL / "kim-long-ward" / FILE_NAME
OVERLAP_EPS = 0.05  # m²: a planted claim's accidental overlap below this is not a defect
PARCEL_OVERLAP_EPS = 1e-6  # m²: parcels share exact vertices, so only float identity is left
NOISE_WIDTH = 0.005  # m: the ward outline is not on the 1 mm grid; parcels follow it rounded
PENDING = {"received", "verifying", "field_check", "waiting_applicant"}
STATUTORY = {"first_certificate": 20, "transfer": 8, "split_merge": 12, "correction": 8}


def _own_outline() -> Polygon:
    """A 3 km square around the demo anchor, so the tests run without the real outline."""
    x, y = ANCHOR
    return box(x - 1500.0, y - 1500.0, x + 1500.0, y + 1500.0)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny")
    generate(size="tiny", seed=7, out=out, outline=_own_outline())
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_external("kim-long-ward", FILE_NAME)
    out = tmp_path_factory.mktemp("small")
    generate(size="small", seed=11, out=out, outline=load_outline(REAL))
    return out


def _layers(out: Path) -> dict[str, gpd.GeoDataFrame]:
    names = ("ward", "parcels", "zones", "applications", "map_sheets", "former_units",
             "project_segments", "projects")
    return {n: gpd.read_file(out / "ward.gpkg", layer=n) for n in names}


@pytest.fixture(params=["tiny", "small"])
def ward(request: pytest.FixtureRequest) -> dict[str, gpd.GeoDataFrame]:
    return _layers(request.getfixturevalue(request.param))


def test_parcels_are_valid_single_polygons(ward: dict[str, gpd.GeoDataFrame]) -> None:
    """Every parcel is one valid polygon in EPSG:9214."""
    parcels = ward["parcels"]
    assert parcels.crs.to_epsg() == 9214
    assert (parcels.geom_type == "Polygon").all()
    assert parcels.is_valid.all()


def test_parcels_do_not_overlap(ward: dict[str, gpd.GeoDataFrame]) -> None:
    """No two parcels share more than float noise: a land officer sees no double claims."""
    geoms = ward["parcels"].geometry.values
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    inter = shapely.intersection(geoms[a[keep]], geoms[b[keep]])
    assert float(shapely.area(inter).max(initial=0.0)) <= PARCEL_OVERLAP_EPS


def test_parcels_are_an_exact_coverage(ward: dict[str, gpd.GeoDataFrame]) -> None:
    """Neighbours share exact vertices: GEOS finds no overlap, misaligned edge or inner gap."""
    geoms = ward["parcels"].geometry.values
    assert shapely.coverage_is_valid(geoms)
    union = shapely.union_all(geoms)
    assert int(shapely.get_num_interior_rings(shapely.get_parts(union)).sum()) == 0


def test_parcels_cover_the_ward(ward: dict[str, gpd.GeoDataFrame]) -> None:
    """Parcel areas sum to the ward's area within 0.1%, and their union leaves no hole."""
    area = ward["ward"].geometry.iloc[0]
    parcels = ward["parcels"].geometry
    assert abs(parcels.area.sum() / area.area - 1.0) < 1e-3
    union = shapely.union_all(parcels.values)
    for leftover in (shapely.difference(area, union), shapely.difference(union, area)):
        parts = shapely.get_parts(leftover)
        width = 2 * shapely.area(parts) / np.maximum(shapely.length(parts), 1e-9)
        assert float(width.max(initial=0.0)) < NOISE_WIDTH


def test_numbers_unique_per_unit_and_sheet(ward: dict[str, gpd.GeoDataFrame]) -> None:
    """(former unit, sheet, parcel) identifies a parcel, and the sheet holds its point."""
    p = ward["parcels"]
    assert not p.duplicated(["former_unit", "sheet_no", "parcel_no"]).any()
    assert p["parcel_key"].is_unique
    sheets = ward["map_sheets"].set_index(["former_unit", "sheet_no"])
    assert set(sheets["scale"]) <= {1000, 2000}
    for row in p.sample(min(200, len(p)), random_state=0).itertuples():
        sheet = sheets.loc[(row.former_unit, row.sheet_no)].geometry
        assert sheet.buffer(0.01).contains(row.geometry.representative_point())


def test_everything_inside_the_ward(ward: dict[str, gpd.GeoDataFrame]) -> None:
    """Zones, sheets, units, project lines and parcels all lie inside the ward polygon."""
    area = ward["ward"].geometry.iloc[0].buffer(0.01)
    for name in ("parcels", "zones", "map_sheets", "former_units", "project_segments",
                 "projects"):
        geoms = ward[name].geometry
        assert geoms.within(area).all(), name


def test_every_backlog_situation_present(ward: dict[str, gpd.GeoDataFrame]) -> None:
    """The backlog holds every situation the verification must catch."""
    backlog = ward["applications"].query("cohort == 'backlog'")
    assert set(backlog["expected_rule"]) == {
        "clean", "overlap_registered", "overlap_pending", "boundary_gap", "area_mismatch",
        "road_redline", "protection_zone", "outside_ward", "invalid_geometry",
        "already_registered"}
    assert set(backlog["state"]) <= {"received", "verifying"}
    assert (backlog["received_at"].map(datetime.fromisoformat)
            < datetime.fromisoformat("2025-07-01T00:00:00+07:00")).all()


def test_labels_match_geometry(ward: dict[str, gpd.GeoDataFrame]) -> None:
    """Each planted defect is really there, and clean claims have none, by plain shapely."""
    parcels, apps, zones = ward["parcels"], ward["applications"], ward["zones"]
    area = ward["ward"].geometry.iloc[0]
    reg = parcels[parcels["registered"]].geometry.values
    reg_tree = shapely.STRtree(reg)
    by_key = parcels.set_index("parcel_key").geometry
    redline = shapely.union_all(zones.query("kind == 'road_redline'").geometry.values)
    protect = shapely.union_all(zones.query("kind != 'road_redline'").geometry.values)
    claims = apps[apps.geometry.notna() & apps["state"].isin(PENDING)]
    for app in claims.itertuples():
        g = app.geometry
        rule = app.expected_rule
        if rule == "invalid_geometry":
            assert not g.is_valid, app.application_key
            continue
        assert g.is_valid, app.application_key
        near = reg[reg_tree.query(g, predicate="intersects")]
        reg_overlap = float(shapely.area(shapely.intersection(near, g)).max(initial=0.0))
        others = claims[claims.application_key != app.application_key].geometry.values
        pend_overlap = float(shapely.area(shapely.intersection(
            others[shapely.intersects(others, g)], g)).max(initial=0.0))
        outside = shapely.difference(g, area).area
        in_red = shapely.intersection(g, redline).area
        in_prot = shapely.intersection(g, protect).area
        mismatch = abs(app.declared_area - g.area)
        iou = max((shapely.intersection(g, r).area / shapely.union(g, r).area for r in near),
                  default=0.0)
        if rule == "clean":
            assert g.equals_exact(by_key[app.parcel_key], 1e-6)
            assert max(reg_overlap, pend_overlap, outside, in_red, in_prot) < OVERLAP_EPS
            assert mismatch <= 0.1
        elif rule == "overlap_registered":
            inter = max((shapely.intersection(r, g) for r in near), key=lambda x: x.area)
            width = inter.area / (inter.length / 2.0)
            # above the widest snapping tolerance (0.45 m: agricultural land at 1:2000)
            assert 0.46 <= width <= 3.1 and pend_overlap < OVERLAP_EPS
        elif rule == "overlap_pending":
            assert pend_overlap > 0.1 and reg_overlap < OVERLAP_EPS
        elif rule == "boundary_gap":
            own = by_key[app.parcel_key]
            assert own.buffer(1e-3).contains(g) and own.area - g.area > 0.05
            # beyond any map scale's survey noise (0.45 m: agricultural land at 1:2000),
            # within the gap rule's 1 m
            assert 0.45 <= own.hausdorff_distance(g) <= 0.9
        elif rule == "area_mismatch":
            assert mismatch > max(2.0, 0.03 * g.area)
        elif rule == "road_redline":
            assert in_red > 0.5 and in_prot < OVERLAP_EPS
        elif rule == "protection_zone":
            assert in_prot > 0.5 and in_red < OVERLAP_EPS
        elif rule == "outside_ward":
            assert outside > 1.0
        elif rule == "already_registered":
            assert iou > 0.98
        if rule != "already_registered" and rule != "overlap_registered":
            assert reg_overlap < OVERLAP_EPS, app.application_key


def test_same_seed_same_output(tiny: Path, tmp_path: Path) -> None:
    """Regenerating with the same seed gives the same features and the same files."""
    generate(size="tiny", seed=7, out=tmp_path, outline=_own_outline())
    first = json.loads((tiny / "manifest.json").read_text())
    again = json.loads((tmp_path / "manifest.json").read_text())
    assert first["content_sha256"] == again["content_sha256"]
    assert first["files"] == again["files"]
    assert "SYNTHETIC" in first["notice"]


def test_intake_proportions(ward: dict[str, gpd.GeoDataFrame]) -> None:
    """About 95% online, 92% on time, 2.3% late, the rest in progress, in working days."""
    intake = ward["applications"].query("cohort == 'intake_2025'")
    n = len(intake)
    assert abs((intake["channel"] == "online").mean() - 0.95) < 0.02
    late = on_time = 0
    for row in intake.itertuples():
        if not isinstance(row.decided_at, str):
            assert row.state in PENDING
            continue
        received = datetime.fromisoformat(row.received_at)
        decided = datetime.fromisoformat(row.decided_at)
        assert received < decided <= datetime.fromisoformat("2025-08-25T23:59:59+07:00")
        due = add_working_days(received.date(), STATUTORY[row.procedure])
        late += decided.date() > due
        on_time += decided.date() <= due
    assert abs(on_time / n - 0.92) < 0.03
    assert abs(late / n - 0.023) < 0.02
    assert set(intake["procedure"]) == set(STATUTORY)


def test_working_days() -> None:
    """2 Sept 2025 is a holiday, Sat 26 April 2025 was worked, counting skips weekends."""
    assert not is_working_day(date(2025, 9, 2))
    assert not is_working_day(date(2025, 5, 2))
    assert is_working_day(date(2025, 4, 26))
    assert add_working_days(date(2025, 8, 29), 1) == date(2025, 9, 3)
    assert add_working_days(date(2025, 7, 1), 20) == date(2025, 7, 29)


def test_outline_found_in_external_then_state(tmp_path: Path) -> None:
    """The shared folder wins; a copy in the state folder is the fallback."""
    ext = tmp_path / "ext" / "kim-long-ward"
    ext.mkdir(parents=True)
    (ext / FILE_NAME).write_text("{}")
    assert find_outline(tmp_path / "ext", tmp_path / "state").origin == "external"
    cached = tmp_path / "state2" / "external"
    cached.mkdir(parents=True)
    (cached / FILE_NAME).write_text("{}")
    assert find_outline(tmp_path / "none", tmp_path / "state2").origin == "state"


def test_outline_missing_says_where_to_put_it(tmp_path: Path) -> None:
    """With no file and no network, the error names the folder to put the file in."""
    with pytest.raises(OutlineNotFound) as err:
        find_outline(tmp_path / "ext", tmp_path / "state", url="https://127.0.0.1:9/x.geojson",
                     timeout=1.0)
    message = str(err.value)
    assert str(tmp_path / "ext" / "kim-long-ward" / FILE_NAME) in message
    assert "vietnamese-provinces-database" in message


@pytest.mark.external
def test_real_outline_area() -> None:
    """The real outline, reprojected to EPSG:9214, measures 90.26 km²."""
    require_external("kim-long-ward", FILE_NAME)
    ward = load_outline(REAL)
    assert abs(ward.area / 1e6 - 90.263) < 0.01
    assert np.isfinite(ward.bounds).all()


def test_default_demo_seed_generates_at_tiny_size(tmp_path: Path) -> None:
    """`cadastre demo --size tiny` uses seed 2025; a jittered copy that folds must not crash it."""
    require_external("kim-long-ward", FILE_NAME)
    m = generate(size="tiny", seed=2025, out=tmp_path, outline=load_outline(REAL))
    assert m.counts["parcels"] > 200
    assert m.applications["backlog_by_rule"]["already_registered"] >= 1


def test_ring_road_3_is_one_project_with_the_nguyen_hoang_section() -> None:
    """DOMAIN.md: Nguyễn Hoàng street runs on the Ring Road 3 centreline; its project is 1.67 km
    (bridge section 0.59 km, road 1.08 km) and the 380 m × 43 m bridge, whose north end is at
    the Kim Long street junction, is part of Ring Road 3.  So: one project, section NH with
    both parts, the bridge over the river giving no road access, a later phase N2."""
    from data.frame import build_frame
    from data.projects import RING_ROAD_3, build_projects
    from data.roads import _arterials

    frame = build_frame(_own_outline(), "full", 7)
    projects = build_projects(frame)
    assert [p.code for p in projects] == [RING_ROAD_3]
    rr3 = projects[0]
    assert [(s.code, s.phase) for s in rr3.sections] == [("NH", 1), ("N2", 2)]
    assert "SYNTHETIC" in rr3.description and "giả lập" in rr3.name_vi
    nh = [s for s in rr3.segments if s.section_code == "NH"]
    bridge = [s for s in nh if not s.gives_access]
    assert len(bridge) == 1 and bridge[0].geometry.length == pytest.approx(380.0, abs=0.5)
    assert bridge[0].left_width_m + bridge[0].right_width_m == 43.0
    assert bridge[0].geometry.intersection(frame.river).length > 200.0  # over the river
    lengths = [s.geometry.length for s in nh]
    assert sum(lengths[:2]) == pytest.approx(590.0, abs=0.5)  # approach + bridge
    assert sum(lengths[2:]) == pytest.approx(1080.0, abs=0.5)  # road to Lý Nam Đế
    kim_long_street = _arterials(frame)[0].geometry
    assert shapely.Point(bridge[0].geometry.coords[-1]).distance(kim_long_street) < 1.0
    assert all("giả lập" in s.name for s in rr3.segments)
    widths = {(s.left_width_m, s.right_width_m) for s in nh[2:]}
    assert any(left != right for left, right in widths)  # asymmetric widening
    assert rr3.alternatives["B"][3].left_width_m == rr3.alternatives["B"][3].right_width_m

"""The registry audit finds what a land officer must see, and nothing on clean parcels.

Hand-drawn parcels are registered in the test transaction on a sheet number of their
own, far from other tests' parcels, and the audit is asked about that sheet only.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pyogrio
import pytest
import shapely
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app
from config import clock
from data.load import WARD_CODE
from data.outline import FILE_NAME, SUBFOLDER
from db.audit import Actor
from gis.convert import to_ewkb
from gis.crs import WARD as SRID
from gis.findings import Band, Severity
from gis.findings_io import FINDINGS, PARCELS, RUN, report_document, write_gpkg
from gis.land_use import is_agricultural
from gis.rules import RuleSet, load_ruleset
from parcels import registry
from parcels.audit import affected_parcels, audit_registry
from parcels.errors import InvalidInput
from parcels.registry import Amendment
from tests.conftest import WARD, WARD_BOX, require_external
from tests.factories import rect, spec

# Far from the parcels other test modules draw near (0, 0) of tests.factories.
OX, OY = -3_000.0, -4_000.0


def box(x: float, y: float, w: float, h: float) -> shapely.Polygon:
    return rect(OX + x, OY + y, w, h)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_ruleset()


def plant(session: Session, actor: Actor, sheet: int, *geoms: shapely.Polygon,
          land_use: str = "ODT") -> list[int]:
    """Register ``geoms`` as parcels 1, 2, … of ``sheet``; returns their parcel ids."""
    return [registry.register_parcel(session, actor=actor, reason="audit test",
                                     spec=spec(sheet, k, g, land_use=land_use)).parcel_id
            for k, g in enumerate(geoms, start=1)]


def run(session: Session, rules: RuleSet, sheet: int, **kw: object):
    return audit_registry(session, ward_code=WARD, rules=rules, sheet_no=sheet, **kw)  # type: ignore[arg-type]


def test_overlap_found_with_its_area_and_labels(session, actor, rules) -> None:
    """Two house lots overlapping by a 0.5 m × 20 m strip: one error, 10 m², sheet/number."""
    a, b = plant(session, actor, 7001, box(0, 0, 10, 20), box(9.5, 0, 10, 20))
    report = run(session, rules, 7001)
    assert report.counts() == {"overlap": 1}
    f = report.findings[0]
    assert f.severity is Severity.ERROR and f.band is Band.CONFLICT
    assert set(f.feature_ids) == {str(a), str(b)}
    assert f.figures["area_m2"] == pytest.approx(10.0, abs=1e-6)
    assert f.figures["width_m"] == pytest.approx(0.5, rel=0.02)
    assert set(f.labels) == {"thửa đất số 1, tờ bản đồ số 7001 (Kim Long cũ)",
                             "thửa đất số 2, tờ bản đồ số 7001 (Kim Long cũ)"}
    assert f.message_vi.startswith("Thửa đất số 1 và 2, tờ bản đồ số 7001 (Kim Long cũ) chồng "
                                   "lấn nhau 10.00 m²")
    assert f.message_en.startswith("Parcels 1 and 2, map sheet 7001 (former Kim Long) overlap")
    assert "kim_long" not in f.message_vi + f.message_en
    assert [p["parcel_no"] for p in f.parcels] == [1, 2]
    assert f.geometry.area == pytest.approx(10.0)


def test_gap_found_with_its_width_and_wide_space_is_not(session, actor, rules) -> None:
    """A 0.4 m slot between two lots is a gap; 1.5 m (a lane) beyond it is not a defect."""
    plant(session, actor, 7002, box(0, 0, 10, 20), box(10.4, 0, 10, 20), box(21.9, 0, 10, 20))
    report = run(session, rules, 7002)
    gaps = report.by_code("gap")
    assert len(gaps) == 1 and report.counts() == {"gap": 1}
    g = gaps[0]
    assert g.figures["width_m"] == pytest.approx(0.4, rel=0.02)
    assert g.figures["area_m2"] == pytest.approx(8.0, rel=0.01)
    assert g.band is Band.CONFLICT  # 0.4 m > 0.30 m conflict tolerance at 1:1000
    assert g.tolerance["scale"] == 1000  # no map_sheet row: the settings' default scale


def test_parcel_inside_another_is_containment(session, actor, rules) -> None:
    """A 4 m × 4 m lot drawn inside a 20 m × 20 m one is reported as contained (16 m²)."""
    outer, inner = plant(session, actor, 7003, box(0, 0, 20, 20), box(5, 5, 4, 4))
    report = run(session, rules, 7003)
    assert report.counts() == {"contained": 1}
    f = report.findings[0]
    assert f.feature_ids == (str(inner), str(outer)) and f.severity is Severity.ERROR
    assert f.figures["area_m2"] == pytest.approx(16.0)


def test_clean_neighbours_have_no_findings(session, actor, rules) -> None:
    """A row of lots sharing their edges exactly, split at different points: nothing."""
    plant(session, actor, 7004, box(0, 0, 10, 20), box(10, 0, 10, 20), box(20, 0, 15, 20),
          box(0, 20, 35, 10))
    report = run(session, rules, 7004)
    assert report.findings == () and report.feature_count == 4
    assert not report.has_errors


def test_sheet_scale_and_agricultural_land_set_the_tolerance(session, actor, rules) -> None:
    """A 0.1 m overlap is noise at 1:1000 but a warning on a 1:500 sheet; rice land at
    1:1000 (×1.5) turns a 0.4 m overlap from a conflict into a warning."""
    session.execute(text("INSERT INTO map_sheet (ward_code, former_unit, sheet_no, scale) "
                         "VALUES (:w, 'kim_long', 7005, 500)"), {"w": WARD})
    plant(session, actor, 7005, box(0, 0, 10, 20), box(9.9, 0, 10, 20))
    plant(session, actor, 7006, box(0, 100, 10, 20), box(9.9, 100, 10, 20))
    plant(session, actor, 7007, box(0, 200, 30, 20), box(29.6, 200, 30, 20), land_use="LUC")
    at500 = run(session, rules, 7005).by_code("overlap")[0]
    at1000 = run(session, rules, 7006).by_code("overlap")[0]
    rice = run(session, rules, 7007).by_code("overlap")[0]
    assert at500.tolerance["scale"] == 500 and at500.band is Band.REVIEW
    assert at500.severity is Severity.WARNING
    assert at1000.tolerance["scale"] == 1000 and at1000.band is Band.NOISE
    assert at1000.severity is Severity.INFO and at1000.fix is not None
    assert rice.tolerance["agricultural"] is True and rice.tolerance["conflict_m"] == 0.45
    assert rice.band is Band.REVIEW
    assert is_agricultural("CLN+ODT") and not is_agricultural("ODT+CLN")


def test_sheet_audit_sees_neighbours_on_other_sheets(session, actor, rules) -> None:
    """Sheet 7008's lot overlapping one on sheet 7009 is reported when auditing 7008;
    an overlap between two lots of sheet 7009 is not (it is 7009's business)."""
    (mine,) = plant(session, actor, 7008, box(0, 300, 10, 20))
    theirs = plant(session, actor, 7009, box(9.5, 300, 10, 20), box(19, 300, 10, 20))
    report = run(session, rules, 7008)
    assert report.counts() == {"overlap": 1} and report.feature_count == 1
    assert set(report.findings[0].feature_ids) == {str(mine), str(theirs[0])}
    assert run(session, rules, 7009).counts() == {"overlap": 2}


def test_as_of_audits_the_registry_as_it_stood(session, actor, rules) -> None:
    """After a correction removes an overlap, today's audit is clean; yesterday's is not."""
    a, _ = plant(session, actor, 7010, box(0, 400, 10, 20), box(9.5, 400, 10, 20))
    before = clock.now()
    registry.amend_parcel(session, actor=actor, parcel_id=a, reason="boundary corrected",
                          amendment=Amendment(geometry=box(0, 400, 9.5, 20)))
    assert run(session, rules, 7010).findings == ()
    assert run(session, rules, 7010, as_of=before).counts() == {"overlap": 1}
    with pytest.raises(InvalidInput, match="no registered parcels"):
        run(session, rules, 7010, as_of=before - timedelta(days=365))


def test_zone_crossing_reports_the_area_inside(session, actor, rules) -> None:
    """A lot reaching 3 m into a river corridor: a zone crossing of 30 m², named."""
    plant(session, actor, 7011, box(0, 500, 10, 20))
    corridor = shapely.multipolygons([box(7, 480, 50, 60)])
    session.execute(text("INSERT INTO zone (ward_code, zone_key, kind, name, geom) VALUES "
                         "(:w, 'test-river', 'river_corridor', 'Hành lang sông Hương', "
                         "ST_GeomFromEWKB(:g))"), {"w": WARD, "g": to_ewkb(corridor, SRID)})
    (f,) = run(session, rules, 7011).by_code("zone_crossing")
    assert f.figures["area_m2"] == pytest.approx(60.0)
    assert f.figures["zone_kind"] == "river_corridor"


def test_a_parcel_reaching_out_names_the_ward_it_reaches_into(session, actor, rules) -> None:
    """A lot 0.5 m over the ward's eastern edge (more than the 1:1000 tolerance, less than
    the metre the registry allows) lies partly in the neighbouring ward, which is named."""
    x1 = WARD_BOX[2]
    east = shapely.multipolygons([shapely.box(x1, WARD_BOX[1], x1 + 3000, WARD_BOX[3])])
    session.execute(text("INSERT INTO ward (code, name, boundary, synthetic) VALUES "
                         "('T0001', 'Phường Thử Nghiệm', ST_GeomFromEWKB(:g), false)"),
                    {"g": to_ewkb(east, SRID)})
    lot = shapely.box(x1 - 9.5, 1_819_000, x1 + 0.5, 1_819_020)
    registry.register_parcel(session, actor=actor, reason="audit test", spec=spec(7014, 1, lot))
    [f] = run(session, rules, 7014).by_code("outside_ward")
    assert f.figures["neighbour"] == "T0001" and f.figures["area_m2"] == pytest.approx(10.0)
    assert "sang Phường Thử Nghiệm" in f.message_vi and "into Phường Thử Nghiệm" in f.message_en


def test_the_real_neighbouring_ward_is_read_beside_the_outline() -> None:
    """Phú Xuân's real outline (beside Kim Long's in the external data) is read as a
    neighbour: its code, its full name, 10.4 km² in EPSG:9214, touching Kim Long."""
    from data.outline import load_outline, neighbour_wards

    [px] = neighbour_wards(require_external(SUBFOLDER).parent)
    assert (px.code, px.name) == ("19753", "Phường Phú Xuân")
    assert px.boundary.area == pytest.approx(10.38e6, rel=0.01)
    kim_long = load_outline(require_external(SUBFOLDER, FILE_NAME))
    assert px.boundary.distance(kim_long) < 50.0


def test_every_run_is_audited(session, actor, rules) -> None:
    """The audit trail names who ran an audit, its fingerprint and what it found."""
    plant(session, actor, 7012, box(0, 600, 10, 20), box(9.5, 600, 10, 20))
    report = run(session, rules, 7012, actor=actor)
    row = session.execute(text("SELECT actor, entity_ids, detail FROM audit_event "
                               "WHERE action = 'audit' ORDER BY id DESC LIMIT 1")).one()
    assert row.actor == actor.username and row.entity_ids == [WARD]
    assert row.detail["fingerprint"] == report.fingerprint
    assert row.detail["counts"] == {"overlap": 1} and row.detail["parcels"] == 2
    assert row.detail["filters"]["sheet_no"] == 7012


@pytest.mark.parametrize(("kw", "message"), [
    ({"sheet_no": 0}, "positive"),
    ({"sheet_no": 7999}, "no registered parcels"),
    ({"sheet_no": 7001, "former_unit": "atlantis"}, "unknown former unit"),
])
def test_bad_filters_are_refused(session, rules, kw, message) -> None:
    with pytest.raises(InvalidInput, match=message):
        audit_registry(session, ward_code=WARD, rules=rules, **kw)


def test_geopackage_opens_with_the_findings(session, actor, rules, tmp_path: Path) -> None:
    """One findings layer in rank order with the parcel identity and severity as columns,
    the affected parcels as their own layer (EPSG:9214), and the run's identity."""
    plant(session, actor, 7013, box(0, 700, 10, 20), box(9.5, 700, 10, 20), box(20, 700, 10, 20),
          box(2, 702, 3, 3))
    report = run(session, rules, 7013)
    assert report.counts() == {"contained": 1, "gap": 1, "overlap": 1}
    path = tmp_path / "report.gpkg"
    shapes = affected_parcels(session, ward_code=WARD, report=report)
    rows = write_gpkg(report, path, metadata={"sheet_no": 7013}, parcels=shapes)
    assert rows == {FINDINGS: 3, PARCELS: 4, RUN: 1}
    layers = {name: kind for name, kind in pyogrio.list_layers(path)}
    assert layers == {FINDINGS: "Point", PARCELS: "MultiPolygon", RUN: None}
    df = pyogrio.read_dataframe(path, layer=FINDINGS)
    assert df.crs.to_epsg() == 9214
    # errors first, the biggest first: the 10 m² overlap, the 9 m² lot inside, then the gap
    assert list(df["priority"]) == [1, 2, 3]
    assert list(df["rule"]) == ["overlap", "contained", "gap"]
    assert list(df["severity"]) == ["error", "error", "warning"]
    ov = df[df["rule"] == "overlap"].iloc[0]
    assert ov["area_m2"] == pytest.approx(10.0) and ov["tol_scale"] == 1000
    assert ov["tol_conflict_m"] == pytest.approx(0.3)
    assert (ov["former_unit"], ov["unit_name"], ov["sheet_no"], ov["parcel_no"]) == (
        "kim_long", "Kim Long", 7013, 1)
    assert ov["other_parcels"] == "thửa đất số 2, tờ bản đồ số 7013 (Kim Long cũ)"
    assert shapely.from_wkt(ov["shape_wkt"]).area == pytest.approx(10.0, rel=1e-6)
    assert shapely.from_wkt(ov["shape_wkt"]).contains(ov.geometry)  # the point to look at
    parcels = pyogrio.read_dataframe(path, layer=PARCELS)
    assert sorted(parcels["parcel_no"]) == [1, 2, 3, 4]
    first = parcels.iloc[0]  # lot 1: the overlap with lot 2, and lot 4 inside it
    assert (first["parcel_no"], first["errors"], first["first_priority"]) == (1, 2, 1)
    assert parcels.geometry.area.sum() == pytest.approx(200 * 3 + 9, rel=1e-6)
    run_row = pyogrio.read_dataframe(path, layer=RUN)
    assert run_row["fingerprint"][0] == report.fingerprint
    assert json.loads(run_row["metadata"][0]) == {"sheet_no": 7013}
    doc = report_document(report, {"sheet_no": 7013})
    assert doc["run"] == {"sheet_no": 7013} and len(doc["findings"]) == 3


# ---------------------------------------------------------------------------- CLI


@pytest.fixture()
def cli(engine: Engine, service_env: None):
    """The CLI against this run's test database (it commits: sheet numbers are unique)."""
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_cli_audit_prints_counts_and_writes_files(cli, engine, tmp_path: Path) -> None:
    """`cadastre audit --sheet N --out f.gpkg --json f.json` exits 0 and writes both."""
    with Session(engine) as s, s.begin():
        plant(s, Actor(username="cli-audit-test", ward_code=WARD), 7101,
              box(0, 900, 10, 20), box(9.5, 900, 10, 20))
    gpkg, js = tmp_path / "r.gpkg", tmp_path / "r.json"
    r = cli("audit", "--sheet", "7101", "--unit", "kim_long", "--out", str(gpkg),
            "--json", str(js))
    assert r.exit_code == 0, r.output
    assert "2 parcels audited" in r.output
    line = next(x for x in r.output.splitlines() if x.startswith("overlap"))
    assert line.split()[1:] == ["1", "0", "0"]
    assert "500.0 lỗi và cảnh báo trên 1.000 thửa / errors and warnings per 1,000" in r.output
    assert "tờ bản đồ số 7101 (Kim Long cũ): 1 lỗi / errors" in r.output
    assert "1. [error] Thửa đất số 1 và 2, tờ bản đồ số 7101 (Kim Long cũ) chồng lấn" in r.output
    assert len(pyogrio.read_dataframe(gpkg, layer=FINDINGS)) == 1
    assert len(pyogrio.read_dataframe(gpkg, layer=PARCELS)) == 2
    doc = json.loads(js.read_text(encoding="utf-8"))
    assert doc["counts"] == {"overlap": 1} and doc["run"]["sheet_no"] == 7101
    assert doc["findings"][0]["geometry"]["type"] == "Polygon"  # WGS 84 GeoJSON
    lon, lat = doc["findings"][0]["geometry"]["coordinates"][0][0]
    assert 107 < lon < 108 and 16 < lat < 17


@pytest.mark.parametrize(("args", "message"), [
    (("--sheet", "0"), "positive"),
    (("--sheet", "7999"), "no registered parcels"),
    (("--unit", "atlantis"), "unknown former unit"),
    (("--out", "report.shp"), "must end in .gpkg"),
    (("--json", "/no/such/folder/r.json"), "does not exist"),
    (("--as-of", "yesterday"), "not an ISO date"),
])
def test_cli_audit_bad_input_exits_2(cli, args, message) -> None:
    r = cli("audit", *args)
    assert r.exit_code == 2 and message in r.output, r.output


# ---------------------------------------------------------------- the demo ward


def test_demo_ward_has_no_error_on_clean_parcels(demo_engine, rules) -> None:
    """The generator plants no registry defects: the whole-ward audit raises no error.

    Its parcels are an exact coverage (neighbours share vertices), so any overlap or gap
    left is a narrow wedge where registered parcels meet unregistered land or the ward's
    outline: in the noise band (info, with a proposed snap).
    """
    with Session(demo_engine) as s:
        report = audit_registry(s, ward_code=WARD_CODE, rules=rules)
        n = s.execute(text("SELECT count(*) FROM parcel")).scalar_one()
    assert report.feature_count == n > 300
    errors = [f for f in report.findings if f.severity is Severity.ERROR]
    assert errors == [], [(f.code, f.labels, dict(f.figures)) for f in errors[:5]]
    for f in report.findings:
        if f.code in ("overlap", "gap"):
            assert f.band is Band.NOISE and float(f.figures["width_m"]) < 0.005

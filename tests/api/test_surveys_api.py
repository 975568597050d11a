"""Survey intake over HTTP and the command line: every format, the decisions, hostile files.

Each hostile file is sent through ``POST /api/v1/surveys`` and must answer a
problem document naming what is wrong, with the registry and staging tables
unchanged.  CLI runs commit for real (their own transactions), so their files
sit elsewhere in the test ward and use sheets nobody else uses.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyogrio
import pytest
import shapely
import shapely.affinity
from fastapi.testclient import TestClient
from shapely.geometry import Polygon, box, shape
from sqlalchemy import text
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli_app
from config.intake import IntakeSettings
from gis import crs as gcrs
from gis.crs import WARD
from gis.intake.errors import TITLES
from tests.conftest import counts
from tests.geojson_schema import assert_geojson
from tests.gis.builders import (
    BILLION_LAUGHS,
    CSV_VN,
    EXTERNAL,
    A,
    B,
    assert_drawn,
    dxf_file,
    geojson,
    kml_text,
    parcels_9214,
    shapefile_parts,
    wgs,
    zip_dir,
)

PROBLEM = "application/problem+json"
MiB = 1024 * 1024
PROPS = [{"to": 5, "so_thua": 12, "loai_dat": "ODT", "dien_tich": 300},
         {"to": 5, "so_thua": 13, "loai_dat": "CLN", "dien_tich": 400}]

# What each format of all_formats carries besides the geometry, as the staged feature
# keeps it: the source layer, and a few of the file's own attributes (name: value).
CARRIED: dict[str, tuple[str | None, list[dict[str, Any]]]] = {
    "geojson": (None, PROPS),
    "shapefile": ("thua", [{"SHBANDO": 5, "SHTHUA": 12, "KHLOAIDAT": "ODT"},
                           {"SHBANDO": 5, "SHTHUA": 13, "KHLOAIDAT": "cln"}]),
    "gpkg": ("thua_dat", [{"SHBANDO": 5, "SHTHUA": 12, "KHLOAIDAT": "ODT"},
                          {"SHBANDO": 5, "SHTHUA": 13, "KHLOAIDAT": "cln"}]),
    "kml": ("Thửa đất", [{"name": "Thửa 12", "to_ban_do": "5", "so_thua": "12"},
                         {"name": "Thửa 13", "to_ban_do": "5", "so_thua": "13"}]),
    "dxf": ("THUA", [{"Layer": "THUA", "SubClasses": "AcDbEntity:AcDbPolyline"},
                     {"Layer": "THUA", "SubClasses": "AcDbEntity:AcDbHatch"}]),
    "csv": (None, [{"Tờ": "5", "Số thửa": "12", "points": ["1", "2", "3", "4"]},
                   {"Tờ": "5", "Số thửa": "13", "points": ["5", "6", "7", "8"]}]),
}
CARRIED["kmz"] = CARRIED["kml"]


# ------------------------------------------------------------------- file builders


def gpkg_file(path: Path, geoms: tuple[Any, Any] = (A, B), **extra: list[Any]) -> Path:
    pyogrio.write_dataframe(parcels_9214(list(geoms), **extra), path, layer="thua_dat")
    return path


def csv_file(path: Path, dx: float = 0.0, dy: float = 0.0) -> Path:
    text_ = CSV_VN
    if dx or dy:
        def move(line: str) -> str:
            cells = line.split(";")
            if len(cells) >= 5 and cells[3] and cells[3][0].isdigit():
                x = float(cells[3].replace(",", ".")) + dy
                y = float(cells[4].replace(",", ".")) + dx
                cells[3], cells[4] = f"{x:.3f}".replace(".", ","), f"{y:.3f}".replace(".", ",")
            return ";".join(cells)
        text_ = "\n".join(move(line) for line in CSV_VN.splitlines()) + "\n"
    path.write_bytes(text_.encode("utf-8-sig"))
    return path


def all_formats(folder: Path, dx: float = 0.0, dy: float = 0.0, sheet: int = 5
                ) -> dict[str, tuple[Path, dict[str, str]]]:
    """One file per format with parcels A and B (moved by dx, dy): path and form fields."""
    a, b = (shapely.affinity.translate(g, dx, dy) for g in (A, B))
    props = [p | {"to": sheet} for p in PROPS]
    gdf_extra = {"SHBANDO": [sheet, sheet]}
    scratch = folder / "scratch"
    shp = zip_dir(folder / "thua_shp.zip",
                  shapefile_parts(scratch, parcels_9214([a, b], **gdf_extra)))
    kml = folder / "thua.kml"
    kml.write_text(kml_text(geoms=(a, b)).replace("<value>5</value>",
                                                  f"<value>{sheet}</value>"), encoding="utf-8")
    files = {
        "geojson": (geojson(folder / "thua.geojson", [wgs(a), wgs(b)], props), {}),
        "shapefile": (shp, {}),
        "gpkg": (gpkg_file(folder / "thua.gpkg", (a, b), **gdf_extra), {}),
        "kml": (kml, {}),
        "kmz": (zip_dir(folder / "thua.kmz", {"doc.kml": kml.read_bytes()}), {}),
        "dxf": (dxf_file(folder / "ban_ve.dxf", geoms=(a, b)), {}),
        "csv": (csv_file(folder / "toa_do.csv", dx, dy), {}),
    }
    return files


# ------------------------------------------------------------------------ helpers


def upload(client: TestClient, headers: dict[str, str], path: Path, *, name: str | None = None,
           **form: Any) -> Any:
    data = {"former_unit": "kim_long", **{k: str(v) for k, v in form.items()}}
    with path.open("rb") as fh:
        return client.post("/api/v1/surveys", headers=headers, data=data,
                           files={"file": (name or path.name, fh, "application/octet-stream")})


def problem_of(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["type"] == f"/problems/{code}", body
    assert body["detail"] and body["message_vi"]
    assert body["title"] == TITLES[code]  # words, never the code reworded ("Crs wrong zone")
    return body


@pytest.fixture()
def work(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.fixture()
def client_with(settings, engine, sessions, work) -> Callable[..., TestClient]:
    """A client whose app has its own intake settings (limits, upload folder)."""
    made: list[TestClient] = []

    def make(**intake: Any) -> TestClient:
        s = settings.model_copy(update={"intake": IntakeSettings(work_dir=work, **intake)})
        c = TestClient(create_app(s, engine=engine, sessions=sessions),
                       raise_server_exceptions=False)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture()
def api(client_with) -> TestClient:
    return client_with()


# ---------------------------------------------------------------------- formats


@pytest.mark.parametrize("fmt", ["geojson", "shapefile", "gpkg", "kml", "kmz", "dxf", "csv"])
def test_each_format_uploads_and_shows_features_and_findings(api, auth, tmp_path, fmt) -> None:
    """A surveyor uploads each format: 201, a validated batch, features and findings in WGS 84.
    Each staged parcel is the one drawn (within 1 cm once back in EPSG:9214), with its sheet,
    number, land use and declared area, and the attributes the format carries."""
    path, form = all_formats(tmp_path)[fmt]
    r = upload(api, auth("surveyor"), path, **form)
    assert r.status_code == 201, r.text
    b = r.json()
    assert b["state"] == "validated" and b["feature_count"] == 2
    assert b["format"] == fmt and r.headers["Location"] == f"/api/v1/surveys/{b['id']}"
    feats = api.get(f"/api/v1/surveys/{b['id']}/features", headers=auth("surveyor"))
    assert feats.status_code == 200
    assert feats.headers["content-type"].startswith("application/geo+json")
    fc = feats.json()
    assert_geojson(fc, "FeatureCollection")
    staged = sorted(fc["features"], key=lambda f: f["properties"]["source_index"])
    assert_drawn([shape(f["geometry"]) for f in staged], [A, B], crs=gcrs.WGS84)
    props = [f["properties"] for f in staged]
    assert [p["measured_area_m2"] for p in props] == pytest.approx([300.0, 400.0], abs=0.01)
    identity = [(p["sheet_no"], p["parcel_no"], p["land_use"], p["declared_area"], p["sheet"],
                 p["number"]) for p in props]
    if fmt == "dxf":  # a drawing carries no identity, and none is invented
        assert identity == [(None,) * 6] * 2
    else:
        assert identity == [("5", "12", "ODT", 300.0, 5, 12), ("5", "13", "CLN", 400.0, 5, 13)]
    layer, attributes = CARRIED[fmt]
    assert [p["source_layer"] for p in props] == [layer, layer]
    assert [{k: p["attributes"][k] for k in want} for p, want in
            zip(props, attributes, strict=True)] == attributes
    found = api.get(f"/api/v1/surveys/{b['id']}/findings", headers=auth("surveyor")).json()
    assert_geojson(found, "FeatureCollection")
    if fmt == "dxf":  # no numbers, no land use in a drawing: cannot be new parcels
        rules = {f["properties"]["rule"] for f in found["features"]}
        assert "missing_identity" in rules and not b["can_commit"]
    else:
        assert b["can_commit"], found


def test_officer_commits_and_parcels_appear(api, auth, tmp_path) -> None:
    """Upload by the surveyor, commit by the officer: the parcels are in the registry."""
    path, _ = all_formats(tmp_path)["gpkg"]
    b = upload(api, auth("surveyor"), path).json()
    assert api.post(f"/api/v1/surveys/{b['id']}/commit",
                    headers=auth("surveyor")).status_code == 403
    r = api.post(f"/api/v1/surveys/{b['id']}/commit", headers=auth("land_officer"),
                 json={"reason": "đo đạc bổ sung 2025"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "committed" and r.json()["committed_parcels"] == 2
    got = api.get("/api/v1/parcels", params={"sheet_no": 5, "parcel_no": 12},
                  headers=auth("land_officer")).json()
    assert [f["properties"]["measured_area_m2"] for f in got["features"]] == [300.0]
    assert [f["properties"]["land_use"] for f in got["features"]] == ["ODT"]
    assert_drawn([shape(f["geometry"]) for f in got["features"]], [A], crs=gcrs.WGS84)
    again = api.post(f"/api/v1/surveys/{b['id']}/commit", headers=auth("land_officer"))
    problem_of_conflict = again.json()
    assert again.status_code == 409 and problem_of_conflict["type"] == \
        "/problems/survey_batch_closed"


def test_overlap_settled_with_the_neighbour_over_http(api, auth, tmp_path, session,
                                                     actor) -> None:
    """An overlap with a registered parcel blocks the commit (409 listing it) and cannot be
    overridden (409 naming the way out); the officer has the commit amend the neighbour
    (the answer shows its proposed boundary); the commit then goes through and the
    neighbour has a new version without the overlap."""
    from parcels import registry
    from tests.factories import spec

    nb = registry.register_parcel(session, actor=actor, reason="fixture",
                                  spec=spec(9, 1, box(559_010, 1_820_005, 559_030, 1_820_030)))
    session.commit()
    path, _ = all_formats(tmp_path)["geojson"]
    b = upload(api, auth("surveyor"), path).json()
    assert b["matches"]["conflict"] >= 1
    blocked = api.post(f"/api/v1/surveys/{b['id']}/commit", headers=auth("land_officer"))
    body = problem_of_conflict = blocked.json()
    assert blocked.status_code == 409 and body["type"] == "/problems/survey_commit_blocked"
    assert problem_of_conflict["open_errors"] == len(body["findings"]) >= 1
    errors = api.get(f"/api/v1/surveys/{b['id']}/findings", params={"severity": "error"},
                     headers=auth("land_officer")).json()["features"]
    assert {f["properties"]["rule"] for f in errors} == {"overlap"}
    first = errors[0]["id"]
    refused = api.post(f"/api/v1/surveys/{b['id']}/findings/{first}/override",
                       headers=auth("land_officer"), json={"reason": "ranh giới đã đo lại"})
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/survey_finding_not_overridable"
    assert "amend the registered neighbour" in refused.json()["detail"]
    url = f"/api/v1/surveys/{b['id']}/findings/{{}}/amend-neighbour"
    assert api.post(url.format(first), headers=auth("surveyor"),
                    json={"reason": "ok ok"}).status_code == 403
    assert api.post(url.format(first), headers=auth("land_officer"),
                    json={"reason": ""}).status_code == 422
    for f in errors:
        r = api.post(url.format(f["id"]), headers=auth("land_officer"),
                     json={"reason": "thửa bên cạnh nhường phần chồng lấn"})
        assert r.status_code == 200, r.text
        assert r.json()["properties"]["resolution"] == "amend_neighbour"
        assert r.json()["proposal"]["parcel_id"] == nb.parcel_id
        assert r.json()["proposal"]["geometry"]["type"] == "Polygon"
    done = api.post(f"/api/v1/surveys/{b['id']}/commit", headers=auth("land_officer"))
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "committed"
    area = session.execute(text("SELECT ST_Area(geom) FROM parcel_version WHERE parcel_id = :p "
                                "AND valid_to IS NULL"), {"p": nb.parcel_id}).scalar_one()
    assert area == pytest.approx(500.0 - 100.0 - 110.0, abs=0.01)  # A took 100 m², B 110 m²


def test_bulk_override_over_http(api, auth, tmp_path, session, actor) -> None:
    """The officer overrides every open error in one request, one reason for the list or a
    reason each; a list naming a finding that cannot be overridden changes nothing.  (The
    errors here: both parcels reach 0.5 m beyond the test ward's northern edge, more than
    the 1:1000 tolerance, less than the 1 m the registry itself allows.)"""
    north = 1_823_000.5
    path = geojson(tmp_path / "thua.geojson",
                   [wgs(box(559_000, north - 15, 559_020, north)),
                    wgs(box(559_020, north - 16, 559_045, north))], PROPS)
    b = upload(api, auth("surveyor"), path).json()
    url = f"/api/v1/surveys/{b['id']}/findings/override"
    officer = auth("land_officer")
    every = api.get(f"/api/v1/surveys/{b['id']}/findings", headers=officer).json()["features"]
    errors = [f["id"] for f in every if f["properties"]["open"]]
    assert len(errors) >= 2
    assert {f["properties"]["rule"] for f in every if f["properties"]["open"]} == {
        "outside_ward"}
    assert api.post(url, headers=auth("surveyor"),
                    json={"finding_ids": errors, "reason": "ok ok"}).status_code == 403
    assert api.post(url, headers=officer, json={"finding_ids": errors}).status_code == 422
    mixed = api.post(url, headers=officer,
                     json={"finding_ids": [*errors, 10**9], "reason": "đã đo lại"})
    assert mixed.status_code == 404, mixed.text
    assert api.get(f"/api/v1/surveys/{b['id']}", headers=officer).json()["findings"][
        "open_errors"] == len(errors)
    r = api.post(url, headers=officer,
                 json={"finding_ids": errors[1:], "reason": "ranh giới đã đo lại",
                       "overrides": [{"id": errors[0], "reason": "đã kiểm tra thực địa"}]})
    assert r.status_code == 200, r.text
    assert r.json()["findings"]["open_errors"] == 0 and r.json()["can_commit"]
    now = {f["id"]: f["properties"] for f in api.get(
        f"/api/v1/surveys/{b['id']}/findings", headers=officer).json()["features"]}
    assert now[errors[0]]["override_reason"] == "đã kiểm tra thực địa"
    assert {now[i]["override_reason"] for i in errors[1:]} == {"ranh giới đã đo lại"}
    assert {now[i]["override_by"] for i in errors} == {"land_officer"}
    assert {now[i]["resolution"] for i in errors} == {"override"}
    again = api.post(url, headers=officer, json={"finding_ids": errors[:1], "reason": "again"})
    assert again.status_code == 409
    assert [f["id"] for f in again.json()["findings"]] == errors[:1]
    done = api.post(f"/api/v1/surveys/{b['id']}/commit", headers=officer)
    assert done.status_code == 200, done.text


def test_reject_over_http(api, auth, tmp_path) -> None:
    """The officer rejects with a reason; the surveyor sees it; the registry is unchanged."""
    path, _ = all_formats(tmp_path)["kml"]
    b = upload(api, auth("surveyor"), path).json()
    assert api.post(f"/api/v1/surveys/{b['id']}/reject", headers=auth("land_officer"),
                    json={}).status_code == 422
    r = api.post(f"/api/v1/surveys/{b['id']}/reject", headers=auth("land_officer"),
                 json={"reason": "thiếu chữ ký"})
    assert r.status_code == 200 and r.json()["state"] == "rejected"
    mine = api.get(f"/api/v1/surveys/{b['id']}", headers=auth("surveyor")).json()
    assert mine["decision_reason"] == "thiếu chữ ký" and mine["committed_parcels"] == 0


def test_same_file_twice_returns_the_same_batch(api, auth, tmp_path, connection) -> None:
    """The same bytes again: 200 with the existing batch, nothing new staged."""
    path, _ = all_formats(tmp_path)["shapefile"]
    first = upload(api, auth("surveyor"), path)
    assert first.status_code == 201
    before = counts(connection)
    again = upload(api, auth("surveyor"), path, name="renamed.zip")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert counts(connection) == before
    bid = first.json()["id"]
    mine = upload(api, auth("surveyor2"), path)
    assert mine.status_code == 201 and mine.json()["id"] != bid
    assert mine.json()["uploaded_by"] == "surveyor2"


def test_a_surveyor_cannot_learn_whether_another_uploaded_a_file(api, auth, tmp_path,
                                                                  connection) -> None:
    """Issue 20, finding 14: surveyor2 sends the very bytes surveyor already sent.  The
    answer is exactly what a new file gets (201 and a batch of surveyor2's own), never a
    409 saying the file exists; the first batch stays invisible to surveyor2 (404)."""
    path, _ = all_formats(tmp_path)["shapefile"]
    first = upload(api, auth("surveyor"), path).json()
    (tmp_path / "other").mkdir()
    fresh, _ = all_formats(tmp_path / "other")["geojson"]
    control = upload(api, auth("surveyor2"), fresh)
    same = upload(api, auth("surveyor2"), path)
    assert (same.status_code, control.status_code) == (201, 201)
    assert same.headers["content-type"] == control.headers["content-type"]
    body = same.json()
    assert body["id"] != first["id"] and body["uploaded_by"] == "surveyor2"
    assert api.get(f"/api/v1/surveys/{first['id']}",
                   headers=auth("surveyor2")).status_code == 404


def test_same_file_with_a_crs_override_is_a_new_batch(api, auth, tmp_path, connection) -> None:
    """The first upload of a coordinate table was read in the default CRS; uploading it again
    naming the CRS gives a new batch read that way (201), not the old one."""
    path, _ = all_formats(tmp_path)["csv"]
    first = upload(api, auth("surveyor"), path)
    assert first.status_code == 201
    named = upload(api, auth("surveyor"), path, crs="EPSG:9214")
    assert named.status_code == 201 and named.json()["id"] != first.json()["id"]
    assert named.json()["crs_override"] is not None and first.json()["crs_override"] is None
    before = counts(connection)
    again = upload(api, auth("surveyor"), path, crs="EPSG:9214")
    assert again.status_code == 200 and again.json()["id"] == named.json()["id"]
    assert counts(connection) == before


def test_surveyor_isolation(api, auth, tmp_path) -> None:
    """surveyor2 cannot see surveyor's batch (404 everywhere) nor find it in the list;
    officers see it; officials and admins have no business here."""
    path, _ = all_formats(tmp_path)["csv"]
    b = upload(api, auth("surveyor"), path).json()
    for suffix in ("", "/features", "/findings"):
        r = api.get(f"/api/v1/surveys/{b['id']}{suffix}", headers=auth("surveyor2"))
        assert r.status_code == 404 and r.json()["type"] == "/problems/survey_batch_not_found"
        assert api.get(f"/api/v1/surveys/{b['id']}{suffix}",
                       headers=auth("land_officer")).status_code == 200
    assert b["id"] not in [x["id"] for x in api.get("/api/v1/surveys",
                                                    headers=auth("surveyor2")).json()]
    assert b["id"] in [x["id"] for x in api.get("/api/v1/surveys",
                                                headers=auth("surveyor")).json()]
    for role in ("official", "admin"):
        assert api.get(f"/api/v1/surveys/{b['id']}", headers=auth(role)).status_code == 403


def test_3d_coordinates_are_flattened_and_said(api, auth, tmp_path) -> None:
    """Heights in a GeoJSON are dropped, and the batch says so."""
    a3 = Polygon([(x, y, 12.5) for x, y in wgs(A).exterior.coords])
    path = geojson(tmp_path / "thua3d.geojson", [a3, wgs(B)], PROPS)
    r = upload(api, auth("surveyor"), path)
    assert r.status_code == 201
    assert "flattened_z" in [w["code"] for w in r.json()["warnings"]]


def test_crs_mistake_names_the_fix_and_the_fix_works(api, auth, tmp_path) -> None:
    """Northing/easting swapped: 422 with the suggestion; re-sent with swap_axes: staged."""
    swapped = [shapely.transform(g, lambda xy: xy[:, ::-1].copy()) for g in (A, B)]
    path = geojson(tmp_path / "thua.geojson", swapped, PROPS, crs="EPSG:9214")
    body = problem_of(upload(api, auth("surveyor"), path), 422, "axes_swapped")
    assert body["suggestion"] == {"swap_axes": True}
    assert upload(api, auth("surveyor"), path, swap_axes="true").status_code == 201


# ------------------------------------------------------------------ hostile input


def _gpkg_m(path: Path) -> Path:
    pyogrio.write_dataframe(parcels_9214().iloc[:1], path, layer="thua", SPATIAL_INDEX="NO")
    wkb = shapely.to_wkb(shapely.from_wkt(
        "POLYGON M ((" + ", ".join(f"{x} {y} 7" for x, y in A.exterior.coords) + "))"),
        flavor="iso")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE thua SET geom = ?", (b"GP\x00\x01" + struct.pack("<i", WARD) + wkb,))
        db.execute("UPDATE gpkg_geometry_columns SET m = 1")
    return path


def _symlink_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("thua.geojson")
        info.create_system = 3
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    return path


def _truncated(path: Path, folder: Path) -> Path:
    full = zip_dir(folder / "full.zip", shapefile_parts(folder / "s"))
    data = full.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _nan_geojson(path: Path) -> Path:
    coords = [list(p) for p in wgs(A).exterior.coords]
    doc = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {},
         "geometry": {"type": "Polygon", "coordinates": [coords]}}]})
    first = json.dumps(coords[1])
    path.write_text(doc.replace(first[1:-1], f"NaN, {coords[1][1]}", 1))
    return path


HOSTILE: list[tuple[str, Callable[[Path], Path], dict[str, Any], int, str]] = [
    ("empty file", lambda d: _write(d / "thua.geojson", b""), {}, 422, "empty_file"),
    ("zip named .geojson", lambda d: _write(d / "thua.geojson", b"PK\x03\x04rest"), {}, 415,
     "format_mismatch"),
    ("geojson named .gpkg", lambda d: geojson(d / "x.geojson", [wgs(A)]).rename(d / "thua.gpkg"),
     {}, 415, "format_mismatch"),
    ("unknown format", lambda d: _write(d / "thua.png", b"\x89PNG\r\n\x1a\n" + bytes(200)), {},
     415,
     "unsupported_format"),
    ("truncated zip", lambda d: _truncated(d / "thua.zip", d), {}, 422, "corrupt_archive"),
    ("zip bomb (ratio)", lambda d: zip_dir(d / "bomb.zip", {"thua.geojson": b" " * (20 * MiB)}),
     {}, 413, "zip_bomb"),
    ("zip bomb (member count)",
     lambda d: zip_dir(d / "many.zip", {f"f{i}.txt": b"x" for i in range(300)}), {}, 413,
     "zip_bomb"),
    ("zip slip ../", lambda d: zip_dir(d / "slip.zip", {"thua.geojson": b"{}",
                                                         "../evil.txt": b"owned"}), {}, 422,
     "unsafe_archive_path"),
    ("zip absolute path", lambda d: zip_dir(d / "abs.zip", {"/tmp/evil.txt": b"owned"}), {}, 422,
     "unsafe_archive_path"),
    ("zip symlink", lambda d: _symlink_zip(d / "link.zip"), {}, 422, "unsafe_archive_path"),
    ("shapefile without .shx", lambda d: zip_dir(d / "noshx.zip", shapefile_parts(
        d / "s", drop=(".shx",))), {}, 422, "missing_sidecar"),
    ("shapefile without .dbf", lambda d: zip_dir(d / "nodbf.zip", shapefile_parts(
        d / "s", drop=(".dbf",))), {}, 422, "missing_sidecar"),
    ("kml billion laughs", lambda d: _write(d / "thua.kml", kml_text(
        prolog=BILLION_LAUGHS, extra="<Placemark><name>&lol3;</name></Placemark>").encode()),
     {}, 422, "xml_entity"),
    ("kml external entity", lambda d: _write(d / "thua.kml", kml_text(
        prolog=EXTERNAL, extra="<Placemark><name>&xxe;</name></Placemark>").encode()),
     {}, 422, "xml_entity"),
    ("layer /vsicurl/", lambda d: gpkg_file(d / "thua.gpkg"),
     {"layer": "/vsicurl/http://127.0.0.1:1/x"}, 422, "forbidden_path"),
    ("layer /vsizip/", lambda d: gpkg_file(d / "thua.gpkg"),
     {"layer": "/vsizip//etc/x.zip/a"}, 422, "forbidden_path"),
    ("layer /etc/passwd", lambda d: gpkg_file(d / "thua.gpkg"), {"layer": "/etc/passwd"}, 422,
     "forbidden_path"),
    ("file name /vsicurl/", lambda d: geojson(d / "thua.geojson", [wgs(A)], PROPS[:1]),
     {"name": "/vsicurl/http://127.0.0.1:1/x.geojson"}, 422, "forbidden_path"),
    ("file name /etc/passwd", lambda d: geojson(d / "thua.geojson", [wgs(A)], PROPS[:1]),
     {"name": "/etc/passwd"}, 422, "forbidden_path"),
    ("file name /vsizip/", lambda d: geojson(d / "thua.geojson", [wgs(A)], PROPS[:1]),
     {"name": "/vsizip/x.zip/thua.geojson"}, 422, "forbidden_path"),
    ("points and lines", lambda d: geojson(d / "thua.geojson", [
        wgs(A), shapely.Point(wgs(A).exterior.coords[0]),
        shapely.LineString(wgs(A).exterior.coords)]), {}, 422, "not_polygon"),
    # NaN is not JSON (RFC 8259): refused by the streaming parser before any geometry
    ("NaN coordinates", lambda d: _nan_geojson(d / "thua.geojson"), {}, 422, "corrupt_file"),
    ("bad mapping JSON", lambda d: geojson(d / "thua.geojson", [wgs(A)], PROPS[:1]),
     {"mapping": "{not json"}, 422, "bad_mapping"),
    ("unknown CRS", lambda d: geojson(d / "thua.geojson", [wgs(A)], PROPS[:1]),
     {"crs": "EPSG:999999"}, 422, "crs_unknown"),
]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("label", "build", "form", "status", "code"), HOSTILE,
                         ids=[h[0] for h in HOSTILE])
def test_hostile_upload_refused_and_nothing_written(
        api, auth, connection, tmp_path, work, label, build, form, status, code) -> None:
    """Each hostile or broken file: the problem document names it; registry and staging
    are unchanged; no upload folder is left behind; nothing escaped the folder."""
    src = tmp_path / "src"
    src.mkdir()
    path = build(src)
    before = counts(connection)
    name = form.pop("name", None)
    body = problem_of(upload(api, auth("surveyor"), path, name=name, **form), status, code)
    assert counts(connection) == before, label
    assert list(work.iterdir()) == []
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil.txt").exists()
    assert str(tmp_path) not in json.dumps(body)  # no server path in the answer


def test_measured_coordinates_read_as_2d(api, auth, tmp_path) -> None:
    """A GeoPackage with M values: staged as plain 2D parcels."""
    path = _gpkg_m(tmp_path / "thua_m.gpkg")
    r = upload(api, auth("surveyor"), path)
    assert r.status_code == 201, r.text
    fc = api.get(f"/api/v1/surveys/{r.json()['id']}/features", headers=auth("surveyor")).json()
    assert len(fc["features"][0]["geometry"]["coordinates"][0][0]) == 2


@pytest.mark.parametrize(("limit", "code"), [({"max_features": 1}, "too_many_features"),
                                             ({"max_vertices": 8}, "too_many_vertices")])
def test_feature_and_vertex_limits_from_settings(client_with, auth, connection, tmp_path,
                                                 limit, code) -> None:
    """Caps come from the intake settings: over them, 422 and nothing staged."""
    api = client_with(**limit)
    path = geojson(tmp_path / "thua.geojson", [wgs(A), wgs(B)], PROPS)
    before = counts(connection)
    body = problem_of(upload(api, auth("surveyor"), path), 422, code)
    assert body["detail"]
    assert counts(connection) == before


def test_oversized_upload_with_content_length_refused_before_reading(
        client_with, auth, connection, tmp_path, work) -> None:
    """A 5 MiB upload against a 1 MiB limit: 413 from the declared length, nothing staged."""
    api = client_with(max_file_bytes=MiB)
    path = _write(tmp_path / "big.geojson", b"{" + b" " * (5 * MiB) + b"}")
    before = counts(connection)
    body = problem_of(upload(api, auth("surveyor"), path), 413, "file_too_large")
    assert body["max_bytes"] == MiB and body["size"] > 5 * MiB
    assert counts(connection) == before and list(work.iterdir()) == []


def test_oversized_chunked_upload_refused_while_streaming(
        settings, engine, sessions, tokens, connection, work) -> None:
    """5 MiB streamed in 64 KiB chunks without a Content-Length, 1 MiB limit: the server stops
    reading a little past 1 MiB and answers 413; nothing staged, no upload folder left."""
    s = settings.model_copy(update={"intake": IntakeSettings(work_dir=work,
                                                              max_file_bytes=MiB)})
    app = create_app(s, engine=engine, sessions=sessions)
    boundary = "----cadastre"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"big.geojson\"\r\nContent-Type: application/geo+json\r\n\r\n{{").encode()
    chunks = [head] + [b" " * (64 * 1024)] * 80  # ≈ 5 MiB
    pulled = 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled < len(chunks):
            pulled += 1
            return {"type": "http.request", "body": chunks[pulled - 1], "more_body": True}
        return {"type": "http.request", "body": f"}}\r\n--{boundary}--\r\n".encode(),
                "more_body": False}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/api/v1/surveys", "raw_path": b"/api/v1/surveys",
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000),
             "server": ("testserver", 80), "state": {},
             "headers": [(b"host", b"testserver"),
                         (b"authorization", f"Bearer {tokens['surveyor']}".encode()),
                         (b"content-type",
                          f"multipart/form-data; boundary={boundary}".encode())]}
    before = counts(connection)
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = json.loads(b"".join(m.get("body", b"") for m in sent
                               if m["type"] == "http.response.body"))
    assert start["status"] == 413 and body["type"] == "/problems/file_too_large"
    read = sum(len(c) for c in chunks[:pulled])
    assert MiB < read < 2 * MiB, read  # stopped a chunk past the limit, not at 5 MiB
    assert counts(connection) == before and list(work.iterdir()) == []


# --------------------------------------------------------------------- damaged files
# Each valid upload of the format tests is damaged at random (a fixed seed per format,
# so a failure reproduces): cut short, bytes flipped, a run deleted, duplicated,
# inserted or zeroed.  Whatever the readers make of it, the answer is a 201 (the damage
# left a readable file, staged for review like any other) or a 4xx problem document,
# and nothing outside the staging tables changes.  A longer run of this (about 14,000
# damaged files) found four kinds of 500: a bare CR in a coordinate table, a ZIP
# directory claiming an unknown ZIP version, text not valid in the declared encoding,
# a KML declaring an unknown encoding; each is now a problem with its own reader test.

DAMAGED_PER_FORMAT = 40
REGISTRY = ("parcel", "parcel_version", "parcel_lineage", "source_document", "party",
            "parcel_right")


def damage(data: bytes, rng: random.Random) -> bytes:
    """One random kind of damage, as a cut-off transfer or a failing disk makes."""
    b = bytearray(data)
    i = rng.randrange(len(b))
    kind = rng.choice(["cut", "flip", "delete", "duplicate", "insert", "zero"])
    if kind == "cut":
        del b[i:]
    elif kind == "flip":
        for _ in range(rng.randint(1, 20)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == "delete":
        del b[i:i + rng.randint(1, 200)]
    elif kind == "duplicate":
        b[i:i] = b[i:i + rng.randint(1, 200)]
    elif kind == "insert":
        b[i:i] = rng.randbytes(rng.randint(1, 50))
    else:
        n = min(rng.randint(1, 100), len(b) - i)
        b[i:i + n] = bytes(n)
    return bytes(b)


@pytest.mark.parametrize("fmt", ["geojson", "shapefile", "gpkg", "kml", "kmz", "dxf", "csv"])
def test_damaged_files_get_an_answer_and_change_nothing(api, auth, tmp_path, connection,
                                                        fmt) -> None:
    path, form = all_formats(tmp_path)[fmt]
    original = path.read_bytes()
    rng = random.Random(f"damage-{fmt}")
    before = {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
              for t in REGISTRY}
    wrong, answers = [], set()
    for k in range(DAMAGED_PER_FORMAT):
        damaged = tmp_path / f"damaged{k}{path.suffix}"
        damaged.write_bytes(damage(original, rng))
        r = upload(api, auth("surveyor"), damaged, **form)
        answers.add(r.status_code)
        problem = r.headers["content-type"].startswith("application/problem+json")
        if r.status_code >= 500 or (r.status_code >= 400 and not (
                problem and r.json()["detail"] and r.json()["type"].startswith("/problems/"))):
            wrong.append((k, r.status_code, r.text[:200]))
    assert not wrong, wrong
    assert answers & {415, 422}  # the damage was noticed, not only shrugged off
    assert {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in REGISTRY} == before


def test_anonymous_upload_refused_before_the_body(api, tmp_path) -> None:
    """No token: 401 at once."""
    path, _ = all_formats(tmp_path)["geojson"]
    with path.open("rb") as fh:
        r = api.post("/api/v1/surveys", files={"file": ("thua.geojson", fh)})
    assert r.status_code == 401 and r.headers["content-type"].startswith(PROBLEM)


# ------------------------------------------------------------------------ the CLI


@pytest.fixture()
def cli(engine, service_env, monkeypatch, work) -> Callable[..., Any]:
    monkeypatch.setenv("CADASTRE_INTAKE_WORK_DIR", str(work))
    runner = CliRunner()
    return lambda *args: runner.invoke(cli_app, ["import", *map(str, args)])


CLI_SHEETS = {"geojson": 801, "shapefile": 802, "gpkg": 803, "kml": 804, "kmz": 805,
              "dxf": 806, "csv": 807}


@pytest.mark.parametrize("fmt", list(CLI_SHEETS))
def test_cli_imports_each_format(cli, engine, tmp_path, fmt) -> None:
    """`cadastre import FILE --commit --as land_officer` stages, validates and commits
    (a DXF, without numbers, is staged but refused with exit 2)."""
    sheet = CLI_SHEETS[fmt]
    k = list(CLI_SHEETS).index(fmt)
    dx, dy = -3000.0 + 100 * k, -3000.0 - 100 * k
    path, _ = all_formats(tmp_path, dx=dx, dy=dy, sheet=sheet)[fmt]
    if fmt == "csv":  # the coordinate table has its own sheet column
        path.write_bytes(path.read_bytes().replace(b"\n5;", f"\n{sheet};".encode()))
    r = cli(path, "--former-unit", "kim_long", "--commit", "--as", "land_officer")
    if fmt == "dxf":
        assert r.exit_code == 2, r.output
        assert "error findings remain" in r.output and "missing_identity" in r.output
        return
    assert r.exit_code == 0, r.output
    assert "committed: 2 parcels" in r.output and "2 new parcels" in r.output
    with engine.connect() as c:
        rows = c.execute(text(
            "SELECT parcel_no, land_use, ST_AsBinary(geom) AS wkb FROM parcel_version "
            "WHERE sheet_no = :s AND valid_to IS NULL ORDER BY parcel_no"), {"s": sheet}).all()
    assert [(r.parcel_no, r.land_use) for r in rows] == [(12, "ODT"), (13, "CLN")]
    assert_drawn([shapely.from_wkb(bytes(r.wkb)) for r in rows],
                 [shapely.affinity.translate(g, dx, dy) for g in (A, B)])


def test_cli_bad_input_exits_2_with_the_readers_message(cli, tmp_path) -> None:
    """A truncated zip: exit 2 and the reader's message; --commit without --as refused."""
    r = cli(_truncated(tmp_path / "cut.zip", tmp_path))
    assert r.exit_code == 2 and "corrupt_archive" in r.output
    path, _ = all_formats(tmp_path, dx=-3500, dy=-3500, sheet=808)["geojson"]
    r = cli(path, "--commit")
    assert r.exit_code == 2 and "--as" in r.output


def test_cli_stages_without_commit(cli, tmp_path) -> None:
    """Without --commit the batch is validated and left for an officer; the summary says so."""
    path, _ = all_formats(tmp_path, dx=-3700, dy=-3700, sheet=809)["kml"]
    r = cli(path, "--former-unit", "kim_long", "--as", "surveyor")
    assert r.exit_code == 0, r.output
    assert ": validated" in r.output and "findings:" in r.output

"""Debian's QGIS signs in to /ogc with its own authentication and reads the ward in VN-2000.

QGIS 3.22 from Debian 12 (``python3-qgis``, installed by ``make test`` where missing) runs
with the system Python in a process of its own (tests/qgis_probe.py), against a real
uvicorn on 127.0.0.1: its OGC API Features provider (not GDAL's driver) with a Basic
authentication configuration in QGIS's own encrypted auth database, first with a
password, then with a personal access token.  These tests skip only where QGIS is absent
and this is not CI; in CI they fail instead.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from shapely.geometry import box
from sqlalchemy import text
from sqlalchemy.orm import Session

from api import access_tokens
from api.users import active_user_named, add_user
from bench.common import served
from certificates.applications import Intake, receive
from config.land_use import load as land_use_list
from db.audit import Actor
from gis.convert import to_ewkb
from maps.land_use_styles import code_colours
from parcels.bulk import bulk_register
from projects.corridors import create_project
from projects.schemas import ProjectIn
from tests.conftest import PASSWORD, in_ci
from tests.factories import X0, Y0, committed_ward

SYSTEM_PYTHON = "/usr/bin/python3"
PROBE = Path(__file__).resolve().parents[1] / "qgis_probe.py"
SHEET = 985
ROWS = COLS = 30
LOT, LANE = 12.0, 3.0
ORIGIN = (X0 - 900.0, Y0 - 900.0)
"""A 30 × 30 block of 12 m lots with 3 m lanes (450 m square), in a ward of its own."""
WINDOW = (ORIGIN[0] + 52.0, ORIGIN[1] + 37.0, ORIGIN[0] + 389.0, ORIGIN[1] + 398.5)
"""A window in EPSG:9214 whose edges cross lots well inside them (not near an edge)."""
USES = ("ODT", "CLN", "TMD", "DGT", "ODT+CLN")


def _qgis_available() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    return subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True,
                          check=False).returncode == 0


@pytest.fixture(scope="module")
def qgis() -> None:
    if _qgis_available():
        return
    if in_ci():
        pytest.fail("python3-qgis is missing in CI: make test installs it (apt-get as root)")
    pytest.skip("Debian's python3-qgis is not installed (apt-get install python3-qgis)")


def probe(request: dict[str, Any], auth_dir: Path) -> dict[str, Any]:
    """Run one request through QGIS in its own process; its JSON answer."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QGIS_AUTH_DB_DIR_PATH": str(auth_dir),
           "XDG_RUNTIME_DIR": str(auth_dir)}
    auth_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    done = subprocess.run([SYSTEM_PYTHON, str(PROBE)], input=json.dumps(request), text=True,
                          capture_output=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


@dataclass(frozen=True)
class Ward:
    """The committed ward these tests read through a real server (rows other tests never
    see), and its users."""

    code: str
    official: str
    officer: str


@pytest.fixture(scope="module")
def ward(engine) -> Ward:
    code = committed_ward(engine, "Phường QGIS (thử)")
    users = Ward(code, f"qgis-official-{code.lower()}", f"qgis-officer-{code.lower()}")
    with Session(engine) as s, s.begin():
        for name, role in ((users.official, "official"), (users.officer, "land_officer")):
            add_user(s, actor=Actor(username="qgis-test", role="admin", ward_code=code),
                     username=name, role=role, password=PASSWORD)
    return users


@pytest.fixture(scope="module")
def block(engine, ward: Ward) -> dict[int, int]:
    """The block of lots, committed (a real server reads it): parcel number → id."""
    lots, uses = [], []
    for i in range(COLS):
        for j in range(ROWS):
            x, y = ORIGIN[0] + i * (LOT + LANE), ORIGIN[1] + j * (LOT + LANE)
            lots.append(box(x, y, x + LOT, y + LOT))
            uses.append(USES[(i + j) % len(USES)])
    frame = gpd.GeoDataFrame({
        "former_unit": "kim_long", "sheet_no": SHEET, "parcel_no": range(1, len(lots) + 1),
        "land_use": uses}, geometry=lots, crs=9214)
    officer = Actor(username=ward.officer, role="land_officer", ward_code=ward.code)
    x, y = ORIGIN
    with Session(engine) as s, s.begin():
        ids = bulk_register(s, actor=officer, parcels=frame, reason="QGIS test block")
        # One of each other layer's features, so that QGIS draws every layer.
        s.execute(text(
            "INSERT INTO zone (ward_code, zone_key, kind, name, geom, synthetic, source) VALUES "
            "(:w, 'QGIS-Z1', 'heritage_1', 'Khu vực bảo vệ I (thử)', "
            "ST_Multi(ST_GeomFromEWKB(:g)), true, 'QGIS test')"),
            {"w": ward.code, "g": to_ewkb(box(x + 100, y + 100, x + 200, y + 200), 9214)})
        create_project(s, actor=officer, reason="QGIS test", spec=ProjectIn.model_validate({
            "code": "QGIS1", "name_vi": "Đường thử QGIS", "name_en": "QGIS test road",
            "status": "approved", "reason": "QGIS test", "corridor": {"srid": 9214, "elements": [
                {"centreline": {"type": "LineString",
                                "coordinates": [[x + 7.5, y - 5], [x + 7.5, y + 300]]},
                 "left_width_m": 3.0, "right_width_m": 3.0}]}}).to_spec())
        receive(s, actor=officer, intake=Intake(
            procedure="first_certificate", applicant_name="Nguyễn Thị QGIS", channel="counter",
            declared_area=140.0, declared_land_use="ODT",
            geometry=box(x + 300, y + 300, x + 312, y + 312), srid=9214))
    return dict(zip(range(1, len(lots) + 1), ids, strict=True))


@pytest.fixture(scope="module")
def token(engine, ward: Ward) -> str:
    """A personal access token of the ward's official (read-only, the default)."""
    with Session(engine) as s, s.begin():
        owner = active_user_named(s, username=ward.official)
        assert owner is not None
        made = access_tokens.create_token(
            s, actor=Actor(username="qgis-test", ward_code=ward.code), owner=owner,
            name="QGIS probe")
    return made.value


@pytest.fixture(scope="module")
def live(settings, block) -> Iterator[str]:
    with served(settings) as url:
        yield url


def forget_failures(engine, username: str) -> None:
    """Drop the failed sign-ins a live server committed (the user's, and those counted
    against 127.0.0.1), so that no later test finds the account or the address throttled."""
    with engine.begin() as c:
        c.execute(text("DELETE FROM sign_in_failure WHERE key IN (:u, 'addr:127.0.0.1')"),
                  {"u": f"user:{username}"})


def _expected(engine, ward: Ward) -> set[int]:
    with Session(engine) as s:
        return set(s.execute(text(
            "SELECT parcel_id FROM parcel_version WHERE valid_to IS NULL AND ward_code = :w "
            "AND ST_Intersects(geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 9214))"),
            {"w": ward.code, "x0": WINDOW[0], "y0": WINDOW[1], "x1": WINDOW[2],
             "y1": WINDOW[3]}).scalars())


def _stored_vertices(engine, ids: list[int]) -> dict[int, list[tuple[float, float]]]:
    with Session(engine) as s:
        rows = s.execute(text(
            "SELECT parcel_id, ST_AsText(geom) FROM parcel_version WHERE valid_to IS NULL "
            "AND parcel_id = ANY(:ids)"), {"ids": ids}).all()
    import shapely

    return {pid: [tuple(c) for c in shapely.get_coordinates(shapely.from_wkt(wkt))]
            for pid, wkt in rows}


@pytest.mark.parametrize("credential", ["password", "token"])
def test_qgis_signs_in_and_reads_a_window_in_vn2000(qgis, live, engine, ward, token,
                                                    tmp_path, credential) -> None:
    """QGIS's OAPIF provider with a Basic configuration (the password, then a personal
    access token as the password) loads ``parcels``; the window's features, in EPSG:9214,
    are exactly the parcels PostGIS intersects with it, at the stored coordinates."""
    expected = _expected(engine, ward)
    assert len(expected) > 400
    answer = probe({"do": "layer", "url": live, "collection": "parcels",
                    "username": ward.official,
                    "password": PASSWORD if credential == "password" else token,
                    "window": WINDOW}, tmp_path / "auth")
    assert answer["valid"], answer.get("error")
    assert {"parcel_id", "sheet_no", "parcel_no", "land_use"} <= set(answer["fields"])
    assert set(answer["ids"]) == expected
    assert answer["fetched"] >= len(expected)
    assert set(answer["land_uses"]) == set(USES)
    stored = _stored_vertices(engine, answer["ids"][:50])
    worst = max(abs(a - b) for pid, coords in stored.items()
                for (qa, qb), (sa, sb) in zip(answer["vertices"][str(pid)], coords, strict=True)
                for a, b in ((qa, sa), (qb, sb)))
    assert worst < 0.002, f"QGIS's EPSG:9214 coordinates are {worst * 1000:.2f} mm off"


def test_a_wrong_password_gives_no_layer(qgis, live, engine, ward, tmp_path) -> None:
    """The same sign-in with a wrong password: QGIS gets no layer, and the service counted
    the failed sign-in (Basic counts toward the throttle)."""
    def failures() -> int:
        with Session(engine) as s:
            return int(s.execute(text("SELECT count(*) FROM sign_in_failure WHERE key = :k"),
                                 {"k": f"user:{ward.official}"}).scalar_one())

    before = failures()
    try:
        answer = probe({"do": "layer", "url": live, "collection": "parcels",
                        "username": ward.official, "password": "not-the-password",
                        "window": WINDOW}, tmp_path / "auth")
        assert answer["valid"] is False, answer
        assert failures() > before
    finally:
        forget_failures(engine, ward.official)


def test_the_ready_project_opens_with_every_layer_valid(qgis, live, ward, tmp_path) -> None:
    """The project a land officer downloads (signed in with Basic, as QGIS would) opens in
    QGIS in EPSG:9214 once the officer made the authentication configuration it names:
    every layer valid and showing features, parcels styled by land use with Vietnamese
    names, parcel numbers labelled."""
    pair = base64.b64encode(f"{ward.officer}:{PASSWORD}".encode()).decode()
    with urllib.request.urlopen(urllib.request.Request(
            f"{live}/api/v1/qgis/project.qgz", headers={"Authorization": f"Basic {pair}"}),
            timeout=30) as r:
        assert r.status == 200 and r.headers["content-type"] == "application/zip"
        path = tmp_path / "kimlong.qgz"
        path.write_bytes(r.read())
    assert f"url='{live}/ogc'" in zipfile.ZipFile(path).read("kimlong.qgs").decode()
    answer = probe({"do": "project", "path": str(path), "username": ward.officer,
                    "password": PASSWORD, "authcfg": "kimlong"}, tmp_path / "auth")
    print(json.dumps(answer, ensure_ascii=False)[:3000])  # shown with -s: what QGIS opened
    assert answer["read"] and answer["crs"] == "EPSG:9214"
    assert "mô phỏng" in answer["title"] and "mô phỏng" in answer["group"]
    layers = {a["name"]: a for a in answer["layers"]}
    assert set(layers) == {"Thửa đất / Parcels", "Vùng hạn chế / Zones",
                           "Tim tuyến dự án / Project corridors",
                           "Hồ sơ đang xử lý / Pending applications"}
    assert all(a["valid"] and a["provider"] == "OAPIF" for a in layers.values()), answer
    assert all(a["features"] > 0 for a in layers.values()), "every layer shows features"
    zones = layers["Vùng hạn chế / Zones"]
    assert zones["attr"] == "kind"
    assert zones["categories"][1][:2] == ["heritage_1",
                                          "Khu vực bảo vệ di tích I / heritage zone I"]
    assert layers["Tim tuyến dự án / Project corridors"]["renderer"] == "singleSymbol"
    pending = layers["Hồ sơ đang xử lý / Pending applications"]
    assert pending["labels"] and pending["label_field"] == "application_key"
    parcels = layers["Thửa đất / Parcels"]
    assert parcels["features"] == 50
    assert parcels["attr"] == 'left("land_use", 3)'
    labels = {value: label for value, label, _ in parcels["categories"]}
    codes = land_use_list()
    assert labels["ODT"] == "ODT — Đất ở tại đô thị" and labels["TON"] == "TON — Đất cơ sở tôn giáo"
    assert set(labels) - {""} == set(codes.codes)
    colours = {value: colour for value, _, colour in parcels["categories"]}
    generated = code_colours(codes)
    assert colours["ODT"] == "#{:02x}{:02x}{:02x}".format(*generated["ODT"])
    assert len(set(colours.values())) == len(colours), "every code its own colour"
    assert parcels["labels"] and parcels["label_field"] == "parcel_no"
    assert parcels["label_scale"][0] and parcels["label_scale"][1] == 2500


def test_officials_get_no_pending_applications_layer(client, auth) -> None:
    """The project follows the role: the pending applications are for land officers."""
    for role, has in (("official", False), ("surveyor", False), ("land_officer", True)):
        r = client.get("/api/v1/qgis/project.qgz", headers=auth(role))
        qgs = zipfile.ZipFile(io.BytesIO(r.content)).read("kimlong.qgs").decode()
        assert ("typename='pending_applications'" in qgs) is has, role
        assert "authcfg='kimlong'" in qgs and PASSWORD not in qgs


def test_a_malformed_authcfg_is_refused(client, auth) -> None:
    r = client.get("/api/v1/qgis/project.qgz", params={"authcfg": "x'><a"},
                   headers=auth("official"))
    assert r.status_code == 422 and r.json()["type"] == "/problems/validation_error"


def test_the_command_line_writes_the_project(engine, service_env, tmp_path) -> None:
    """``cadastre qgis-project`` writes the same project for a role and an address; a bad
    role or authcfg exits 2 and writes no file."""
    from typer.testing import CliRunner

    from api.cli import app as cli

    out = tmp_path / "ward.qgz"
    runner = CliRunner()
    r = runner.invoke(cli, ["qgis-project", "--out", str(out), "--url",
                            "https://dia-chinh.example.vn", "--role", "official"])
    assert r.exit_code == 0, r.output
    qgs = zipfile.ZipFile(out).read("kimlong.qgs").decode()
    assert "url='https://dia-chinh.example.vn/ogc'" in qgs
    assert "typename='parcels'" in qgs and "typename='pending_applications'" not in qgs
    assert "<authid>EPSG:9214</authid>" in qgs
    for args in (["--role", "admin"], ["--authcfg", "bad id"], ["--url", "ftp://x"]):
        bad = tmp_path / "bad.qgz"
        r = runner.invoke(cli, ["qgis-project", "--out", str(bad), *args])
        assert r.exit_code == 2 and not bad.exists(), (args, r.output)

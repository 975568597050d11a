"""A surveyor's batch on a map (their own only), and the ``cadastre map`` commands.

Built on the plain test ward: parcels and claims drawn by hand near Huế's test point.
"""

from __future__ import annotations

from pathlib import Path

import pdfplumber
import pyogrio
from shapely.geometry import box
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app as cli
from certificates.applications import receive
from db.audit import Actor
from maps import boundary
from maps.offline import external_urls
from parcels import registry, surveys
from tests.certificates.conftest import intake
from tests.conftest import WARD, counts
from tests.factories import spec
from tests.gis.builders import A, B, geojson

SURVEYOR = Actor(username="surveyor", role="surveyor", ward_code=WARD)
OFFICER = Actor(username="land_officer", role="land_officer", ward_code=WARD)
PROPS = [{"to": 5, "so_thua": 12, "loai_dat": "ODT"}, {"to": 5, "so_thua": 13, "loai_dat": "CLN"}]


def _batch(session: Session, settings, tmp_path: Path) -> int:
    registry.register_parcel(session, actor=OFFICER, spec=spec(5, 40, box(559_030, 1_820_005,
                                                                          559_060, 1_820_030)),
                             reason="a registered neighbour the batch overlaps")
    path = geojson(tmp_path / "lo-do-dac.geojson", [A, B], PROPS, crs="EPSG:9214")
    with path.open("rb") as fh:
        staged = surveys.stage_upload(session, actor=SURVEYOR, stream=fh, filename=path.name,
                                      options=surveys.UploadOptions(former_unit="kim_long"),
                                      settings=settings)
    return int(staged.batch["id"])


def test_surveyor_sees_the_map_of_their_own_batch_only(session, settings, client, auth,
                                                       tmp_path: Path) -> None:
    batch = _batch(session, settings, tmp_path)
    session.flush()
    r = client.get(f"/maps/surveys/{batch}", headers=auth("surveyor"))
    assert r.status_code == 200, r.text
    html = r.text
    assert external_urls(html) == []
    assert '"features"' in html and "lo-do-dac.geojson" in html
    assert "Thửa 1 trong lô" in html and "Thửa 2 trong lô" in html  # both, with popups
    assert "Thửa 3 trong lô" not in html
    assert "xung đột với sổ địa chính" in html  # B overlaps the registered parcel 5/40
    assert client.get(f"/maps/surveys/{batch}", headers=auth("land_officer")).status_code == 200
    other = client.get(f"/maps/surveys/{batch}", headers=auth("surveyor2"))
    assert other.status_code == 404
    assert client.get(f"/maps/surveys/{batch}", headers=auth("official")).status_code == 403


def _committed_claim(engine) -> int:
    """A claim committed to the test database (the CLI reads committed data)."""
    with Session(engine) as s, s.begin():
        return receive(s, actor=OFFICER, intake=intake(
            box(561_700, 1_821_700, 561_721.5, 1_821_713.25), name="Võ Thị Lành",
            application_key=f"CLI-MAP-{id(s)}")).id


def test_cli_writes_the_field_map_package_and_extract(settings, engine, monkeypatch,
                                                      tmp_path: Path) -> None:
    monkeypatch.setenv("CADASTRE_DATABASE", settings.db.database)
    monkeypatch.setenv("CADASTRE_MAPS_PUBLIC_URL", "https://dia-chinh.example.vn")
    app_id = _committed_claim(engine)
    runner = CliRunner()
    html = tmp_path / "ho-so.html"
    r = runner.invoke(cli, ["map", "application", str(app_id), "--out", str(html),
                            "--self-contained"])
    assert r.exit_code == 0, r.output
    page = html.read_text(encoding="utf-8")
    assert "<script src=" not in page and 'rel="stylesheet" href=' not in page
    assert external_urls(page) == [] and "Võ Thị Lành" in page

    gpkg = tmp_path / "ho-so.gpkg"
    assert runner.invoke(cli, ["map", "package", str(app_id), "--out", str(gpkg)]).exit_code == 0
    points = pyogrio.read_dataframe(gpkg, layer="boundary_points")
    assert list(points["x_northing"]) == [1_821_713.25, 1_821_713.25, 1_821_700.0, 1_821_700.0]

    pdf = tmp_path / "ho-so.pdf"
    r = runner.invoke(cli, ["map", "extract", "--application", str(app_id), "--out", str(pdf)])
    assert r.exit_code == 0, r.output
    with pdfplumber.open(pdf) as doc:
        text = doc.pages[0].extract_text()
    assert "284.9 m²" in text and "Võ Thị Lành" in text
    v1 = boundary.vertices(box(561_700, 1_821_700, 561_721.5, 1_821_713.25))[0]
    assert f"1 {v1.x:.2f} {v1.y:.2f}" in text


def test_cli_refuses_unknown_ids_and_writes_nothing(settings, engine, monkeypatch,
                                                    tmp_path: Path) -> None:
    monkeypatch.setenv("CADASTRE_DATABASE", settings.db.database)
    with Session(engine) as s:
        before = counts(s)
    runner = CliRunner()
    out = tmp_path / "x.html"
    r = runner.invoke(cli, ["map", "application", "987654321", "--out", str(out)])
    assert r.exit_code == 2 and "no application 987654321" in r.output and not out.exists()
    r = runner.invoke(cli, ["map", "extract", "--out", str(tmp_path / "x.pdf")])
    assert r.exit_code == 2 and "--parcel" in r.output
    with Session(engine) as s:
        assert counts(s) == before

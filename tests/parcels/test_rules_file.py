"""One rules file for every check: the same override changes the registry audit, a survey
intake and a certificate verification alike.

A land officer who tightens the positional tolerance of 1:1000 maps (snap 0.15 → 0.05 m,
conflict 0.30 → 0.10 m) must get the same answer for one 20 cm overlap wherever it is
judged: a discrepancy to review under the packaged rules, a conflict under theirs.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli_app
from certificates import applications as apps
from config.intake import IntakeSettings
from config.settings import Settings
from db.audit import Actor
from gis.rules import DEFAULT_RULES_PATH
from parcels import registry, surveys
from parcels.rights import PartyDetails, grant_use_right
from tests.conftest import WARD
from tests.factories import rect, spec
from tests.gis.builders import geojson, wgs

OFFICER = Actor(username="land_officer", role="land_officer", ward_code=WARD)
SURVEYOR = Actor(username="surveyor", role="surveyor", ward_code=WARD)
WIDTH = 0.2
"""The overlap's width (m): between snap_m and conflict_m of 1:1000 as packaged."""


@pytest.fixture(scope="module")
def tight_rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packaged rules file with 1:1000's tolerances tightened."""
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    tight, n = re.subn(r"(\[scales\.1000\]\npositional_accuracy_m = )0\.15\nsnap_m = 0\.15\n"
                       r"conflict_m = 0\.30", r"\g<1>0.05\nsnap_m = 0.05\nconflict_m = 0.10",
                       text)
    assert n == 1
    path = tmp_path_factory.mktemp("rules") / "rules.toml"
    path.write_text(tight.replace('version = "', 'version = "tight-', 1), encoding="utf-8")
    return path


def overlapping(x: float, y: float) -> tuple[shapely.Polygon, shapely.Polygon]:
    """Two 10 × 10 m lots side by side whose shared edge is drawn 20 cm apart."""
    return rect(x, y, 10, 10), rect(x + 10 - WIDTH, y, 10, 10)


def test_audit_honours_the_rules_file(settings: Settings, engine: Engine, tight_rules: Path,
                                      monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`cadastre audit` judges the overlap by CADASTRE_RULES_FILE: review, then conflict."""
    with Session(engine) as s, s.begin():
        for k, g in enumerate(overlapping(-3_000, -4_500), start=1):
            registry.register_parcel(s, actor=OFFICER, reason="rules file test",
                                     spec=spec(7401, k, g))
    monkeypatch.setenv("CADASTRE_DATABASE", settings.db.database)
    bands = []
    for rules_file in (None, tight_rules):
        if rules_file is not None:
            monkeypatch.setenv("CADASTRE_RULES_FILE", str(rules_file))
        out = tmp_path / f"audit-{len(bands)}.json"
        r = CliRunner().invoke(cli_app, ["audit", "--sheet", "7401", "--json", str(out)])
        assert r.exit_code == 0, r.output
        [overlap] = [f for f in json.loads(out.read_text())["findings"] if f["rule"] == "overlap"]
        bands.append((overlap["band"], overlap["severity"]))
    assert bands == [("review", "warning"), ("conflict", "error")]


def test_survey_intake_honours_the_rules_file(session, settings: Settings, tight_rules: Path,
                                              tmp_path: Path) -> None:
    """A surveyed lot overlapping its registered neighbour by 20 cm: review, then conflict
    once the batch is validated again under the tightened rules."""
    registered, surveyed = overlapping(-3_000, -4_600)
    registry.register_parcel(session, actor=OFFICER, reason="fixture",
                             spec=spec(7402, 1, registered))
    base = settings.model_copy(update={"intake": IntakeSettings(work_dir=tmp_path / "work")})
    tight = base.model_copy(update={"data": base.data.model_copy(
        update={"rules_file": tight_rules})})
    path = geojson(tmp_path / "lot.geojson", [wgs(surveyed)],
                   [{"to": 7402, "so_thua": 2, "loai_dat": "ODT"}])
    with path.open("rb") as fh:
        batch = surveys.stage_upload(session, actor=SURVEYOR, stream=fh, filename=path.name,
                                     options=surveys.UploadOptions(former_unit="kim_long"),
                                     settings=base).batch

    def overlap() -> tuple[str, str]:
        fc = surveys.batch_findings(session, actor=OFFICER, batch_id=batch["id"],
                                    rule="overlap")
        [f] = fc["features"]
        return f["properties"]["band"], f["properties"]["severity"]

    first = overlap()
    surveys.validate_batch(session, actor=OFFICER, batch_id=batch["id"], settings=tight)
    assert [first, overlap()] == [("review", "warning"), ("conflict", "error")]


def test_verification_honours_the_rules_file(session, settings: Settings, engine: Engine,
                                             sessions, auth, tight_rules: Path) -> None:
    """A claim overlapping a certified lot by 20 cm, verified through the HTTP API: the
    overlap is in the review band under the packaged rules, a conflict under the file the
    service is configured with."""
    certified, claimed = overlapping(-3_000, -4_700)
    lot = registry.register_parcel(session, actor=OFFICER, reason="fixture",
                                   spec=spec(7403, 1, certified))
    grant_use_right(session, ward_code=WARD, parcel_id=lot.parcel_id,
                    holder=PartyDetails(full_name="Lê Thị Cúc"), party_id=None,
                    certificate_no="CS 007403", issued_on=date(2020, 1, 2), source_id=None,
                    recorded_by=OFFICER.username)
    app_id = apps.receive(session, actor=OFFICER, intake=apps.Intake(
        procedure="first_certificate", applicant_name="Trần Văn Đức", channel="counter",
        declared_area=100.0, declared_land_use="ODT", geometry=claimed, srid=9214,
        former_unit="kim_long", sheet_no=7403, parcel_no=2)).id
    session.commit()
    tight = settings.model_copy(update={"data": settings.data.model_copy(
        update={"rules_file": tight_rules})})
    bands = []
    for configured in (settings, tight):
        with TestClient(create_app(configured, engine=engine, sessions=sessions)) as client:
            r = client.post(f"/api/v1/applications/{app_id}/verify",
                            headers=auth("land_officer"))
        assert r.status_code == 201, r.text
        [f] = [f for f in r.json()["findings"] if f["rule"] == "overlap_registered"]
        bands.append(f["band"])
    assert bands == ["review", "conflict"]

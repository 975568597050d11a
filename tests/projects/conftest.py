"""Fixtures of the road-project tests: hand-drawn lots, projects made as a land officer would,
and the synthetic demo ward (size tiny) loaded into a rolled-back transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyogrio
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from db.audit import Actor
from parcels import registry
from parcels.rights import PartyDetails, grant_use_right
from projects import corridors as pc
from projects.records import CorridorSpec, ElementSpec, ProjectRecord, ProjectSpec, SectionSpec
from tests.conftest import WARD, require_external
from tests.factories import X0, Y0, committed_ward, rect, spec

DEMO_SEED = 5
JAN_2026 = datetime(2026, 1, 20, 3, 0, tzinfo=UTC)
"""Weeks after Resolution 254/2025/QH15's road-access rule took effect (1 January 2026)."""
OFFICER = Actor(username="land_officer", role="land_officer", ward_code=WARD)
PROJECT_TABLES = ("project", "project_section", "corridor_version", "project_segment",
                  "audit_event")


def line(*points: tuple[float, float]) -> LineString:
    """A centreline through points given relative to the test ward's centre (X0, Y0)."""
    return LineString([(X0 + x, Y0 + y) for x, y in points])


def poly(*points: tuple[float, float]) -> Polygon:
    return Polygon([(X0 + x, Y0 + y) for x, y in points])


def lot(session: Session, sheet: int, number: int, geom: Polygon, *, land_use: str = "ODT",
        holder: str | None = None) -> int:
    """Register a lot (and a holder with a certificate) as a land officer; its parcel id."""
    v = registry.register_parcel(session, actor=OFFICER,
                                 spec=spec(sheet, number, geom, land_use=land_use),
                                 reason="road project test")
    if holder:
        grant_use_right(session, ward_code=WARD, parcel_id=v.parcel_id,
                        holder=PartyDetails(full_name=holder), party_id=None,
                        certificate_no=f"CT-{sheet}-{number}", issued_on=date(2024, 1, 2),
                        source_id=None, recorded_by="test")
    return v.parcel_id


def project(session: Session, code: str, *elements: ElementSpec,
            sections: tuple[str, ...] = ("S1",), alternative: str = "A") -> ProjectRecord:
    return pc.create_project(session, actor=OFFICER, reason="road project test",
                             spec=ProjectSpec(
        code=code, name_vi=f"Dự án thử {code}", name_en=f"Test project {code}",
        sections=[SectionSpec(s, f"Đoạn {s}") for s in sections],
        corridor=CorridorSpec(elements=list(elements), alternative=alternative)))


def centre(points: list[tuple[float, float]], left: float, right: float, *,
           section: str | None = "S1", access: bool = True,
           safety: float | None = None) -> ElementSpec:
    return ElementSpec(section_code=section, centreline=line(*points), left_width_m=left,
                          right_width_m=right, gives_access=access, safety_m=safety)


def rows(session: Session) -> dict[str, int]:
    """Rows of the project tables and the audit trail: a refused write changes none."""
    return {t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in PROJECT_TABLES}


@dataclass
class Demo:
    session: Session
    folder: Path
    manifest: dict[str, Any]


@pytest.fixture(scope="module")
def demo(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The tiny synthetic ward (the Nguyễn Hoàng bridge window) loaded, then rolled back.

    Its transaction stays open until the module ends, holding ward 19774's registry lock
    and audit-chain lock (it wrote parcels and audit events there): a test of the module
    that writes in ward 19774 on another connection must come before the first test that
    uses this fixture, or it waits for those locks until its statement times out."""
    from data.generate import generate
    from data.load import _load
    from data.outline import FILE_NAME, SUBFOLDER, load_outline

    outline = load_outline(require_external(SUBFOLDER, FILE_NAME))
    out = tmp_path_factory.mktemp("demo_tiny")
    generate(size="tiny", seed=DEMO_SEED, out=out, outline=outline)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    ward = pyogrio.read_dataframe(out / "ward.gpkg", layer="ward").geometry.iloc[0]
    boundary = ward if isinstance(ward, MultiPolygon) else MultiPolygon([ward])
    with engine.connect() as conn:
        outer = conn.begin()
        s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        s.execute(text("UPDATE ward SET boundary = ST_GeomFromWKB(:g, 9214) WHERE code = :w"),
                  {"g": shapely.to_wkb(boundary), "w": WARD})
        _load(s, out / "ward.gpkg", manifest, "test-demo-tiny", None)
        s.flush()
        try:
            yield Demo(session=s, folder=out, manifest=manifest)
        finally:
            s.close()
            outer.rollback()


@pytest.fixture()
def run_cli(settings: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The CLI on a committed ward of its own holding two house lots and project CLI_RR
    (a 10 m red line across both)."""
    from typer.testing import CliRunner

    from api.cli import app

    code = committed_ward(engine, "CLI road project ward")
    officer = Actor(username="land_officer", role="land_officer", ward_code=code)
    with Session(engine) as s, s.begin():
        for n, x in ((1, 0.0), (2, 20.0)):
            registry.register_parcel(s, actor=officer, reason="cli test",
                                     spec=spec(1, n, rect(x, 0, 20, 30)))
        pc.create_project(s, actor=officer, reason="cli test", spec=ProjectSpec(
            code="CLI_RR", name_vi="Dự án thử", name_en="Test project",
            corridor=CorridorSpec(elements=[ElementSpec(
                centreline=line((20, -10), (20, 40)), left_width_m=5, right_width_m=5)])))
    monkeypatch.setenv("CADASTRE_DATABASE", settings.db.database)
    monkeypatch.setenv("CADASTRE_WARD_CODE", code)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


@pytest.fixture()
def signed(settings: Any, users: Any) -> Any:
    """``signed("official")``: headers with a token issued now, on the test's clock (a token
    issued at the session's start is not yet valid in a test that travels back in time)."""
    from api.auth import issue_token

    def headers(role: str) -> dict[str, str]:
        user, epoch = users[role]
        return {"Authorization": f"Bearer {issue_token(settings.auth, user, epoch)[0]}"}

    return headers

"""Fixtures of the certificate tests: an officer, claims in the test ward, the demo ward.

The demo ward (generated at size "small" from the real outline into a temporary folder)
is loaded once per module into a connection whose outer transaction is rolled back at
the end, with the ward's boundary set to the generated window for that transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyogrio
import pytest
import time_machine
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from api.auth import issue_token
from certificates.applications import Intake, receive
from db.audit import Actor
from gis import crs as gcrs
from gis.convert import to_ewkb
from tests.conftest import WARD, require_external

DEMO_SEED = 11


@pytest.fixture()
def officer() -> Actor:
    return Actor(username="land_officer", role="land_officer", ward_code=WARD)


def intake(geom: Polygon, *, declared: float | None = None, sheet: int | None = None,
           number: int | None = None, unit: str | None = "kim_long",
           **kw: Any) -> Intake:
    """A first-time claim drawn in EPSG:9214 (declared area = drawn area unless said)."""
    return Intake(procedure="first_certificate", applicant_name=kw.pop("name", "Trần Văn A"),
                  channel=kw.pop("channel", "counter"),
                  declared_area=round(geom.area, 1) if declared is None else declared,
                  declared_land_use=kw.pop("land_use", "ODT"), geometry=geom, srid=gcrs.WARD,
                  former_unit=unit, sheet_no=sheet, parcel_no=number, **kw)


def claim(session: Session, officer: Actor, geom: Polygon, **kw: Any) -> int:
    return receive(session, actor=officer, intake=intake(geom, **kw)).id


@dataclass
class Demo:
    session: Session
    folder: Path
    manifest: dict[str, Any]


@pytest.fixture(scope="module")
def demo(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    from data.generate import generate
    from data.load import _load
    from data.outline import FILE_NAME, SUBFOLDER, load_outline

    outline = load_outline(require_external(SUBFOLDER, FILE_NAME))
    out = tmp_path_factory.mktemp("demo_small")
    generate(size="small", seed=DEMO_SEED, out=out, outline=outline)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    gpkg = out / "ward.gpkg"
    ward = pyogrio.read_dataframe(gpkg, layer="ward").geometry.iloc[0]
    boundary = ward if isinstance(ward, MultiPolygon) else MultiPolygon([ward])
    with engine.connect() as conn:
        outer = conn.begin()
        s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        s.execute(text("UPDATE ward SET boundary = ST_GeomFromEWKB(:g) WHERE code = :w"),
                  {"g": to_ewkb(boundary, gcrs.WARD), "w": WARD})
        _load(s, gpkg, manifest, "test-demo", None)
        s.flush()
        try:
            yield Demo(session=s, folder=out, manifest=manifest)
        finally:
            s.close()
            outer.rollback()


@contextmanager
def at(moment: str, settings, users) -> Iterator[dict[str, str]]:
    """Set the clock to ``moment`` (UTC, moving on from there); a land officer signs in there."""
    when = datetime.fromisoformat(moment).replace(tzinfo=UTC)
    with time_machine.travel(when, tick=True):
        user, epoch = users["land_officer"]
        yield {"Authorization": f"Bearer {issue_token(settings.auth, user, epoch)[0]}"}


def to_obligations_met(session: Session, officer: Actor, application_id: int, *,
                       override_warnings: bool = True) -> None:
    """Take a field-checked file through the posting (closed 16 days later, on the clock),
    the eligibility decision and the financial obligations, as the ward does."""
    from datetime import timedelta

    from certificates import applications as apps
    from config import clock

    apps.open_posting(session, actor=officer, application_id=application_id,
                      place="Nhà văn hóa tổ dân phố 5")
    with time_machine.travel(clock.now() + timedelta(days=16), tick=False):
        apps.close_posting(session, actor=officer, application_id=application_id)
        apps.decide_eligibility(session, actor=officer, application_id=application_id,
                                eligible=True, reason="đủ điều kiện",
                                override_warnings=override_warnings)
        apps.send_tax_info(session, actor=officer, application_id=application_id,
                           tax_office="Thuế cơ sở thành phố Huế")
        apps.obligations_met(session, actor=officer, application_id=application_id,
                             exempt_reason="không phát sinh nghĩa vụ (thử nghiệm)")
    session.flush()

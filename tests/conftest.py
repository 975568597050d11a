"""Test fixtures on a real PostGIS: the project's embedded cluster (or DATABASE_URL).

The test database is dropped and migrated from scratch once per run; a small
hand-made ward (an 8 km square around Huế's test point) and one user per role
are committed once; every test then runs inside a transaction that is rolled
back, and HTTP requests go through the ASGI app bound to that same transaction.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import MultiPolygon, box
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.auth import issue_token
from api.users import User, add_user
from config.auth import AuthSettings
from config.data import DataSettings
from config.database import DatabaseSettings
from config.settings import Settings
from data.people import UNIT_NAMES
from db.audit import Actor
from db.cluster import Cluster
from db.engine import make_engine
from db.migrate import upgrade

WARD = "19774"
WARD_BOX = (555_000.0, 1_815_000.0, 563_000.0, 1_823_000.0)
"""The test ward: an 8 km square in EPSG:9214 around lon 107.555, lat 16.455."""
FORMER_UNITS = UNIT_NAMES
PASSWORD = "correct-horse-battery"
ROLES = ("surveyor", "land_officer", "official", "admin")
REGISTRY_TABLES = ("parcel", "parcel_version", "parcel_lineage", "source_document", "party",
                   "parcel_right", "audit_event", "app_user", "survey_batch", "survey_feature",
                   "survey_finding")
SYSTEM = Actor(username="test-setup", role="admin", ward_code=WARD)


def external_dir() -> Path:
    return Path(os.environ.get("CADASTRE_EXTERNAL_DATA",
                               Path(__file__).resolve().parents[2] / "shared/data/external"))


def require_external(*parts: str) -> Path:
    """The external-data path, or skip (never in CI: there the folder must be present)."""
    path = external_dir().joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing in CI")
        pytest.skip(f"external data {path} absent (set CADASTRE_EXTERNAL_DATA)")
    return path


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(
        environment="test",
        db=DatabaseSettings(
            url=os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL"),
            database=os.environ.get("CADASTRE_TEST_DATABASE", "cadastre_test"), pool_size=5),
        auth=AuthSettings(secret="test-secret-" + "x" * 40, token_minutes=5),
        data=DataSettings(external_data=external_dir()),
    )


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    if not settings.db.url:
        cluster = Cluster(settings.db.state_dir)
        cluster.up("postgres")
        cluster.drop_database(settings.db.database)
        cluster.up(settings.db.database)
    owner = make_engine(settings.db, as_owner=True)
    upgrade(owner)
    _seed(owner)
    owner.dispose()
    eng = make_engine(settings.db)  # the service's role, as in production
    yield eng
    eng.dispose()


def _seed(engine: Engine) -> None:
    ward = MultiPolygon([box(*WARD_BOX)])
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO ward (code, name, boundary, synthetic) VALUES "
                          "(:c, 'Phường Kim Long (test ward)', ST_GeomFromWKB(:g, 9214), true) "
                          "ON CONFLICT DO NOTHING"), {"c": WARD, "g": shapely.to_wkb(ward)})
        for code, name in FORMER_UNITS.items():
            conn.execute(text("INSERT INTO former_unit (ward_code, code, name) "
                              "VALUES (:w, :c, :n) ON CONFLICT DO NOTHING"),
                         {"w": WARD, "c": code, "n": name})
    with Session(engine) as session, session.begin():
        if session.execute(text("SELECT count(*) FROM app_user")).scalar_one() == 0:
            for role in ROLES:
                add_user(session, actor=SYSTEM, username=role, role=role, password=PASSWORD)
            add_user(session, actor=SYSTEM, username="surveyor2", role="surveyor",
                     password=PASSWORD)


@pytest.fixture()
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection whose outer transaction is rolled back after the test."""
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        if outer.is_active:
            outer.rollback()


@pytest.fixture()
def sessions(connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                        expire_on_commit=False)


@pytest.fixture()
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as s:
        yield s


@pytest.fixture()
def app(settings: Settings, engine: Engine, sessions: sessionmaker[Session]) -> Any:
    return create_app(settings, engine=engine, sessions=sessions)


@pytest.fixture()
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def users(engine: Engine) -> dict[str, tuple[User, int]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, username, role, ward_code, token_epoch "
                                 "FROM app_user")).all()
    return {r.username: (User(id=r.id, username=r.username, role=r.role, ward_code=r.ward_code),
                         r.token_epoch) for r in rows}


@pytest.fixture(scope="session")
def tokens(settings: Settings, users: dict[str, tuple[User, int]]) -> dict[str, str]:
    return {name: issue_token(settings.auth, u, ep)[0] for name, (u, ep) in users.items()}


@pytest.fixture()
def auth(tokens: dict[str, str]) -> Any:
    """``auth("land_officer")`` gives the headers of that role's user."""
    return lambda name: {"Authorization": f"Bearer {tokens[name]}"}


@pytest.fixture()
def actor() -> Actor:
    return Actor(username="land_officer", role="land_officer", ward_code=WARD)


def counts(conn: Connection | Session) -> dict[str, int]:
    """Rows per registry table: a failed write must leave these unchanged."""
    return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in REGISTRY_TABLES}

"""Test fixtures on a real PostGIS: a database of the suite's own (see suite_database).

The test database is dropped and migrated from scratch once per run; a small
hand-made ward (an 8 km square around Huế's test point) and one user per role
are committed once; every test then runs inside a transaction that is rolled
back, and HTTP requests go through the ASGI app bound to that same transaction.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from shapely.geometry import MultiPolygon, box
from sqlalchemy import Connection, Engine, make_url, text
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
from gis import crs as gcrs
from gis.convert import to_ewkb

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
TOKEN_MINUTES = 10 * 366 * 24 * 60
"""Lifetime of the tokens and cookie sessions the suite issues: ten years, far beyond any
run on any machine (the session-scoped tokens are issued once at the start).  Expiry is
tested with tokens made expired on purpose (tests/api/test_auth.py)."""
URL_VARIABLES = ("DATABASE_URL", "CADASTRE_DATABASE_URL")
"""Where a user names the service's database (config.database.DatabaseSettings.url)."""


def external_dir() -> Path:
    return Path(os.environ.get("CADASTRE_EXTERNAL_DATA",
                               Path(__file__).resolve().parents[2] / "shared/data/external"))


def in_ci() -> bool:
    """CI sets ``CI=true``; there nothing may be skipped for want of data."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_external(*parts: str) -> Path:
    """The external-data path; a skip only where the whole external folder is absent and
    this is not CI.  A file missing from a folder that is there fails: a wrong name or an
    incomplete copy must not pass for "no data on this machine"."""
    root = external_dir()
    path = root.joinpath(*parts)
    if path.exists():
        return path
    if root.is_dir():
        pytest.fail(f"{path} is missing, though the external data folder {root} is there")
    if in_ci():
        pytest.fail(f"the external data folder {root} is missing in CI")
    pytest.skip(f"external data folder {root} absent (set CADASTRE_EXTERNAL_DATA)")


TEST_DB = pytest.StashKey[DatabaseSettings]()
"""The run's database settings, decided once in pytest_configure."""


def suite_database(environ: Mapping[str, str]) -> DatabaseSettings:
    """The database this run may drop, migrate, seed and commit into.

    ``TEST_DATABASE_URL``, named for that purpose, when set; otherwise a database of the
    suite's own (``CADASTRE_TEST_DATABASE``, default ``cadastre_test``) that the suite
    drops and creates on the embedded cluster.  A database named by ``DATABASE_URL`` is
    the user's: the suite never uses it, and refuses to start while it is set without
    ``TEST_DATABASE_URL`` (rather than quietly test elsewhere while the user believes
    their server was tested).
    """
    url = environ.get("TEST_DATABASE_URL") or None
    named = [name for name in URL_VARIABLES if environ.get(name)]
    if url is None and named:
        shown = make_url(environ[named[0]]).render_as_string(hide_password=True)
        raise pytest.UsageError(
            f"{named[0]} is set ({shown}). The test suite drops, migrates, seeds and commits "
            "into its database, so it never uses the database DATABASE_URL names. Unset "
            f"{' and '.join(named)} to test on a database of the suite's own in the embedded "
            "cluster, or set TEST_DATABASE_URL to a database that may be overwritten.")
    return DatabaseSettings(
        url=url, database=environ.get("CADASTRE_TEST_DATABASE", "cadastre_test"), pool_size=5,
        home=Path(environ.get("CADASTRE_HOME", ".cadastre")))


def pytest_configure(config: pytest.Config) -> None:
    """Refuse a run that would use the user's database; then take ``DATABASE_URL`` out of
    this process's environment, so that nothing the tests start (the command line, a
    server of its own, ``Settings()``) can reach it either."""
    config.stash[TEST_DB] = suite_database(os.environ)
    for name in URL_VARIABLES:
        os.environ.pop(name, None)
    when = os.environ.get("CADASTRE_TEST_CLOCK")
    if when:  # the whole run at another hour: CADASTRE_TEST_CLOCK=2026-02-16T16:30Z make pytest
        traveller = time_machine.travel(datetime.fromisoformat(when), tick=True)
        traveller.start()
        config.add_cleanup(traveller.stop)


def pytest_report_header(config: pytest.Config) -> str:
    db = config.stash[TEST_DB]
    clock = f"; the service clock runs from {os.environ['CADASTRE_TEST_CLOCK']}" \
        if os.environ.get("CADASTRE_TEST_CLOCK") else ""
    if db.url:
        return f"database: TEST_DATABASE_URL {make_url(db.url).render_as_string(True)}{clock}"
    return (f"database: {db.database} on the embedded cluster in {db.state_dir} "
            f"(dropped and created by this run){clock}")


@pytest.fixture(scope="session")
def settings(pytestconfig: pytest.Config) -> Settings:
    return Settings(
        environment="test",
        db=pytestconfig.stash[TEST_DB],
        auth=AuthSettings(secret="test-secret-" + "x" * 40, token_minutes=TOKEN_MINUTES),
        data=DataSettings(external_data=external_dir()),
    )


@pytest.fixture()
def service_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point ``Settings()`` read from the environment (the command line, a child process)
    at this run's test database, and nowhere else."""
    monkeypatch.setenv("CADASTRE_DATABASE", settings.db.database)
    for name in URL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    if settings.db.url:
        monkeypatch.setenv("DATABASE_URL", settings.db.url)


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
                          "(:c, 'Phường Kim Long (test ward)', ST_GeomFromEWKB(:g), true) "
                          "ON CONFLICT DO NOTHING"), {"c": WARD, "g": to_ewkb(ward, gcrs.WARD)})
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

"""Fixtures of the map tests: the demo ward (small, from the real outline) with its rasters,
an app and a real uvicorn bound to the demo's rolled-back transaction, verified claims.

The demo fixture is the certificate tests' (generated once per module, loaded into a
connection whose outer transaction is rolled back).  The map settings point at the
generated GeoTIFFs; the live server runs in a thread with one worker thread, so the
browser's parallel requests take turns on the demo's one connection.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.auth import issue_token
from certificates import applications as apps
from config.maps import MapSettings
from config.server import ServerSettings
from config.settings import Settings
from db.audit import Actor
from db.cluster import free_port
from tests.certificates.conftest import Demo, demo  # noqa: F401 (the shared fixture)
from tests.conftest import WARD

OFFICER = Actor(username="land_officer", role="land_officer", ward_code=WARD)


def demo_settings(settings: Settings, demo: Demo, **maps: Any) -> Settings:  # noqa: F811
    """The test settings with the demo's rasters (or what ``maps`` overrides)."""
    values = {"imagery": demo.folder / "imagery.tif",
              "elevation": demo.folder / "elevation.tif", **maps}
    return settings.model_copy(update={"maps": MapSettings(**values),
                                       "server": ServerSettings(threads=1)})


def bound_app(settings: Settings, engine: Engine, session: Session) -> Any:
    """An app whose every request runs on ``session``'s connection (inside its transaction)."""
    factory = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint",
                           expire_on_commit=False)
    return create_app(settings, engine=engine, sessions=factory)


@pytest.fixture(scope="module")
def map_settings(settings: Settings, demo: Demo) -> Settings:  # noqa: F811
    return demo_settings(settings, demo)


@pytest.fixture(scope="module")
def demo_app(map_settings: Settings, engine: Engine, demo: Demo) -> Any:  # noqa: F811
    return bound_app(map_settings, engine, demo.session)


@pytest.fixture(scope="module")
def demo_client(demo_app: Any) -> Iterator[TestClient]:
    with TestClient(demo_app, raise_server_exceptions=False) as c:
        yield c


@dataclass(frozen=True)
class Cases:
    """Demo applications to map: a claim over a certified neighbour (verified), a claim whose
    boundary crosses itself, and a clean claim (verified)."""

    overlap: int
    invalid: int
    clean: int


def _planted(session: Session, rule: str) -> int:
    found = session.execute(text(
        "SELECT a.id FROM application a JOIN demo_application_truth t "
        "ON t.application_id = a.id WHERE t.cohort = 'backlog' AND t.expected_rule = :r "
        "ORDER BY a.id LIMIT 1"), {"r": rule}).scalar_one()
    return int(found)


@pytest.fixture(scope="module")
def cases(demo: Demo) -> Cases:  # noqa: F811
    overlap, invalid, clean = (_planted(demo.session, r) for r in
                               ("overlap_registered", "invalid_geometry", "clean"))
    for app_id in (overlap, clean):
        apps.verify(demo.session, actor=OFFICER, application_id=app_id)
    demo.session.flush()
    return Cases(overlap, invalid, clean)


@pytest.fixture(scope="module")
def live(demo_app: Any) -> Iterator[str]:
    """A real uvicorn on 127.0.0.1 (in a thread) serving the demo app; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(demo_app, host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _fresh(settings: Settings, users: dict[str, Any]) -> Any:
    """Headers with a token issued now: the session's tokens live 5 minutes, and the map
    tests run late in a full run."""

    def headers(name: str) -> dict[str, str]:
        user, epoch = users[name]
        return {"Authorization": f"Bearer {issue_token(settings.auth, user, epoch)[0]}"}

    return headers


@pytest.fixture()
def auth(settings: Settings, users: dict[str, Any]) -> Any:
    """``auth("land_officer")``: that role's headers, with a token issued for this test."""
    return _fresh(settings, users)


@pytest.fixture(scope="module")
def bearer(settings: Settings, users: dict[str, Any]) -> Any:
    return _fresh(settings, users)

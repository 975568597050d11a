"""Hostile uploads through the HTTP API (issue 20, findings 1, 2 and 11).

The files are the outside penetration test's (bench/hostile_files.py); each is sent as
a surveyor would send it, and the answer, the time it took and the database are checked.
What each read cost inside the worker is tested in tests/gis/test_hostile_files.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from bench import hostile_files as hostile
from config.intake import IntakeSettings
from parcels.surveys import staging
from tests.conftest import counts

HOSTILE: dict[str, tuple[Callable[[Path], Path], str]] = {
    "GeoPackage view, recursive query": (
        lambda d: hostile.gpkg_view(d / "thua.gpkg", rows=10_000_000), "unsafe_geopackage"),
    "GeoJSON, 3.3 million pairs": (
        lambda d: hostile.geojson_pairs(d / "thua.geojson", pairs=3_300_000),
        "too_many_vertices"),
    "DXF, 120,000 bulges": (
        lambda d: hostile.dxf_bulges(d / "ban_ve.dxf", vertices=120_000), "too_many_vertices"),
    "KML, coordinates past the cap": (
        lambda d: hostile.kml_coordinates(d / "thua.kml", tuples=1_100_000),
        "too_many_vertices"),
}


def _upload(client: TestClient, token: str, path: Path) -> Any:
    with path.open("rb") as fh:
        return client.post("/api/v1/surveys", headers={"Authorization": f"Bearer {token}"},
                           data={"former_unit": "kim_long"},
                           files={"file": (path.name, fh, "application/octet-stream")})


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_file_is_refused_quickly_and_writes_nothing(
        kind, settings, engine, sessions, tokens, connection, tmp_path) -> None:
    make, code = HOSTILE[kind]
    work = tmp_path / "work"
    app = create_app(settings.model_copy(update={"intake": IntakeSettings(work_dir=work)}),
                     engine=engine, sessions=sessions)
    path = make(tmp_path)
    before = counts(connection)
    with TestClient(app, raise_server_exceptions=False) as client:
        started = time.perf_counter()
        r = _upload(client, tokens["surveyor"], path)
        took = time.perf_counter() - started
    assert r.status_code == 422, r.text
    assert r.json()["type"] == f"/problems/{code}"
    assert took < 15, f"{kind}: {took:.1f} s"
    assert counts(connection) == before
    assert list(work.iterdir()) == []


def test_no_pooled_connection_is_held_while_the_file_is_read(settings, tokens, tmp_path,
                                                             monkeypatch) -> None:
    """Finding 1: the transaction opened before the file was read, so a slow file held one
    of the pool's connections all along.  Now the registry reads end (and hand their
    connection back) before the worker starts."""
    app = create_app(settings.model_copy(update={"intake": IntakeSettings(
        work_dir=tmp_path / "work")}))
    seen: list[int] = []
    real = staging.read_isolated

    def watched(*args: Any, **kwargs: Any) -> Any:
        seen.append(app.state.engine.pool.checkedout())
        return real(*args, **kwargs)

    monkeypatch.setattr(staging, "read_isolated", watched)
    path = hostile.gpkg_view(tmp_path / "thua.gpkg", rows=1000)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            r = _upload(client, tokens["surveyor"], path)
    finally:
        app.state.engine.dispose()
    assert r.status_code == 422 and r.json()["type"] == "/problems/unsafe_geopackage"
    assert seen == [0]


@pytest.mark.parametrize(("authorization", "status"), [
    (b"Bearer x", 401), (b"Bearer official", 403),
    # HTTP Basic reads only: a write with it is refused before its password is checked
    # (no Argon2 for a request that could not be served anyway) and before its body is read
    (b"Basic c3VydmV5b3I6eA==", 403)])
def test_an_upload_is_refused_before_its_body_is_read(settings, engine, sessions, tokens,
                                                      connection, authorization,
                                                      status) -> None:
    """Finding 11: with any Authorization header the 50 MB body used to be read before the
    token was checked.  A forged token, another scheme, or a role that may not upload is
    now refused before the first chunk of the body is pulled (Basic, which only reads, as a
    403 ``basic_reads_only``)."""
    if authorization == b"Bearer official":
        authorization = f"Bearer {tokens['official']}".encode()
    app = create_app(settings, engine=engine, sessions=sessions)
    pulled = 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b" " * (1024 * 1024), "more_body": pulled < 50}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/api/v1/surveys", "raw_path": b"/api/v1/surveys",
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000),
             "server": ("testserver", 80), "state": {},
             "headers": [(b"host", b"testserver"), (b"authorization", authorization),
                         (b"content-length", str(50 * 1024 * 1024).encode()),
                         (b"content-type", b"multipart/form-data; boundary=x")]}
    before = counts(connection)
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == status
    if authorization.startswith(b"Basic"):
        body = json.loads(b"".join(m.get("body", b"") for m in sent
                                   if m["type"] == "http.response.body"))
        assert body["type"] == "/problems/basic_reads_only"
    assert pulled == 0
    assert counts(connection) == before

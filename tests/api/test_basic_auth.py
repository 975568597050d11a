"""HTTP Basic: what QGIS's own authentication sends, on /ogc and the read API.

The same users, roles and throttle as the token route; reading only; refused over plain
HTTP in production unless a TLS proxy is declared; verified credentials remembered per
worker, and forgotten the moment the account changes.
"""

from __future__ import annotations

import base64
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from api.app import create_app
from api.users import add_user, reset_password, set_disabled, set_role
from bench.common import served
from tests.conftest import PASSWORD, SYSTEM, counts
from tests.factories import geojson_wgs84, rect


def basic(username: str, password: str = PASSWORD) -> dict[str, str]:
    pair = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def test_basic_reads_the_ogc_api_and_the_read_api(client) -> None:
    assert client.get("/ogc/collections", headers=basic("official")).status_code == 200
    r = client.get("/api/v1/parcels", params={"limit": 1}, headers=basic("surveyor"))
    assert r.status_code == 200 and r.json()["type"] == "FeatureCollection"
    me = client.get("/api/v1/auth/me", headers=basic("land_officer")).json()
    assert (me["username"], me["role"]) == ("land_officer", "land_officer")


def test_basic_keeps_the_roles(client) -> None:
    """Administrators do not browse land records, by Basic as by token."""
    r = client.get("/ogc/collections", headers=basic("admin"))
    assert r.status_code == 403 and r.json()["type"] == "/problems/forbidden"
    assert client.get("/api/v1/audit", headers=basic("admin")).status_code == 200


@pytest.mark.parametrize("header", [
    basic("official", "wrong-password-x"),
    basic("nobody-at-all", PASSWORD),
    {"Authorization": "Basic not-base64!"},
    {"Authorization": "Basic " + base64.b64encode(b"official").decode()},
    {"Authorization": "Basic " + base64.b64encode(b"official:").decode()},
])
def test_wrong_or_malformed_basic_is_a_401_with_a_basic_challenge(client, header) -> None:
    r = client.get("/ogc/collections", headers=header)
    assert r.status_code == 401
    assert r.json()["type"] == "/problems/unauthorized"
    assert r.headers["www-authenticate"].startswith("Basic realm=")


def test_basic_failures_count_toward_the_sign_in_throttle(client, connection) -> None:
    """Five wrong Basic passwords lock the account for the token route too, and the right
    Basic password then waits as well (429 with Retry-After)."""
    for _ in range(5):
        assert client.get("/ogc", headers=basic("surveyor2", "wrong-password-x")
                          ).status_code == 401
    assert connection.execute(text(
        "SELECT count(*) FROM sign_in_failure WHERE key = 'user:surveyor2'")).scalar_one() == 5
    r = client.get("/ogc", headers=basic("surveyor2"))
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert r.json()["type"] == "/problems/too_many_requests"
    token = client.post("/api/v1/auth/token",
                        data={"username": "surveyor2", "password": PASSWORD})
    assert token.status_code == 429


def test_basic_sign_ins_are_the_one_audited_sign_in_check(client, connection) -> None:
    """Basic goes through api.sign_in.check_sign_in like the token route and the page: a
    wrong password and the right one are audited as sign-ins ``via`` basic, with the
    address; the read that follows names its credential."""
    def events() -> list[tuple[str, str, str | None]]:
        return [tuple(r) for r in connection.execute(text(
            "SELECT action, actor, detail->>'via' FROM audit_event "
            "WHERE action LIKE 'sign_in%' AND actor = 'official' ORDER BY id"))]

    before = events()
    assert client.get("/ogc", headers=basic("official", "wrong-password-x")).status_code == 401
    assert client.get("/ogc", headers=basic("official")).status_code == 200
    assert events()[len(before):] == [("sign_in.failed", "official", "basic"),
                                      ("sign_in", "official", "basic")]


def test_basic_may_not_write(client, session) -> None:
    """A land officer's right password over Basic still cannot register a parcel: a
    browser resends Basic by itself, which a write must never rely on.  Nothing is written."""
    before = counts(session)
    body = {"former_unit": "kim_long", "sheet_no": 960, "parcel_no": 1, "land_use": "ODT",
            "geometry": geojson_wgs84(rect(2900, -2900, 20, 20)), "reason": "đăng ký mới"}
    r = client.post("/api/v1/parcels", json=body, headers=basic("land_officer"))
    assert r.status_code == 403
    assert r.json()["type"] == "/problems/basic_reads_only"
    assert counts(session) == before


def _production(settings, **server):
    return settings.model_copy(update={
        "environment": "production",
        "server": settings.server.model_copy(update=server)})


def test_production_refuses_basic_over_plain_http(settings, engine, sessions) -> None:
    """In production a password over plain HTTP is refused before it is checked, unless a
    TLS proxy is declared; over https it is accepted."""
    plain = TestClient(create_app(_production(settings), engine=engine, sessions=sessions),
                       raise_server_exceptions=False)
    r = plain.get("/ogc", headers=basic("official"))
    assert r.status_code == 403 and r.json()["type"] == "/problems/insecure_transport"
    assert "CADASTRE_SERVER_TLS_PROXY" in r.json()["detail"]
    # An https public URL (the links' origin) says nothing of how this request travelled.
    public = TestClient(create_app(_production(settings, public_url="https://dia-chinh.example.vn"),
                                   engine=engine, sessions=sessions),
                        raise_server_exceptions=False)
    r = public.get("/ogc", headers=basic("official"))
    assert r.status_code == 403 and r.json()["type"] == "/problems/insecure_transport"
    secure = TestClient(create_app(_production(settings), engine=engine, sessions=sessions),
                        base_url="https://testserver", raise_server_exceptions=False)
    assert secure.get("/ogc", headers=basic("official")).status_code == 200
    proxied = TestClient(create_app(_production(settings, tls_proxy=True), engine=engine,
                                    sessions=sessions), raise_server_exceptions=False)
    assert proxied.get("/ogc", headers=basic("official")).status_code == 200


# ---------------------------------------------------------------- a real server, cached


def _committed_user(engine: Engine, username: str, role: str) -> None:
    with Session(engine) as s, s.begin():
        if s.execute(text("SELECT 1 FROM app_user WHERE username = :u"),
                     {"u": username}).first() is None:
            add_user(s, actor=SYSTEM, username=username, role=role, password=PASSWORD)


@contextmanager
def _forgetting_failures(engine: Engine, username: str) -> Iterator[None]:
    """Afterwards, drop the failed sign-ins the live server committed (the user's and those
    counted against 127.0.0.1): later tests must not find the address throttled."""
    try:
        yield
    finally:
        with engine.begin() as c:
            c.execute(text("DELETE FROM sign_in_failure WHERE key IN (:u, 'addr:127.0.0.1')"),
                      {"u": f"user:{username}"})


def _wait_for(predicate, seconds: float = 10.0) -> float:
    """Seconds from now to the start of the first call of ``predicate()`` that held (what a
    refused sign-in then costs, Argon2 on a busy machine, is not counted); fails the test
    after ``seconds``."""
    start = time.monotonic()
    while True:
        asked = time.monotonic()
        if predicate():
            return asked - start
        if asked - start > seconds:
            pytest.fail(f"not within {seconds} s")
        time.sleep(0.005)


def _status(url: str, headers: dict[str, str], timeout: float = 10) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=timeout) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_a_running_server_remembers_basic_credentials_until_the_account_changes(
        settings, engine) -> None:
    """Through a real uvicorn: once verified, Basic credentials are answered without the
    sign-in (proved by holding the account's sign-in lock: a sign-in would wait on it);
    a reset password is refused on the very next request and the new one works; a role
    change and a disabled account apply at once."""
    _committed_user(engine, "basic-cache", "land_officer")
    with served(settings) as url, _forgetting_failures(engine, "basic-cache"):
        items = f"{url}/ogc/collections/pending_applications/items?limit=1"
        assert _status(items, basic("basic-cache")) == 200
        with engine.connect() as other:
            other.execute(text("SELECT pg_advisory_xact_lock(hashtext('user:basic-cache'))"))
            start = time.monotonic()
            assert all(_status(items, basic("basic-cache"), timeout=3) == 200
                       for _ in range(20))
            assert time.monotonic() - start < 3, "a remembered credential must not sign in"
            # A credential not yet verified needs the sign-in, which waits for the lock.
            waited: list[int] = []
            t = threading.Thread(target=lambda: waited.append(
                _status(items, basic("basic-cache", "another-password-1"))))
            t.start()
            t.join(1.0)
            assert t.is_alive(), "an unverified password must go through the sign-in"
            other.rollback()
        t.join(10)
        assert waited == [401]

        # The change's notification reaches the worker within milliseconds of the commit
        # (as for session tokens, tests/api/test_user_cache.py).
        with Session(engine) as s, s.begin():
            reset_password(s, actor=SYSTEM, username="basic-cache", password="a-new-password-2")
        assert _wait_for(lambda: _status(items, basic("basic-cache")) == 401) < 0.5
        assert _status(items, basic("basic-cache", "a-new-password-2")) == 200

        with Session(engine) as s, s.begin():
            set_role(s, actor=SYSTEM, username="basic-cache", role="surveyor")
        # The collection is for land officers: a surveyor is not shown it (404).
        assert _wait_for(lambda: _status(items, basic("basic-cache", "a-new-password-2"))
                         == 404) < 0.5
        parcels = f"{url}/ogc/collections/parcels/items?limit=1"
        assert _status(parcels, basic("basic-cache", "a-new-password-2")) == 200

        with Session(engine) as s, s.begin():
            set_disabled(s, actor=SYSTEM, username="basic-cache", disabled=True)
        assert _wait_for(lambda: _status(parcels, basic("basic-cache", "a-new-password-2"))
                         == 401) < 0.5

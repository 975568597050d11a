"""Sign-in after the outside penetration test (issue 20, findings 3-6 and 10).

Each test sends the request the pen test sent and checks the refusal, what it cost, and
what the database holds afterwards.  Requests come from addresses of the documentation
range (192.0.2.x, RFC 5737) so that no test's failures throttle another's.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.app import create_app
from api.auth import CSRF_COOKIE, SESSION_COOKIE, new_csrf_token
from config import clock
from config.auth import AuthSettings
from tests.conftest import PASSWORD


def _client(app: Any, address: str) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, client=(address, 50000))


def _sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def _events(conn: Any, address: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [(r.action, r.actor, r.detail) for r in conn.execute(text(
        "SELECT action, actor, detail FROM audit_event WHERE address = :a ORDER BY id"),
        {"a": address})]


def _failures(conn: Any, like: str) -> int:
    return int(conn.execute(text("SELECT count(*) FROM sign_in_failure WHERE key LIKE :k"),
                            {"k": like}).scalar_one())


# ------------------------------------------------------------------ finding 3


def test_a_long_random_username_is_401_counted_and_then_throttled(app, connection) -> None:
    """A 100,000-character random username once overflowed the failure index: 503, never
    counted, 170 ms of Argon2 each.  Now it is refused as a wrong sign-in (401) without
    reaching the database by that name, counted against the address, and the 21st attempt
    is 429 at once, without a password check."""
    client = _client(app, "192.0.2.3")
    alphabet = string.ascii_letters + string.digits + "éữ"
    times = []
    for _ in range(20):
        name = "".join(secrets.choice(alphabet) for _ in range(100_000))
        started = time.perf_counter()
        r = _sign_in(client, name, "whatever-password")
        times.append(time.perf_counter() - started)
        assert r.status_code == 401 and r.json()["type"] == "/problems/unauthorized"
    assert _failures(connection, "addr:192.0.2.3") == 20
    assert _failures(connection, "user:%") == _failures(connection, "pair:192.0.2.3%") == 0
    assert max(len(k) for (k,) in connection.execute(text("SELECT key FROM sign_in_failure"))
               ) <= 200
    started = time.perf_counter()
    r = _sign_in(client, "x" * 100_000, "whatever-password")
    refused_in = time.perf_counter() - started
    assert r.status_code == 429 and r.json()["type"] == "/problems/too_many_requests"
    assert refused_in < min(times), "a throttled attempt must not spend a password check"
    assert [e[1] for e in _events(connection, "192.0.2.3")] == ["(invalid username)"] * 21


# ------------------------------------------------------------------ finding 4


@pytest.fixture()
def own_server(settings, engine: Engine) -> Iterator[tuple[Any, Engine]]:
    """The app on its own connection pool (requests really run in parallel), committing;
    the rows it leaves for its test addresses are removed afterwards."""
    app = create_app(settings, engine=engine)
    yield app, engine
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM sign_in_failure WHERE key LIKE '%192.0.2.%'"))


def test_parallel_guesses_from_one_address_stop_at_the_address_limit(own_server) -> None:
    """Thirty sign-ins at once, each with another unknown name, from one address: the
    pen test got 12 answers of 401 from 20 before the first 429 with a limit of 5.  The
    address's attempts now wait for each other, so exactly the limit (20) are checked
    and the other 10 are 429."""
    app, engine = own_server
    client = _client(app, "192.0.2.4")
    codes: list[int] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        r = _sign_in(client, f"unknown{i}", "wrong-password-x")
        with lock:
            codes.append(r.status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(codes) == [401] * 20 + [429] * 10
    with engine.connect() as conn:
        assert _failures(conn, "addr:192.0.2.4") == 20


# ------------------------------------------------------------------ the lock-out trade-off


def test_guessing_from_one_address_does_not_lock_the_owner_out(settings, engine, sessions,
                                                                connection) -> None:
    """The chosen trade-off (README): failures from one address stop that address for that
    account; the owner elsewhere still signs in, and is told of the failures.  Only the
    account's own ceiling, reached from several addresses, stops it everywhere, and that
    is audited for the administrators."""
    small = settings.model_copy(update={"auth": settings.auth.model_copy(update={
        "throttle_per_address_and_user": 2, "throttle_per_address": 10,
        "throttle_per_user": 4})})
    app = create_app(small, engine=engine, sessions=sessions)
    attacker, other, owner = (_client(app, f"192.0.2.{n}") for n in (5, 6, 7))
    for _ in range(2):
        assert _sign_in(attacker, "official", "wrong-password-x").status_code == 401
    assert _sign_in(attacker, "official").status_code == 429
    ok = _sign_in(owner, "official")
    assert ok.status_code == 200 and ok.json()["recent_failed_sign_ins"] == 2
    for _ in range(2):
        assert _sign_in(other, "official", "wrong-password-x").status_code == 401
    locked = _sign_in(owner, "official")
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    assert ("sign_in.throttled", "official", {"via": "token", "limit": "user",
                                              "retry_after_s": pytest.approx(
                                                  small.auth.throttle_window_seconds, abs=5)}
            ) in _events(connection, "192.0.2.7")


# ------------------------------------------------------------------ finding 5


def test_signing_out_revokes_the_token_on_every_door(client, connection) -> None:
    """After sign-out the same token is refused as a bearer token and as a cookie: the pen
    test found it valid for its remaining 30 minutes."""
    token = _sign_in(client, "surveyor")
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=bearer).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=bearer).status_code == 204
    me = client.get("/api/v1/auth/me", headers=bearer)
    assert me.status_code == 401 and me.json()["type"] == "/problems/unauthorized"
    client.cookies.set(SESSION_COOKIE, token.json()["access_token"])
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert connection.execute(text(
        "SELECT count(*) FROM audit_event WHERE action = 'sign_out' AND actor = 'surveyor'")
    ).scalar_one() == 1


def test_the_sign_out_form_revokes_the_cookie_session(client) -> None:
    page = client.get("/login")
    csrf = page.cookies[CSRF_COOKIE]
    r = client.post("/login", data={"username": "official", "password": PASSWORD,
                                     "csrf_token": csrf}, follow_redirects=False)
    session_token = r.cookies[SESSION_COOKIE]
    form_csrf = r.cookies[CSRF_COOKIE]
    out = client.post("/logout", data={"csrf_token": form_csrf}, follow_redirects=False)
    assert out.status_code == 303
    client.cookies.set(SESSION_COOKIE, session_token)  # a copy kept by an attacker
    assert client.get("/", follow_redirects=False).status_code == 303
    r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {session_token}"})
    assert r.status_code == 401


# ------------------------------------------------------------------ finding 6


def test_a_csrf_token_works_only_with_its_own_session_and_not_after_its_time(
        client, settings, tokens) -> None:
    """A token the server issued for one session, or for the sign-in form, is refused with
    another session; the session's own token works until it expires."""
    body = {"procedure": "transfer", "applicant_name": "Lê Văn Tư", "channel": "counter"}
    mine, other = tokens["land_officer"], tokens["official"]

    def write(csrf: str) -> int:
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, mine)
        client.cookies.set(CSRF_COOKIE, csrf)
        return client.post("/api/v1/applications", json=body,
                           headers={"X-CSRF-Token": csrf}).status_code

    assert write(new_csrf_token(settings.auth, session_token=other)) == 403
    assert write(new_csrf_token(settings.auth, session_token=None)) == 403
    own = new_csrf_token(settings.auth, session_token=mine)
    later = clock.now() + timedelta(minutes=settings.auth.csrf_minutes, seconds=5)
    with time_machine.travel(later, tick=False):
        assert write(own) == 403
    assert write(own) == 201


def test_csrf_settings_have_a_lifetime() -> None:
    assert AuthSettings().csrf_minutes > 0


# ------------------------------------------------------------------ finding 10


def test_sign_ins_are_audited_successful_failed_and_throttled(app, connection) -> None:
    """Every outcome leaves an audit event with the address and the request's own id; a
    flood of throttled attempts leaves one event, not one per attempt."""
    client = _client(app, "192.0.2.10")
    assert _sign_in(client, "official").status_code == 200
    for _ in range(5):
        assert _sign_in(client, "surveyor2", "wrong-password-x").status_code == 401
    for _ in range(3):
        assert _sign_in(client, "surveyor2").status_code == 429
    events = _events(connection, "192.0.2.10")
    assert [(a, who) for a, who, _ in events] == [
        ("sign_in", "official")] + [("sign_in.failed", "surveyor2")] * 5 + [
        ("sign_in.throttled", "surveyor2")]
    assert events[-1][2]["limit"] == "address_and_user"
    ids = [r for (r,) in connection.execute(text(
        "SELECT request_id FROM audit_event WHERE address = '192.0.2.10'"))]
    assert all(i and len(i) == 32 for i in ids) and len(set(ids)) == len(ids)

"""Sign-in: tokens, wrong passwords, throttling, expiry, disabled accounts."""

from __future__ import annotations

import jwt

from api import users
from api.auth import SESSION_COOKIE
from config import clock
from tests.conftest import PASSWORD, SYSTEM


def _sign_in(client, username: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_sign_in_gives_a_working_bearer_token(client) -> None:
    r = _sign_in(client, "land_officer")
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["role"] == "land_officer"
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == "land_officer"


def test_wrong_password_is_401_problem(client) -> None:
    r = _sign_in(client, "official", "not-the-password")
    assert r.status_code == 401
    assert r.json()["type"] == "/problems/unauthorized"
    assert _sign_in(client, "nobody-here", "whatever-password").status_code == 401


def test_failed_sign_ins_are_throttled(client) -> None:
    """After five wrong passwords even the right one waits: 429 with Retry-After."""
    for _ in range(5):
        assert _sign_in(client, "surveyor2", "wrong-password-x").status_code == 401
    r = _sign_in(client, "surveyor2")
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert r.json()["type"] == "/problems/too_many_requests"


def test_throttle_is_shared_by_every_worker(client, settings, engine, sessions, connection
                                             ) -> None:
    """Failures counted by one worker lock the account on another (each app has its own
    throttle object, as each uvicorn worker process does); a success clears the count."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    other = TestClient(create_app(settings, engine=engine, sessions=sessions),
                       raise_server_exceptions=False)
    for _ in range(3):
        assert _sign_in(client, "official", "wrong-password-x").status_code == 401
    for _ in range(2):
        assert _sign_in(other, "official", "wrong-password-x").status_code == 401
    assert _sign_in(client, "official").status_code == 429
    assert _sign_in(other, "official").status_code == 429
    from sqlalchemy import text

    assert connection.execute(text(
        "SELECT count(*) FROM sign_in_failure WHERE key = 'pair:testclient|official'")
    ).scalar_one() == 5


def test_a_successful_sign_in_clears_this_address_and_tells_the_owner(client,
                                                                      connection) -> None:
    """The owner signs in after four wrong passwords from their address: that address's
    count for the account is cleared, the answer says four failures happened, and the
    account's own count (the ceiling against a distributed guess) and the address's count
    (against spraying) are kept."""
    from sqlalchemy import text

    def count(key: str) -> int:
        return int(connection.execute(text("SELECT count(*) FROM sign_in_failure WHERE key = :k"),
                                      {"k": key}).scalar_one())

    for _ in range(4):
        assert _sign_in(client, "official", "wrong-password-x").status_code == 401
    ok = _sign_in(client, "official")
    assert ok.status_code == 200 and ok.json()["recent_failed_sign_ins"] == 4
    assert count("pair:testclient|official") == 0
    assert count("user:official") == 4 and count("addr:testclient") == 4
    assert _sign_in(client, "official", "wrong-password-x").status_code == 401
    assert count("pair:testclient|official") == 1 and count("user:official") == 5


def test_sign_ins_to_one_account_wait_for_each_other(client, engine) -> None:
    """While another worker's sign-in to the account is in progress (its transaction holds
    the account's lock), this one waits for it."""
    import threading

    from sqlalchemy import text

    results: list[int] = []
    with engine.connect() as other:
        other.execute(text("SELECT pg_advisory_xact_lock(hashtext('user:official'))"))
        t = threading.Thread(target=lambda: results.append(
            _sign_in(client, "official", "wrong-password-x").status_code))
        t.start()
        t.join(1.0)
        assert t.is_alive() and results == [], "the second sign-in must wait for the first"
        other.rollback()
    t.join(10)
    assert results == [401]


def test_throttle_is_per_address_too(client) -> None:
    """Guessing across many usernames from one address is throttled as well (20 failures,
    any accounts): then even a right password from there waits."""
    for i in range(20):
        assert _sign_in(client, f"guess{i}", "wrong-password-x").status_code == 401
    r = _sign_in(client, "admin")
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_expired_or_forged_tokens_are_refused(client, settings, users) -> None:
    user, epoch = users["official"]
    now = int(clock.now().timestamp())
    expired = jwt.encode({"sub": str(user.id), "ep": epoch, "iat": now - 3600, "exp": now - 60,
                          "iss": settings.auth.issuer}, settings.auth.secret, algorithm="HS256")
    forged = jwt.encode({"sub": str(user.id), "ep": epoch, "iat": now, "exp": now + 600,
                         "iss": settings.auth.issuer}, "another-secret-" * 4, algorithm="HS256")
    for token in (expired, forged, "not.a.token"):
        r = client.get("/api/v1/parcels", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token
        assert r.headers["www-authenticate"] == "Bearer"


def test_a_signed_in_token_is_refused_once_its_lifetime_is_over(settings, engine, sessions,
                                                                 tokens) -> None:
    """The suite's own tokens live for years (tests/conftest.py, TOKEN_MINUTES) so that no
    test depends on the run's length; expiry is checked here on purpose: where tokens live
    0 minutes, the token the sign-in gives is refused at once, bearer and cookie alike."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    short = settings.model_copy(update={"auth": settings.auth.model_copy(
        update={"token_minutes": 0})})
    with TestClient(create_app(short, engine=engine, sessions=sessions),
                    raise_server_exceptions=False) as client:
        r = _sign_in(client, "official")
        assert r.status_code == 200 and r.json()["expires_in"] == 0
        me = client.get("/api/v1/auth/me",
                        headers={"Authorization": f"Bearer {r.json()['access_token']}"})
        assert me.status_code == 401 and me.headers["www-authenticate"] == "Bearer"
        client.cookies.set(SESSION_COOKIE, r.json()["access_token"])
        assert client.get("/", follow_redirects=False).status_code == 303  # back to /login
        client.cookies.set(SESSION_COOKIE, tokens["official"])  # the control: a live one
        assert client.get("/", follow_redirects=False).status_code == 200


def test_disabled_user_is_rejected_at_once(client, auth, session) -> None:
    """A token issued before the account was disabled stops working immediately."""
    assert client.get("/api/v1/auth/me", headers=auth("surveyor")).status_code == 200
    users.set_disabled(session, actor=SYSTEM, username="surveyor", disabled=True)
    session.commit()
    r = client.get("/api/v1/auth/me", headers=auth("surveyor"))
    assert r.status_code == 401 and "disabled" in r.json()["detail"]
    assert _sign_in(client, "surveyor").status_code == 401


def test_role_change_revokes_old_tokens(client, auth, session) -> None:
    users.set_role(session, actor=SYSTEM, username="official", role="surveyor")
    session.commit()
    assert client.get("/api/v1/auth/me", headers=auth("official")).status_code == 401


def test_passwords_are_stored_as_argon2id(session) -> None:
    from sqlalchemy import text

    h = session.execute(text("SELECT password_hash FROM app_user WHERE username = 'admin'")
                        ).scalar_one()
    assert h.startswith("$argon2id$") and PASSWORD not in h

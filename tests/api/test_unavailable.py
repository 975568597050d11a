"""A database that cannot answer gets a 503 problem with Retry-After, never a 500.

Two real conditions: a server whose database is not listening at all, and a
verification that waits on an application another officer holds until the statement
time limit ends it.  Both answer 503 with the problem type that says which, and the
second leaves nothing stored.  And a third: every connection dropped by the server, as
a PostgreSQL restart does, which reads do not even notice.
"""

from __future__ import annotations

import threading
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.app import create_app
from api.auth import issue_token
from api.users import add_user
from certificates import applications as apps
from config.database import DatabaseSettings
from config.settings import Settings
from db.audit import Actor
from db.cluster import free_port
from db.engine import make_engine, transaction
from tests.certificates.conftest import intake
from tests.factories import committed_ward, rect


def test_unreachable_database_answers_503_with_retry_after(settings: Settings, tokens) -> None:
    down = settings.model_copy(update={"db": DatabaseSettings(
        url=f"postgresql+psycopg://cadastre:x@127.0.0.1:{free_port()}/cadastre")})
    with TestClient(create_app(down), raise_server_exceptions=False) as client:
        for path, headers in [("/health", {}),
                              ("/api/v1/parcels/1",
                               {"Authorization": f"Bearer {tokens['official']}"})]:
            r = client.get(path, headers=headers)
            assert r.status_code == 503, (path, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert r.headers["retry-after"] == "5"
            body = r.json()
            assert body["type"] == "/problems/database_unavailable" and body["request_id"]
            assert "127.0.0.1" not in r.text and "psycopg" not in r.text
        # no database needed to refuse an anonymous caller
        assert client.get("/api/v1/parcels/1").status_code == 401


def test_verification_held_past_the_time_limit_answers_503_and_stores_nothing(
        settings: Settings, engine: Engine) -> None:
    """Another officer's transaction holds the application; this verification waits on its
    row lock until the 300 ms statement limit ends it: 503 database_busy, no report."""
    ward = committed_ward(engine, "timeout test ward")
    officer = Actor(username=f"officer-{ward.lower()}", role="land_officer", ward_code=ward)
    with transaction(engine) as s:
        user = add_user(s, actor=officer, username=officer.username, role="land_officer",
                        password="timeout-password-1")
        app_id = apps.receive(s, actor=officer, intake=intake(rect(0, 0, 20, 20))).id
    token = issue_token(settings.auth, user, 0)[0]
    impatient = settings.model_copy(update={"db": settings.db.model_copy(
        update={"statement_timeout_ms": 300})})
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with engine.begin() as c:
            c.execute(text("SELECT id FROM application WHERE id = :i FOR UPDATE"), {"i": app_id})
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        with TestClient(create_app(impatient), raise_server_exceptions=False) as client:
            r = client.post(f"/api/v1/applications/{app_id}/verify",
                            headers={"Authorization": f"Bearer {token}"})
    finally:
        release.set()
        holder.join(30)
    assert r.status_code == 503, r.text
    assert r.json()["type"] == "/problems/database_busy"
    assert r.headers["retry-after"] == "5"
    with engine.connect() as c:
        stored = c.execute(text("SELECT count(*) FROM verification_report WHERE "
                                "application_id = :i"), {"i": app_id}).scalar_one()
        audited = c.execute(text("SELECT count(*) FROM audit_event WHERE ward_code = :w AND "
                                 "action = 'verify'"), {"w": ward}).scalar_one()
    assert (stored, audited) == (0, 0)


def test_reads_survive_the_server_dropping_every_connection(settings: Settings, tokens) -> None:
    """PostgreSQL restarts (here: every connection of this server terminated by the owner).
    Reads do not notice.  The sign-in's user row is read first (the listener went down
    with the rest, so the cache forgot everyone) and runs once more on a fresh
    connection, which also invalidates the rest of the session pool; a pooled hot read
    that meets a dead connection does the same on the asynchronous pool.  The listener
    comes back.  A write that meets a dead connection answers 503 (never repeated)."""
    name = f"cadastre-restart-{uuid.uuid4().hex[:8]}"
    own = settings.model_copy(update={"db": settings.db.model_copy(
        update={"application_name": name})})
    headers = {"Authorization": f"Bearer {tokens['land_officer']}"}
    reads = {"pooled": "/api/v1/parcels/1", "session": "/api/v1/applications?limit=1"}
    owner = make_engine(settings.db, as_owner=True)
    try:
        with TestClient(create_app(own), raise_server_exceptions=False) as client:
            assert client.app.state.user_cache.wait_listening(10)  # type: ignore[attr-defined]
            before = {kind: client.get(path, headers=headers).status_code
                      for kind, path in reads.items()}
            assert set(before.values()) <= {200, 404}
            for _ in range(2):  # twice: also while the listener is still reconnecting
                with owner.begin() as c:
                    killed = c.execute(text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name LIKE :n"), {"n": f"{name}%"}).scalar_one()
                assert killed >= 2  # the session pool and the asynchronous pool at least
                after = {kind: client.get(path, headers=headers).status_code
                         for kind, path in reads.items()}
                assert after == before
            assert client.app.state.user_cache.wait_listening(10)  # type: ignore[attr-defined]
    finally:
        owner.dispose()

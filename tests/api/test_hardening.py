"""Hardening: body limits, security headers, CORS closed, 500s without internals, secrets."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.app import create_app
from config.auth import AuthSettings
from config.server import ServerSettings
from config.settings import Settings


def test_security_headers_on_every_response(client) -> None:
    for r in (client.get("/health"), client.get("/api/v1/parcels")):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["x-request-id"]


def test_cors_is_closed_by_default(client) -> None:
    r = client.options("/api/v1/parcels", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in r.headers


def test_oversized_body_is_413_problem(settings, engine, sessions, auth, connection) -> None:
    small = settings.model_copy(update={"server": ServerSettings(max_body_bytes=10_000)})
    with TestClient(create_app(small, engine=engine, sessions=sessions)) as c:
        r = c.post("/api/v1/parcels", headers={**auth("land_officer"),
                                               "Content-Type": "application/json"},
                   content=b'{"reason": "' + b"x" * 20_000 + b'"}')
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/problem+json")


def test_unexpected_error_is_a_generic_500(settings, engine, sessions) -> None:
    """A crash answers a problem with a request id, never the exception text or SQL."""
    app = create_app(settings, engine=engine, sessions=sessions)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("SELECT secret FROM app_user -- internal detail")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom", headers={"X-Request-ID": "rid-500"})
    assert r.status_code == 500
    body = r.json()
    assert body["type"] == "/problems/internal_error"
    assert body["request_id"] == r.headers["x-request-id"] != "rid-500"
    assert "secret" not in r.text and "Traceback" not in r.text and "SELECT" not in r.text


def test_production_refuses_a_default_or_short_secret(monkeypatch) -> None:
    monkeypatch.delenv("CADASTRE_AUTH_SECRET", raising=False)
    with pytest.raises(ValidationError, match="CADASTRE_AUTH_SECRET"):
        Settings(environment="production")
    with pytest.raises(ValidationError, match="CADASTRE_AUTH_SECRET"):
        Settings(environment="production", auth=AuthSettings(secret="short"))
    ok = Settings(environment="production", auth=AuthSettings(secret="s" * 40))
    assert ok.auth.secret == "s" * 40


def test_development_secret_is_random_per_process() -> None:
    assert Settings().auth.secret != Settings().auth.secret


def test_chunked_body_is_cut_off_at_the_limit(settings, engine, sessions, auth) -> None:
    """Without a Content-Length the body is counted while it streams, then refused."""
    small = settings.model_copy(update={"server": ServerSettings(max_body_bytes=10_000)})

    def chunks():
        yield b'{"reason": "'
        for _ in range(50):
            yield b"x" * 1000
        yield b'"}'

    with TestClient(create_app(small, engine=engine, sessions=sessions),
                    raise_server_exceptions=False) as c:
        r = c.post("/api/v1/parcels", headers={**auth("land_officer"),
                                               "Content-Type": "application/json"},
                   content=chunks())
    assert r.status_code == 413
    assert r.json()["type"] == "/problems/payload_too_large"

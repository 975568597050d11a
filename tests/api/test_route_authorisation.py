"""Every route in the OpenAPI document is protected: checked from the route table itself.

POLICY is the specification of who has business where (issue 7): a route that is
not in it fails this test, so nobody adds an endpoint without saying who may call it.
"""

from __future__ import annotations

import re

import pytest

ROLES = ("surveyor", "land_officer", "official", "admin")
READERS = ("surveyor", "land_officer", "official")
PUBLIC = {("GET", "/health"), ("POST", "/api/v1/auth/token")}
POLICY: list[tuple[str, str, tuple[str, ...]]] = [
    # (method, path regex, roles allowed)
    ("GET", r"/api/v1/auth/me", ROLES),
    ("GET", r"/api/v1/parcels/[^/]+/extract\.pdf", ("land_officer",)),
    ("GET", r"/api/v1/parcels(/.*)?", READERS),
    ("POST", r"/api/v1/parcels(/.*)?", ("land_officer",)),
    ("GET", r"/api/v1/audit", ("admin",)),
    ("POST", r"/api/v1/surveys", ("surveyor", "land_officer")),
    ("GET", r"/api/v1/surveys(/.*)?", ("surveyor", "land_officer")),
    ("POST", r"/api/v1/surveys/.+", ("land_officer",)),
    ("GET", r"/api/v1/applications(/.*)?", ("land_officer",)),
    ("POST", r"/api/v1/applications(/.*)?", ("land_officer",)),
    ("GET", r"/api/v1/disputes(/.*)?", ("land_officer",)),
    ("POST", r"/api/v1/disputes(/.*)?", ("land_officer",)),
    ("GET", r"/api/v1/stats/.*", ("land_officer", "official")),
    ("GET", r"/ogc(/.*)?", READERS),
    ("GET", r"/api/v1/projects(/.*)?", READERS),
    ("GET", r"/api/v1/users(/.*)?", ("admin",)),
    ("POST", r"/api/v1/users(/.*)?", ("admin",)),
    ("GET", r"/api/v1/settings(/.*)?", ("admin",)),
    ("PUT", r"/api/v1/settings(/.*)?", ("admin",)),
    ("GET", r"/maps/assets/.*", READERS),
    ("GET", r"/maps/applications/.*", ("land_officer",)),
    ("GET", r"/maps/(ward|tiles/.*|parcels/.*)", ("land_officer", "official")),
    ("GET", r"/maps/projects/.*", ("land_officer", "official")),
    ("GET", r"/maps/surveys/.*", ("surveyor", "land_officer")),
]


def _routes(app) -> list[tuple[str, str]]:
    doc = app.openapi()
    return sorted((method.upper(), path) for path, ops in doc["paths"].items() for method in ops)


def _allowed(method: str, path: str) -> tuple[str, ...]:
    for m, pattern, roles in POLICY:
        if m == method and re.fullmatch(pattern, path):
            return roles
    pytest.fail(f"{method} {path} is not in the authorisation POLICY: declare who may call it")


def _call(client, method: str, path: str, headers: dict[str, str] | None = None):
    url = re.sub(r"\{[^}]+\}", "1", path)
    return client.request(method, url, headers=headers or {},
                          json={} if method in ("POST", "PUT", "PATCH") else None)


def test_every_route_is_in_the_policy(app) -> None:
    routes = _routes(app)
    assert len(routes) >= 10
    for method, path in routes:
        if (method, path) not in PUBLIC:
            _allowed(method, path)


def test_anonymous_gets_401_everywhere_but_health_and_login(app, client) -> None:
    for method, path in _routes(app):
        if (method, path) in PUBLIC:
            continue
        r = _call(client, method, path)
        assert r.status_code == 401, f"{method} {path} answered {r.status_code} to anonymous"
        assert r.headers["content-type"].startswith("application/problem+json")


def test_each_role_is_refused_where_it_has_no_business(app, client, auth) -> None:
    checked = 0
    for method, path in _routes(app):
        if (method, path) in PUBLIC:
            continue
        allowed = _allowed(method, path)
        for role in ROLES:
            r = _call(client, method, path, auth(role))
            if role in allowed:
                assert r.status_code not in (401, 403), f"{role} refused on {method} {path}"
            else:
                assert r.status_code == 403, f"{role} got {r.status_code} on {method} {path}"
                assert r.json()["type"] == "/problems/forbidden"
            checked += 1
    assert checked >= 40


def test_openapi_and_docs_are_public(client) -> None:
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200

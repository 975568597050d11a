"""Property-based tests of the whole HTTP API from its own OpenAPI document (schemathesis).

A bounded number of generated requests per operation, as each role in turn, each inside
the test's rolled-back transaction: no request may produce a 5xx, every error must be an
RFC 9457 problem document, successful JSON responses must match the documented schema,
GeoJSON ones the GeoJSON schema, and the audit trail an administrator reads must be what
it claims (newest first, filters and limit honoured).  Each role must see some of its own
operations succeed, so that a run made only of refusals cannot pass.

The default run is short; ``test_api_at_length`` (marker ``slow``, part of ``make test``
and CI; deselect it with ``-m 'not slow'`` while developing) sends several times more.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.geojson_schema import assert_geojson

ROLES = ("surveyor", "land_officer", "official", "admin")
EXAMPLES_PER_OPERATION = 4
SLOW_EXAMPLES_PER_OPERATION = 30

MUST_SUCCEED: dict[str, set[tuple[str, str]]] = {
    "surveyor": {("GET", "/api/v1/parcels"), ("GET", "/api/v1/surveys"),
                 ("GET", "/ogc/collections")},
    "land_officer": {("GET", "/api/v1/parcels"), ("GET", "/api/v1/applications"),
                     ("GET", "/ogc/collections")},
    "official": {("GET", "/api/v1/parcels"), ("GET", "/api/v1/stats/applications"),
                 ("GET", "/ogc/collections")},
    "admin": {("GET", "/api/v1/audit"), ("GET", "/api/v1/auth/me")},
}
"""Operations each role has business with, which must answer 2xx at least once."""

Statuses = dict[tuple[str, str], set[int]]


def _content_type(response: Any) -> str:
    value = response.headers.get("content-type", [""])
    return value[0] if isinstance(value, list) else value


def _audit_page(query: dict[str, Any], body: dict[str, Any]) -> None:
    """An administrator's audit page: newest first, within the limit, filters applied."""
    events = body["events"]
    assert len(events) <= int(query.get("limit", 100)), (query, len(events))
    stamps = [datetime.fromisoformat(e["at"]) for e in events]
    assert stamps == sorted(stamps, reverse=True), "audit events are not newest first"
    for name in ("actor", "action", "entity"):
        if query.get(name):
            assert {e[name] for e in events} <= {query[name]}, (name, query[name])


@dataclass
class Run:
    statuses: Statuses
    calls: int
    operations: int
    audit_events: int
    """Audit events on the pages read: the audit checks saw something."""


def _fuzz(app: Any, headers: dict[str, str], examples: int) -> Run:
    """Every operation, ``examples`` generated requests each, the checks run on every
    answer; what was seen."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    # Signing out ends every token of the role's account (the token epoch moves on): it is
    # fuzzed last, so that the other operations run signed in.
    operations.sort(key=lambda op: op.path == "/api/v1/auth/logout")
    statuses: Statuses = defaultdict(set)
    calls = 0
    audit_events = 0
    for operation in operations:

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(max_examples=examples, deadline=None, derandomize=True,
                             database=None, suppress_health_check=list(HealthCheck))
        def run(case) -> None:  # type: ignore[no-untyped-def]
            nonlocal calls, audit_events
            calls += 1
            response = case.call(headers=headers)
            statuses[(case.method.upper(), case.path)].add(response.status_code)
            case.validate_response(response, checks=(not_a_server_error,))
            where = (case.method, case.path, response.status_code)
            kind = _content_type(response)
            if response.status_code >= 400:
                assert kind.startswith("application/problem+json"), where
                body = response.json()
                assert {"type", "title", "status", "detail"} <= set(body), where
                assert body["status"] == response.status_code, where
            elif kind.startswith("application/geo+json"):
                assert_geojson(response.json(), "GeoJSON")
            elif kind.startswith("application/json"):
                case.validate_response(response, checks=(response_schema_conformance,))
                if case.path == "/api/v1/audit":
                    _audit_page(case.query or {}, response.json())
                    audit_events += len(response.json()["events"])

        run()
    return Run(statuses, calls, len(operations), audit_events)


def _check_role(app: Any, auth: Any, role: str, examples: int) -> None:
    run = _fuzz(app, auth(role), examples)
    assert run.operations >= 20
    assert run.calls >= 2 * run.operations, (run.calls, run.operations)
    succeeded = {op for op, seen in run.statuses.items() if any(200 <= s < 300 for s in seen)}
    assert MUST_SUCCEED[role] <= succeeded, (role, MUST_SUCCEED[role] - succeeded)
    if role == "admin":
        assert run.audit_events > 0, "every audit page the administrator read was empty"


@pytest.mark.parametrize("role", ROLES)
def test_api_never_fails_and_errors_are_problems(app, auth, role: str) -> None:
    _check_role(app, auth, role, EXAMPLES_PER_OPERATION)


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_api_at_length(app, auth, role: str) -> None:
    """The same properties over 30 generated requests per operation and role instead of 4."""
    _check_role(app, auth, role, SLOW_EXAMPLES_PER_OPERATION)

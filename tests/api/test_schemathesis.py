"""Property-based tests of the whole HTTP API from its own OpenAPI document (schemathesis).

A bounded number of generated requests per operation, as a land officer (the role
with the most routes), each inside the test's rolled-back transaction: no request
may produce a 5xx, every error must be an RFC 9457 problem document, and successful
JSON responses must match the documented schema.
"""

from __future__ import annotations

import hypothesis
import schemathesis
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error, response_schema_conformance

EXAMPLES_PER_OPERATION = 6


def _content_type(response) -> str:  # type: ignore[no-untyped-def]
    value = response.headers.get("content-type", [""])
    return value[0] if isinstance(value, list) else value


def test_api_never_fails_and_errors_are_problems(app, auth) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = auth("land_officer")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    calls = 0
    for operation in operations:

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None,
                             derandomize=True, database=None,
                             suppress_health_check=list(HealthCheck))
        def run(case) -> None:  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            response = case.call(headers=headers)
            case.validate_response(response, checks=(not_a_server_error,))
            where = (case.method, case.path, response.status_code)
            if response.status_code >= 400:
                assert _content_type(response).startswith("application/problem+json"), where
                body = response.json()
                assert {"type", "title", "status", "detail"} <= set(body), where
                assert body["status"] == response.status_code, where
            elif _content_type(response).startswith("application/json"):
                case.validate_response(response, checks=(response_schema_conformance,))

        run()
    assert calls >= 2 * len(operations), (calls, len(operations))

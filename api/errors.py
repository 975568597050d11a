"""RFC 9457 problem details for every error, mapped from domain errors in one table.

A problem's ``type`` is ``/problems/<code>`` with a stable code per error class;
``title`` is fixed per type, ``detail`` says what is wrong with this request, and the
error's ``extra`` facts are extension members.  Every error a user causes, a refused
survey file included, is a ``gis.errors.DomainError``: one handler, one status table.
A database that cannot answer (unreachable, out of connections, a statement over
its time limit, a deadlock) is a transient condition, not a fault of the request:
503 with ``Retry-After``.  Unexpected errors answer 500 with a generic message and
the request id only: the traceback goes to the log, never to the client.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import psycopg
import psycopg_pool
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as QueuePoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.responses import SECURITY_HEADERS
from api.users import UserError
from certificates.errors import (
    ApprovalConflict,
    InvalidApplication,
    InvalidClaim,
    NotVerified,
    WrongState,
)
from db.errors import Conflict, Forbidden, NotFound, StaleVersion
from gis.errors import DomainError
from gis.intake.errors import (
    FileTooLargeError,
    FormatMismatchError,
    UnsupportedFormatError,
    ZipBombError,
)
from parcels.errors import InvalidInput, UnknownCRS

log = logging.getLogger("cadastre.api")
PROBLEM_JSON = "application/problem+json"

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    NotFound: 404,
    Conflict: 409,
    StaleVersion: 412,
    Forbidden: 403,
    InvalidInput: 400,
    UnknownCRS: 400,
    UserError: 400,
    InvalidClaim: 422,
    InvalidApplication: 422,
    WrongState: 409,
    NotVerified: 409,
    ApprovalConflict: 409,
    FileTooLargeError: 413,
    ZipBombError: 413,
    UnsupportedFormatError: 415,
    FormatMismatchError: 415,
    DomainError: 422,
}
"""Most specific class wins (looked up along the MRO).  Every other refused survey file
(``gis.intake.errors.ReadError``) is 422: it arrived and is of a known kind, but its content
cannot be used as parcels."""

RETRY_AFTER_S = 5
"""What a 503 asks the client to wait: a restarting database or a released lock."""
_PROBLEM_KEYS = frozenset({"type", "title", "status", "detail", "instance", "request_id"})


def status_for(exc: DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 422


def problem(request: Request, *, status: int, code: str, title: str, detail: str,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
        **extra,
    }
    return JSONResponse(jsonable_encoder(body), status_code=status, media_type=PROBLEM_JSON,
                        headers=headers)


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    """What is wrong (``detail``) and the facts behind it, e.g. the offending parcels or a
    refused file's layers and suggested fix; a fact never hides a member RFC 9457 defines."""
    assert isinstance(exc, DomainError)
    facts = {k if k not in _PROBLEM_KEYS else f"error_{k}": v for k, v in exc.extra.items()}
    # A stale If-Match: the answer carries the current version's tag, as a read would.
    headers = {"ETag": str(exc.extra["etag"])} if isinstance(exc, StaleVersion) else None
    return problem(request, status=status_for(exc), code=exc.code, title=exc.title,
                   detail=exc.detail, headers=headers, **facts)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
            413: "payload_too_large", 429: "too_many_requests"}.get(status, f"http_{status}")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
    return problem(request, status=status, code=code, title=HTTPStatus(status).phrase,
                   detail=detail, headers=getattr(exc, "headers", None))


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
         "message": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    summary = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors[:5])
    return problem(request, status=422, code="validation_error", title="Invalid request",
                   detail=summary or "the request is not valid", field_errors=errors)


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    # The database refused a value the request carried (an id beyond bigint, a number
    # out of a column's range): the client's input, not a server fault.
    log.info("data error on %s: %s", request.url.path, str(exc).splitlines()[0][:200])
    return problem(request, status=400, code="invalid_value", title="Invalid value",
                   detail="a value in the request is out of range or malformed for the registry")


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    cause = getattr(exc, "orig", None) or exc
    busy = isinstance(cause, psycopg.errors.QueryCanceled | psycopg.errors.LockNotAvailable
                      | psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure
                      | psycopg_pool.PoolTimeout | QueuePoolTimeout)
    log.warning("database %s on %s %s (request %s): %s", "busy" if busy else "unavailable",
                request.method, request.url.path, getattr(request.state, "request_id", None),
                (str(cause).splitlines() or [type(cause).__name__])[0][:200])
    retry = {"Retry-After": str(RETRY_AFTER_S)}
    if busy:
        return problem(request, status=503, code="database_busy", title="Database busy",
                       detail="The registry database did not answer in time: it is busy, or "
                       "another request holds the record. The request was not completed; "
                       "try again in a few seconds.", headers=retry)
    return problem(request, status=503, code="database_unavailable",
                   title="Database unavailable",
                   detail="The registry database cannot be reached right now. The request was "
                   "not completed; try again in a few seconds.", headers=retry)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    rid = getattr(request.state, "request_id", None)
    log.exception("unhandled error on %s %s (request %s)", request.method, request.url.path,
                  rid)
    # Starlette answers this outside every middleware: the headers come from here.
    return problem(request, status=500, code="internal_error", title="Internal Server Error",
                   detail="An unexpected error occurred; quote the request id to the "
                   "administrator.",
                   headers={**SECURITY_HEADERS, **({"X-Request-ID": rid} if rid else {})})


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(psycopg.DataError, _data_error)  # the asynchronous reads
    for transient in (OperationalError, QueuePoolTimeout, psycopg.OperationalError):
        app.add_exception_handler(transient, _unavailable)  # pool timeouts included
    app.add_exception_handler(Exception, _unexpected)

"""The FastAPI application, built from settings so tests pass their own."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final
from urllib.parse import urlsplit

from anyio import to_thread
from fastapi import FastAPI, HTTPException
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import docs, errors, ogc
from api.credentials import CredentialCache
from api.responses import SECURITY_HEADERS
from api.routes import (
    access_tokens,
    applications,
    audit,
    auth,
    jobs,
    pages,
    pages_applications,
    pages_parcels,
    pages_projects,
    pages_stats,
    pages_surveys,
    pages_tokens,
    parcels,
    projects,
    qgis,
    surveys,
)
from api.routes import maps as map_routes
from api.sign_in import SignInThrottle
from api.user_cache import UserCache
from config import clock
from config.settings import Settings
from db.aio import make_async_pool
from db.engine import libpq_url, make_engine, read_session_factory, session_factory

log = logging.getLogger("cadastre.api")

REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")


def public_origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of the service's public base URL (``CADASTRE_SERVER_PUBLIC_URL``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the public URL {url!r} must be http(s)://host[:port]")
    return parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


class RequestContext:
    """Pure ASGI middleware: request id, public origin, security headers, body limit.

    Every request gets an id the server makes (a client's ``X-Request-ID`` is kept apart
    as ``client_request_id``: a caller must not make its request look like another's in
    the audit trail).  The origin links and redirects are built from is the configured
    public URL, never the request's ``Host`` header (``Host: evil.example`` once produced
    links and a 307 to evil.example).  A declared Content-Length over the limit is
    answered 413 before any byte is read; a chunked body is counted as it streams and
    cut off at the limit.  (Starlette's ``BaseHTTPMiddleware`` costs about a millisecond
    per request.)
    """

    def __init__(self, app: ASGIApp, max_body: int, upload_paths: frozenset[str] = frozenset(),
                 public_url: str | None = None) -> None:
        self.app = app
        self.max_body = max_body
        self.upload_paths = upload_paths
        self.origin = public_origin(public_url) if public_url else None

    def limit_for(self, scope: Scope) -> int | None:
        """The JSON/form cap; None for file uploads, whose route streams to its own cap
        (and answers with the reader's precise problem, e.g. ``file_too_large``)."""
        if scope.get("method") == "POST" and scope.get("path") in self.upload_paths:
            return None
        return self.max_body

    def _public(self, scope: Scope) -> None:
        if self.origin is None:
            return
        scheme, host, port = self.origin
        default = port == (443 if scheme == "https" else 80)
        shown = f"[{host}]" if ":" in host else host
        netloc = shown if default else f"{shown}:{port}"
        scope["scheme"], scope["server"] = scheme, (host, port)
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"host"] + [
            (b"host", netloc.encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        rid = uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        state["client_request_id"] = given if REQUEST_ID.fullmatch(given) else None
        # The scheme this connection really came over, before links take the public
        # origin's: a password sent as HTTP Basic is judged by it (api/credentials.py).
        state["transport_scheme"] = scope.get("scheme", "http")
        self._public(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = rid
                for k, v in SECURITY_HEADERS.items():
                    headers.setdefault(k, v)
            await send(message)

        limit = self.limit_for(scope)
        if limit is None:
            await self.app(scope, receive, send_with_headers)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self._too_large(scope, send, rid, limit)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, self._message(limit))
            return message

        await self.app(scope, counting_receive, send_with_headers)

    @staticmethod
    def _message(limit: int) -> str:
        return f"the request body is larger than {limit:,} bytes"

    async def _too_large(self, scope: Scope, send: Send, rid: str, limit: int) -> None:
        body = json.dumps({"type": "/problems/payload_too_large", "title": "Content Too Large",
                           "status": 413, "detail": self._message(limit),
                           "instance": scope.get("path", ""), "request_id": rid}).encode()
        headers = [(b"content-type", b"application/problem+json"),
                   (b"content-length", str(len(body)).encode()), (b"x-request-id", rid.encode()),
                   (b"connection", b"close"),
                   *((k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings | None = None, *, engine: Engine | None = None,
               sessions: sessionmaker[Session] | None = None) -> FastAPI:
    """Build the service.

    ``engine`` lets tests share one pool across apps; ``sessions`` lets them bind
    every request to one connection whose outer transaction is rolled back.
    """
    if settings is None:  # a worker process of `cadastre serve --workers N` starts here
        clock.start_from_environment()
        settings = Settings()
    owns_engine = engine is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Only a server that owns its engine sees committed data as other processes do;
        # an app on a test's shared connection reads users row by row.
        if owns_engine and settings.server.user_cache_seconds > 0:
            app.state.user_cache.start()
        if owns_engine:
            app.state.async_pool = make_async_pool(settings.db, libpq_url(app.state.engine))
            await app.state.async_pool.open()
        to_thread.current_default_thread_limiter().total_tokens = settings.server.threads
        yield
        if app.state.async_pool is not None:
            await app.state.async_pool.close()
            app.state.async_pool = None
        app.state.user_cache.stop()
        if owns_engine:
            app.state.engine.dispose()

    app = FastAPI(
        title="Kim Long land records / Sổ địa chính phường Kim Long",
        version="0.1.0",
        description=(
            "Parcel registry and first-time certificate verification for Kim Long ward, Huế. "
            "Areas in m² measured in VN-2000 / TM-3 107-00 (EPSG:9214); GeoJSON in WGS 84."
        ),
        lifespan=lifespan,
        docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,  # api/docs.py
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.db)
    app.state.sessions = sessions or session_factory(app.state.engine)
    app.state.read_sessions = sessions or read_session_factory(app.state.engine)
    app.state.throttle = SignInThrottle(settings.auth)
    app.state.async_pool = None  # opened by the lifespan of a server that owns its engine
    app.state.user_cache = UserCache(
        libpq_url(app.state.engine), ttl=settings.server.user_cache_seconds,
        application_name=f"{settings.db.application_name}-user-cache")
    app.state.credential_cache = CredentialCache(app.state.user_cache,
                                                 ttl=settings.server.user_cache_seconds)
    errors.install(app)

    if settings.server.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.server.cors_origins,
                           allow_methods=["GET", "POST"], allow_headers=["Authorization",
                                                                         "Content-Type"])
    app.add_middleware(RequestContext, max_body=settings.server.max_body_bytes,
                       upload_paths=frozenset({"/api/v1/surveys", pages_surveys.UPLOAD_PATH}),
                       public_url=settings.server.public_base_url())

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness and database reachability (no sign-in needed)."""
        with app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": "ok"}

    app.include_router(auth.router)
    app.include_router(access_tokens.router)
    app.include_router(parcels.router)
    app.include_router(audit.router)
    app.include_router(surveys.router)
    app.include_router(applications.router)
    app.include_router(projects.router)
    app.include_router(jobs.router)
    app.include_router(ogc.router)
    app.include_router(qgis.router)
    app.include_router(pages.router)
    for page_router in (pages_applications, pages_surveys, pages_parcels, pages_projects,
                        pages_stats, pages_tokens):
        app.include_router(page_router.router)
    app.include_router(map_routes.router)
    app.include_router(docs.router)
    return app

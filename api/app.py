"""The FastAPI application, built from settings so tests pass their own."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from api import errors
from api.auth import SignInThrottle
from api.routes import auth, parcels
from db.engine import make_engine, session_factory
from db.settings import Settings

log = logging.getLogger("cadastre.api")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def create_app(settings: Settings | None = None, *, engine: Engine | None = None,
               sessions: sessionmaker[Session] | None = None) -> FastAPI:
    """Build the service.

    ``engine`` lets tests share one pool across apps; ``sessions`` lets them bind
    every request to one connection whose outer transaction is rolled back.
    """
    settings = settings or Settings()
    owns_engine = engine is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
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
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.db)
    app.state.sessions = sessions or session_factory(app.state.engine)
    app.state.throttle = SignInThrottle()
    errors.install(app)

    @app.middleware("http")
    async def request_id(request: Request,
                         call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        rid = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        request.state.request_id = rid
        response = await call_next(request)
        response.headers["X-Request-ID"] = rid
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness and database reachability (no sign-in needed)."""
        with app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": "ok"}

    app.include_router(auth.router)
    app.include_router(parcels.router)
    return app

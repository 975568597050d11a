"""Typed dependencies: the database session, the signed-in user, role checks.

Routes name the roles they allow with ``Depends(allow(...))``, so each route states its
roles in one place; the route-table test (tests/api/test_route_authorisation.py) calls
every route as every role and compares the answers with its POLICY.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, TypeVar

import psycopg
from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import OAuth2PasswordBearer
from psycopg import AsyncConnection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api import credentials
from api.auth import (
    CSRF_COOKIE,
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    InvalidToken,
    TokenClaims,
    csrf_matches,
    read_token,
)
from api.sign_in import SignedIn, SignInThrottled, check_sign_in
from api.user_cache import UserCache
from api.users import User, active_user
from config.settings import Settings
from db.audit import Actor

T = TypeVar("T")

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


# Dependencies are ``async`` on purpose: FastAPI runs each sync dependency in a
# worker thread, and those hand-offs cost more than the work.  Only the route body
# runs in the thread pool; nothing here may wait on the database on the event loop
# (with every pooled connection held by threads, the loop would wait for them while
# they wait for the loop).


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    # GET/HEAD never write (a rule of this API): they read in autocommit, one round
    # trip per statement; other methods get a transactional session.
    factory = (request.app.state.read_sessions if request.method in SAFE_METHODS
               else request.app.state.sessions)
    session = factory()  # no I/O until first use
    try:
        yield session
    finally:
        try:
            session.close()
        except DBAPIError:
            # The database went away mid-request (a restart): the answer, a 503, has been
            # sent; rolling back on the dead connection fails.  Raised here, after the
            # answer, it made the server drop the client's keep-alive connection, and the
            # client's next request failed unanswered (seen by bench/soak.py).
            session.invalidate()


MAX_ID = 2**63 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="record id")]
"""A path id: positive and within PostgreSQL's bigint, so out-of-range ids are a 422."""

SettingsDep = Annotated[Settings, Depends(get_settings)]
DbSession = Annotated[Session, Depends(get_session)]


def token_user(request: Request, token: str) -> User | None:
    """The active user a token names (None when disabled or revoked since); raises
    InvalidToken for a bad or expired token.

    The synchronous twin of :func:`_authenticate`, for the web pages, which already run
    in a worker thread: the worker's user cache (api/user_cache.py), else the row.
    """
    claims = read_token(request.app.state.settings.auth, token)
    cache: UserCache = request.app.state.user_cache
    known = cache.get(claims.user_id, claims.epoch)
    if isinstance(known, User) or known is None:
        return known
    return _read_user(request, claims)


def _read_user(request: Request, claims: TokenClaims) -> User | None:
    cache: UserCache = request.app.state.user_cache
    generation = cache.generation()

    def read() -> User | None:
        with request.app.state.read_sessions() as session:
            return active_user(session, user_id=claims.user_id, epoch=claims.epoch)

    user = read_again_if_dropped(read)
    cache.put(claims.user_id, claims.epoch, user, generation)
    return user


def read_again_if_dropped(read: Callable[[], T]) -> T:
    """Run a read; if it met a connection the server had dropped (a PostgreSQL restart),
    run it once more: SQLAlchemy has then invalidated the pool, so the second attempt
    gets a fresh connection.  Only for reads: a write is never repeated behind the
    caller's back, it answers 503 (api/errors.py)."""
    try:
        return read()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        return read()


async def _authenticate(request: Request, token: str | None) -> User:
    """The user behind the bearer token (or the session cookie), checked on every request.

    Usually answered from the worker's user cache without I/O on the event loop; a miss
    reads the row in a worker thread, so the loop never waits on the database.
    """
    settings: Settings = request.app.state.settings
    if other := await credentials.resolve(request, token):  # HTTP Basic, access tokens
        request.state.user = other
        return other
    if not token:
        token = request.cookies.get(SESSION_COOKIE)
        if token and request.method not in SAFE_METHODS and not csrf_matches(
                settings.auth, request.cookies.get(CSRF_COOKIE),
                request.headers.get(CSRF_HEADER), session_token=token):
            raise HTTPException(403, "missing or wrong CSRF token for a cookie session: send "
                                "the X-CSRF-Token header")
    if not token:
        raise HTTPException(401, "sign in first: send 'Authorization: Bearer <token>'",
                            headers=UNAUTHORIZED)
    try:
        claims = read_token(settings.auth, token)
    except InvalidToken as exc:
        raise HTTPException(401, "the access token is invalid or expired; sign in again",
                            headers=UNAUTHORIZED) from exc
    cache: UserCache = request.app.state.user_cache
    known = cache.get(claims.user_id, claims.epoch)
    user = known if isinstance(known, User) or known is None else (
        await run_in_threadpool(_read_user, request, claims))
    if user is None:
        raise HTTPException(401, "this account is disabled or its sign-in was revoked",
                            headers=UNAUTHORIZED)
    request.state.user = user
    return user


Token = Annotated[str | None, Depends(oauth2)]


def allow(*roles: str) -> Callable[[Request, str | None], Awaitable[User]]:
    """A dependency admitting signed-in users of the given roles (401 for anyone else
    not signed in, 403 for the other roles).

    One dependency does both: FastAPI resolves every node of the dependency graph on
    every request, and a parcel read is short enough for that to show.
    """

    async def check(request: Request, token: Token) -> User:
        user = await _authenticate(request, token)
        if user.role not in roles:
            raise HTTPException(403, f"role {user.role!r} may not do this; allowed: "
                                + ", ".join(roles))
        return user

    check.roles = roles  # type: ignore[attr-defined]
    return check


ANY_ROLE = ("surveyor", "land_officer", "official", "admin")
LAND_READERS = ("surveyor", "land_officer", "official")
"""Who reads land records.  Administrators manage users, settings and the audit log; they
have no business browsing the registry (separation of duties)."""
CurrentUser = Annotated[User, Depends(allow(*ANY_ROLE))]
Reader = Annotated[User, Depends(allow(*LAND_READERS))]
Officer = Annotated[User, Depends(allow("land_officer"))]
Admin = Annotated[User, Depends(allow("admin"))]


def sign_in(request: Request, session: Session, *, username: str, password: str,
            via: str) -> SignedIn | None:
    """:func:`api.sign_in.check_sign_in` for this request's address and ids: 429 with
    ``Retry-After`` while throttled, None for a wrong username or password."""
    settings: Settings = request.app.state.settings
    try:
        return check_sign_in(
            session, throttle=request.app.state.throttle, username=username,
            password=password, address=client_address(request),
            ward_code=settings.data.ward_code, via=via,
            request_id=getattr(request.state, "request_id", None),
            client_request_id=getattr(request.state, "client_request_id", None))
    except SignInThrottled as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}
                            ) from exc


def client_address(request: Request) -> str:
    """The peer's address (uvicorn runs without proxy headers: a forwarded address is
    never believed)."""
    return request.client.host if request.client else "unknown"


async def hot_read(request: Request,
                   on_loop: Callable[[AsyncConnection[Any]], Awaitable[T]] | None,
                   in_thread: Callable[[Session], T]) -> T:
    """Run a hot read awaited on the server's asynchronous pool (db/aio.py), or, in an app
    without one (tests bound to one rolled-back connection) or for a read that has no
    asynchronous form (``on_loop`` None), in a read session in a worker thread.
    Both callables must run the same statement (see parcels.queries.get_parcel_async)."""
    pool = request.app.state.async_pool
    if pool is not None and on_loop is not None:
        for attempt in (1, 2):
            conn: AsyncConnection[Any] | None = None
            try:
                async with pool.connection() as conn:
                    return await on_loop(conn)
            except psycopg.OperationalError:
                # A connection the server dropped (a restart): the pool discards it; drop
                # every other dead idle one too, and read once more on a live one.
                if attempt == 2 or conn is None or not conn.broken:
                    raise
                await pool.check()

    def run() -> T:
        with request.app.state.read_sessions() as session:
            return in_thread(session)

    return await run_in_threadpool(read_again_if_dropped, run)


def actor(request: Request, user: User) -> Actor:
    """The audit identity of this request's user."""
    return Actor(username=user.username, role=user.role, ward_code=user.ward_code,
                 address=request.client.host if request.client else None,
                 request_id=getattr(request.state, "request_id", None),
                 client_request_id=getattr(request.state, "client_request_id", None),
                 credential=getattr(request.state, "credential", None))

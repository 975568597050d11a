"""HTTP Basic and personal access tokens: the credentials QGIS and GDAL can send.

QGIS's own OGC API Features provider signs in with an authentication configuration
(Debian's build has Basic, not OAuth2); GDAL sends a fixed header.  So besides the
short-lived bearer tokens of ``api.auth``, a request may carry

- ``Authorization: Basic`` with a username and password, checked by the one sign-in
  check every door uses (``api.sign_in.check_sign_in`` with ``via="basic"``: Argon2, the
  shared throttle, so failures count towards it, and its audit events), and only for
  reading (GET/HEAD): a browser that once answered a Basic challenge resends it by
  itself, which a write must never rely on;
- a personal access token (``api.access_tokens``) as the Basic password (with its
  owner's username) or as a bearer token.

A map session makes hundreds of requests with the same credentials, and Argon2 costs
tens of milliseconds by design.  Each worker therefore remembers credentials it has
verified (an HMAC of them, never the password) in :class:`CredentialCache`, next to
the user cache and under the same rule: it answers only while the worker listens for
account changes (``cadastre_app_user``), and a change to a user (password, role,
disabled: they move the account's token epoch) or the revocation of one of their
tokens drops that user's entries before the next request.  An expired token is refused
by the service clock on every request, cached or not.

In production, Basic over plain HTTP is refused unless ``CADASTRE_SERVER_TLS_PROXY``
says a TLS proxy sits in front (the password would cross the network in clear).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from fastapi import HTTPException, Request
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from api import access_tokens, deps
from api.auth import SAFE_METHODS, TokenClaims
from api.sign_in import SignedIn, normalise_username
from api.user_cache import UserCache
from api.users import User
from config import clock
from db.errors import Forbidden

log = logging.getLogger("cadastre.api.credentials")

BASIC_CHALLENGE: Final = {
    "WWW-Authenticate": 'Basic realm="Kim Long land records", charset="UTF-8"'}
BEARER_CHALLENGE: Final = {"WWW-Authenticate": "Bearer"}
USE_STAMP_SECONDS: Final = 60.0
"""A token's last use is written at most this often per worker (not once per map tile)."""
MAX_ENTRIES: Final = 10_000


class InsecureTransport(Forbidden):
    code = "insecure_transport"
    title = "Passwords are not accepted over plain HTTP"


class BasicReadsOnly(Forbidden):
    code = "basic_reads_only"
    title = "HTTP Basic sign-in may only read"


@dataclass(frozen=True)
class Verified:
    """Credentials this worker has checked: whose they are, and what a token grants."""

    user_id: int
    epoch: int
    username: str
    token_id: int | None = None
    scope: str = "read"
    expires_at: datetime | None = None


class CredentialCache:
    """Per-worker memory of verified credentials, keyed by a digest of them.

    Subscribed to the worker's :class:`UserCache`: answers only while it listens, and
    forgets a user's entries whenever a change to that user is heard.
    """

    def __init__(self, users: UserCache, *, ttl: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._users = users
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[Verified, float]] = {}
        self._lock = threading.Lock()
        self._flights: dict[str, asyncio.Lock] = {}
        self._stamped: dict[int, float] = {}
        users.subscribe(self.forget)

    def get(self, key: str) -> Verified | None:
        if not self._users.listening:
            return None
        entry = self._entries.get(key)
        if entry is None or self._clock() - entry[1] > self._ttl:
            return None
        return entry[0]

    def generation(self) -> int:
        """Read before verifying; pass to :meth:`put`."""
        return self._users.generation()

    def put(self, key: str, verified: Verified, generation: int) -> None:
        """Remember a verification, unless a change was heard since ``generation``."""
        with self._lock:
            if self._users.listening and generation == self._users.generation():
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
                self._entries[key] = (verified, self._clock())

    def forget(self, payload: str) -> None:
        with self._lock:
            if payload.isdigit():
                user_id = int(payload)
                self._entries = {k: e for k, e in self._entries.items()
                                 if e[0].user_id != user_id}
            else:
                self._entries.clear()

    def flight(self, key: str) -> asyncio.Lock:
        """One verification of the same credentials at a time in this worker: a map opening
        sends several requests at once, and the first one's Argon2 serves them all."""
        lock = self._flights.get(key)
        if lock is None:
            if len(self._flights) >= MAX_ENTRIES:
                self._flights = {k: v for k, v in self._flights.items() if v.locked()}
            lock = self._flights[key] = asyncio.Lock()
        return lock

    def use_due(self, token_id: int) -> bool:
        """Whether this worker should write the token's last use now (and note that it did)."""
        now = self._clock()
        with self._lock:
            if now - self._stamped.get(token_id, -USE_STAMP_SECONDS) < USE_STAMP_SECONDS:
                return False
            self._stamped[token_id] = now
            return True


async def resolve(request: Request, bearer: str | None) -> User | None:
    """The user behind HTTP Basic credentials or a personal access token, checked; None
    when the request carries neither (the session token path goes on).  Raises the 401,
    403 or 429 the credentials deserve."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        return await _basic(request, value.strip())
    if bearer and access_tokens.looks_like_token(bearer):
        return await _token(request, bearer, username=None)
    return None


def _refuse(detail: str, basic: bool) -> HTTPException:
    return HTTPException(401, detail, headers=BASIC_CHALLENGE if basic else BEARER_CHALLENGE)


async def _basic(request: Request, encoded: str) -> User:
    settings = request.app.state.settings
    # The connection's own scheme (api.app.RequestContext keeps it): request.url carries the
    # configured public origin's, which says nothing about how this password travelled.
    transport = getattr(request.state, "transport_scheme", request.url.scheme)
    if (settings.environment == "production" and transport != "https"
            and not settings.server.tls_proxy):
        raise InsecureTransport(
            "HTTP Basic sends the password in clear: connect with https (set "
            "CADASTRE_SERVER_TLS_PROXY=true when a TLS proxy sits in front of the service)")
    if request.method not in SAFE_METHODS:
        raise BasicReadsOnly(
            "HTTP Basic sign-in may only read; to write, sign in for a bearer token "
            "(POST /api/v1/auth/token) or use a personal access token that may write")
    try:
        username, colon, password = base64.b64decode(encoded, validate=True).decode(
            "utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise _refuse("malformed HTTP Basic credentials", basic=True) from None
    if not colon or not username.strip() or not password:
        raise _refuse("HTTP Basic needs a username and a password", basic=True)
    if access_tokens.looks_like_token(password):
        return await _token(request, password, username=username)
    return await _password(request, username, password)


def _basic_key(secret: str, username: str, password: str) -> str:
    """What the cache keeps of a username and password: an HMAC under the service's
    secret, so a memory dump shows no password and no offline-guessable hash."""
    message = f"basic\0{normalise_username(username)}\0{password}".encode()
    return "b:" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


async def _password(request: Request, username: str, password: str) -> User:
    cache: CredentialCache = request.app.state.credential_cache
    key = _basic_key(request.app.state.settings.auth.secret, username, password)
    async with cache.flight(key):
        known = cache.get(key)  # verified earlier, or by the request this one waited for
        user = await _user(request, known) if known is not None else None
        if user is None:  # not verified, or the account changed since: run the sign-in
            generation = cache.generation()
            found = await run_in_threadpool(_sign_in, request, username, password)
            if found is None:
                raise _refuse("wrong username or password, or the account is disabled",
                              basic=True)
            user, epoch = found.user, found.epoch
            cache.put(key, Verified(user_id=user.id, epoch=epoch, username=user.username),
                      generation)
            request.app.state.user_cache.put(user.id, epoch, user, generation)
    request.state.credential = "basic"
    return user


def _sign_in(request: Request, username: str, password: str) -> SignedIn | None:
    """The one sign-in check, as the token route and the sign-in page make it (Argon2 under
    the shared throttle: 429 while locked out, a failure counted, every outcome audited
    ``via`` basic), in a transaction of its own."""
    with request.app.state.sessions() as session:
        return deps.sign_in(request, session, username=username, password=password,
                            via="basic")


async def _token(request: Request, value: str, *, username: str | None) -> User:
    basic = username is not None
    cache: CredentialCache = request.app.state.credential_cache
    key = "t:" + access_tokens.digest(value)
    known = cache.get(key)
    if known is None:
        generation = cache.generation()
        grant = await run_in_threadpool(_grant, request, key[2:])
        if grant is None:
            raise _refuse("this access token is unknown or revoked", basic)
        known = Verified(user_id=grant.user_id, epoch=grant.epoch, username=grant.username,
                         token_id=grant.token_id, scope=grant.scope,
                         expires_at=grant.expires_at)
        cache.put(key, known, generation)
    assert known.token_id is not None and known.expires_at is not None
    if known.expires_at <= clock.now():
        raise _refuse("this access token has expired; make a new one", basic)
    if username is not None and normalise_username(username) != known.username:
        raise _refuse("this access token belongs to another user", basic)
    if known.scope != "write" and request.method not in SAFE_METHODS:
        raise access_tokens.ReadOnlyToken(
            "this personal access token may only read; make one that may write, or sign in")
    user = await _user(request, known)
    if user is None:
        raise _refuse("the account of this access token is disabled or its role changed",
                      basic)
    request.state.credential = f"token:{known.token_id}"
    if cache.use_due(known.token_id):
        await run_in_threadpool(_stamp_use, request, user, known.token_id)
    return user


def _grant(request: Request, token_hash: str) -> access_tokens.Grant | None:
    def read() -> access_tokens.Grant | None:
        with request.app.state.read_sessions() as session:
            return access_tokens.find_grant(session, token_hash=token_hash)

    return deps.read_again_if_dropped(read)


async def _user(request: Request, known: Verified) -> User | None:
    """The account behind verified credentials, still active at the same token epoch: the
    user cache, else its row (as for a session token)."""
    users: UserCache = request.app.state.user_cache
    answer = users.get(known.user_id, known.epoch)
    if isinstance(answer, User) or answer is None:
        return answer
    return await run_in_threadpool(deps._read_user, request,
                                   TokenClaims(user_id=known.user_id, epoch=known.epoch))


def _stamp_use(request: Request, user: User, token_id: int) -> None:
    """Write the token's last use (and audit it when due; ``access_tokens.record_use``).
    A failure here is logged, not answered: the read itself did not fail."""
    try:
        with request.app.state.sessions() as session:
            access_tokens.record_use(session, actor=deps.actor(request, user),
                                     token_id=token_id, at=clock.now(),
                                     method=request.method, path=request.url.path)
            session.commit()
    except SQLAlchemyError as exc:
        log.warning("could not record the use of access token %s: %s", token_id,
                    str(exc).splitlines()[0][:200])

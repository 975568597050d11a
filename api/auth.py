"""Access tokens and sign-in throttling.

Tokens are short-lived JWTs (HS256, secret from the environment) carrying the
user id and a *token epoch*; every request re-reads the user row, so a disabled
user, a changed role or a reset password stops all earlier tokens at once
without a token store (the reason to prefer this over opaque stored tokens: one
primary-key read per request either way, and no table of live tokens to guard).
Failed sign-ins are throttled per user and per address.

Web pages use the same token in an HttpOnly, SameSite=Strict cookie; requests
authenticated by that cookie must carry the CSRF token (double submit, signed)
on every state-changing method.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass
from functools import lru_cache

import jwt

from api.users import User
from db.settings import AuthSettings


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    epoch: int


class InvalidToken(Exception):
    """The token is missing, malformed, expired or signed with another key."""


def issue_token(settings: AuthSettings, user: User, epoch: int) -> tuple[str, int]:
    """A signed access token and its lifetime in seconds."""
    now = int(time.time())
    ttl = settings.token_minutes * 60
    claims = {
        "sub": str(user.id), "name": user.username, "role": user.role, "ep": epoch,
        "iat": now, "nbf": now, "exp": now + ttl, "iss": settings.issuer,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.secret, algorithm=settings.algorithm), ttl


def read_token(settings: AuthSettings, token: str) -> TokenClaims:
    """The claims of a valid, unexpired token; InvalidToken otherwise."""
    claims, expires = _verified(settings.secret, settings.algorithm, settings.issuer, token)
    if time.time() >= expires:
        raise InvalidToken("Signature has expired")
    return claims


@lru_cache(maxsize=4096)
def _verified(secret: str, algorithm: str, issuer: str, token: str) -> tuple[TokenClaims, int]:
    # Checking a signature and its claims costs about 0.25 ms, as much as the rest of a
    # parcel read; a token is re-sent with every request of its half-hour life, so the
    # verified claims are remembered per token (failures are not) and only the expiry
    # is checked each time.
    try:
        claims = jwt.decode(token, secret, algorithms=[algorithm], issuer=issuer,
                            options={"require": ["exp", "iat", "sub", "iss"]})
        return (TokenClaims(user_id=int(claims["sub"]), epoch=int(claims.get("ep", -1))),
                int(claims["exp"]))
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise InvalidToken(str(exc)) from exc


class SignInThrottle:
    """At most ``limit`` failed sign-ins per user and per address in ``window`` seconds.

    In-process memory: with several workers each keeps its own count, which
    multiplies the allowance by the worker count but never disables the limit.
    """

    def __init__(self, limit: int = 5, window: float = 300.0) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures[key]
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def retry_after(self, *keys: str) -> int:
        """Seconds to wait before another attempt, 0 when allowed."""
        now = time.monotonic()
        with self._lock:
            waits = [
                int(q[0] + self.window - now) + 1
                for q in (self._recent(k, now) for k in keys) if len(q) >= self.limit
            ]
        return max(waits, default=0)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for k in keys:
                self._recent(k, now).append(now)

    def succeeded(self, user_key: str) -> None:
        with self._lock:
            self._failures.pop(user_key, None)


SESSION_COOKIE = "kl_session"
CSRF_COOKIE = "kl_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def new_csrf_token(settings: AuthSettings) -> str:
    """A random value with its HMAC: a cookie planted by another site cannot be forged."""
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_mac(settings, nonce)}"


def csrf_matches(settings: AuthSettings, cookie: str | None, submitted: str | None) -> bool:
    """Double-submit check: the form field (or header) equals the cookie, and it is ours."""
    if not cookie or not submitted or not hmac.compare_digest(cookie, submitted):
        return False
    nonce, _, mac = cookie.partition(".")
    return bool(nonce) and hmac.compare_digest(mac, _mac(settings, nonce))


def _mac(settings: AuthSettings, nonce: str) -> str:
    return hmac.new(settings.secret.encode(), f"csrf:{nonce}".encode(),
                    hashlib.sha256).hexdigest()[:32]

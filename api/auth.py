"""Access tokens and sign-in throttling.

Tokens are short-lived JWTs (HS256, secret from the environment) carrying the
user id and a *token epoch*; every request re-reads the user row, so a disabled
user, a changed role or a reset password stops all earlier tokens at once
without a token store.  Failed sign-ins are throttled per user and per address.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass

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
    try:
        claims = jwt.decode(token, settings.secret, algorithms=[settings.algorithm],
                            issuer=settings.issuer,
                            options={"require": ["exp", "iat", "sub", "iss"]})
        return TokenClaims(user_id=int(claims["sub"]), epoch=int(claims.get("ep", -1)))
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

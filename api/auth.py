"""Access tokens and sign-in throttling.

Tokens are short-lived JWTs (HS256, secret from the environment) carrying the
user id and a *token epoch*; every request re-reads the user row, so a disabled
user, a changed role or a reset password stops all earlier tokens at once
without a token store (the reason to prefer this over opaque stored tokens: one
primary-key read per request either way, and no table of live tokens to guard).
Failed sign-ins are throttled per user and per address, counted in the database so
that every worker process enforces the same limit.

Web pages use the same token in an HttpOnly, SameSite=Strict cookie; requests
authenticated by that cookie must carry the CSRF token (double submit, signed)
on every state-changing method.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache

import jwt
from sqlalchemy.orm import Session

from api.users import User
from config.auth import AuthSettings
from db.engine import sql


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

    The failures are rows of ``sign_in_failure`` (migration 0006), so every worker
    process counts the same attempts.  Two workers checking at the same instant may
    each let one more attempt through; the limit still holds within one or two.
    """

    def __init__(self, limit: int = 5, window: float = 300.0) -> None:
        self.limit, self.window = limit, window

    def retry_after(self, session: Session, *keys: str) -> int:
        """Seconds to wait before another attempt, 0 when allowed."""
        rows = session.execute(sql(
            "SELECT extract(epoch FROM min(at) + make_interval(secs => :w) - clock_timestamp()) "
            "FROM (SELECT key, at, row_number() OVER (PARTITION BY key ORDER BY at DESC) AS n "
            "      FROM sign_in_failure WHERE key = ANY(:k) "
            "      AND at > clock_timestamp() - make_interval(secs => :w)) recent "
            "WHERE n <= :lim GROUP BY key HAVING count(*) >= :lim"),
            {"k": list(keys), "w": self.window, "lim": self.limit}).scalars().all()
        return max((int(w) + 1 for w in rows), default=0)

    def failed(self, session: Session, *keys: str) -> None:
        """Count a failure against each key (and forget failures outside the window)."""
        session.execute(sql("DELETE FROM sign_in_failure "
                            "WHERE at < clock_timestamp() - make_interval(secs => :w)"),
                        {"w": self.window})
        session.execute(sql("INSERT INTO sign_in_failure (key) SELECT unnest(CAST(:k AS text[]))"),
                        {"k": list(keys)})

    def succeeded(self, session: Session, user_key: str) -> None:
        session.execute(sql("DELETE FROM sign_in_failure WHERE key = :k"), {"k": user_key})


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

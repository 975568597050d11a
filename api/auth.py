"""Access tokens and CSRF tokens.

Tokens are short-lived JWTs (HS256, secret from the environment) carrying the
user id and a *token epoch*; every request re-reads the user row, so a disabled
user, a changed role or a reset password stops all earlier tokens at once
without a token store (the reason to prefer this over opaque stored tokens: one
primary-key read per request either way, and no table of live tokens to guard).
Signing in (the password check, its throttle and audit) is in ``api.sign_in``; signing
out moves the account's token epoch on, so every token issued before stops at once.

Web pages use the same token in an HttpOnly, SameSite=Strict cookie; requests
authenticated by that cookie must carry the CSRF token (double submit, signed, bound to
the session and dated) on every state-changing method.
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

from api.users import User
from config import clock
from config.auth import AuthSettings


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


SESSION_COOKIE = "kl_session"
CSRF_COOKIE = "kl_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def new_csrf_token(settings: AuthSettings, *, session_token: str | None) -> str:
    """A form token for one session (``None``: the sign-in form, before any session),
    valid for ``csrf_minutes``: ``expiry.nonce.mac``, the MAC over all three.

    Bound and dated so that a token seen once (in a log, a cached page) is no use with
    another session or after its time; the double submit (cookie = field) stays, so a
    cookie planted by another site is not enough either.
    """
    expires = int(clock.now().timestamp()) + settings.csrf_minutes * 60
    nonce = secrets.token_urlsafe(12)
    return f"{expires}.{nonce}.{_mac(settings, expires, nonce, session_token)}"


def csrf_matches(settings: AuthSettings, cookie: str | None, submitted: str | None, *,
                 session_token: str | None) -> bool:
    """The form field (or header) equals the cookie, it is ours, unexpired, and was issued
    for this session (``session_token``: the session cookie's value, None before sign-in)."""
    if not cookie or not submitted or not hmac.compare_digest(cookie, submitted):
        return False
    expires, _, rest = cookie.partition(".")
    nonce, _, mac = rest.partition(".")
    if not (expires.isdigit() and nonce and mac) or int(expires) < clock.now().timestamp():
        return False
    return hmac.compare_digest(mac, _mac(settings, int(expires), nonce, session_token))


def _mac(settings: AuthSettings, expires: int, nonce: str, session_token: str | None) -> str:
    bound = hashlib.sha256(session_token.encode()).hexdigest() if session_token else "-"
    return hmac.new(settings.secret.encode(), f"csrf:{bound}:{expires}:{nonce}".encode(),
                    hashlib.sha256).hexdigest()[:32]

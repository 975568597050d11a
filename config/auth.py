"""Sign-in settings (``CADASTRE_AUTH_*``): the token signing secret, lifetimes, issuer."""

from __future__ import annotations

import secrets
from typing import Final, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_PREFIX: Final = "dev-only-"  # noqa: S105 (a marker, not a secret)
"""Starts every secret made up per process; ``config.settings`` refuses it in production."""


class AuthSettings(BaseSettings):
    """Sign-in: token signing secret, lifetimes, the KDF's cost."""

    model_config = SettingsConfigDict(env_prefix="CADASTRE_AUTH_", extra="ignore")

    secret: str = Field(default_factory=lambda: DEV_SECRET_PREFIX + secrets.token_urlsafe(32))
    """HMAC key for access tokens.  Must be set in production; a random one per process
    otherwise, so development tokens die with the process."""
    token_minutes: int = 30
    algorithm: Literal["HS256"] = "HS256"
    issuer: str = "kimlong-cadastre"
    csrf_minutes: int = 120
    """How long a form's CSRF token is accepted (it is also bound to the session)."""
    throttle_window_seconds: int = 900
    """Failed sign-ins count for this long (README, "Sign-in throttling")."""
    throttle_per_address_and_user: int = 5
    """Failures of one account from one address before that address waits for that account."""
    throttle_per_address: int = 20
    """Failures from one address, any accounts, before the address waits (password spraying)."""
    throttle_per_user: int = 50
    """Failures of one account from every address before the account waits everywhere (a
    distributed guess); the account's owner and the administrators are told (audit event
    ``sign_in.account_throttled``; the owner sees the count at the next sign-in)."""

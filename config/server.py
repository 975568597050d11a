"""HTTP serving settings (``CADASTRE_SERVER_*``): address, workers, limits, CORS, caches."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class ServerSettings(BaseSettings):
    """HTTP serving."""

    model_config = SettingsConfigDict(env_prefix="CADASTRE_SERVER_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    """The origin clients reach the service at (``https://dia-chinh.example.vn``): every
    link and redirect is built from it, never from a request's ``Host`` header.  Unset:
    ``http://host:port`` of this server."""
    workers: int = 1
    max_body_bytes: int = 5 * 1024 * 1024
    """Largest JSON/form request body; survey uploads get the intake file cap instead."""
    cors_origins: list[str] = []
    """Browser origins allowed to call the API; empty (the default) means CORS closed."""
    threads: int = 8
    """Worker threads per process for route bodies (the database work).  More threads than
    cores only fight over the GIL: at 32 connections 40 threads cost a fifth more CPU per
    request than 8."""
    run_as: str = "cadastre"
    """The system user ``cadastre serve`` switches to when started as root (as the embedded
    database does); ``root`` keeps root, on purpose only."""
    user_cache_seconds: float = 30.0
    """How long a worker trusts its memory of a signed-in user (api/user_cache.py); every
    committed change to the account is heard at once regardless.  0 re-reads per request."""
    tls_proxy: bool = False
    """A TLS-terminating proxy sits in front and clients reach it only over https.  In
    production, HTTP Basic (a password in every request) is refused over plain HTTP unless
    this is set."""

    def public_base_url(self) -> str:
        """``public_url``, or this server's own address."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

"""Typed settings, one class per concern, read from the environment.

Each class has its own prefix so that a deployment sets only what it needs:
``DATABASE_URL`` (or the embedded cluster under ``CADASTRE_HOME``),
``CADASTRE_AUTH_*`` for sign-in, ``CADASTRE_DATA_*`` for external material.
Tests build a :class:`Settings` explicitly and pass it to ``create_app``.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.maps import MapSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_PREFIX = "dev-only-"  # noqa: S105 (a marker, not a secret)


class DatabaseSettings(BaseSettings):
    """Where the registry lives: an external PostGIS or the embedded cluster."""

    model_config = SettingsConfigDict(env_prefix="CADASTRE_", extra="ignore",
                                      populate_by_name=True)

    url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CADASTRE_DATABASE_URL")
    )
    """SQLAlchemy URL of an external PostGIS 3 server; unset means the embedded cluster."""
    home: Path = Field(default=Path(".cadastre"), validation_alias="CADASTRE_HOME")
    """State folder: embedded cluster description, demo data, downloads."""
    database: str = "cadastre"
    pool_size: int = 10
    app_role: str | None = "cadastre_app"
    """Role the service switches to on every connection (no UPDATE/DELETE on history)."""
    statement_timeout_ms: int = 30_000
    application_name: str = "cadastre"
    """How the service's connections show in ``pg_stat_activity`` (the user-cache listener
    adds ``-user-cache``): tell the API from the command line or one deployment from another."""

    @property
    def state_dir(self) -> Path:
        return self.home.expanduser().resolve()


class AuthSettings(BaseSettings):
    """Sign-in: token signing secret, lifetimes, the KDF's cost."""

    model_config = SettingsConfigDict(env_prefix="CADASTRE_AUTH_", extra="ignore")

    secret: str = Field(default_factory=lambda: DEV_SECRET_PREFIX + secrets.token_urlsafe(32))
    """HMAC key for access tokens.  Must be set in production; a random one per process
    otherwise, so development tokens die with the process."""
    token_minutes: int = 30
    algorithm: Literal["HS256"] = "HS256"
    issuer: str = "kimlong-cadastre"


class DataSettings(BaseSettings):
    """Reference material that is not ours to commit."""

    model_config = SettingsConfigDict(env_prefix="CADASTRE_", extra="ignore",
                                      populate_by_name=True)

    external_data: Path = Field(
        default=REPO_ROOT.parent / "shared" / "data" / "external",
        validation_alias=AliasChoices("CADASTRE_EXTERNAL_DATA", "CADASTRE_DATA_EXTERNAL"),
    )
    rules_file: Path = REPO_ROOT / "db" / "rules.toml"
    ward_code: str = "19774"


class ServerSettings(BaseSettings):
    """HTTP serving."""

    model_config = SettingsConfigDict(env_prefix="CADASTRE_SERVER_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    max_body_bytes: int = 5 * 1024 * 1024
    """Largest JSON/form request body; survey uploads get the intake file cap instead."""
    cors_origins: list[str] = []
    """Browser origins allowed to call the API; empty (the default) means CORS closed."""
    threads: int = 8
    """Worker threads per process for route bodies (the database work).  More threads than
    cores only fight over the GIL: at 32 connections 40 threads cost a fifth more CPU per
    request than 8."""
    user_cache_seconds: float = 30.0
    """How long a worker trusts its memory of a signed-in user (api/user_cache.py); every
    committed change to the account is heard at once regardless.  0 re-reads per request."""


class IntakeSettings(BaseSettings):
    """Survey uploads: what one file may cost, where it is unpacked, how it is matched.

    The caps guard the server against hostile files (see gis.read_types.Limits);
    the defaults fit a ward's largest real batch with room to spare.
    """

    model_config = SettingsConfigDict(env_prefix="CADASTRE_INTAKE_", extra="ignore")

    max_file_bytes: int = 100 * 1024 * 1024
    max_archive_members: int = 200
    max_uncompressed_bytes: int = 500 * 1024 * 1024
    max_compression_ratio: float = 200.0
    max_features: int = 100_000
    max_vertices: int = 5_000_000
    work_dir: Path | None = None
    """Parent of the per-upload temporary folders (default: the system's temp folder)."""
    frame_margin_m: float = 250.0
    """Features this far outside the ward still count as "in the ward" for the CRS check."""
    position_match_min_iou: float = 0.9
    """An unnumbered feature takes the identity of the one current parcel it overlaps
    this much (intersection over union), e.g. a CAD drawing of re-measured parcels."""


class Settings(BaseSettings):
    """All settings of one running service."""

    model_config = SettingsConfigDict(env_prefix="CADASTRE_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    data: DataSettings = Field(default_factory=DataSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    intake: IntakeSettings = Field(default_factory=IntakeSettings)
    maps: MapSettings = Field(default_factory=MapSettings)

    @model_validator(mode="after")
    def _refuse_dev_secret_in_production(self) -> Settings:
        if self.environment == "production" and (
            self.auth.secret.startswith(DEV_SECRET_PREFIX) or len(self.auth.secret) < 32
        ):
            raise ValueError(
                "CADASTRE_AUTH_SECRET must be set to a random value of at least 32 characters "
                "in production"
            )
        return self

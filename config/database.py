"""Where the registry lives: ``DATABASE_URL`` or the embedded cluster under ``CADASTRE_HOME``."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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

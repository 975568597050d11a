"""Where the registry lives: ``DATABASE_URL`` or the embedded cluster under ``CADASTRE_HOME``."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

STATE_FOLDER: Final = ".cadastre"
"""The state folder's name: the embedded cluster's description, demo data, downloads."""
CLUSTER_FILE: Final = "cluster.json"
"""What marks a state folder that holds an embedded cluster (see db/cluster.py)."""


def find_state_dir(start: Path) -> Path | None:
    """The nearest ``.cadastre`` folder with a cluster in ``start`` or a folder above it,
    the way git finds its repository: a command run from ``api/`` or ``docs/`` of the
    checkout uses the checkout's cluster instead of asking for a second one."""
    for folder in (start, *start.parents):
        candidate = folder / STATE_FOLDER
        if (candidate / CLUSTER_FILE).is_file():
            return candidate
    return None


class DatabaseSettings(BaseSettings):
    """Where the registry lives: an external PostGIS or the embedded cluster."""

    model_config = SettingsConfigDict(env_prefix="CADASTRE_", extra="ignore",
                                      populate_by_name=True)

    url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CADASTRE_DATABASE_URL")
    )
    """SQLAlchemy URL of an external PostGIS 3 server; unset means the embedded cluster."""
    home: Path | None = Field(default=None, validation_alias="CADASTRE_HOME")
    """State folder: embedded cluster description, demo data, downloads.  Unset: the
    nearest ``.cadastre`` holding a cluster from the current folder up
    (:func:`find_state_dir`), else ``./.cadastre``."""
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
        if self.home is not None:
            return self.home.expanduser().resolve()
        here = Path.cwd().resolve()
        return find_state_dir(here) or here / STATE_FOLDER

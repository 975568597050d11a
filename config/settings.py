"""All settings of one running service: one class per concern, read from the environment.

Each concern has its own module and prefix so that a deployment sets only what it needs:
``DATABASE_URL`` (or the embedded cluster under ``CADASTRE_HOME``, ``config.database``),
``CADASTRE_AUTH_*`` for sign-in (``config.auth``), ``CADASTRE_SERVER_*`` (``config.server``),
``CADASTRE_INTAKE_*`` for survey uploads (``config.intake``), ``CADASTRE_JOBS_*`` for the
job workers (``config.jobs``), ``CADASTRE_MAPS_*`` for maps (``config.maps``), the ward and its
tables
(``config.data``).  Tests build a :class:`Settings` explicitly and pass it to ``create_app``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.auth import DEV_SECRET_PREFIX, AuthSettings
from config.data import DataSettings
from config.database import DatabaseSettings
from config.intake import IntakeSettings
from config.jobs import JobSettings
from config.maps import MapSettings
from config.server import ServerSettings


class Settings(BaseSettings):
    """All settings of one running service."""

    model_config = SettingsConfigDict(env_prefix="CADASTRE_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    data: DataSettings = Field(default_factory=DataSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    intake: IntakeSettings = Field(default_factory=IntakeSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
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

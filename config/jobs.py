"""Job-queue settings (``CADASTRE_JOBS_*``): how many jobs a worker runs, when a job is stalled."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class JobSettings(BaseSettings):
    """Workers (``cadastre worker``) and what counts as work too long for a request."""

    model_config = SettingsConfigDict(env_prefix="CADASTRE_JOBS_", extra="ignore")

    concurrency: int = 2
    """Jobs one worker process runs at once (each in a thread; the machine has 2 cores)."""
    heartbeat_seconds: float = 5.0
    """How often a worker says it is alive."""
    stalled_seconds: float = 30.0
    """A running job whose worker has been silent this long is taken again by another
    worker: its transaction died with the worker, so nothing of it was written."""

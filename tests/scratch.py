"""Databases of a test's own on the suite's server: for backups, restores and migrations.

A scratch database is created empty (dropped first if a failed run left it), handed to the
test as settings (for the engine, the command line and ``pg_restore``), and dropped after.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from sqlalchemy import make_url

from config.database import DatabaseSettings
from config.settings import Settings
from db.backup import libpq_params
from db.engine import database_url


def _admin(settings: DatabaseSettings) -> psycopg.Connection[Any]:
    params = libpq_params(database_url(settings))
    params["dbname"] = "postgres"
    return psycopg.connect(make_conninfo("", **params), autocommit=True)


def _drop(settings: DatabaseSettings, name: str) -> None:
    with _admin(settings) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_database(settings: Settings, name: str) -> Iterator[Settings]:
    """An empty database ``name`` next to the suite's, as a copy of ``settings``."""
    assert name.replace("_", "").isalnum() and name.startswith("cadastre_test_")
    _drop(settings.db, name)
    with _admin(settings.db) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = None
    if settings.db.url:
        url = make_url(settings.db.url).set(database=name).render_as_string(hide_password=False)
    db = settings.db.model_copy(update={"database": name, "url": url})
    try:
        yield settings.model_copy(update={"db": db})
    finally:
        _drop(settings.db, name)


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a ``cadastre`` process working on ``settings``' database."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "CADASTRE_DATABASE_URL")}
    env.update(CADASTRE_DATABASE=settings.db.database, CADASTRE_HOME=str(settings.db.state_dir),
               **extra)
    if settings.db.url:
        env["DATABASE_URL"] = settings.db.url
    return env

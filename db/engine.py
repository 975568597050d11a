"""Engine and sessions: the one place that turns settings into a database connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, TextClause, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from config.database import CLUSTER_FILE, STATE_FOLDER, DatabaseSettings
from db.cluster import Cluster, ClusterError


def database_url(settings: DatabaseSettings) -> str:
    """``DATABASE_URL`` when set, else the embedded cluster's (which must have been created)."""
    if settings.url:
        url = settings.url
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    info = Cluster(settings.state_dir).info()
    if info is None:
        where = (f"CADASTRE_HOME is {settings.state_dir}, which holds none" if settings.home
                 else f"looked for {STATE_FOLDER}/{CLUSTER_FILE} in {Path.cwd().resolve()} and "
                      "every folder above it")
        raise ClusterError(
            f"no embedded database cluster found ({where}). Run the command from the "
            "checkout whose cluster you mean (or a folder inside it), set CADASTRE_HOME to "
            "its state folder, or set DATABASE_URL; `cadastre db up` creates a new cluster "
            f"in {settings.state_dir}"
        )
    return info.url(settings.database)


def connection_options(settings: DatabaseSettings) -> dict[str, str]:
    """What every service connection carries, synchronous or not: the statement timeout,
    UTC, and a name that shows in ``pg_stat_activity``."""
    return {"options": f"-c statement_timeout={settings.statement_timeout_ms} -c TimeZone=UTC",
            "application_name": settings.application_name}


def make_engine(settings: DatabaseSettings, *, url: str | None = None,
                as_owner: bool = False) -> Engine:
    """A pooled engine whose connections carry a statement timeout and UTC time zone.

    Unless ``as_owner`` (migrations, set-up), every connection switches to the
    service role, which may not rewrite history (see migration 0003_app_role).
    """
    engine = create_engine(
        url or database_url(settings),
        pool_size=settings.pool_size,
        max_overflow=settings.pool_size,
        # No pre-ping: it costs a round trip per request.  After a server restart the
        # first statement on a stale connection fails, SQLAlchemy invalidates the pool,
        # and the next request gets fresh connections.
        pool_recycle=1800,
        connect_args=connection_options(settings),
    )
    event.listen(engine, "connect", _prepare_threshold)
    if settings.app_role and not as_owner:
        event.listen(engine, "connect", _switch_role(settings.app_role))
    return engine


MAY_SWITCH_ROLE = ("SELECT pg_has_role(current_user, oid, 'MEMBER') FROM pg_roles "
                   "WHERE rolname = %s")
"""Whether the connecting user may become the service role (not on a managed server
where the migration could not create it)."""


def _switch_role(role: str) -> Any:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute(MAY_SWITCH_ROLE, (role,))
            row = cur.fetchone()
            if row and row[0]:
                cur.execute(f'SET ROLE "{role}"')
        dbapi_conn.commit()

    return on_connect


def _prepare_threshold(dbapi_conn: Any, _record: Any) -> None:
    # Server-side prepared statements after the first use: the hot read paths
    # (parcel by id, bbox) run the same SQL thousands of times.
    dbapi_conn.prepare_threshold = 1


@lru_cache(maxsize=1024)
def sql(statement: str) -> TextClause:
    """``text(statement)``, built once per distinct statement: parsing the bind
    parameters of a new ``TextClause`` costs more CPU than a primary-key read."""
    return text(statement)


def libpq_url(engine: Engine) -> str:
    """The engine's server as a plain libpq URL, for a connection of our own (LISTEN)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


@lru_cache(maxsize=8)
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@lru_cache(maxsize=8)
def read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reads only: autocommit, so no BEGIN/ROLLBACK round trips.

    Under READ COMMITTED every statement takes its own snapshot inside a
    transaction too, so single- and multi-statement reads see the same thing.
    Never write through these: nothing would be atomic.
    """
    return sessionmaker(bind=engine.execution_options(isolation_level="AUTOCOMMIT"),
                        expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with session_factory(engine).begin() as session:
        yield session

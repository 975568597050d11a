"""Asynchronous connections for the API's hottest reads.

Everything else (writes, the command line, most reads) goes through the
synchronous engine (db/engine.py) and runs in a worker thread.  For a
primary-key read that hand-off cost more CPU than the query: on this 2-core
machine a parcel by id served 950 requests/s through a thread and SQLAlchemy,
and 1,800/s awaited on the event loop with psycopg's asynchronous connection
(measured with wrk, 8 connections, two workers).  The connections are set up
exactly as the engine's: the service role, the statement timeout, UTC, prepared
statements after the first use, and autocommit because these are reads only.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from config.database import DatabaseSettings
from db.engine import MAY_SWITCH_ROLE, connection_options


def make_async_pool(settings: DatabaseSettings, conninfo: str) -> AsyncConnectionPool[Any]:
    """A pool of read-only (autocommit) connections, not yet opened: ``await pool.open()``."""

    async def configure(conn: AsyncConnection[Any]) -> None:
        conn.prepare_threshold = 1
        if settings.app_role:
            cur = await conn.execute(MAY_SWITCH_ROLE, (settings.app_role,))
            row = await cur.fetchone()
            if row and row[0]:
                await conn.execute(f'SET ROLE "{settings.app_role}"')

    return AsyncConnectionPool(
        conninfo, open=False, min_size=1, max_size=settings.pool_size, configure=configure,
        # a hot read that cannot get a connection in 5 s will not get one in 30: answer
        # (503, try again) rather than hold the client
        timeout=5.0,
        kwargs={"autocommit": True, **connection_options(settings)})

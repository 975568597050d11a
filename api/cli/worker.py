"""``cadastre worker``: run the queued jobs (the whole-ward audit, impact, the backlog).

Start one or more beside ``cadastre serve``; they share nothing but the database.  A
worker stopped with Ctrl+C or SIGTERM finishes the jobs it holds; one that dies leaves its
jobs to the others (after ``CADASTRE_JOBS_STALLED_SECONDS``), with nothing written.
"""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.common import load_settings


def worker_command(
    concurrency: Annotated[int | None, typer.Option(
        help="jobs run at once (default CADASTRE_JOBS_CONCURRENCY)")] = None,
) -> None:
    """Run queued jobs until stopped."""
    import asyncio
    import logging

    from api.jobs import run_worker
    from config import clock

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    clock.start_from_environment()
    settings = load_settings()
    typer.echo(f"worker for database {settings.db.database}: "
               f"{concurrency or settings.jobs.concurrency} jobs at once")
    asyncio.run(run_worker(settings, concurrency=concurrency))

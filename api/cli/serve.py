"""``cadastre serve``: the HTTP API and pages under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.common import load_settings


def serve(
    port: Annotated[int | None, typer.Option(help="TCP port (default 8000)")] = None,
    host: Annotated[str | None, typer.Option(help="address (default 127.0.0.1)")] = None,
    workers: Annotated[int | None, typer.Option(help="worker processes (default 1)")] = None,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log")] = True,
) -> None:
    """Serve the HTTP API and pages (database must be up)."""
    import uvicorn

    settings = load_settings()
    if settings.environment == "production" and not workers:
        workers = settings.server.workers
    kwargs = {"host": host or settings.server.host, "port": port or settings.server.port,
              "proxy_headers": False, "server_header": False, "log_level": "info",
              "access_log": access_log}
    if (workers or settings.server.workers) > 1:
        # Several processes need an import string; each builds its app from the environment,
        # so they must share the signing secret (a development one is made per process) and
        # the clock's start (CADASTRE_CLOCK_START stays in the environment they inherit).
        import os

        os.environ.setdefault("CADASTRE_AUTH_SECRET", settings.auth.secret)
        uvicorn.run("api.app:create_app", factory=True,
                    workers=workers or settings.server.workers, **kwargs)  # type: ignore[arg-type]
        return
    from api.app import create_app

    uvicorn.run(create_app(settings), **kwargs)  # type: ignore[arg-type]

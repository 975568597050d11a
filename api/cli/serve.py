"""``cadastre serve``: the HTTP API and pages under uvicorn.

Started as root, the server switches to the service's system user (``cadastre``, the
user the embedded database already runs as; ``CADASTRE_SERVER_RUN_AS``) before it
serves: it parses untrusted files (through GDAL, SQLite, expat) and should not do so with
root's rights.  What only root may read (the embedded cluster's description) is read
first and handed on.  Where that user cannot read the Python it runs on or the checkout
(an interpreter installed under /root, mode 700), it cannot serve at all: the server then
stays root and says so on standard error, and uploads are still read in the limited
worker process (``gis.intake.worker``).
"""

from __future__ import annotations

import os
import pwd
import sys
from pathlib import Path
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

    from config import clock

    clock.start_from_environment()  # CADASTRE_CLOCK_START: a demo or a test runs its own day
    from db.engine import database_url

    settings = load_settings()
    if settings.environment == "production" and not workers:
        workers = settings.server.workers
    server = settings.server.model_copy(update={"host": host or settings.server.host,
                                                "port": port or settings.server.port})
    # Links and redirects name the public URL (never a request's Host header): without one
    # configured, this server's own address and port.
    os.environ["CADASTRE_SERVER_PUBLIC_URL"] = server.public_base_url()
    os.environ.setdefault("CADASTRE_DATABASE_URL", database_url(settings.db))
    settings = settings.model_copy(update={"server": server.model_copy(update={
        "public_url": server.public_base_url()})})
    kwargs = {"host": server.host, "port": server.port,
              "proxy_headers": False, "server_header": False, "log_level": "info",
              "access_log": access_log}
    drop_privileges(settings.server.run_as)
    if (workers or settings.server.workers) > 1:
        # Several processes need an import string; each builds its app from the environment,
        # so they must share the signing secret (a development one is made per process) and
        # the clock's start (CADASTRE_CLOCK_START stays in the environment they inherit).
        os.environ.setdefault("CADASTRE_AUTH_SECRET", settings.auth.secret)
        uvicorn.run("api.app:create_app", factory=True,
                    workers=workers or settings.server.workers, **kwargs)  # type: ignore[arg-type]
        return
    from api.app import create_app

    uvicorn.run(create_app(settings), **kwargs)  # type: ignore[arg-type]


def drop_privileges(user: str) -> None:
    """Become ``user`` when running as root (``root``: stay, on purpose)."""
    if os.geteuid() != 0 or user == "root":
        return
    from db.cluster import ensure_user

    ensure_user(user)
    entry = pwd.getpwnam(user)
    blocked = [p for p in runtime_paths() if not readable_by(entry, p)]
    if blocked:
        typer.secho(f"warning: serving as root: the service user {user!r} cannot read "
                    f"{blocked[0]} (install Python and the checkout where it can, not under "
                    "a private home folder); uploads are still read in a limited process",
                    err=True, fg=typer.colors.YELLOW)
        return
    os.setgroups([])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    os.environ["HOME"] = entry.pw_dir if os.path.isdir(entry.pw_dir) else "/tmp"  # noqa: S108


def runtime_paths() -> list[Path]:
    """What the server reads after it has switched users: the checkout, the virtual
    environment, the interpreter and its standard library."""
    return [Path(__file__).resolve().parents[2], Path(sys.prefix),
            Path(sys.base_prefix), Path(sys.executable).resolve()]


def readable_by(entry: pwd.struct_passwd, path: Path) -> bool:
    """Whether the user can reach ``path`` through every parent and read it (modes only)."""
    for folder in [*reversed(path.parents), path]:
        st = folder.stat()
        bits = (st.st_mode >> 6 if st.st_uid == entry.pw_uid else
                st.st_mode >> 3 if st.st_gid == entry.pw_gid else st.st_mode) & 0o7
        if not bits & 0o1 or (folder == path and not bits & 0o4):
            return False
    return True

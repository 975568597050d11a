"""The ``cadastre`` command line: the same domain functions as the HTTP API.

Exit codes: 0 success, 1 operational failure (database down), 2 bad input (the
message says what is wrong; nothing was written).
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from db.cluster import Cluster, ClusterError
from db.settings import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Kim Long land records / Sổ địa chính phường Kim Long")
db_app = typer.Typer(no_args_is_help=True, help="The database (embedded PostGIS or DATABASE_URL)")
users_app = typer.Typer(no_args_is_help=True, help="Users and roles")
parcels_app = typer.Typer(no_args_is_help=True, help="The parcel registry")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(parcels_app, name="parcels")


def _settings() -> Settings:
    return Settings()


def fail(message: str, code: int = 2) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _engine(settings: Settings):  # type: ignore[no-untyped-def]
    from db.engine import make_engine

    try:
        return make_engine(settings.db)
    except ClusterError as exc:
        fail(str(exc), 1)


# ---------------------------------------------------------------------------- db


def ensure_database(settings: Settings) -> None:
    """Start the embedded cluster when no DATABASE_URL is set, then migrate to head."""
    from db.engine import make_engine
    from db.migrate import upgrade

    if not settings.db.url:
        Cluster(settings.db.state_dir).up(settings.db.database)
    engine = make_engine(settings.db)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


@db_app.command("up")
def db_up() -> None:
    """Create (once) and start the embedded cluster, then migrate."""
    settings = _settings()
    try:
        ensure_database(settings)
    except ClusterError as exc:
        fail(str(exc), 1)
    typer.echo("database ready: " + _describe(settings))


@db_app.command("down")
def db_down() -> None:
    """Stop the embedded cluster (nothing to do with DATABASE_URL)."""
    settings = _settings()
    if settings.db.url:
        typer.echo("DATABASE_URL is set: the external server is not ours to stop")
        return
    stopped = Cluster(settings.db.state_dir).down()
    typer.echo("stopped" if stopped else "not running")


@db_app.command("status")
def db_status() -> None:
    """Say which database is used, where its files are and whether it is up."""
    settings = _settings()
    typer.echo(_describe(settings))
    if not _is_up(settings):
        raise typer.Exit(1)


@db_app.command("url")
def db_url() -> None:
    """Print the SQLAlchemy URL of the database in use (contains the password)."""
    from db.engine import database_url

    try:
        typer.echo(database_url(_settings().db))
    except ClusterError as exc:
        fail(str(exc), 1)


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply the Alembic migrations up to head."""
    from db.migrate import current_revision, upgrade

    engine = _engine(_settings())
    upgrade(engine)
    typer.echo(f"schema at {current_revision(engine)}")


def _is_up(settings: Settings) -> bool:
    from sqlalchemy import text

    try:
        engine = _engine(settings)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    except typer.Exit:
        return False


def _describe(settings: Settings) -> str:
    up = "up" if _is_up(settings) else "down"
    if settings.db.url:
        from sqlalchemy.engine import make_url

        return f"external server (DATABASE_URL) {make_url(settings.db.url).render_as_string()}: {up}"
    info = Cluster(settings.db.state_dir).info()
    if info is None:
        return f"embedded cluster not created yet (state folder {settings.db.state_dir}): down"
    user = f", server runs as {info.run_as}" if info.run_as else ""
    return (f"embedded cluster in {info.data_dir} (socket {info.socket_dir}, "
            f"127.0.0.1:{info.port}{user}), database {settings.db.database}: {up}")


# ------------------------------------------------------------------------- main


def read_password(prompt: str = "Password: ") -> str:
    """From standard input when it is not a terminal, prompted (twice) otherwise."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("Again: ") != first:
        fail("the two passwords differ")
    return first


def main() -> None:
    app()


if __name__ == "__main__":
    main()

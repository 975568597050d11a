"""``cadastre db …``: the embedded cluster (or ``DATABASE_URL``), its state and migrations."""

from __future__ import annotations

import typer

from api.cli.common import fail, load_settings, open_engine
from config.settings import Settings
from db.cluster import Cluster, ClusterError

db_app = typer.Typer(no_args_is_help=True, help="The database (embedded PostGIS or DATABASE_URL)")


def ensure_database(settings: Settings) -> None:
    """Start the embedded cluster when no DATABASE_URL is set, then migrate to head."""
    from db.engine import make_engine
    from db.migrate import upgrade

    if not settings.db.url:
        Cluster(settings.db.state_dir).up(settings.db.database)
    engine = make_engine(settings.db, as_owner=True)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


@db_app.command("up")
def db_up() -> None:
    """Create (once) and start the embedded cluster, then migrate."""
    settings = load_settings()
    try:
        ensure_database(settings)
    except ClusterError as exc:
        fail(str(exc), 1)
    typer.echo("database ready: " + _describe(settings))


@db_app.command("down")
def db_down() -> None:
    """Stop the embedded cluster (nothing to do with DATABASE_URL)."""
    settings = load_settings()
    if settings.db.url:
        typer.echo("DATABASE_URL is set: the external server is not ours to stop")
        return
    stopped = Cluster(settings.db.state_dir).down()
    typer.echo("stopped" if stopped else "not running")


@db_app.command("status")
def db_status() -> None:
    """Say which database is used, where its files are and whether it is up."""
    settings = load_settings()
    typer.echo(_describe(settings))
    if not _is_up(settings):
        raise typer.Exit(1)


@db_app.command("url")
def db_url() -> None:
    """Print the SQLAlchemy URL of the database in use (contains the password)."""
    from db.engine import database_url

    try:
        typer.echo(database_url(load_settings().db))
    except ClusterError as exc:
        fail(str(exc), 1)


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply the Alembic migrations up to head."""
    from db.engine import make_engine
    from db.migrate import current_revisions, upgrade

    try:
        engine = make_engine(load_settings().db, as_owner=True)
    except ClusterError as exc:
        fail(str(exc), 1)
    upgrade(engine)
    typer.echo(f"schema at {', '.join(current_revisions(engine))}")


def _is_up(settings: Settings) -> bool:
    from sqlalchemy import text

    try:
        engine = open_engine(settings)
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

        shown = make_url(settings.db.url).render_as_string(hide_password=True)
        return f"external server (DATABASE_URL) {shown}: {up}"
    info = Cluster(settings.db.state_dir).info()
    if info is None:
        return f"embedded cluster not created yet (state folder {settings.db.state_dir}): down"
    user = f", server runs as {info.run_as}" if info.run_as else ""
    return (f"embedded cluster in {info.data_dir} (socket {info.socket_dir}, "
            f"127.0.0.1:{info.port}{user}), database {settings.db.database}: {up}")

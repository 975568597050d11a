"""The ``cadastre`` command line: the same domain functions as the HTTP API.

Exit codes: 0 success, 1 operational failure (database down), 2 bad input (the
message says what is wrong; nothing was written).
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from db.audit import Actor
from db.cluster import Cluster, ClusterError
from db.settings import Settings

if TYPE_CHECKING:
    from data.manifest import Manifest

T = TypeVar("T")
app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Kim Long land records / Sổ địa chính phường Kim Long")
db_app = typer.Typer(no_args_is_help=True, help="The database (embedded PostGIS or DATABASE_URL)")
users_app = typer.Typer(no_args_is_help=True, help="Users and roles")
data_app = typer.Typer(no_args_is_help=True, help="The synthetic demo data set")
parcels_app = typer.Typer(no_args_is_help=True, help="The parcel registry")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(parcels_app, name="parcels")
app.add_typer(data_app, name="data")


def _settings() -> Settings:
    return Settings()


def fail(message: str, code: int = 2) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _engine(settings: Settings) -> Engine:
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
    engine = make_engine(settings.db, as_owner=True)
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
    from db.engine import make_engine
    from db.migrate import current_revisions, upgrade

    try:
        engine = make_engine(_settings().db, as_owner=True)
    except ClusterError as exc:
        fail(str(exc), 1)
    upgrade(engine)
    typer.echo(f"schema at {', '.join(current_revisions(engine))}")


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

        shown = make_url(settings.db.url).render_as_string(hide_password=True)
        return f"external server (DATABASE_URL) {shown}: {up}"
    info = Cluster(settings.db.state_dir).info()
    if info is None:
        return f"embedded cluster not created yet (state folder {settings.db.state_dir}): down"
    user = f", server runs as {info.run_as}" if info.run_as else ""
    return (f"embedded cluster in {info.data_dir} (socket {info.socket_dir}, "
            f"127.0.0.1:{info.port}{user}), database {settings.db.database}: {up}")


# -------------------------------------------------------------------------- users

CLI_ACTOR_NAME = "cli"


def _cli_actor(settings: Settings) -> Actor:
    return Actor(username=f"{CLI_ACTOR_NAME}:{getpass.getuser()}", role="admin",
                 ward_code=settings.data.ward_code)


def _run_domain(fn: Callable[[Session, Settings], T]) -> T:
    """Run ``fn(session, settings)`` in one transaction; domain errors exit 2, nothing written."""
    from db.engine import transaction
    from db.errors import DomainError

    settings = _settings()
    engine = _engine(settings)
    try:
        with transaction(engine) as session:
            return fn(session, settings)
    except DomainError as exc:
        fail(exc.detail, 2)
    finally:
        engine.dispose()


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option("--role", help="surveyor | land_officer | official | admin")],
    full_name: Annotated[str | None, typer.Option("--name")] = None,
) -> None:
    """Add a user; the password is read from standard input, or prompted for."""
    from api import users

    password = read_password()
    u = _run_domain(lambda s, st: users.add_user(s, actor=_cli_actor(st), username=username,
                                                 role=role, password=password,
                                                 full_name=full_name))
    typer.echo(f"added {u.username} ({u.role})")


@users_app.command("list")
def users_list() -> None:
    """List users, roles and whether they are disabled."""
    from api import users

    for u, disabled in _run_domain(lambda s, st: users.list_users(s)):
        typer.echo(f"{u.username:24} {u.role:14} {'disabled' if disabled else 'active'}")


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable a user; their tokens stop working at once."""
    from api import users

    _run_domain(lambda s, st: users.set_disabled(s, actor=_cli_actor(st), username=username,
                                                 disabled=True))
    typer.echo(f"disabled {username}")


@users_app.command("enable")
def users_enable(username: str) -> None:
    """Enable a disabled user."""
    from api import users

    _run_domain(lambda s, st: users.set_disabled(s, actor=_cli_actor(st), username=username,
                                                 disabled=False))
    typer.echo(f"enabled {username}")


@users_app.command("set-role")
def users_set_role(username: str, role: str) -> None:
    """Change a user's role (their earlier tokens stop working)."""
    from api import users

    u = _run_domain(lambda s, st: users.set_role(s, actor=_cli_actor(st), username=username,
                                                 role=role))
    typer.echo(f"{u.username} is now {u.role}")


@users_app.command("reset-password")
def users_reset_password(username: str) -> None:
    """Set a new password (from standard input, or prompted)."""
    from api import users

    password = read_password("New password: ")
    _run_domain(lambda s, st: users.reset_password(s, actor=_cli_actor(st), username=username,
                                                   password=password))
    typer.echo(f"password of {username} reset")


# ------------------------------------------------------------------------ parcels


@parcels_app.command("show")
def parcels_show(
    ref: Annotated[str, typer.Argument(help="SHEET/NUMBER, e.g. 12/345")],
    former_unit: Annotated[str | None, typer.Option("--unit", help="kim_long, huong_long…")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="GeoJSON Feature(s) in WGS 84")] = False,
) -> None:
    """Show the parcel(s) with this sheet and number (one per former unit)."""
    import json

    from parcels import queries
    from parcels.schemas import feature

    try:
        sheet, number = (int(x) for x in ref.split("/"))
    except ValueError:
        fail(f"{ref!r} is not SHEET/NUMBER (e.g. 12/345)")
    found = _run_domain(lambda s, st: queries.find_by_number(
        s, ward_code=st.data.ward_code, sheet_no=sheet, parcel_no=number,
        former_unit=former_unit))
    if not found:
        fail(f"no registered parcel sheet {sheet} number {number}"
             + (f" in {former_unit}" if former_unit else ""))
    for rec in found:
        if as_json:
            typer.echo(json.dumps(feature(rec), ensure_ascii=False))
            continue
        typer.echo(f"parcel {rec.parcel_id}: {rec.label} (version {rec.version})")
        typer.echo(f"  land use {rec.land_use}, measured {rec.measured_area:.1f} m² "
                   f"(EPSG:9214), legal {rec.legal_area or '-'} m²")
        typer.echo(f"  address {rec.address or '-'}; geohash {rec.geohash}")
        for h in rec.holders:
            typer.echo(f"  holder {h.full_name}: {h.right}, certificate {h.certificate_no or '-'}"
                       f" issued {h.issued_on or '-'}")


# --------------------------------------------------------------------------- data

DEMO_SEED = 2025
DEMO_ROLES = ("land_officer", "surveyor", "official", "admin")


@data_app.command("generate")
def data_generate(
    out: Annotated[Path, typer.Option("--out", help="folder for ward.gpkg and the GeoTIFFs")],
    size: Annotated[str, typer.Option(help="tiny | small | full")] = "full",
    seed: Annotated[int, typer.Option(help="same seed and size give the same files")] = DEMO_SEED,
) -> None:
    """Generate the SYNTHETIC demo ward inside Kim Long's real outline."""
    manifest = _generate(_settings(), size=size, seed=seed, out=out)
    typer.echo(f"{manifest.notice}: {manifest.counts.get('parcels', 0)} parcels in {out} "
               f"({manifest.seconds:.1f} s)")


def _generate(settings: Settings, *, size: str, seed: int, out: Path) -> Manifest:
    from data.generate import generate
    from data.outline import OutlineNotFound, find_outline, load_outline

    if size not in ("tiny", "small", "full"):
        fail(f"size must be tiny, small or full, not {size!r}")
    try:
        source = find_outline(settings.data.external_data, settings.db.state_dir)
    except OutlineNotFound as exc:
        fail(str(exc), 1)
    typer.echo(f"ward outline: {source.path} ({source.origin}, {source.licence})")
    return generate(size=size, seed=seed, out=out,  # type: ignore[arg-type]
                    outline=load_outline(source.path))


@app.command("demo")
def demo(
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve",
                                              help="serve the API afterwards")] = True,
    size: Annotated[str, typer.Option(help="full (≈40,000 parcels) | small | tiny")] = "full",
    seed: Annotated[int, typer.Option(help="generator seed")] = DEMO_SEED,
    port: Annotated[int | None, typer.Option(help="TCP port (default 8000)")] = None,
) -> None:
    """Database up, SYNTHETIC demo ward generated and loaded, demo users, then serve."""
    import json
    import secrets

    from rich.progress import Progress

    from data.load import load_demo
    from db.engine import make_engine

    settings = _settings()
    try:
        ensure_database(settings)
    except ClusterError as exc:
        fail(str(exc), 1)
    from data.generate import cache_folder

    folder = cache_folder(settings.db.state_dir, size, seed)
    if not (folder / "manifest.json").exists():
        typer.echo(f"generating the synthetic ward ({size}, seed {seed}) in {folder} …")
        m = _generate(settings, size=size, seed=seed, out=folder)
        typer.echo(f"  {m.counts.get('parcels', 0)} parcels in {m.seconds:.1f} s")
    engine = make_engine(settings.db, as_owner=True)  # loading ends with ANALYZE (owner only)
    with Progress() as bar:
        tasks: dict[str, object] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(f"loading {name}", total=total)
            bar.update(tasks[name], completed=done)  # type: ignore[arg-type]

        result = load_demo(engine, folder, progress=progress)
    typer.echo(result.message)

    creds_file = settings.db.state_dir / "demo-users.json"
    creds = json.loads(creds_file.read_text()) if creds_file.exists() else {}
    from api import users
    from db.engine import transaction

    with transaction(engine) as s:
        existing = {u.username for u, _ in users.list_users(s)}
        for role in DEMO_ROLES:
            name = f"demo_{role}"
            if name in existing and name in creds:
                continue
            password = creds.get(name) or secrets.token_urlsafe(12)
            if name in existing:
                users.reset_password(s, actor=_cli_actor(settings), username=name,
                                     password=password)
            else:
                users.add_user(s, actor=_cli_actor(settings), username=name, role=role,
                               password=password, full_name=f"Demo {role}")
            creds[name] = password
    creds_file.write_text(json.dumps(creds, indent=2))
    creds_file.chmod(0o600)
    engine.dispose()
    url = f"http://{settings.server.host}:{port or settings.server.port}"
    typer.echo("\nSYNTHETIC DEMO DATA — not real cadastral records / Dữ liệu mô phỏng, "
               "không phải hồ sơ địa chính thật")
    typer.echo(f"API docs: {url}/docs   health: {url}/health")
    typer.echo(f"demo users (passwords kept in {creds_file}):")
    for name in (f"demo_{r}" for r in DEMO_ROLES):
        typer.echo(f"  {name:20} {creds[name]}")
    if serve_after:
        serve(port=port, host=None)


# ------------------------------------------------------------------------- serve


@app.command("serve")
def serve(
    port: Annotated[int | None, typer.Option(help="TCP port (default 8000)")] = None,
    host: Annotated[str | None, typer.Option(help="address (default 127.0.0.1)")] = None,
    workers: Annotated[int | None, typer.Option(help="worker processes (default 1)")] = None,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log")] = True,
) -> None:
    """Serve the HTTP API and pages (database must be up)."""
    import uvicorn

    settings = _settings()
    if settings.environment == "production" and not workers:
        workers = settings.server.workers
    kwargs = {"host": host or settings.server.host, "port": port or settings.server.port,
              "proxy_headers": False, "server_header": False, "log_level": "info",
              "access_log": access_log}
    if (workers or settings.server.workers) > 1:
        # Several processes need an import string; each builds its app from the environment,
        # so they must share the signing secret (a development one is made per process).
        import os

        os.environ.setdefault("CADASTRE_AUTH_SECRET", settings.auth.secret)
        uvicorn.run("api.app:create_app", factory=True,
                    workers=workers or settings.server.workers, **kwargs)  # type: ignore[arg-type]
        return
    from api.app import create_app

    uvicorn.run(create_app(settings), **kwargs)  # type: ignore[arg-type]


from api.cli_audit import audit_command  # noqa: E402 (the command lives in its own module)

app.command("audit")(audit_command)

from api.cli_surveys import import_survey  # noqa: E402 (the command lives in its own module)

app.command("import")(import_survey)

from api.cli_certificates import applications_app, stats_command, verify_command  # noqa: E402

app.command("verify")(verify_command)
app.command("stats")(stats_command)
app.add_typer(applications_app, name="applications")

from api.cli_maps import maps_app  # noqa: E402 (the commands live in their own module)

app.add_typer(maps_app, name="map")

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

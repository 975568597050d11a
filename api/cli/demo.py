"""``cadastre demo`` and ``cadastre data generate``: the SYNTHETIC demo ward.

``demo`` brings the database up, generates the ward once (cached by size and seed),
loads it, creates one demo user per role (passwords kept in the state folder) and serves,
with a job worker (``cadastre worker``) beside the server.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.common import cli_actor, fail, load_settings
from api.cli.database import ensure_database
from api.cli.serve import serve
from config.settings import Settings
from db.cluster import ClusterError

if TYPE_CHECKING:
    from data.manifest import Manifest

DEMO_SEED = 2025
DEMO_TODAY = "2025-08-26T08:00:00+07:00"
"""The demo's clock starts here: the day after the seed's period (1 July - 25 August 2025),
so the queue an officer sees is the ward's at that time; it then runs on normally."""
DEMO_ROLES = ("land_officer", "surveyor", "official", "admin")

data_app = typer.Typer(no_args_is_help=True, help="The synthetic demo data set")


@data_app.command("generate")
def data_generate(
    out: Annotated[Path, typer.Option("--out", help="folder for ward.gpkg and the GeoTIFFs")],
    size: Annotated[str, typer.Option(help="tiny | small | full")] = "full",
    seed: Annotated[int, typer.Option(help="same seed and size give the same files")] = DEMO_SEED,
) -> None:
    """Generate the SYNTHETIC demo ward inside Kim Long's real outline."""
    manifest = _generate(load_settings(), size=size, seed=seed, out=out)
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


def demo(
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve",
                                              help="serve the API afterwards")] = True,
    size: Annotated[str, typer.Option(help="full (≈40,000 parcels) | small | tiny")] = "full",
    seed: Annotated[int, typer.Option(help="generator seed")] = DEMO_SEED,
    port: Annotated[int | None, typer.Option(help="TCP port (default 8000)")] = None,
    today: Annotated[str | None, typer.Option(
        help="the demo's clock start, ISO 8601 with an offset (default: CADASTRE_CLOCK_START, "
             f"else {DEMO_TODAY})")] = None,
) -> None:
    """Database up, SYNTHETIC demo ward generated and loaded, demo users, then serve with the
    ward's clock at the end of the seed's period."""
    import json
    import os
    import secrets
    from datetime import datetime

    from config import clock

    start = today or os.environ.get("CADASTRE_CLOCK_START") or DEMO_TODAY
    try:
        clock.start_at(datetime.fromisoformat(start))
    except ValueError as exc:
        fail(f"--today {start!r}: {exc}")
    os.environ["CADASTRE_CLOCK_START"] = start  # the server's workers inherit it

    from rich.progress import Progress

    from data.load import load_demo, load_neighbour_wards
    from db.engine import make_engine

    settings = load_settings()
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
    if load_neighbour_wards(engine, settings.data.external_data):
        typer.echo("neighbouring wards' real outlines entered (a parcel reaching out of the "
                   "ward names the ward it reaches into)")

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
                users.reset_password(s, actor=cli_actor(settings), username=name,
                                     password=password)
            else:
                users.add_user(s, actor=cli_actor(settings), username=name, role=role,
                               password=password, full_name=f"Demo {role}")
            creds[name] = password
    creds_file.write_text(json.dumps(creds, indent=2))
    creds_file.chmod(0o600)
    engine.dispose()
    url = f"http://{settings.server.host}:{port or settings.server.port}"
    typer.echo("\nSYNTHETIC DEMO DATA — not real cadastral records / Dữ liệu mô phỏng, "
               "không phải hồ sơ địa chính thật")
    typer.echo(f"the ward's clock: today is {clock.today().isoformat()} (started at {start}; "
               "the demo's files are dated July-August 2025) / hôm nay theo đồng hồ của "
               f"phường: {clock.today():%d/%m/%Y}")
    typer.echo(f"  for the same 'today' on the command line: export CADASTRE_CLOCK_START={start}")
    typer.echo(f"API docs: {url}/docs   health: {url}/health")
    typer.echo(f"demo users (passwords kept in {creds_file}):")
    for name in (f"demo_{r}" for r in DEMO_ROLES):
        typer.echo(f"  {name:20} {creds[name]}")
    if serve_after:
        _serve_with_worker(port)


def _serve_with_worker(port: int | None) -> None:
    """Serve, with one job worker beside the server (stopped with it): the whole-ward
    audit, impact and backlog jobs the API queues need someone to run them."""
    import subprocess
    import sys

    worker = subprocess.Popen([sys.executable, "-m", "api.cli", "worker"])
    typer.echo(f"job worker started (process {worker.pid})")
    try:
        serve(port=port, host=None)
    finally:
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()

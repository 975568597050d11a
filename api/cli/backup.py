"""``cadastre backup`` and ``cadastre restore``: the database in one checked file, and back.

Exit codes as for every command: 0 done, 1 the database or a tool is unusable, 2 the file
is refused (damaged, truncated, not a backup) or the target is not empty; nothing was
restored then and the target database is left as it was (empty).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import fail, load_settings
from db.cluster import Cluster, ClusterError


def _owner_url() -> str:
    from db.engine import database_url

    settings = load_settings()
    try:
        if not settings.db.url:
            Cluster(settings.db.state_dir).up(settings.db.database)
        return database_url(settings.db)
    except ClusterError as exc:
        fail(str(exc), 1)


def backup_command(
    out: Annotated[Path, typer.Option("--out", help="the backup file to write")],
) -> None:
    """Back up the whole database (a consistent pg_dump and a manifest) into one file."""
    from db.backup import BackupError, backup

    url = _owner_url()
    try:
        done = backup(url, out)
    except BackupError as exc:
        fail(str(exc), 1)
    m = done.manifest
    rows = sum(t["rows"] for t in m["tables"].values())
    typer.echo(f"backup written: {done.path} ({done.bytes:,} bytes, {done.seconds:.1f} s)")
    typer.echo(f"  schema {', '.join(m['schema_revision'])}, {len(m['tables'])} tables, "
               f"{rows:,} rows; registry fingerprint {m['registry_fingerprint'][:16]}…")
    for ward, head in sorted(m["audit_heads"].items()):
        typer.echo(f"  audit chain of ward {ward}: event {head['seq']}, {head['hash']}")


def restore_command(
    file: Annotated[Path, typer.Argument(help="a file written by `cadastre backup`")],
) -> None:
    """Restore a backup into the configured database, which must be empty, and verify it."""
    from db.backup import BackupError, DamagedBackup, TargetNotEmpty, restore

    settings = load_settings()
    url = _owner_url()
    try:
        done = restore(url, file, app_role=settings.db.app_role)
    except (DamagedBackup, TargetNotEmpty) as exc:
        fail(str(exc), 2)
    except BackupError as exc:
        fail(str(exc), 1)
    m = done.manifest
    typer.echo(f"restored {file} ({m['created_at']}) into database {settings.db.database} in "
               f"{done.seconds:.1f} s: {len(m['tables'])} tables, every row count and digest "
               f"as in the manifest; registry fingerprint {m['registry_fingerprint'][:16]}…")

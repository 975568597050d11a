"""Backups: one file with a consistent ``pg_dump`` and a manifest that proves what it holds.

A backup file is a tar archive of two members, in this order:

- ``manifest.json``: the format, when and from which database, the schema revision, the
  row count and content digest of every table, the registry's fingerprint (a digest of the
  registry tables' digests), the head of each ward's audit chain, the dump's size and
  SHA-256, and a checksum of the manifest itself;
- ``database.dump``: ``pg_dump --format=custom`` of the whole database.

The manifest and the dump describe the same instant: the counts and digests are read in a
REPEATABLE READ transaction whose snapshot ``pg_dump`` is given (``--snapshot``), so a
write committed while the backup runs is in neither or in both.

:func:`restore` refuses a file before touching the database when anything does not add up
(not a backup, truncated, a flipped byte in the manifest or the dump), refuses a target
database that holds any table, restores in one transaction (a failure leaves the target
empty), and then recomputes every table's count and digest: a restore that does not give
back exactly the backed-up state is undone and reported.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from sqlalchemy import URL, make_url

from config import clock
from db.cluster import find_bin_dir

FORMAT = "kimlong-cadastre-backup/1"
MANIFEST = "manifest.json"
DUMP = "database.dump"
REGISTRY_TABLES = ("ward", "former_unit", "map_sheet", "parcel", "parcel_version",
                   "parcel_lineage", "party", "parcel_right", "source_document")
"""The tables whose content is "the registry" for :func:`registry_fingerprint`."""
CHUNK = 1024 * 1024

TABLES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY c.relname
"""
"""Our tables: those of the public schema that no extension owns (PostGIS's
``spatial_ref_sys`` is the extension's; our SRID row in it is checked on its own)."""

RELATIONS = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'
  AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
"""
"""Every relation a database holds outside the system catalogues: 0 for an empty one."""


class BackupError(Exception):
    """A backup cannot be made, or a file cannot be restored; the message says why."""


class DamagedBackup(BackupError):
    """The file is not a complete, intact backup: nothing was restored."""


class TargetNotEmpty(BackupError):
    """The target database already holds tables: restore goes only into an empty one."""


@dataclass(frozen=True)
class TableState:
    rows: int
    digest: str


@dataclass(frozen=True)
class Outcome:
    """What a backup or restore did, for the command line to print."""

    path: Path
    manifest: dict[str, Any]
    bytes: int
    seconds: float


# ------------------------------------------------------------------------ the state


def libpq_params(url: str | URL) -> dict[str, str]:
    """libpq connection parameters of a SQLAlchemy URL (for psycopg and the pg_* tools)."""
    u = make_url(url) if isinstance(url, str) else url
    params = {"host": u.host or "127.0.0.1", "port": str(u.port or 5432),
              "user": u.username or "", "dbname": u.database or ""}
    if u.password:
        params["password"] = str(u.password)
    return params


def _tool_env(url: str | URL) -> dict[str, str]:
    """The environment for pg_dump/pg_restore: the password never on a command line."""
    p = libpq_params(url)
    env = {**os.environ, "PGHOST": p["host"], "PGPORT": p["port"], "PGUSER": p["user"],
           "PGDATABASE": p["dbname"], "PGTZ": "UTC", "PGCONNECT_TIMEOUT": "10"}
    if "password" in p:
        env["PGPASSWORD"] = p["password"]
    return env


def pg_tool(name: str) -> str:
    """The newest installed ``pg_dump``/``pg_restore`` (it must be at least the server's)."""
    found = find_bin_dir()
    if found is not None and (found / name).exists():
        return str(found / name)
    on_path = shutil.which(name)
    if on_path is None:
        raise BackupError(f"{name} is not installed (apt-get install postgresql-client)")
    return on_path


@contextmanager
def connect(url: str | URL, *, autocommit: bool = False) -> Iterator[psycopg.Connection[Any]]:
    """A plain connection as the owner, in UTC (table digests render timestamps)."""
    info = make_conninfo("", **libpq_params(url),
                         options="-c TimeZone=UTC -c statement_timeout=0")
    with psycopg.connect(info, autocommit=autocommit) as conn:
        yield conn


def table_states(conn: psycopg.Connection[Any]) -> dict[str, TableState]:
    """Row count and a digest of the content of every table, independent of row order.

    The digest is the MD5 of the sorted MD5s of each row's text: a changed, added or
    removed row changes it; the physical order (which a restore does not keep) does not.
    """
    states = {}
    for (name,) in conn.execute(TABLES).fetchall():
        quoted = '"' + name.replace('"', '""') + '"'
        rows, digest = conn.execute(
            "SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h), '')) "  # noqa: S608
            f"FROM (SELECT md5(t::text) AS h FROM {quoted} t) s").fetchone() or (0, "")
        states[name] = TableState(rows=int(rows), digest=str(digest))
    return states


def registry_fingerprint(states: dict[str, TableState]) -> str:
    """One SHA-256 of the registry tables' contents: two databases with the same
    fingerprint hold the same parcels, versions, lineage, parties, rights and sources."""
    h = hashlib.sha256()
    for name in REGISTRY_TABLES:
        s = states.get(name)
        h.update(f"{name}\t{s.rows if s else '-'}\t{s.digest if s else '-'}\n".encode())
    return h.hexdigest()


def _revision(conn: psycopg.Connection[Any]) -> list[str]:
    try:
        with conn.transaction():
            return sorted(r[0] for r in conn.execute(
                "SELECT version_num FROM alembic_version").fetchall())
    except psycopg.errors.UndefinedTable:
        return []


def _audit_heads(conn: psycopg.Connection[Any]) -> dict[str, dict[str, Any]]:
    """The last link of each ward's audit chain: a copy kept away from the database, so
    that a rewrite of the whole chain after this backup still shows (db/audit_chain.py)."""
    try:
        with conn.transaction():
            rows = conn.execute(
                "SELECT DISTINCT ON (ward_code) ward_code, seq, encode(hash, 'hex') "
                "FROM audit_event ORDER BY ward_code, seq DESC").fetchall()
    except psycopg.errors.UndefinedColumn:
        return {}
    return {w: {"seq": int(s), "hash": h} for w, s, h in rows}


def _srid_row(conn: psycopg.Connection[Any]) -> str | None:
    row = conn.execute("SELECT proj4text FROM spatial_ref_sys WHERE srid = 9214").fetchone()
    return None if row is None else str(row[0])


# ------------------------------------------------------------------------ manifest


def _canonical(manifest: dict[str, Any]) -> bytes:
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _seal(manifest: dict[str, Any]) -> dict[str, Any]:
    return {**manifest, "checksum": "sha256:" + hashlib.sha256(_canonical(manifest)).hexdigest()}


def _check_seal(manifest: dict[str, Any]) -> None:
    expected = "sha256:" + hashlib.sha256(_canonical(manifest)).hexdigest()
    if manifest.get("checksum") != expected:
        raise DamagedBackup("the backup's manifest does not match its checksum: the file was "
                            "altered or damaged; nothing was restored")


# ------------------------------------------------------------------------ backup


def backup(url: str | URL, out: Path) -> Outcome:
    """Write a backup of the database at ``url`` (owner credentials) to ``out``.

    The file appears under its name only once complete (written beside it, then
    renamed), so a backup interrupted half-way never leaves a file that looks whole.
    """
    started = time.perf_counter()
    out = out.expanduser()
    if not out.parent.is_dir():
        raise BackupError(f"folder {out.parent} does not exist")
    with tempfile.TemporaryDirectory(prefix="cadastre-backup-", dir=out.parent) as tmp:
        dump = Path(tmp) / DUMP
        with connect(url) as conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()
            assert snapshot is not None
            states = table_states(conn)
            manifest: dict[str, Any] = {
                "format": FORMAT,
                "created_at": clock.now().isoformat(),
                "database": libpq_params(url)["dbname"],
                "server_version": conn.execute("SHOW server_version").fetchone()[0],  # type: ignore[index]
                "schema_revision": _revision(conn),
                "tables": {n: {"rows": s.rows, "digest": s.digest} for n, s in states.items()},
                "registry_fingerprint": registry_fingerprint(states),
                "audit_heads": _audit_heads(conn),
                "srid_9214": _srid_row(conn),
            }
            res = subprocess.run(  # noqa: S603
                [pg_tool("pg_dump"), "--format=custom", "--no-password",
                 f"--snapshot={snapshot[0]}", "--file", str(dump)],
                env=_tool_env(url), capture_output=True, text=True, check=False)
            conn.rollback()
        if res.returncode != 0:
            raise BackupError(f"pg_dump failed: {res.stderr.strip()[-600:]}")
        size, digest = _digest_file(dump)
        manifest["dump"] = {"file": DUMP, "bytes": size, "sha256": digest}
        manifest = _seal(manifest)
        partial = Path(tmp) / "backup.tar"
        with tarfile.open(partial, "w") as tar:
            data = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            tar.addfile(info, io.BytesIO(data))
            tar.add(dump, arcname=DUMP)
        with partial.open("rb") as fh:
            os.fsync(fh.fileno())
        partial.chmod(0o600)
        partial.replace(out)
    return Outcome(path=out, manifest=manifest, bytes=out.stat().st_size,
                   seconds=time.perf_counter() - started)


def _digest_file(path: Path) -> tuple[int, str]:
    h, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


# ------------------------------------------------------------------------ reading


def _manifest_of(tar: tarfile.TarFile, path: Path) -> tuple[dict[str, Any], tarfile.TarInfo]:
    members = tar.getmembers()
    names = [m.name for m in members]
    if names != [MANIFEST, DUMP] or not all(m.isfile() for m in members):
        raise DamagedBackup(f"{path} is not a backup of this service (it holds "
                            f"{', '.join(names[:5]) or 'nothing'})")
    raw = tar.extractfile(members[0])
    assert raw is not None
    try:
        manifest = json.loads(raw.read().decode())
    except (UnicodeDecodeError, ValueError) as exc:
        raise DamagedBackup("the backup's manifest is not readable: the file is "
                            "damaged; nothing was restored") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DamagedBackup(f"{path} is not a backup in the format {FORMAT}")
    _check_seal(manifest)
    return manifest, members[1]


def _opened(path: Path) -> tarfile.TarFile:
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    return tarfile.open(path, "r:")


def _truncated(path: Path, exc: Exception) -> DamagedBackup:
    return DamagedBackup(f"{path} is truncated or is not a backup file ({exc}); nothing "
                         "was restored")


def read_manifest(path: Path) -> dict[str, Any]:
    """The sealed manifest of a backup file (the dump is not read)."""
    try:
        with _opened(path) as tar:
            return _manifest_of(tar, path)[0]
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise _truncated(path, exc) from exc


def read_backup(path: Path, into: Path) -> dict[str, Any]:
    """Check a backup file and extract its dump into folder ``into``; returns the manifest.

    Everything is checked before any database is touched: the archive's shape, the
    manifest's checksum, the dump's size and SHA-256.
    """
    try:
        with _opened(path) as tar:
            manifest, member = _manifest_of(tar, path)
            dump = tar.extractfile(member)
            assert dump is not None
            h, size = hashlib.sha256(), 0
            with (into / DUMP).open("wb") as fh:
                for chunk in iter(lambda: dump.read(CHUNK), b""):
                    h.update(chunk)
                    size += len(chunk)
                    fh.write(chunk)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise _truncated(path, exc) from exc
    expected = manifest["dump"]
    if size != expected["bytes"]:
        raise DamagedBackup(f"the dump in {path} is {size:,} bytes, the manifest says "
                            f"{expected['bytes']:,}: the file is truncated; nothing was restored")
    if h.hexdigest() != expected["sha256"]:
        raise DamagedBackup(f"the dump in {path} does not match the SHA-256 in its manifest: "
                            "the file is damaged; nothing was restored")
    return manifest


# ------------------------------------------------------------------------ restore


def relation_count(url: str | URL) -> int:
    """How many relations (tables, views, sequences) the database holds: 0 when empty."""
    with connect(url, autocommit=True) as conn:
        row = conn.execute(RELATIONS).fetchone()
    return int(row[0]) if row else 0


def restore(url: str | URL, path: Path, *, app_role: str | None = "cadastre_app") -> Outcome:
    """Restore backup file ``path`` into the empty database at ``url`` and verify it.

    ``app_role`` is the service role the dump grants privileges to; it is a role of the
    server, not of the database, so it is created (as migration 0003 does) when missing.
    """
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cadastre-restore-") as tmp:
        manifest = read_backup(path, Path(tmp))
        held = relation_count(url)
        if held:
            raise TargetNotEmpty(
                f"database {libpq_params(url)['dbname']} is not empty ({held} tables, views "
                "or sequences): a backup is restored only into an empty database; create a "
                "new one (or drop this one) first")
        load_dump(url, Path(tmp) / DUMP, app_role=app_role)
    problems = verify_restored(url, manifest)
    if problems:
        _empty(url)
        raise BackupError("the restored database differs from the backup's manifest, so it "
                          "was emptied again: " + "; ".join(problems[:5]))
    return Outcome(path=path, manifest=manifest, bytes=path.stat().st_size,
                   seconds=time.perf_counter() - started)


def load_dump(url: str | URL, dump: Path, *, app_role: str | None = "cadastre_app") -> None:
    """``pg_restore`` a ``pg_dump --format=custom`` file into the empty database at ``url``,
    in one transaction, without the dump's owners: all of it or (emptied again) nothing.

    :func:`restore` loads a backup's dump with it; the migration test loads a released
    version's dump (tests/fixtures).  ``app_role``, which the dump grants privileges to, is
    a role of the server, so it is created (as migration 0003 does) when missing.
    """
    if app_role:
        _ensure_role(url, app_role)
    res = subprocess.run(  # noqa: S603
        [pg_tool("pg_restore"), "--exit-on-error", "--single-transaction", "--no-owner",
         "--no-password", "--dbname", libpq_params(url)["dbname"], str(dump)],
        env=_tool_env(url), capture_output=True, text=True, check=False)
    if res.returncode != 0:
        _empty(url)
        raise BackupError(f"pg_restore failed, nothing was restored: "
                          f"{res.stderr.strip()[-600:]}")


def verify_restored(url: str | URL, manifest: dict[str, Any]) -> list[str]:
    """Every difference between the database at ``url`` and the manifest (none: identical)."""
    with connect(url) as conn:
        states = table_states(conn)
        revision = _revision(conn)
        srid = _srid_row(conn)
    problems = []
    if revision != manifest["schema_revision"]:
        problems.append(f"schema revision {revision}, backup {manifest['schema_revision']}")
    for name, want in manifest["tables"].items():
        got = states.get(name)
        if got is None:
            problems.append(f"table {name} missing")
        elif got.rows != want["rows"]:
            problems.append(f"table {name}: {got.rows} rows, backup {want['rows']}")
        elif got.digest != want["digest"]:
            problems.append(f"table {name}: content differs from the backup")
    problems += [f"table {n} is not in the backup" for n in states if n not in manifest["tables"]]
    if registry_fingerprint(states) != manifest["registry_fingerprint"]:
        problems.append("registry fingerprint differs")
    if srid != manifest.get("srid_9214"):
        problems.append("the SRID 9214 row differs")
    return problems


def _ensure_role(url: str | URL, role: str) -> None:
    with connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if exists is None:
            conn.execute(f'CREATE ROLE "{role}" NOLOGIN')
        conn.execute(f'GRANT "{role}" TO CURRENT_USER')


def _empty(url: str | URL) -> None:
    """Undo a restore that failed or did not verify: the target is empty again.

    Dropping the schema fires no row or TRUNCATE trigger (the history guards stay for
    everything else); PostGIS goes too, as the restore had created it.
    """
    with connect(url, autocommit=True) as conn:
        conn.execute("DROP EXTENSION IF EXISTS postgis CASCADE")
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")

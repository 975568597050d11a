"""Refuse a GeoPackage that would run SQL of its author's while GDAL reads it.

A GeoPackage is an SQLite database, and SQLite evaluates a *view* when it is read: a
layer (or one of the ``gpkg_*`` tables GDAL reads on open) that is a view with a
recursive query burnt 10 s of CPU for a 96 KB upload, growing with a literal in the
view.  GDAL has no option that refuses views or bounds a statement's cost, so before
GDAL opens the file, Python's own SQLite reads its schema (read-only, immutable, under a
progress handler that stops any statement after a fixed number of steps) and refuses:

* any view;
* any computed (generated) column, evaluated on every read of its row;
* any virtual table other than the R-tree of a spatial index (a virtual table's module
  runs code of its own).

Triggers stay allowed: every GeoPackage with a spatial index has them, and they run
only on writes, which nothing here makes.  What this misses, the worker's CPU and
memory limits still bound (``gis.intake.worker``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final
from urllib.parse import quote

from gis.intake.errors import CorruptFileError, UnsafeGeoPackageError

MAX_STEPS: Final = 2_000_000
"""SQLite virtual-machine steps the schema reads may take (a real schema needs thousands)."""
_PROGRESS_EVERY: Final = 1000


def _open(path: Path) -> sqlite3.Connection:
    uri = f"file:{quote(str(path))}?mode=ro&immutable=1"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    steps = [0]

    def progress() -> int:
        steps[0] += _PROGRESS_EVERY
        return int(steps[0] > MAX_STEPS)  # non-zero interrupts the statement

    conn.set_progress_handler(progress, _PROGRESS_EVERY)
    conn.execute("PRAGMA query_only = 1")
    conn.execute("PRAGMA trusted_schema = 0")
    return conn


def check_geopackage(path: Path) -> None:
    """Raise ``UnsafeGeoPackageError`` for views, computed columns or foreign virtual
    tables; ``CorruptFileError`` when SQLite cannot read the schema at all."""
    try:
        conn = _open(path)
    except sqlite3.Error as exc:
        raise CorruptFileError("The GeoPackage could not be opened; it may be damaged.",
                               vi="Không mở được GeoPackage: tệp có thể bị hỏng.",
                               reason=str(exc)[:200]) from exc
    try:
        schema = conn.execute("SELECT type, name, coalesce(sql, '') FROM sqlite_master").fetchall()
        views = sorted(str(name) for kind, name, _ in schema if kind == "view")
        virtual = sorted(str(name) for kind, name, text in schema
                         if kind == "table" and text.upper().startswith("CREATE VIRTUAL TABLE")
                         and " USING RTREE" not in " ".join(text.upper().split()))
        computed = sorted(
            f"{table}.{col[1]}" for kind, table, _ in schema if kind == "table"
            for col in conn.execute("SELECT * FROM pragma_table_xinfo(?)", (table,))
            if col[6] in (2, 3))  # hidden = 2 or 3: a generated column
    except sqlite3.Error as exc:
        raise CorruptFileError("The GeoPackage's schema could not be read; it may be damaged.",
                               vi="Không đọc được cấu trúc GeoPackage: tệp có thể bị hỏng.",
                               reason=str(exc)[:200]) from exc
    finally:
        conn.close()
    if views or computed or virtual:
        found = [*(f"view {v}" for v in views), *(f"computed column {c}" for c in computed),
                 *(f"virtual table {t}" for t in virtual)]
        raise UnsafeGeoPackageError(
            "The GeoPackage holds SQL that would run while it is read ("
            + ", ".join(found[:10]) + "); these are refused. Export the layer again as a "
            "plain table (QGIS: Export → Save Features As… GeoPackage).",
            views=views[:50], computed_columns=computed[:50], virtual_tables=virtual[:50])

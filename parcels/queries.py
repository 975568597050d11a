"""Registry reads: current parcels, parcels as of a date, history and lineage.

Plain SQL with bound parameters on the hot paths (parcel by id, bbox): the
read API answers in a few milliseconds and these are its whole cost.  A
version is in force at time t when ``valid_from <= t < valid_to`` (or
``valid_to`` is NULL).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from sqlalchemy.orm import Session

from config import clock
from db.engine import sql
from gis.convert import from_db
from gis.crs import WARD, WGS84
from parcels.errors import InvalidInput, ParcelNotFound
from parcels.records import Holder, ParcelRecord, holders_from_json, holders_sql, record

VERSION_COLUMNS = """
    v.parcel_id, v.id AS version_id, v.version, v.former_unit, v.sheet_no, v.parcel_no, v.land_use,
    ST_AsBinary(v.geom) AS wkb, v.measured_area, v.legal_area, v.address, v.status,
    v.change_kind, v.valid_from, v.valid_to, v.recorded_at, v.recorded_by, v.reason,
    v.source_document_id, p.geohash
"""
IN_FORCE_NOW = "v.valid_to IS NULL"
IN_FORCE_THEN = "v.valid_from <= :as_of AND (v.valid_to IS NULL OR v.valid_to > :as_of)"
IN_FORCE_THEN_DRIVER = IN_FORCE_THEN.replace(":as_of", "%(as_of)s")
"""The same condition in the driver's parameter style (statements shared with db/aio.py)."""


def in_force(as_of: datetime | None) -> str:
    """The version-in-force condition; the literal ``valid_to IS NULL`` for now, so the
    planner can use the partial indexes on current versions (a CASE hides them)."""
    return IN_FORCE_NOW if as_of is None else IN_FORCE_THEN


MAX_PAGE = 1000

LATEST_VERSION = ("SELECT id FROM parcel_version WHERE ward_code = :w "
                  "ORDER BY id DESC LIMIT 1")
"""The ward's newest parcel version id (a backward primary-key scan): any write to any
parcel makes a later one, so it names the state of the registry (a check's pin, a tile
cache's key)."""

VERSION_BY_ID = ("SELECT v.parcel_id, v.sheet_no, v.parcel_no, v.land_use, ST_AsBinary(v.geom), "
                 "v.measured_area FROM parcel_version v WHERE v.parcel_id = {} "
                 "AND v.valid_to IS NULL")
"""The smallest read of a parcel, with ``{}`` for the driver's own placeholder: what
``bench/registry.py`` times the database drivers with."""


@dataclass(frozen=True)
class Page:
    items: list[ParcelRecord]
    limit: int
    offset: int
    has_more: bool
    matched: int | None = None
    """How many parcels match in all, counted on the first page of a bbox query (the
    matches are all read there anyway to be ordered), None otherwise."""
    as_of: datetime | None = None
    """The registry instant the page shows: given, or pinned when more pages follow (the
    ``next`` link carries it, so every page shows the same registry)."""

    @property
    def last_id(self) -> int | None:
        """The keyset cursor: the next page starts after this parcel id."""
        return self.items[-1].parcel_id if self.items else None


WAIT_FOR_WRITERS = "SELECT pg_advisory_xact_lock_shared(hashtext(%(k)s))"
"""Wait until no registry write of the ward is in flight (the shared side of
``parcels.registry.lock_ward``), in a statement of its own (autocommit: released at once)."""


def pin_instant(ward_code: str) -> tuple[datetime, str, dict[str, Any]]:
    """The instant a listing pins, and the statement that makes it safe to pin.

    The instant is read first, then the statement waits for any write in flight.  Every
    write stamps its versions after taking the ward lock, so one that stamped at or before
    the instant has committed once the wait is over, and one that comes later stamps after
    it: the registry "as of the instant" is then the same for every page read later.
    """
    return clock.now(), WAIT_FOR_WRITERS, {"k": f"registry:{ward_code}"}


@dataclass(frozen=True)
class LineageLink:
    parcel_id: int
    kind: str
    depth: int
    recorded_at: datetime


@dataclass(frozen=True)
class Lineage:
    parcel_id: int
    ancestors: list[LineageLink]
    descendants: list[LineageLink]


def _record(m: Mapping[Any, Any], holders: list[Holder] | None = None) -> ParcelRecord:
    """A version read by either driver (a SQLAlchemy row's ``_mapping`` or a dict row)."""
    return record(m, from_db(m["wkb"]), holders)


def _parcel_statement(as_of: datetime | None) -> str:
    """The parcel-by-id query in the driver's own parameter style (``%(name)s``), so the
    synchronous and the asynchronous read run the very same SQL."""
    in_force_sql = IN_FORCE_NOW if as_of is None else IN_FORCE_THEN_DRIVER
    holders = holders_sql(None if as_of is None else "%(as_of)s")
    return (f"SELECT {VERSION_COLUMNS}, {holders} AS holders_json FROM parcel_version v "
            f"JOIN parcel p ON p.id = v.parcel_id "
            f"WHERE v.parcel_id = %(id)s AND v.ward_code = %(w)s AND {in_force_sql}")


def _parcel_found(row: Mapping[Any, Any] | None, parcel_id: int,
                  as_of: datetime | None) -> ParcelRecord:
    if row is None:
        when = f" on {as_of.isoformat()}" if as_of else ""
        raise ParcelNotFound(f"no parcel with id {parcel_id}{when}", parcel_id=parcel_id)
    return _record(row, holders_from_json(row.get("holders_json")))


def get_parcel(session: Session, *, ward_code: str, parcel_id: int,
               as_of: datetime | None = None) -> ParcelRecord:
    """The version of a parcel in force now (or at ``as_of``), with its holders then.

    One round trip: the holders come back as a JSON array beside the version.
    """
    row = session.connection().exec_driver_sql(
        _parcel_statement(as_of), {"id": parcel_id, "w": ward_code, "as_of": as_of},
    ).one_or_none()
    return _parcel_found(row._mapping if row is not None else None, parcel_id, as_of)


async def get_parcel_async(conn: AsyncConnection[Any], *, ward_code: str, parcel_id: int,
                           as_of: datetime | None = None) -> ParcelRecord:
    """:func:`get_parcel` on an asynchronous connection: the same statement and record.

    The API's most frequent read runs on the event loop this way; handing it to a
    worker thread cost more CPU than the query (see db/aio.py).
    """
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_parcel_statement(as_of),
                          {"id": parcel_id, "w": ward_code, "as_of": as_of})
        row = await cur.fetchone()
    return _parcel_found(row, parcel_id, as_of)


def find_by_number(session: Session, *, ward_code: str, sheet_no: int, parcel_no: int,
                   former_unit: str | None = None,
                   as_of: datetime | None = None) -> list[ParcelRecord]:
    """Registered parcels with this sheet and number (one per former unit at most)."""
    holders = holders_sql(None if as_of is None else ":as_of")
    rows = session.execute(
        sql(f"SELECT {VERSION_COLUMNS}, {holders} AS holders_json FROM parcel_version v "
             f"JOIN parcel p ON p.id = v.parcel_id "
             f"WHERE v.ward_code = :w AND v.sheet_no = :s AND v.parcel_no = :n "
             f"AND v.status = 'registered' AND (CAST(:u AS text) IS NULL OR v.former_unit = :u) "
             f"AND {in_force(as_of)} ORDER BY v.former_unit"),
        {"w": ward_code, "s": sheet_no, "n": parcel_no, "u": former_unit, "as_of": as_of},
    ).all()
    return [_record(r._mapping, holders_from_json(r.holders_json)) for r in rows]


def parse_bbox(value: str) -> tuple[float, float, float, float]:
    """``minlon,minlat,maxlon,maxlat`` in WGS 84, checked."""
    try:
        parts = [float(p) for p in value.split(",")]
    except ValueError as exc:
        raise InvalidInput(f"bbox {value!r} is not four numbers minlon,minlat,maxlon,maxlat",
                           field="bbox") from exc
    if len(parts) != 4 or not all(map(_finite, parts)):
        raise InvalidInput(f"bbox {value!r} is not four numbers minlon,minlat,maxlon,maxlat",
                           field="bbox")
    x0, y0, x1, y1 = parts
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        raise InvalidInput("bbox must be longitude/latitude in WGS 84 (EPSG:4326)", field="bbox")
    if x0 > x1 or y0 > y1:
        raise InvalidInput("bbox minimum is above its maximum (order: minlon,minlat,maxlon,maxlat)",
                           field="bbox")
    return x0, y0, x1, y1


def _finite(x: float) -> bool:
    return x == x and abs(x) != float("inf")


def _list_statement(*, ward_code: str, bbox: tuple[float, float, float, float] | None,
                    sheet_no: int | None, parcel_no: int | None, land_use: str | None,
                    former_unit: str | None, as_of: datetime | None, include_retired: bool,
                    limit: int, offset: int, bbox_srid: int = WGS84, after: int | None = None
                    ) -> tuple[str, dict[str, Any]]:
    """The listing query in the driver's parameter style, shared by both reads.  A bbox is
    in x/y order in ``bbox_srid`` (WGS 84 longitude/latitude unless said otherwise)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    if offset < 0:
        raise InvalidInput("offset must not be negative", field="offset")
    where = ["v.ward_code = %(w)s", IN_FORCE_NOW if as_of is None else IN_FORCE_THEN_DRIVER]
    params: dict[str, Any] = {"w": ward_code, "as_of": as_of, "lim": limit + 1, "off": offset}
    if not include_retired:
        where.append("v.status = 'registered'")
    if after is not None:
        where.append("v.parcel_id > %(after)s")
        params["after"] = after
    if bbox is not None:
        envelope = ("ST_Transform(ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, %(bbox_srid)s),"
                    " %(srid)s)")
        where.append(f"v.geom && {envelope} AND ST_Intersects(v.geom, {envelope})")
        params.update(x0=bbox[0], y0=bbox[1], x1=bbox[2], y1=bbox[3], srid=WARD,
                      bbox_srid=bbox_srid)
    for name, value in (("sheet_no", sheet_no), ("parcel_no", parcel_no),
                        ("land_use", land_use.upper() if land_use else None),
                        ("former_unit", former_unit)):
        if value is not None:
            where.append(f"v.{name} = %({name})s")
            params[name] = value
    # The first page of a bbox query counts the matches too: ordering them by id reads them
    # all already (the index found them by place), so the count is nearly free there.
    matched = ("count(*) OVER ()" if _counted(bbox, offset, after)
               else "CAST(NULL AS bigint)")
    # The page's ids first (an index-only scan for plain listings), then only those rows:
    # a deep offset no longer encodes the geometry of every row it skips.
    return (f"WITH page AS (SELECT v.id, {matched} AS matched FROM parcel_version v "
            f"WHERE {' AND '.join(where)} ORDER BY v.parcel_id LIMIT %(lim)s OFFSET %(off)s) "
            f"SELECT {VERSION_COLUMNS}, page.matched FROM page "
            f"JOIN parcel_version v ON v.id = page.id "
            f"JOIN parcel p ON p.id = v.parcel_id ORDER BY v.parcel_id"), params


def _counted(bbox: tuple[float, float, float, float] | None, offset: int,
             after: int | None) -> bool:
    """Whether the page counts every match: the first page of a bbox query (a later page,
    by offset or after a parcel id, would count only what remains)."""
    return bbox is not None and offset == 0 and after is None


def _page(rows: Sequence[Mapping[Any, Any]], limit: int, offset: int,
          counted: bool = False, as_of: datetime | None = None) -> Page:
    matched = rows[0]["matched"] if rows else (0 if counted else None)
    return Page(items=[_record(r) for r in rows[:limit]], limit=limit, offset=offset,
                has_more=len(rows) > limit, matched=matched, as_of=as_of)


def list_parcels(session: Session, *, ward_code: str,
                 bbox: tuple[float, float, float, float] | None = None,
                 sheet_no: int | None = None, parcel_no: int | None = None,
                 land_use: str | None = None, former_unit: str | None = None,
                 as_of: datetime | None = None, include_retired: bool = False,
                 limit: int = 100, offset: int = 0, after: int | None = None,
                 bbox_srid: int = WGS84) -> Page:
    """Parcels in force, filtered, ordered by id; ``after`` a parcel id (keyset paging).

    A listing of the registry now that has more pages is read again as of a pinned
    instant (:func:`pin_instant`), which its ``next`` link carries: page after page shows
    the registry of that instant, each parcel once, whatever is split or retired meanwhile.
    """
    def read(when: datetime | None) -> Sequence[Mapping[Any, Any]]:
        statement, params = _list_statement(
            ward_code=ward_code, bbox=bbox, sheet_no=sheet_no, parcel_no=parcel_no,
            land_use=land_use, former_unit=former_unit, as_of=when,
            include_retired=include_retired, limit=limit, offset=offset, after=after,
            bbox_srid=bbox_srid)
        return session.connection().exec_driver_sql(statement, params).mappings().all()

    rows = read(as_of)
    if as_of is None and len(rows) > limit:
        as_of, wait, params = pin_instant(ward_code)
        session.connection().exec_driver_sql(wait, params)
        rows = read(as_of)
    return _page(rows, limit, offset, _counted(bbox, offset, after), as_of)


async def list_parcels_async(conn: AsyncConnection[Any], *, ward_code: str,
                             bbox: tuple[float, float, float, float] | None = None,
                             sheet_no: int | None = None, parcel_no: int | None = None,
                             land_use: str | None = None, former_unit: str | None = None,
                             as_of: datetime | None = None, limit: int = 100,
                             offset: int = 0, after: int | None = None,
                             bbox_srid: int = WGS84) -> Page:
    """:func:`list_parcels` on an asynchronous connection (the API's map views)."""
    async def read(when: datetime | None) -> list[dict[str, Any]]:
        statement, params = _list_statement(
            ward_code=ward_code, bbox=bbox, sheet_no=sheet_no, parcel_no=parcel_no,
            land_use=land_use, former_unit=former_unit, as_of=when, include_retired=False,
            limit=limit, offset=offset, after=after, bbox_srid=bbox_srid)
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(statement, params)
            return await cur.fetchall()

    rows = await read(as_of)
    if as_of is None and len(rows) > limit:
        as_of, wait, params = pin_instant(ward_code)
        await conn.execute(wait, params)
        rows = await read(as_of)
    return _page(rows, limit, offset, _counted(bbox, offset, after), as_of)


def history(session: Session, *, ward_code: str, parcel_id: int) -> list[ParcelRecord]:
    """Every version of a parcel, oldest first."""
    rows = session.execute(
        sql(f"SELECT {VERSION_COLUMNS} FROM parcel_version v JOIN parcel p ON p.id = v.parcel_id "
             "WHERE v.parcel_id = :id AND v.ward_code = :w ORDER BY v.version"),
        {"id": parcel_id, "w": ward_code},
    ).all()
    if not rows:
        raise ParcelNotFound(f"no parcel with id {parcel_id}", parcel_id=parcel_id)
    return [_record(r._mapping) for r in rows]


def lineage(session: Session, *, ward_code: str, parcel_id: int) -> Lineage:
    """Ancestors (what the parcel came from) and descendants (what came from it), any depth."""
    exists = session.execute(sql("SELECT 1 FROM parcel WHERE id = :id AND ward_code = :w"),
                             {"id": parcel_id, "w": ward_code}).first()
    if exists is None:
        raise ParcelNotFound(f"no parcel with id {parcel_id}", parcel_id=parcel_id)

    def walk(up: bool) -> list[LineageLink]:
        near, far = ("child_parcel_id", "parent_parcel_id") if up else (
            "parent_parcel_id", "child_parcel_id")
        rows = session.execute(
            sql(f"""
            WITH RECURSIVE walk(pid, kind, depth, recorded_at) AS (
                SELECT {far}, kind, 1, recorded_at FROM parcel_lineage WHERE {near} = :id
                UNION
                SELECT l.{far}, l.kind, w.depth + 1, l.recorded_at
                FROM parcel_lineage l JOIN walk w ON l.{near} = w.pid WHERE w.depth < 100
            )
            SELECT pid, kind, min(depth) AS depth, min(recorded_at) FROM walk
            GROUP BY pid, kind ORDER BY depth, pid"""),
            {"id": parcel_id},
        ).all()
        return [LineageLink(*r) for r in rows]

    return Lineage(parcel_id=parcel_id, ancestors=walk(True), descendants=walk(False))


def current_centres(session: Session, *, ward_code: str, land_use: str | None = None,
                    limit: int | None = None) -> list[tuple[int, float, float]]:
    """(parcel id, centroid x, centroid y in EPSG:9214) of current parcels by id, of one land
    use when given: where load tests and benchmarks aim their requests."""
    rows = session.execute(sql(
        "SELECT parcel_id, ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM parcel_version "
        "WHERE ward_code = :w AND valid_to IS NULL "
        "AND (CAST(:u AS text) IS NULL OR land_use = :u) ORDER BY parcel_id LIMIT :n"),
        {"w": ward_code, "u": land_use, "n": limit}).all()
    return [(int(r[0]), float(r[1]), float(r[2])) for r in rows]


def count_parcels(session: Session, *, ward_code: str) -> int:
    """Every parcel the ward has registered, retired ones too (is the registry empty?)."""
    return int(session.execute(sql("SELECT count(*) FROM parcel WHERE ward_code = :w"),
                               {"w": ward_code}).scalar_one())


@dataclass(frozen=True)
class Totals:
    """How many parcels are registered now and their measured area."""

    parcels: int
    area_m2: float


def current_totals(session: Session, *, ward_code: str,
                   source_document_id: int | None = None) -> Totals:
    """Parcels registered now (resting on one source document when given) and their area:
    what a whole-ward audit must have looked at, what a commit or a bulk load must have left."""
    row = session.execute(sql(
        "SELECT count(*), coalesce(sum(measured_area), 0) FROM parcel_version "
        "WHERE ward_code = :w AND valid_to IS NULL AND status = 'registered' "
        "AND (CAST(:s AS bigint) IS NULL OR source_document_id = :s)"),
        {"w": ward_code, "s": source_document_id}).one()
    return Totals(int(row[0]), float(row[1]))


def registry_version(session: Session, *, ward_code: str) -> int:
    """:data:`LATEST_VERSION` on its own (0 for a ward without parcels)."""
    found = session.execute(sql(LATEST_VERSION), {"w": ward_code}).scalar_one_or_none()
    return int(found or 0)


def land_uses(session: Session, *, ward_code: str) -> list[str]:
    """The land-use codes of the ward's current parcels, most common first."""
    rows = session.execute(sql(
        "SELECT land_use FROM parcel_version WHERE ward_code = :w AND valid_to IS NULL "
        "AND status = 'registered' GROUP BY land_use ORDER BY count(*) DESC, land_use"),
        {"w": ward_code}).all()
    return [r.land_use for r in rows]

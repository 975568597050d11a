"""Zones that constrain parcels: river corridor, heritage zones, road red lines.

One read, :func:`zones_in_force`, serves the OGC listing, the registry audit, survey
intake and certificate verification; each asks for its window (a WGS 84 bbox, a
geometry it must intersect) and the moment.  :func:`record_zones` writes them.
"""

# ruff: noqa: S608 (only constant SQL fragments are interpolated; values are bound parameters)
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from config import clock
from db.engine import sql
from gis.convert import from_db_many, to_ewkb
from gis.crs import WARD, WGS84
from gis.frame import Zone


@dataclass(frozen=True)
class NewZone:
    """A zone to record; its geometry in EPSG:9214 (a polygon is stored as a multipolygon)."""

    zone_key: str
    kind: str
    name: str
    geometry: BaseGeometry
    project_code: str | None = None


def record_zones(session: Session, *, ward_code: str, zones: Sequence[NewZone],
                 source: str, synthetic: bool) -> None:
    """Record zones in force from now, in one statement (ids in the order given)."""
    if not zones:
        return
    session.execute(sql(
        "INSERT INTO zone (ward_code, zone_key, kind, name, project_code, geom, synthetic, "
        "source, valid_from) SELECT :w, t.k, t.kind, t.n, t.p, ST_Multi(ST_GeomFromEWKB(t.g)), "
        ":syn, :src, :t "
        "FROM unnest(CAST(:k AS text[]), CAST(:kind AS text[]), CAST(:n AS text[]), "
        "CAST(:p AS text[]), CAST(:g AS bytea[])) WITH ORDINALITY AS t(k, kind, n, p, g, o) "
        "ORDER BY t.o"),
        {"w": ward_code, "syn": synthetic, "src": source, "t": clock.now(),
         "k": [z.zone_key for z in zones],
         "kind": [z.kind for z in zones], "n": [z.name for z in zones],
         "p": [z.project_code for z in zones], "g": [to_ewkb(z.geometry, WARD) for z in zones]})


@dataclass(frozen=True)
class ZoneRecord:
    id: int
    zone_key: str
    kind: str
    name: str
    project_code: str | None
    synthetic: bool
    geometry: BaseGeometry  # EPSG:9214
    project_name: str | None = None
    """``code: name_vi / name_en`` of the project a red line belongs to."""
    planned_uses: tuple[str, ...] = ()
    """A planning zone's allowed land uses."""

    @property
    def area_m2(self) -> float:
        return float(self.geometry.area)

    def as_zone(self) -> Zone:
        """The zone as the gis engine judges it."""
        return Zone(id=self.zone_key, kind=self.kind, name=self.name, geometry=self.geometry,
                    planned_uses=self.planned_uses)


def zones_in_force(session: Session, *, ward_code: str, as_of: datetime | None = None,
                   bbox: tuple[float, float, float, float] | None = None,
                   near: BaseGeometry | None = None, clip_m: float | None = None,
                   kinds: Sequence[str] | None = None, zone_id: int | None = None,
                   order: Literal["id", "zone_key"] = "id", limit: int | None = None,
                   offset: int = 0, bbox_srid: int = WGS84) -> list[ZoneRecord]:
    """Zones in force now (or at ``as_of``), optionally in a ``bbox`` (index test only; x/y
    order in ``bbox_srid``, WGS 84 by default), intersecting ``near`` (EPSG:9214) and then
    clipped to ``clip_m`` around its envelope, of some ``kinds``; ``limit`` rows (all when
    None) from ``offset``."""
    where = ["z.ward_code = :w",
             "z.valid_to IS NULL" if as_of is None else
             "z.valid_from <= :t AND (z.valid_to IS NULL OR z.valid_to > :t)"]
    params: dict[str, Any] = {"w": ward_code, "t": as_of, "off": offset}
    geom = "z.geom"
    if zone_id is not None:
        where.append("z.id = :id")
        params["id"] = zone_id
    if kinds is not None:
        where.append("z.kind = ANY(:kinds)")
        params["kinds"] = list(kinds)
    if bbox is not None:
        where.append("z.geom && ST_Transform(ST_MakeEnvelope(:x0, :y0, :x1, :y1, :bbox_srid), "
                     ":srid)")
        params.update(x0=bbox[0], y0=bbox[1], x1=bbox[2], y1=bbox[3], srid=WARD,
                      bbox_srid=bbox_srid)
    if near is not None:
        where.append("ST_Intersects(z.geom, ST_GeomFromEWKB(:g))")
        params["g"] = to_ewkb(near, WARD)
        if clip_m is not None:
            geom = ("ST_Intersection(z.geom, "
                    "ST_Expand(ST_Envelope(ST_GeomFromEWKB(:g)), :clip))")
            params["clip"] = clip_m
    page = ""
    if limit is not None:
        page = " LIMIT :lim"
        params["lim"] = limit
    rows = session.execute(sql(
        "SELECT z.id, z.zone_key, z.kind, z.name, z.project_code, z.synthetic, p.name_vi, "
        f"p.name_en, z.planned_uses, ST_AsBinary({geom}) AS wkb FROM zone z "
        "LEFT JOIN project p ON p.ward_code = z.ward_code AND p.code = z.project_code "
        f"WHERE {' AND '.join(where)} ORDER BY z.{order}{page} OFFSET :off"), params).all()
    geoms = from_db_many(r.wkb for r in rows)
    return [ZoneRecord(r.id, r.zone_key, r.kind, r.name, r.project_code, r.synthetic, g,
                       f"{r.project_code}: {r.name_vi} / {r.name_en}" if r.project_code
                       else None, tuple(r.planned_uses or ()))
            for r, g in zip(rows, geoms, strict=True)]


def list_zones(session: Session, *, ward_code: str,
               bbox: tuple[float, float, float, float] | None = None,
               as_of: datetime | None = None, zone_id: int | None = None,
               limit: int = 100, offset: int = 0,
               bbox_srid: int = WGS84) -> tuple[list[ZoneRecord], bool]:
    """A page of zones in force (OGC API): the zones and whether more follow."""
    rows = zones_in_force(session, ward_code=ward_code, bbox=bbox, as_of=as_of,
                          zone_id=zone_id, limit=limit + 1, offset=offset, bbox_srid=bbox_srid)
    return rows[:limit], len(rows) > limit

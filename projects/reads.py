"""Reading road projects back: a project with its sections and corridors in force, one
corridor version (a given one, in force now or on a day), a corridor's history, and the
OGC centreline segments.  The types are in ``projects.records``.
"""

# ruff: noqa: S608 (only constant SQL fragments are interpolated; values are bound parameters)
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from shapely.geometry import MultiPolygon
from sqlalchemy import text
from sqlalchemy.orm import Session

from db.engine import sql
from gis import corridors as gcor
from gis.convert import from_db
from gis.crs import WARD, WGS84
from projects.errors import CorridorNotFound, ProjectNotFound
from projects.records import CorridorVersion, Element, ProjectRecord, Section, SegmentRecord

_VERSION_COLUMNS = (
    "c.id, c.project_code, c.alternative, c.version, c.label, ST_AsBinary(c.redline) AS r, "
    "ST_AsBinary(c.safety) AS s, c.valid_from, c.valid_to, c.recorded_at, c.recorded_by, "
    "c.reason, c.source_document")


def _versions(session: Session, rows: Sequence[Any]) -> list[CorridorVersion]:
    ids = [r.id for r in rows]
    elements: dict[int, list[Element]] = {i: [] for i in ids}
    if ids:
        for e in session.execute(sql(
                "SELECT corridor_version_id AS v, segment_no, section_code, name, "
                "ST_AsBinary(centreline) AS cl, left_width_m, right_width_m, existing_width_m, "
                "ST_AsBinary(redline) AS rl, redline_width_m, gives_access, safety_m "
                "FROM project_segment WHERE corridor_version_id = ANY(:ids) "
                "ORDER BY corridor_version_id, segment_no"), {"ids": ids}):
            elements[e.v].append(_element(e))
    out = []
    for r in rows:
        out.append(CorridorVersion(
            id=r.id, project_code=r.project_code, alternative=r.alternative,
            version=r.version, label=r.label,
            redline=gcor.as_multipolygon(from_db(r.r)),
            safety=gcor.as_multipolygon(from_db(r.s)) if r.s
            else MultiPolygon(), valid_from=r.valid_from,
            valid_to=r.valid_to, recorded_at=r.recorded_at,
            recorded_by=r.recorded_by, reason=r.reason,
            source_document=r.source_document,
            elements=tuple(elements[r.id])))
    return out


def _element(e: Any) -> Element:
    cl = from_db(e.cl)
    if cl is not None:
        left, right = float(e.left_width_m), float(e.right_width_m)
        polygon = gcor.as_multipolygon(gcor.segment_redline(gcor.Segment(cl, left, right)))
        return Element(e.segment_no, e.section_code, e.name, cl, left, right,
                       e.existing_width_m, polygon, left + right, False,
                       e.gives_access, e.safety_m)
    polygon = gcor.as_multipolygon(from_db(e.rl))
    width = e.redline_width_m
    return Element(e.segment_no, e.section_code, e.name, None, None, None,
                   e.existing_width_m, polygon,
                   float(width) if width is not None else round(gcor.strip_width(polygon), 2),
                   width is None, e.gives_access, e.safety_m)


def corridor(session: Session, *, ward_code: str, code: str, alternative: str | None = None,
             version: int | None = None, as_of: datetime | None = None) -> CorridorVersion:
    """One corridor version: a given version, or the one in force now or at ``as_of``, of
    the given alternative (default: the one the project adopted)."""
    project = get_project_row(session, ward_code=ward_code, code=code)
    alt = (alternative or project.adopted_alternative).strip().upper()
    params: dict[str, Any]
    if version is not None:
        when, params = "c.version = :v", {"v": version}
    elif as_of is not None:
        when = "c.valid_from <= :t AND (c.valid_to IS NULL OR c.valid_to > :t)"
        params = {"t": as_of}
    else:
        when, params = "c.valid_to IS NULL", {}
    rows = session.execute(sql(
        f"SELECT {_VERSION_COLUMNS} FROM corridor_version c WHERE c.ward_code = :w "
        f"AND c.project_code = :c AND c.alternative = :a AND {when}"),
        {"w": ward_code, "c": project.code, "a": alt, **params}).all()
    if not rows:
        what = (f"version {version}" if version is not None else
                f"in force on {as_of.isoformat()}" if as_of is not None else "in force")
        raise CorridorNotFound(f"project {project.code} has no corridor of alternative {alt} "
                               f"{what}", project=project.code, alternative=alt)
    return _versions(session, rows)[0]


def corridor_history(session: Session, *, ward_code: str, code: str) -> list[CorridorVersion]:
    """Every corridor version of the project, by alternative then version."""
    project = get_project_row(session, ward_code=ward_code, code=code)
    rows = session.execute(sql(
        f"SELECT {_VERSION_COLUMNS} FROM corridor_version c WHERE c.ward_code = :w "
        "AND c.project_code = :c ORDER BY c.alternative, c.version"),
        {"w": ward_code, "c": project.code}).all()
    return _versions(session, rows)


def project_rows(session: Session, *, ward_code: str,
                 code: str | None = None) -> list[ProjectRecord]:
    """The projects' own fields and outlines (all the ward's, or the one with ``code``), by
    code, without sections and corridors."""
    rows = session.execute(sql(
        "SELECT code, name_vi, name_en, description, status, adopted_alternative, synthetic, "
        "created_at, ST_AsBinary(redline) AS wkb FROM project WHERE ward_code = :w "
        "AND (CAST(:c AS text) IS NULL OR code = :c) ORDER BY code"),
        {"w": ward_code, "c": code}).all()
    return [ProjectRecord(r.code, r.name_vi, r.name_en, r.description, r.status,
                          r.adopted_alternative, r.synthetic, r.created_at,
                          outline=from_db(r.wkb)) for r in rows]


def get_project_row(session: Session, *, ward_code: str, code: str) -> ProjectRecord:
    """The project's own fields, without sections and corridors."""
    found = project_rows(session, ward_code=ward_code, code=(code or "").strip().upper())
    if not found:
        raise ProjectNotFound(f"no road project {code!r} in ward {ward_code}", project=code)
    return found[0]


def get_project(session: Session, *, ward_code: str, code: str,
                corridors: bool = True) -> ProjectRecord:
    """The project with its sections and (unless ``corridors`` is False) the corridor in
    force of each alternative."""
    p = get_project_row(session, ward_code=ward_code, code=code)
    sections = tuple(Section(*r) for r in session.execute(sql(
        "SELECT code, name_vi, name_en, phase, description FROM project_section "
        "WHERE ward_code = :w AND project_code = :c ORDER BY phase, code"),
        {"w": ward_code, "c": p.code}))
    rows = session.execute(sql(
        f"SELECT {_VERSION_COLUMNS} FROM corridor_version c WHERE c.ward_code = :w "
        "AND c.project_code = :c AND c.valid_to IS NULL "
        "ORDER BY c.alternative <> :a, c.alternative"),
        {"w": ward_code, "c": p.code, "a": p.adopted_alternative}).all() if corridors else []
    return replace(p, sections=sections, corridors=tuple(_versions(session, rows)))


def list_projects(session: Session, *, ward_code: str) -> list[ProjectRecord]:
    return [get_project(session, ward_code=ward_code, code=p.code)
            for p in project_rows(session, ward_code=ward_code)]


def list_segments(session: Session, *, ward_code: str,
                  bbox: tuple[float, float, float, float] | None = None,
                  segment_id: int | None = None, limit: int = 100,
                  offset: int = 0, bbox_srid: int = WGS84) -> tuple[list[SegmentRecord], bool]:
    """Centreline segments of the corridor in force of each project's adopted alternative
    (optionally within a bbox in ``bbox_srid``, x/y order)."""
    rows = session.execute(text(
        "SELECT s.id, s.project_code, p.name_vi, s.segment_no, s.name, s.left_width_m, "
        "s.right_width_m, s.existing_width_m, p.synthetic, ST_AsBinary(s.centreline) AS wkb "
        "FROM project_segment s JOIN project p ON p.ward_code = s.ward_code "
        "AND p.code = s.project_code JOIN corridor_version c ON c.id = s.corridor_version_id "
        "AND c.valid_to IS NULL AND c.alternative = p.adopted_alternative "
        "WHERE s.ward_code = :w AND s.centreline IS NOT NULL "
        "AND (CAST(:id AS bigint) IS NULL OR s.id = :id) "
        "AND (CAST(:x0 AS float8) IS NULL OR s.centreline && ST_Transform("
        "     ST_MakeEnvelope(:x0, :y0, :x1, :y1, :bbox_srid), :srid)) "
        "ORDER BY s.id LIMIT :lim OFFSET :off"),
        {"w": ward_code, "id": segment_id, "lim": limit + 1, "off": offset, "srid": WARD,
         "bbox_srid": bbox_srid,
         "x0": bbox[0] if bbox else None, "y0": bbox[1] if bbox else None,
         "x1": bbox[2] if bbox else None, "y1": bbox[3] if bbox else None}).all()
    out = [SegmentRecord(r.id, r.project_code, r.name_vi, r.segment_no, r.name,
                         r.left_width_m, r.right_width_m, r.existing_width_m, r.synthetic,
                         from_db(r.wkb)) for r in rows[:limit]]
    return out, len(rows) > limit

"""Road projects and their corridors: sections, alternatives, versions.

A project (Ring Road 3) has sections and phases (its Nguyễn Hoàng section inside the ward,
a later phase further north) and, per alternative ("A", "B" …), a corridor that is
versioned like a parcel: a new version closes the one in force (``valid_to``) and nothing
is overwritten, so the corridor in force on any day can be read back.  A corridor version
is a list of elements, each either a red-line polygon (the approved plan's authoritative
form) or a centreline with the planned width on each side, with the section it belongs to,
whether it gives road access (a bridge deck does not) and an optional safety corridor
beyond the red line.

Land officers create and amend projects (every write audited, in the caller's
transaction); everyone else reads.  This package owns the project tables; registry reads
go through ``parcels`` (``parcels.nearby``, ``parcels.ward``).
"""

# ruff: noqa: S608 (only constant SQL fragments are interpolated; values are bound parameters)
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config import clock
from config import projects as project_settings
from db import audit
from db.audit import Actor
from db.engine import sql
from db.errors import Forbidden
from gis import corridors as gcor
from gis.convert import from_db, to_ewkb
from gis.crs import WARD
from parcels.ward import ward_relation
from projects.errors import (
    CorridorNotFound,
    CorridorOutsideWard,
    DuplicateProject,
    InvalidCorridor,
    InvalidProject,
    ProjectNotFound,
)

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
STATUSES = ("proposed", "planned", "approved", "under_construction", "completed", "suspended",
            "cancelled")


# ------------------------------------------------------------------------------ types


@dataclass(frozen=True)
class ElementSpec:
    """One element of a corridor as stated, geometries in EPSG:9214 (schemas convert)."""

    section_code: str | None = None
    name: str | None = None
    centreline: BaseGeometry | None = None
    left_width_m: float | None = None
    right_width_m: float | None = None
    existing_width_m: float | None = None
    redline: BaseGeometry | None = None
    redline_width_m: float | None = None
    gives_access: bool = True
    safety_m: float | None = None


@dataclass(frozen=True)
class CorridorSpec:
    elements: Sequence[ElementSpec]
    alternative: str = "A"
    label: str | None = None
    safety_m: float | None = None
    """Safety corridor width for elements that do not state their own."""
    source_document: str | None = None


@dataclass(frozen=True)
class SectionSpec:
    code: str
    name_vi: str
    name_en: str | None = None
    phase: int = 1
    description: str | None = None


@dataclass(frozen=True)
class ProjectSpec:
    code: str
    name_vi: str
    name_en: str
    description: str | None = None
    status: str = "planned"
    sections: Sequence[SectionSpec] = ()
    corridor: CorridorSpec | None = None
    synthetic: bool = False


@dataclass(frozen=True)
class Element:
    """A stored element; ``polygon`` is its red line (built from the centreline when that
    is how it was given)."""

    segment_no: int
    section_code: str | None
    name: str | None
    centreline: LineString | None
    left_width_m: float | None
    right_width_m: float | None
    existing_width_m: float | None
    polygon: MultiPolygon
    width_m: float
    """Red-line width: left + right for a centreline, as stated (or estimated) for a polygon."""
    width_estimated: bool
    gives_access: bool
    safety_m: float | None

    @property
    def form(self) -> str:
        return "centreline" if self.centreline is not None else "redline"


@dataclass(frozen=True)
class CorridorVersion:
    id: int
    project_code: str
    alternative: str
    version: int
    label: str | None
    redline: MultiPolygon
    safety: MultiPolygon
    valid_from: datetime
    valid_to: datetime | None
    recorded_at: datetime
    recorded_by: str
    reason: str
    source_document: str | None
    elements: tuple[Element, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.alternative}@{self.version}"


@dataclass(frozen=True)
class Section:
    code: str
    name_vi: str
    name_en: str | None
    phase: int
    description: str | None


@dataclass(frozen=True)
class ProjectRecord:
    code: str
    name_vi: str
    name_en: str
    description: str | None
    status: str
    adopted_alternative: str
    synthetic: bool
    created_at: datetime
    sections: tuple[Section, ...] = ()
    corridors: tuple[CorridorVersion, ...] = field(default_factory=tuple)
    """The version in force of each alternative, adopted one first."""


# ----------------------------------------------------------------------- validation


def _officer(actor: Actor) -> None:
    if actor.role != "land_officer":
        raise Forbidden("only a land officer creates or amends road projects", role=actor.role)


def _code(value: str, what: str, field_name: str) -> str:
    code = (value or "").strip().upper()
    if not CODE_RE.match(code):
        raise InvalidProject(f"{what} {value!r} must be 1-32 capital letters, digits, '_' or "
                             "'-' (e.g. RING_ROAD_3)", field=field_name)
    return code


def _finite(geom: BaseGeometry) -> bool:
    coords = shapely.get_coordinates(geom)
    return bool(coords.size) and bool(np.isfinite(coords).all()) and bool(
        (np.abs(coords) < 1e9).all())


def build_element(spec: ElementSpec, no: int, *, default_safety: float | None,
                  sections: set[str], max_width_m: float) -> Element:
    """Check one stated element and build its red-line polygon (raise InvalidCorridor)."""
    where = f"element {no}"
    section = spec.section_code.strip().upper() if spec.section_code else None
    if section is not None and section not in sections:
        raise InvalidCorridor(f"{where}: the project has no section {section!r}; known: "
                              + (", ".join(sorted(sections)) or "none"), element=no)
    if (spec.centreline is None) == (spec.redline is None):
        raise InvalidCorridor(f"{where}: give either a centreline with widths or a red-line "
                              "polygon, not both or neither", element=no)
    safety = spec.safety_m if spec.safety_m is not None else default_safety
    if safety is not None and not (0 <= safety <= max_width_m):
        raise InvalidCorridor(f"{where}: safety corridor width {safety} m must be between 0 "
                              f"and {max_width_m:g} m", element=no)
    if spec.centreline is not None:
        line = spec.centreline
        if isinstance(line, MultiLineString) and len(line.geoms) == 1:
            line = line.geoms[0]
        if not isinstance(line, LineString):
            raise InvalidCorridor(f"{where}: a centreline is a LineString, got "
                                  f"{line.geom_type}", element=no, geometry_type=line.geom_type)
        if not _finite(line) or line.length <= 0:
            raise InvalidCorridor(f"{where}: the centreline has no length or bad coordinates",
                                  element=no)
        left, right = spec.left_width_m, spec.right_width_m
        if left is None or right is None:
            raise InvalidCorridor(f"{where}: a centreline needs left_width_m and right_width_m",
                                  element=no)
        for side, w in (("left", left), ("right", right)):
            if not (0 <= w <= max_width_m) or w != w:
                raise InvalidCorridor(f"{where}: {side} width {w} m must be between 0 and "
                                      f"{max_width_m:g} m", element=no, side=side)
        if left + right <= 0:
            raise InvalidCorridor(f"{where}: the red line has zero width (left and right are "
                                  "both 0 m)", element=no)
        if spec.existing_width_m is not None and spec.existing_width_m < 0:
            raise InvalidCorridor(f"{where}: existing width must not be negative", element=no)
        polygon = gcor.as_multipolygon(gcor.segment_redline(gcor.Segment(line, left, right)))
        return Element(no, section, spec.name, line, left, right, spec.existing_width_m,
                       polygon, left + right, False, spec.gives_access, safety)
    geom = spec.redline
    assert geom is not None
    if not isinstance(geom, Polygon | MultiPolygon):
        raise InvalidCorridor(f"{where}: a red line is a Polygon or MultiPolygon, got "
                              f"{geom.geom_type}", element=no, geometry_type=geom.geom_type)
    if not _finite(geom) or geom.is_empty or geom.area <= 0:
        raise InvalidCorridor(f"{where}: the red-line polygon is empty or has bad coordinates",
                              element=no)
    if not geom.is_valid:
        raise InvalidCorridor(f"{where}: the red-line polygon is not valid: "
                              f"{shapely.is_valid_reason(geom)}", element=no)
    width = spec.redline_width_m
    if width is not None and not (0 < width <= 2 * max_width_m):
        raise InvalidCorridor(f"{where}: red-line width {width} m is out of range", element=no)
    polygon = gcor.as_multipolygon(geom)
    estimated = width is None
    return Element(no, section, spec.name, None, None, None, spec.existing_width_m, polygon,
                   width if width is not None else round(gcor.strip_width(polygon), 2),
                   estimated, spec.gives_access, safety)


def build_corridor(spec: CorridorSpec, *, sections: set[str],
                   max_width_m: float) -> tuple[list[Element], MultiPolygon, MultiPolygon]:
    """Elements, the red line (union, joints filled) and the safety band of a stated corridor."""
    if not spec.elements:
        raise InvalidCorridor("a corridor needs at least one element")
    elements = [build_element(e, i + 1, default_safety=spec.safety_m, sections=sections,
                              max_width_m=max_width_m) for i, e in enumerate(spec.elements)]
    return elements, *corridor_shapes(elements)


def corridor_shapes(elements: Sequence[Element]) -> tuple[MultiPolygon, MultiPolygon]:
    """The red line of some elements (consecutive centrelines joined) and their safety band."""
    pieces: list[BaseGeometry] = []
    run: list[gcor.Segment] = []
    for e in elements:
        if e.centreline is not None and e.left_width_m is not None and e.right_width_m is not None:
            run.append(gcor.Segment(e.centreline, e.left_width_m, e.right_width_m))
        else:
            pieces.append(e.polygon)
    if run:
        pieces.append(gcor.corridor_redline(run))
    redline = gcor.as_multipolygon(shapely.union_all(pieces, grid_size=gcor.GRID))
    bands = [gcor.safety_band(e.polygon, e.safety_m) for e in elements if e.safety_m]
    safety = gcor.as_multipolygon(shapely.difference(
        shapely.union_all(bands, grid_size=gcor.GRID), redline, grid_size=gcor.GRID)
    ) if bands else MultiPolygon()
    return redline, safety


# --------------------------------------------------------------------------- writes


def create_project(session: Session, *, actor: Actor, spec: ProjectSpec,
                   reason: str) -> ProjectRecord:
    """Record a new project with its sections and, when given, its first corridor."""
    _officer(actor)
    code = _code(spec.code, "project code", "code")
    if not spec.name_vi.strip() or not spec.name_en.strip():
        raise InvalidProject("a project needs a Vietnamese and an English name", field="name_vi")
    if spec.status not in STATUSES:
        raise InvalidProject(f"unknown status {spec.status!r}; one of " + ", ".join(STATUSES),
                             field="status")
    if not reason.strip():
        raise InvalidProject("say why (reason)", field="reason")
    sections = [_section(s) for s in spec.sections]
    if len({s.code for s in sections}) != len(sections):
        raise InvalidProject("section codes must differ", field="sections")
    alternative = _code(spec.corridor.alternative, "alternative", "alternative") \
        if spec.corridor else "A"
    try:
        with session.begin_nested():
            session.execute(sql(
                "INSERT INTO project (ward_code, code, name_vi, name_en, description, synthetic, "
                "created_at, status, adopted_alternative, created_by) VALUES (:w, :c, :vi, :en, "
                ":d, :syn, :at, :st, :alt, :by)"),
                {"w": actor.ward_code, "c": code, "vi": spec.name_vi.strip(),
                 "en": spec.name_en.strip(), "d": spec.description, "syn": spec.synthetic,
                 "at": clock.now(), "st": spec.status, "alt": alternative,
                 "by": actor.username})
    except IntegrityError as exc:
        raise DuplicateProject(f"project {code} exists in ward {actor.ward_code}",
                               project=code) from exc
    for s in sections:
        _insert_section(session, actor.ward_code, code, s)
    audit.record(session, actor=actor, action="create", entity="project", entity_ids=[code],
                 reason=reason, detail={"status": spec.status, "sections": [
                     s.code for s in sections], "synthetic": spec.synthetic})
    if spec.corridor is not None:
        new_corridor_version(session, actor=actor, code=code, spec=spec.corridor, reason=reason)
    return get_project(session, ward_code=actor.ward_code, code=code)


def _section(s: SectionSpec) -> SectionSpec:
    code = _code(s.code, "section code", "sections")
    if not s.name_vi.strip():
        raise InvalidProject(f"section {code} needs a Vietnamese name", field="sections")
    if s.phase < 1:
        raise InvalidProject(f"section {code}: phase must be 1 or more", field="sections")
    return SectionSpec(code, s.name_vi.strip(), s.name_en, s.phase, s.description)


def _insert_section(session: Session, ward: str, project: str, s: SectionSpec) -> None:
    try:
        with session.begin_nested():
            session.execute(sql(
                "INSERT INTO project_section (ward_code, project_code, code, name_vi, name_en, "
                "phase, description) VALUES (:w, :p, :c, :vi, :en, :ph, :d)"),
                {"w": ward, "p": project, "c": s.code, "vi": s.name_vi, "en": s.name_en,
                 "ph": s.phase, "d": s.description})
    except IntegrityError as exc:
        raise InvalidProject(f"project {project} already has a section {s.code}",
                             field="sections") from exc


def add_section(session: Session, *, actor: Actor, code: str, section: SectionSpec,
                reason: str) -> ProjectRecord:
    _officer(actor)
    project = _lock(session, actor.ward_code, code)
    s = _section(section)
    _insert_section(session, actor.ward_code, project, s)
    audit.record(session, actor=actor, action="add_section", entity="project",
                 entity_ids=[project], reason=reason,
                 detail={"section": s.code, "phase": s.phase, "name_vi": s.name_vi})
    return get_project(session, ward_code=actor.ward_code, code=project)


def set_status(session: Session, *, actor: Actor, code: str, status: str, reason: str,
               adopted_alternative: str | None = None) -> ProjectRecord:
    """Change a project's status (and the alternative it adopts); the audit event keeps the
    previous values."""
    _officer(actor)
    project = _lock(session, actor.ward_code, code)
    if status not in STATUSES:
        raise InvalidProject(f"unknown status {status!r}; one of " + ", ".join(STATUSES),
                             field="status")
    if not reason.strip():
        raise InvalidProject("say why (reason)", field="reason")
    before = session.execute(sql(
        "SELECT status, adopted_alternative FROM project WHERE ward_code = :w AND code = :c"),
        {"w": actor.ward_code, "c": project}).one()
    alternative = before.adopted_alternative
    if adopted_alternative is not None:
        alternative = _code(adopted_alternative, "alternative", "adopted_alternative")
        if not session.execute(sql(
                "SELECT 1 FROM corridor_version WHERE ward_code = :w AND project_code = :c "
                "AND alternative = :a AND valid_to IS NULL"),
                {"w": actor.ward_code, "c": project, "a": alternative}).first():
            raise InvalidProject(f"project {project} has no alternative {alternative} in force",
                                 field="adopted_alternative")
    session.execute(sql("UPDATE project SET status = :s, adopted_alternative = :a "
                        "WHERE ward_code = :w AND code = :c"),
                    {"s": status, "a": alternative, "w": actor.ward_code, "c": project})
    audit.record(session, actor=actor, action="set_status", entity="project",
                 entity_ids=[project], reason=reason,
                 detail={"from": {"status": before.status,
                                  "adopted_alternative": before.adopted_alternative},
                         "to": {"status": status, "adopted_alternative": alternative}})
    return get_project(session, ward_code=actor.ward_code, code=project)


def new_corridor_version(session: Session, *, actor: Actor, code: str, spec: CorridorSpec,
                         reason: str) -> CorridorVersion:
    """Record a corridor version of one alternative; the version in force is closed."""
    _officer(actor)
    project = _lock(session, actor.ward_code, code)
    if not reason.strip():
        raise InvalidProject("say why (reason)", field="reason")
    alternative = _code(spec.alternative, "alternative", "alternative")
    settings = project_settings.load()
    known = {r[0] for r in session.execute(sql(
        "SELECT code FROM project_section WHERE ward_code = :w AND project_code = :c"),
        {"w": actor.ward_code, "c": project})}
    elements, redline, safety = build_corridor(spec, sections=known,
                                               max_width_m=settings.thresholds.max_width_m)
    where = ward_relation(session, ward_code=actor.ward_code, geom=redline)
    if not where.intersects:
        raise CorridorOutsideWard(
            f"the corridor lies {where.distance_m:,.0f} m outside ward {actor.ward_code}: "
            "nothing of it is in the ward (coordinates in another CRS than stated?)",
            distance_m=round(where.distance_m, 1))
    now = clock.now()
    previous = session.execute(sql(
        "UPDATE corridor_version SET valid_to = :now WHERE ward_code = :w AND project_code = :c "
        "AND alternative = :a AND valid_to IS NULL RETURNING version"),
        {"now": now, "w": actor.ward_code, "c": project, "a": alternative}).scalar_one_or_none()
    number = session.execute(sql(
        "SELECT coalesce(max(version), 0) + 1 FROM corridor_version WHERE ward_code = :w "
        "AND project_code = :c AND alternative = :a"),
        {"w": actor.ward_code, "c": project, "a": alternative}).scalar_one()
    vid = session.execute(sql(
        "INSERT INTO corridor_version (ward_code, project_code, alternative, version, label, "
        "redline, safety, valid_from, recorded_by, reason, source_document) VALUES "
        "(:w, :c, :a, :n, :label, ST_GeomFromEWKB(:r), ST_GeomFromEWKB(CAST(:s AS bytea)), "
        ":now, :by, :why, :doc) RETURNING id"),
        {"w": actor.ward_code, "c": project, "a": alternative, "n": number, "label": spec.label,
         "r": to_ewkb(redline, WARD), "s": None if safety.is_empty else to_ewkb(safety, WARD),
         "now": now, "by": actor.username, "why": reason, "doc": spec.source_document}
    ).scalar_one()
    session.execute(sql(
        "INSERT INTO project_segment (ward_code, project_code, segment_no, name, left_width_m, "
        "right_width_m, existing_width_m, centreline, corridor_version_id, section_code, "
        "gives_access, safety_m, redline, redline_width_m) "
        "SELECT :w, :c, t.no, t.name, t.l, t.r, t.e, ST_GeomFromEWKB(t.cl), :v, t.sec, "
        "t.acc, t.saf, ST_GeomFromEWKB(t.rl), t.rw FROM unnest(CAST(:no AS int[]), "
        "CAST(:name AS text[]), CAST(:l AS float8[]), CAST(:r AS float8[]), "
        "CAST(:e AS float8[]), CAST(:cl AS bytea[]), CAST(:sec AS text[]), "
        "CAST(:acc AS boolean[]), CAST(:saf AS float8[]), CAST(:rl AS bytea[]), "
        "CAST(:rw AS float8[])) AS t(no, name, l, r, e, cl, sec, acc, saf, rl, rw)"),
        {"w": actor.ward_code, "c": project, "v": vid,
         "no": [e.segment_no for e in elements], "name": [e.name for e in elements],
         "l": [e.left_width_m or 0.0 for e in elements],
         "r": [e.right_width_m or 0.0 for e in elements],
         "e": [e.existing_width_m for e in elements],
         "cl": [to_ewkb(e.centreline, WARD) if e.centreline is not None else None
                for e in elements],
         "sec": [e.section_code for e in elements], "acc": [e.gives_access for e in elements],
         "saf": [e.safety_m for e in elements],
         "rl": [None if e.centreline is not None else to_ewkb(e.polygon, WARD)
                for e in elements],
         "rw": [None if e.centreline is not None else e.width_m for e in elements]})
    audit.record(session, actor=actor, action="corridor_version", entity="project",
                 entity_ids=[project], reason=reason,
                 detail={"alternative": alternative, "version": number,
                         "closed_version": previous, "elements": len(elements),
                         "redline_m2": round(redline.area, 1),
                         "safety_m2": round(safety.area, 1),
                         "outside_ward_m2": round(where.outside_m2, 1),
                         "source_document": spec.source_document})
    return corridor(session, ward_code=actor.ward_code, code=project, alternative=alternative,
                    version=number)


def _lock(session: Session, ward: str, code: str) -> str:
    """The project's code, its row locked until the transaction ends (one writer at a time)."""
    project = (code or "").strip().upper()
    found = session.execute(sql("SELECT code FROM project WHERE ward_code = :w AND code = :c "
                                "FOR UPDATE"), {"w": ward, "c": project}).scalar_one_or_none()
    if found is None:
        raise ProjectNotFound(f"no road project {code!r} in ward {ward}", project=code)
    return str(found)


# ---------------------------------------------------------------------------- reads

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


def get_project_row(session: Session, *, ward_code: str, code: str) -> ProjectRecord:
    """The project's own fields, without sections and corridors."""
    row = session.execute(sql(
        "SELECT code, name_vi, name_en, description, status, adopted_alternative, synthetic, "
        "created_at FROM project WHERE ward_code = :w AND code = :c"),
        {"w": ward_code, "c": (code or "").strip().upper()}).one_or_none()
    if row is None:
        raise ProjectNotFound(f"no road project {code!r} in ward {ward_code}", project=code)
    return ProjectRecord(*row)


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
    return ProjectRecord(p.code, p.name_vi, p.name_en, p.description, p.status,
                         p.adopted_alternative, p.synthetic, p.created_at, sections,
                         tuple(_versions(session, rows)))


def list_projects(session: Session, *, ward_code: str) -> list[ProjectRecord]:
    codes = session.execute(text("SELECT code FROM project WHERE ward_code = :w ORDER BY code"),
                            {"w": ward_code}).scalars().all()
    return [get_project(session, ward_code=ward_code, code=c) for c in codes]


# ------------------------------------------------------------- OGC corridor segments


@dataclass(frozen=True)
class SegmentRecord:
    id: int
    project_code: str
    project_name: str
    segment_no: int
    name: str | None
    left_width_m: float
    right_width_m: float
    existing_width_m: float | None
    synthetic: bool
    centreline: BaseGeometry  # EPSG:9214


def list_segments(session: Session, *, ward_code: str,
                  bbox: tuple[float, float, float, float] | None = None,
                  segment_id: int | None = None, limit: int = 100,
                  offset: int = 0) -> tuple[list[SegmentRecord], bool]:
    """Centreline segments of the corridor in force of each project's adopted alternative."""
    rows = session.execute(text(
        "SELECT s.id, s.project_code, p.name_vi, s.segment_no, s.name, s.left_width_m, "
        "s.right_width_m, s.existing_width_m, p.synthetic, ST_AsBinary(s.centreline) AS wkb "
        "FROM project_segment s JOIN project p ON p.ward_code = s.ward_code "
        "AND p.code = s.project_code JOIN corridor_version c ON c.id = s.corridor_version_id "
        "AND c.valid_to IS NULL AND c.alternative = p.adopted_alternative "
        "WHERE s.ward_code = :w AND s.centreline IS NOT NULL "
        "AND (CAST(:id AS bigint) IS NULL OR s.id = :id) "
        "AND (CAST(:x0 AS float8) IS NULL OR s.centreline && ST_Transform("
        "     ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326), :srid)) "
        "ORDER BY s.id LIMIT :lim OFFSET :off"),
        {"w": ward_code, "id": segment_id, "lim": limit + 1, "off": offset, "srid": WARD,
         "x0": bbox[0] if bbox else None, "y0": bbox[1] if bbox else None,
         "x1": bbox[2] if bbox else None, "y1": bbox[3] if bbox else None}).all()
    out = [SegmentRecord(r.id, r.project_code, r.name_vi, r.segment_no, r.name,
                         r.left_width_m, r.right_width_m, r.existing_width_m, r.synthetic,
                         from_db(r.wkb)) for r in rows[:limit]]
    return out, len(rows) > limit

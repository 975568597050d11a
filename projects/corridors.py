"""Road projects and their corridors: checking what a land officer states, building the
red line and safety band, and the audited writes.

Land officers create and amend projects (every write audited, in the caller's
transaction); everyone else reads (``projects.reads``).  The types are in
``projects.records``.  This package owns the project tables; registry reads go through
``parcels`` (``parcels.nearby``, ``parcels.ward``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config import clock
from config import projects as project_settings
from db import audit
from db.audit import Actor
from db.engine import sql
from db.errors import Forbidden
from gis import corridors as gcor
from gis.convert import to_ewkb
from gis.crs import WARD
from parcels.ward import ward_relation
from projects.errors import (
    CorridorOutsideWard,
    DuplicateProject,
    InvalidCorridor,
    InvalidProject,
    ProjectNotFound,
)
from projects.reads import corridor, get_project
from projects.records import (
    CODE_RE,
    STATUSES,
    CorridorSpec,
    CorridorVersion,
    Element,
    ElementSpec,
    ProjectRecord,
    ProjectSpec,
    SectionSpec,
)

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

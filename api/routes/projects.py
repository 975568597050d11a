"""Road projects over HTTP: officials and land officers read; only land officers write.

Impact, exports and comparisons are computed on request from the corridor version and the
registry as of the instant asked (now by default), so a decision can be reproduced later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.deps import DbSession, actor, allow
from api.project_impact import project_impact
from api.users import User
from projects import corridors, exports, reads
from projects.compare import compare
from projects.schemas import (
    NewCorridorIn,
    NewSectionIn,
    ProjectIn,
    StatusIn,
    corridor_out,
    impact_out,
    parse_ref,
    project_out,
)

router = APIRouter(prefix="/api/v1/projects", tags=["projects"])

PROJECT_READERS = ("land_officer", "official")
"""Officials decide road projects and read their impact; land officers keep them."""
ProjectReader = Annotated[User, Depends(allow(*PROJECT_READERS))]
ProjectOfficer = Annotated[User, Depends(allow("land_officer"))]
Code = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$",
                           description="project code, e.g. RING_ROAD_3")]
AsOf = Annotated[datetime | None, Query(
    description="the registry and the corridor as they stood at this instant (ISO 8601)")]
Alternative = Annotated[str | None, Query(max_length=32, description="alternative (default: "
                                          "the adopted one)")]
Version = Annotated[int | None, Query(ge=1, le=999_999, description="corridor version "
                                     "(default: the one in force)")]
Section = Annotated[str | None, Query(max_length=32, description="only this section")]


@router.get("")
def list_projects(user: ProjectReader, session: DbSession,
                  geometry: bool = False) -> dict[str, Any]:
    """The ward's road projects with their sections and corridors in force."""
    items = reads.list_projects(session, ward_code=user.ward_code)
    return {"projects": [project_out(p, geometry=geometry) for p in items]}


@router.post("", status_code=201)
def create_project(body: ProjectIn, request: Request, user: ProjectOfficer,
                   session: DbSession, response: Response) -> dict[str, Any]:
    """Record a project with its sections and, optionally, its first corridor (audited)."""
    with session.begin():
        p = corridors.create_project(session, actor=actor(request, user), spec=body.to_spec(),
                                     reason=body.reason)
    response.headers["Location"] = f"/api/v1/projects/{p.code}"
    return project_out(p)


@router.get("/{code}")
def get_project(code: Code, user: ProjectReader, session: DbSession) -> dict[str, Any]:
    """A project: status, sections, and the corridor in force of each alternative."""
    return project_out(reads.get_project(session, ward_code=user.ward_code, code=code))


@router.post("/{code}/status")
def set_status(code: Code, body: StatusIn, request: Request, user: ProjectOfficer,
               session: DbSession) -> dict[str, Any]:
    """Change the status or the adopted alternative (the audit trail keeps the old values)."""
    with session.begin():
        p = corridors.set_status(session, actor=actor(request, user), code=code,
                                 status=body.status, reason=body.reason,
                                 adopted_alternative=body.adopted_alternative)
    return project_out(p)


@router.post("/{code}/sections", status_code=201)
def add_section(code: Code, body: NewSectionIn, request: Request, user: ProjectOfficer,
                session: DbSession) -> dict[str, Any]:
    """Add a section or phase to a project."""
    with session.begin():
        p = corridors.add_section(session, actor=actor(request, user), code=code,
                                  section=body.to_spec(), reason=body.reason)
    return project_out(p)


@router.get("/{code}/corridors")
def corridor_history(code: Code, user: ProjectReader, session: DbSession,
                     geometry: bool = True) -> dict[str, Any]:
    """Every corridor version of every alternative, oldest first: nothing is overwritten."""
    versions = reads.corridor_history(session, ward_code=user.ward_code, code=code)
    return {"project": code.upper(),
            "versions": [corridor_out(c, geometry=geometry) for c in versions]}


@router.post("/{code}/corridors", status_code=201)
def new_corridor(code: Code, body: NewCorridorIn, request: Request, user: ProjectOfficer,
                 session: DbSession) -> dict[str, Any]:
    """A new corridor version of one alternative; the one in force is closed, not changed."""
    with session.begin():
        c = corridors.new_corridor_version(session, actor=actor(request, user), code=code,
                                           spec=body.to_spec(), reason=body.reason)
    return corridor_out(c)


@router.get("/{code}/impact")
def impact(code: Code, user: ProjectReader, session: DbSession, alternative: Alternative = None,
           version: Version = None, section: Section = None, as_of: AsOf = None,
           include_noise: bool = False) -> dict[str, Any]:
    """What the corridor takes from each parcel, what is left and whether it is still a lot;
    totals, and an estimated cost (an estimate, not a compensation decision)."""
    result = project_impact(session, ward_code=user.ward_code, code=code,
                            alternative=alternative, version=version, section=section,
                            as_of=as_of)
    return impact_out(result, include_noise=include_noise)


@router.get("/{code}/impact/export", response_class=Response)
def impact_export(code: Code, user: ProjectReader, session: DbSession,
                  format: Annotated[Literal["csv", "xlsx", "geojson", "gpkg"], Query(
                      description="csv, xlsx (a sheet per land use and totals), geojson "
                      "(WGS 84), gpkg (EPSG:9214)")] = "xlsx",
                  alternative: Alternative = None, version: Version = None,
                  section: Section = None, as_of: AsOf = None) -> Response:
    """The impact as a file for clerks (CSV, XLSX) or GIS (GeoJSON, GeoPackage)."""
    result = project_impact(session, ward_code=user.ward_code, code=code,
                            alternative=alternative, version=version, section=section,
                            as_of=as_of)
    content = exports.export(result, format)
    name = f"{result.project.code}-{result.corridor.alternative}{result.corridor.version}" + (
        f"-{result.section}" if result.section else "") + f"-impact.{format}"
    return Response(content, media_type=exports.FORMATS[format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/{code}/compare")
def compare_corridors(code: Code, user: ProjectReader, session: DbSession,
                      a: Annotated[str, Query(max_length=40, description="A or A@2")] = "A",
                      b: Annotated[str, Query(max_length=40, description="B or A@3")] = "B",
                      section: Section = None, as_of: AsOf = None) -> dict[str, Any]:
    """Two alternatives or two versions side by side, against the same registry."""
    (alt_a, ver_a), (alt_b, ver_b) = parse_ref(a, "a"), parse_ref(b, "b")
    left = project_impact(session, ward_code=user.ward_code, code=code, alternative=alt_a,
                          version=ver_a, section=section, as_of=as_of)
    right = project_impact(session, ward_code=user.ward_code, code=code, alternative=alt_b,
                           version=ver_b, section=section, as_of=as_of)
    return compare(left, right)

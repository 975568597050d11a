"""Road-project pages for officials and land officers: the list, and a project's impact.

The impact page shows what the corridor in force takes from each parcel (a table sorted
and filtered by the page's links, which work without script), the totals by land use,
the cost estimate with its notice, the comparison of the alternatives, a sketch of the
corridor and the takes, and the export files (the API's own export route, reached with
the page's cookie session).
"""

from __future__ import annotations

from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from shapely.geometry import MultiPolygon

from api.deps import DbSession, SettingsDep
from api.project_impact import project_impact
from api.users import User
from api.web import sketch
from api.web.access import page_user
from api.web.errors import PageRoute
from api.web.render import frame, render, svg, translator
from projects import reads
from projects.compare import compare
from projects.exports import FORMATS
from projects.results import ESTIMATE_NOTICE, SYNTHETIC_NOTICE, ParcelImpact

router = APIRouter(include_in_schema=False, route_class=PageRoute)
ProjectReader = Annotated[User, Depends(page_user("land_officer", "official"))]
Code = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")]
Opt = Annotated[str | None, Query(max_length=40)]
SORTS: Final = {
    "parcel": lambda p: (p.former_unit, p.sheet_no, p.parcel_no),
    "land_use": lambda p: (p.land_use, p.sheet_no, p.parcel_no),
    "area": lambda p: p.area_m2,
    "taken": lambda p: p.taken_m2,
    "share": lambda p: p.share_taken,
    "remainder": lambda p: p.remainder_m2,
    "cost": lambda p: p.cost_proposed if p.cost_proposed is not None else -1.0,
}
TAKES: Final = ("full", "partial")
FRAME_M: Final = 60.0
"""The sketch shows this much beyond the red line (a river parcel's far bank is not news)."""


@router.get("/projects", response_class=HTMLResponse)
def projects_page(request: Request, user: ProjectReader, session: DbSession,
                  settings: SettingsDep) -> Response:
    """The ward's road projects, their status and sections."""
    items = reads.list_projects(session, ward_code=user.ward_code)
    return render(request, "projects.html", frame=frame(session, settings, user),
                  projects=items)


def _sketch(parcels: list[ParcelImpact], redline: MultiPolygon, t: Any) -> str:
    affected = [p for p in parcels if p.affected]
    layers = [
        sketch.Layer("corridor", [redline], titles=[t("Chỉ giới đỏ", "Red line")]),
        sketch.Layer("affected", [part.geometry for p in affected for part in p.parts],
                     titles=[p.label for p in affected for _ in p.parts]),
        sketch.Layer("taken", [p.taken for p in affected],
                     titles=[f"{p.label}: {p.taken_m2:.1f} m²" for p in affected],
                     links=[f"/parcels/{p.parcel_id}" for p in affected]),
    ]
    return sketch.draw(layers, title=t("Sơ đồ hành lang tuyến và phần đất bị thu hồi",
                                       "Sketch of the corridor and the land taken"),
                       focus=redline.buffer(FRAME_M))


@router.get("/projects/{code}", response_class=HTMLResponse)
def project_page(request: Request, code: Code, user: ProjectReader, session: DbSession,
                 settings: SettingsDep, alternative: Opt = None, section: Opt = None,
                 land_use: Opt = None, take: Opt = None, sort: Opt = None,
                 dir: Opt = None) -> Response:
    """The impact of the corridor in force: table, totals, cost, alternatives, exports."""
    project = reads.get_project(session, ward_code=user.ward_code, code=code)
    alt = alternative or None
    impact = project_impact(session, ward_code=user.ward_code, code=code, alternative=alt,
                            section=section or None)
    alternatives = [c.alternative for c in project.corridors]
    comparison = None
    if len(alternatives) > 1:
        others = [a for a in alternatives if a != impact.corridor.alternative]
        right = project_impact(session, ward_code=user.ward_code, code=code,
                               alternative=others[0], section=section or None)
        comparison = compare(impact, right)
    rows = [p for p in impact.parcels if p.affected]
    uses = sorted({p.land_use for p in rows})
    if land_use:
        rows = [p for p in rows if p.land_use == land_use]
    if take in TAKES:
        rows = [p for p in rows if p.take == take]
    if sort in SORTS:
        sort_by, descending = sort, dir == "desc"
    else:  # the largest takes first unless the user chose
        sort_by, descending = "taken", dir != "asc"
    rows.sort(key=SORTS[sort_by], reverse=descending)
    kept = {k: v for k, v in (("alternative", alt), ("section", section),
                              ("land_use", land_use), ("take", take)) if v}

    def link(**changes: str | None) -> str:
        values = {**kept, "sort": sort_by, "dir": "desc" if descending else "asc", **changes}
        return f"/projects/{project.code}?" + urlencode({k: v for k, v in values.items() if v})

    def export(fmt: str) -> str:
        params = {k: v for k, v in (("format", fmt), ("alternative", alt),
                                    ("section", section)) if v}
        return f"/api/v1/projects/{project.code}/impact/export?" + urlencode(params)

    fr = frame(session, settings, user)
    t = translator(fr.lang)
    return render(request, "project.html", frame=fr, project=project, impact=impact,
                  rows=rows, uses=uses, land_use=land_use or "", take=take or "",
                  sort=sort_by, descending=descending, link=link, export=export,
                  formats=list(FORMATS), comparison=comparison, alternatives=alternatives,
                  sections=project.sections, section=section or "",
                  estimate_notice=ESTIMATE_NOTICE, synthetic_notice=SYNTHETIC_NOTICE,
                  sketch=svg(_sketch(impact.parcels, impact.corridor.redline, t)))

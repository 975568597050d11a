"""Parcel pages: a search box (sheet and number, holder, address) and one parcel's page
with its holders, its history drawn version by version, its lineage and its extract."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import LAND_READERS, DbSession, Id, SettingsDep
from api.errors import status_for
from api.users import User
from api.web import sketch
from api.web.access import page_user
from api.web.errors import PageRoute, message_for
from api.web.render import frame, render, svg, translator
from gis.errors import DomainError
from parcels import queries, search

router = APIRouter(include_in_schema=False, route_class=PageRoute)
Reader = Annotated[User, Depends(page_user(*LAND_READERS))]
HITS = 50
"""Parcels a search shows; more means the words were too general (the page says so)."""


@router.get("/parcels", response_class=HTMLResponse)
def search_page(request: Request, user: Reader, session: DbSession, settings: SettingsDep,
                q: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    """Find a parcel by "sheet/number", a holder's name or an address."""
    hits: list[search.Hit] | None = None
    error, status = None, 200
    if q and q.strip():
        try:
            hits = search.search(session, ward_code=user.ward_code, text=q, limit=HITS)
        except DomainError as exc:
            error, status = message_for(request, exc), status_for(exc)
    return render(request, "parcels.html", frame=frame(session, settings, user), status=status,
                  q=q or "", hits=hits, error=error, limit=HITS)


@router.get("/parcels/{parcel_id}", response_class=HTMLResponse)
def parcel_page(request: Request, parcel_id: Id, user: Reader, session: DbSession,
                settings: SettingsDep) -> Response:
    """The parcel now, its holders and rights, every version with its shape, its lineage."""
    versions = queries.history(session, ward_code=user.ward_code, parcel_id=parcel_id)
    current = queries.get_parcel(session, ward_code=user.ward_code, parcel_id=parcel_id)
    holders = current.holders
    lineage = queries.lineage(session, ward_code=user.ward_code, parcel_id=parcel_id)
    fr = frame(session, settings, user)
    t = translator(fr.lang)
    extent = current.geometry.buffer(5)
    for v in versions:
        extent = extent.union(v.geometry.envelope)
    drawings = []
    for v in reversed(versions):  # newest first, each framed like the others
        others = [o.geometry for o in versions if o.version != v.version]
        drawings.append(svg(sketch.draw(
            [sketch.Layer("neighbour", others),
             sketch.Layer("version", [v.geometry], titles=[f"{t('Phiên bản', 'Version')} "
                                                            f"{v.version}"])],
            title=f"{t('Hình thửa ở phiên bản', 'Shape at version')} {v.version}",
            focus=extent, css="sketch small")))
    return render(request, "parcel.html", frame=fr, parcel=current, versions=list(reversed(
        versions)), drawings=drawings, holders=holders, lineage=lineage)

"""Map views, field packages, extracts and the map assets over HTTP.

Thin routers: parse, call one function of :mod:`maps.pages` (or :mod:`maps.ward`,
:mod:`maps.impact`), shape the response.  Who sees what (the route-table policy in
tests/api/test_route_authorisation.py): land officers see application maps, field packages
and extracts; officials and land officers see the ward overview, its tiles and project maps;
surveyors see the maps of their own survey batches.  The Leaflet assets are served to every
signed-in reader of land records (a map page's scripts come from here, never from a CDN).
"""

from __future__ import annotations

import mimetypes
import threading
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as FPath
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy.orm import Session

from api.deps import LAND_READERS, DbSession, Id, actor, allow
from api.responses import inline_script_policy
from api.users import User
from db.errors import NotFound
from maps import offline, pages, sources, tiles
from maps.sources import MapContext, context
from maps.tiles import TileCache

router = APIRouter(tags=["maps"])
Officer = Annotated[User, Depends(allow("land_officer"))]
Overview = Annotated[User, Depends(allow("land_officer", "official"))]
AssetReader = Annotated[User, Depends(allow(*LAND_READERS))]
SurveyReader = Annotated[User, Depends(allow("surveyor", "land_officer"))]
PRIVATE = {"Cache-Control": "private, no-cache"}
"""Map pages hold names and findings: never kept by a shared cache."""


def map_context(request: Request, session: Session, user: User) -> MapContext:
    settings = request.app.state.settings
    return context(session, ward_code=user.ward_code, settings=settings.maps,
                   state_dir=settings.db.state_dir)


def map_page(page: str) -> HTMLResponse:
    """A folium map: its scripts are inline, so the page's policy allows exactly those (and
    the measure tool's run-time templates, which need eval)."""
    policy = inline_script_policy(page, allow_eval=True)
    return HTMLResponse(page, headers={**PRIVATE, "Content-Security-Policy": policy})


def base_url(request: Request) -> str:
    """Where the record a map or extract links to is reached: the service's public address
    from settings, never the request's Host header."""
    return str(request.app.state.settings.server.public_base_url()) + "/"


class AssetNotFound(NotFound):
    code = "asset_not_found"
    title = "No such map asset"


@router.get("/maps/assets/{path:path}", include_in_schema=False)
def asset(path: str, user: AssetReader) -> FileResponse:
    """A vendored Leaflet file or our own map script/style (cached for a day)."""
    try:
        found = offline.asset_path(path)
    except FileNotFoundError as exc:
        raise AssetNotFound(f"no map asset {path!r}", path=path) from exc
    mime = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
    if found.suffix == ".js":
        mime = "text/javascript"
    return FileResponse(found, media_type=mime,
                        headers={"Cache-Control": "private, max-age=86400"})


@router.get("/maps/applications/{application_id}", response_class=HTMLResponse)
def application_map(
    application_id: Id, request: Request, user: Officer, session: DbSession,
    self_contained: Annotated[bool, Query(
        description="inline every asset: one file that opens with no server")] = False,
) -> HTMLResponse:
    """The field map of an application: claim, neighbours, findings, boundary points."""
    ctx = map_context(request, session, user)
    page = pages.application_map(session, ctx, application_id=application_id,
                                 self_contained=self_contained)
    return map_page(page)


@router.get("/maps/applications/{application_id}/field.gpkg")
def application_package(application_id: Id, request: Request, user: Officer,
                        session: DbSession) -> Response:
    """The application's field package (GeoPackage for QGIS/QField, with the imagery)."""
    ctx = map_context(request, session, user)
    content = pages.application_package(session, ctx, application_id=application_id)
    return Response(content, media_type="application/geopackage+sqlite3", headers={
        **PRIVATE,
        "Content-Disposition": f'attachment; filename="application-{application_id}.gpkg"'})


def _pdf(content: bytes, name: str) -> Response:
    return Response(content, media_type="application/pdf",
                    headers={**PRIVATE, "Content-Disposition": f'inline; filename="{name}"'})


@router.get("/api/v1/parcels/{parcel_id}/extract.pdf", tags=["parcels"])
def parcel_extract(parcel_id: Id, request: Request, user: Officer,
                   session: DbSession) -> Response:
    """The cadastral map extract of a registered parcel (one A4 page)."""
    ctx = map_context(request, session, user)
    return _pdf(pages.parcel_extract(session, ctx, parcel_id=parcel_id,
                                     base_url=base_url(request)),
                f"trich-luc-thua-{parcel_id}.pdf")


@router.get("/api/v1/applications/{application_id}/extract.pdf", tags=["applications"])
def application_extract(application_id: Id, request: Request, user: Officer,
                        session: DbSession) -> Response:
    """The survey extract of an application's claimed boundary (one A4 page)."""
    ctx = map_context(request, session, user)
    return _pdf(pages.application_extract(session, ctx, application_id=application_id,
                                          base_url=base_url(request)),
                f"trich-do-ho-so-{application_id}.pdf")


# ---------------------------------------------------------------- ward overview


_cache_lock = threading.Lock()


def tile_cache(request: Request) -> TileCache:
    """This worker's parcel-tile cache (made on first use; sized by settings)."""
    state = request.app.state
    with _cache_lock:
        if getattr(state, "map_tile_cache", None) is None:
            state.map_tile_cache = TileCache(state.settings.maps.tile_cache_tiles)
    cache: TileCache = state.map_tile_cache
    return cache


@router.get("/maps/ward", response_class=HTMLResponse)
def ward_overview(request: Request, user: Overview, session: DbSession) -> HTMLResponse:
    """The whole ward by land use, with sheets, zones, projects and pending applications."""
    ctx = map_context(request, session, user)
    return map_page(pages.ward_overview(session, ctx))


Zoom = Annotated[int, FPath(ge=0, le=tiles.MAX_ZOOM)]
TileXY = Annotated[int, FPath(ge=0, le=2**tiles.MAX_ZOOM)]


@router.get("/maps/tiles/parcels/{z}/{x}/{y}.mvt")
def parcel_tile(z: Zoom, x: TileXY, y: TileXY, request: Request, user: Overview,
                session: DbSession) -> Response:
    """Current parcels as a Mapbox Vector Tile (layer ``parcels``), cached per registry
    version; the page's tile URL names that version, so a browser may keep the tile."""
    body, version = tiles.parcel_tile(session, tile_cache(request), ward_code=user.ward_code,
                                      z=z, x=x, y=y)
    return Response(body, media_type="application/vnd.mapbox-vector-tile",
                    headers={"Cache-Control": "private, max-age=3600",
                             "X-Registry-Version": str(version)})


@router.get("/maps/tiles/{layer}/{z}/{x}/{y}.png")
def raster_tile(layer: Literal["imagery", "hillshade"], z: Zoom, x: TileXY, y: TileXY,
                request: Request, user: Overview, session: DbSession) -> Response:
    """Our imagery or the hillshade of our elevation model as a 256-px PNG tile
    (transparent where the raster has no data)."""
    ctx = map_context(request, session, user)
    session.close()  # the raster work needs no connection
    if layer == "imagery":
        body = tiles.imagery_tile(ctx.rasters.imagery, z, x, y)
    else:
        body = tiles.hillshade_tile(ctx.rasters.elevation, z, x, y)
    return Response(body, media_type="image/png",
                    headers={"Cache-Control": "private, max-age=86400"})


@router.get("/maps/parcels/{parcel_id}")
def parcel_popup(parcel_id: Id, request: Request, user: Overview,
                 session: DbSession) -> dict[str, Any]:
    """A parcel's facts, elevation statistics and popup HTML (the overview's click)."""
    ctx = map_context(request, session, user)
    return sources.parcel_popup(session, ctx, parcel_id=parcel_id)


@router.get("/maps/surveys/{batch_id}", response_class=HTMLResponse)
def survey_batch(batch_id: Id, request: Request, user: SurveyReader,
                 session: DbSession) -> HTMLResponse:
    """A survey batch over the registry with its findings (a surveyor's own batches)."""
    ctx = map_context(request, session, user)
    return map_page(pages.survey_batch(session, ctx, actor=actor(request, user),
                                       batch_id=batch_id))


@router.get("/maps/projects/{code}", response_class=HTMLResponse)
def project_map(
    code: Annotated[str, FPath(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")],
    request: Request, user: Overview, session: DbSession,
    section: Annotated[str | None, Query(max_length=40, description="one section only")] = None,
    self_contained: Annotated[bool, Query(description="inline every asset")] = False,
) -> HTMLResponse:
    """A road project's impact: parcels by share taken, failing remainders, the corridor."""
    ctx = map_context(request, session, user)
    return map_page(pages.project_map(session, ctx, code=code, section=section,
                                      self_contained=self_contained))

"""OGC API – Features (Part 1: Core, GeoJSON; Part 2: CRS by reference) under ``/ogc``, so
QGIS and GDAL read the registry.

Collections are declared once in :data:`COLLECTIONS`: each names the roles that
may read it and how to fetch a page of rows (id, geometry in EPSG:9214, attributes)
from the domain packages.  The coordinates sent are CRS84 (longitude, latitude)
unless ``crs`` asks for another CRS the collection offers (``api/ogc_crs.py``):
an officer's QGIS project in EPSG:9214 then gets the stored coordinates, to the
0.1 mm.  ``datetime`` is an instant and means "the registry as it stood then"
(intervals are refused: the registry has one state per instant).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from psycopg import AsyncConnection
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from api import ogc_crs
from api.deps import DbSession, Id, Reader, hot_read
from api.ogc_crs import CRS84, Crs
from api.responses import GeoJSONResponse
from api.users import User
from certificates.applications import pending_claims
from config import clock
from gis.convert import from_db
from gis.crs import WARD
from gis.geojson import geometries_to_geojson
from parcels import queries
from parcels.errors import InvalidInput
from parcels.schemas import SYNTHETIC_NOTE, properties
from parcels.ward import extent_wgs84
from parcels.zones import list_zones
from projects.reads import list_segments

router = APIRouter(prefix="/ogc", tags=["OGC API Features"])

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    ogc_crs.CONFORMANCE,
]
DEFAULT_LIMIT, MAX_LIMIT = 10, 1000


@dataclass(frozen=True)
class Window:
    """A bbox in x/y order and the EPSG code of its coordinates."""

    bbox: tuple[float, float, float, float]
    srid: int


Row = tuple[int, BaseGeometry, dict[str, Any]]
"""A feature before encoding: its id, its geometry in EPSG:9214, its attributes."""
Page = tuple[list[Row], bool, int | None, datetime | None]
"""A page of rows, whether more follow, how many match in all (when counted), and the
registry instant a paged listing pinned."""
Fetch = Callable[[Session, User, Window | None, datetime | None, int | None, int, int], Page]
FetchAsync = Callable[[AsyncConnection[Any], User, Window | None, datetime | None, int | None,
                       int, int], Awaitable[Page]]


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    roles: tuple[str, ...]
    fetch: Fetch
    temporal: bool = False
    fetch_async: FetchAsync | None = None
    """The same read on the server's asynchronous pool, for collections GIS clients page
    through all day (see api.deps.hot_read)."""


def _box(w: Window | None) -> dict[str, Any]:
    """A window as the domain reads take it."""
    return {"bbox": w.bbox, "bbox_srid": w.srid} if w else {"bbox": None}


def _parcels(s: Session, u: User, w: Window | None, when: datetime | None, fid: int | None,
             limit: int, offset: int) -> Page:
    if fid is not None:
        return _parcel_page(queries.get_parcel(s, ward_code=u.ward_code, parcel_id=fid,
                                               as_of=when))
    return _parcels_page(queries.list_parcels(s, ward_code=u.ward_code, as_of=when,
                                              limit=limit, offset=offset, **_box(w)))


async def _parcels_async(conn: AsyncConnection[Any], u: User, w: Window | None,
                         when: datetime | None, fid: int | None, limit: int,
                         offset: int) -> Page:
    if fid is not None:
        return _parcel_page(await queries.get_parcel_async(
            conn, ward_code=u.ward_code, parcel_id=fid, as_of=when))
    return _parcels_page(await queries.list_parcels_async(
        conn, ward_code=u.ward_code, as_of=when, limit=limit, offset=offset, **_box(w)))


def _parcel_page(record: queries.ParcelRecord) -> Page:
    return [(record.parcel_id, record.geometry, properties(record))], False, None, None


def _parcels_page(page: queries.Page) -> Page:
    # GIS clients want flat attributes: a listing carries no holders (a list), the
    # single-item view does.
    return ([(r.parcel_id, r.geometry, properties(r)) for r in page.items], page.has_more,
            page.matched, page.as_of)


def _zones(s: Session, u: User, w: Window | None, when: datetime | None, fid: int | None,
           limit: int, offset: int) -> Page:
    rows, more = list_zones(s, ward_code=u.ward_code, as_of=when, zone_id=fid,
                            limit=limit, offset=offset, **_box(w))
    return [(z.id, z.geometry,
             {"zone_key": z.zone_key, "kind": z.kind, "name": z.name,
              "project_code": z.project_code, "area_m2": round(z.area_m2, 1),
              "synthetic": z.synthetic}) for z in rows], more, None, None


def _corridors(s: Session, u: User, w: Window | None, when: datetime | None, fid: int | None,
               limit: int, offset: int) -> Page:
    rows, more = list_segments(s, ward_code=u.ward_code, segment_id=fid,
                               limit=limit, offset=offset, **_box(w))
    return [(g.id, g.centreline,
             {"project_code": g.project_code, "project_name": g.project_name,
              "segment_no": g.segment_no, "name": g.name,
              "left_width_m": g.left_width_m, "right_width_m": g.right_width_m,
              "existing_width_m": g.existing_width_m,
              "length_m": round(g.centreline.length, 1),
              "synthetic": g.synthetic}) for g in rows], more, None, None


def _pending(s: Session, u: User, w: Window | None, when: datetime | None, fid: int | None,
             limit: int, offset: int) -> Page:
    rows, more = pending_claims(s, ward_code=u.ward_code, application_id=fid,
                                limit=limit, offset=offset, **_box(w))
    out: list[Row] = []
    for a in rows:
        geom = from_db(a.geom)
        if geom is None:
            continue
        out.append((a.id, geom, {
            "application_key": a.application_key, "procedure": a.procedure,
            "state": a.state, "channel": a.channel,
            "received_on": a.received_on.isoformat(),
            "due_on": a.due_on.isoformat(), "former_unit": a.former_unit,
            "sheet_no": a.sheet_no, "parcel_no": a.parcel_no,
            "declared_area_m2": float(a.declared_area) if a.declared_area else None,
            "declared_land_use": a.declared_land_use,
            "geometry_valid": a.geom_valid}))
    return out, more, None, None


def _features(rows: list[Row], out: Crs) -> list[dict[str, Any]]:
    """GeoJSON features in the CRS asked for: the page's geometries reprojected together."""
    geoms = geometries_to_geojson([g for _, g, _ in rows], WARD, target=out.epsg,
                                  northing_first=out.northing_first)
    return [{"type": "Feature", "id": fid, "geometry": g, "properties": p}
            for (fid, _, p), g in zip(rows, geoms, strict=True)]


COLLECTIONS: dict[str, Collection] = {
    c.id: c for c in (
        Collection("parcels", "Thửa đất / Parcels",
                   "Registered parcels of the ward (current, or as of `datetime`); areas in m² "
                   "measured in EPSG:9214.", ("surveyor", "land_officer", "official"), _parcels,
                   temporal=True, fetch_async=_parcels_async),
        Collection("zones", "Vùng hạn chế / Zones",
                   "River corridor, heritage protection zones and road red lines.",
                   ("surveyor", "land_officer", "official"), _zones, temporal=True),
        Collection("corridors", "Tim tuyến dự án / Project corridors",
                   "Road projects' centreline segments with planned red-line widths per side.",
                   ("surveyor", "land_officer", "official"), _corridors),
        Collection("pending_applications", "Hồ sơ đang xử lý / Pending applications",
                   "Claimed parcels of first-time certificate applications not yet decided "
                   "(land officers only: applicants' claims are not public).",
                   ("land_officer",), _pending),
    )
}


def register_collection(collection: Collection) -> None:
    """Other packages (pending applications, impact results) add their collections here."""
    COLLECTIONS[collection.id] = collection


def _visible(user: User) -> list[Collection]:
    return [c for c in COLLECTIONS.values() if user.role in c.roles]


def _collection(cid: str, user: User) -> Collection:
    c = COLLECTIONS.get(cid)
    if c is None or user.role not in c.roles:
        # Not 403: a collection one may not read is not advertised, so it does not exist.
        raise HTTPException(404, f"no collection {cid!r}")
    return c


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _parse_datetime(value: str | None) -> datetime | None:
    if value is None or value in ("..", ""):
        return None
    if "/" in value:
        raise InvalidInput("datetime must be one instant (the registry as it stood then); "
                           "intervals are not supported", field="datetime")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"datetime {value!r} is not RFC 3339", field="datetime") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@router.get("")
def landing(request: Request, user: Reader) -> dict[str, Any]:
    """Landing page: links to the API definition, conformance and the collections."""
    base = _base(request)
    root = str(request.base_url).rstrip("/")
    return {
        "title": "Kim Long land records — OGC API Features",
        "description": "Parcels, zones and project corridors of Kim Long ward, Huế. "
                       + SYNTHETIC_NOTE,
        "links": [
            {"href": base, "rel": "self", "type": "application/json", "title": "this document"},
            {"href": f"{root}/openapi.json", "rel": "service-desc",
             "type": "application/vnd.oai.openapi+json;version=3.0", "title": "API definition"},
            {"href": f"{root}/docs", "rel": "service-doc", "type": "text/html",
             "title": "API documentation"},
            {"href": f"{base}/conformance", "rel": "conformance", "type": "application/json"},
            {"href": f"{base}/collections", "rel": "data", "type": "application/json"},
        ],
    }


@router.get("/conformance")
def conformance(user: Reader) -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


def _describe(c: Collection, request: Request, session: Session, user: User) -> dict[str, Any]:
    base = _base(request)
    bbox = extent_wgs84(session, user.ward_code)
    out: dict[str, Any] = {
        "id": c.id, "title": c.title, "description": c.description, "itemType": "feature",
        # Part 2: every CRS a client may ask for with ``crs``; the stored one is EPSG:9214,
        # so a client working in it (GDAL picks the storage CRS) gets the stored coordinates.
        "crs": ogc_crs.SUPPORTED_URIS,
        "storageCrs": ogc_crs.STORAGE.uri,
        "links": [
            {"href": f"{base}/collections/{c.id}", "rel": "self", "type": "application/json"},
            {"href": f"{base}/collections/{c.id}/items", "rel": "items",
             "type": "application/geo+json"},
        ],
    }
    if bbox is not None:
        out["extent"] = {"spatial": {"bbox": [[round(v, 7) for v in bbox]], "crs": CRS84}}
    return out


@router.get("/collections")
def collections(request: Request, user: Reader, session: DbSession) -> dict[str, Any]:
    base = _base(request)
    return {
        "links": [{"href": f"{base}/collections", "rel": "self", "type": "application/json"}],
        "collections": [_describe(c, request, session, user) for c in _visible(user)],
    }


@router.get("/collections/{collection_id}")
def collection(collection_id: str, request: Request, user: Reader,
               session: DbSession) -> dict[str, Any]:
    return _describe(_collection(collection_id, user), request, session, user)


async def _fetch(request: Request, c: Collection, u: User, w: Window | None,
                 when: datetime | None, fid: int | None, limit: int, offset: int) -> Page:
    on_loop = c.fetch_async
    return await hot_read(
        request,
        (lambda conn: on_loop(conn, u, w, when, fid, limit, offset)) if on_loop else None,
        lambda session: c.fetch(session, u, w, when, fid, limit, offset))


CrsParam = Annotated[str | None, Query(
    description="CRS of the coordinates sent (OGC API Features Part 2), a URI from the "
                "collection's `crs` list; CRS84 (longitude, latitude) when absent. "
                "Coordinates follow the CRS's axis order: latitude first for EPSG:4326.",
    examples=[ogc_crs.STORAGE.uri])]


@router.get("/collections/{collection_id}/items")
async def items(
    collection_id: str, request: Request, user: Reader,
    bbox: Annotated[str | None, Query(
        description="lower corner, upper corner in the axis order of `bbox-crs` "
                    "(CRS84 by default: minlon,minlat,maxlon,maxlat)")] = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs",
                                          description="CRS of `bbox` (a URI)")] = None,
    crs: CrsParam = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0)] = 0,
    datetime_: Annotated[str | None, Query(alias="datetime",
                                           description="RFC 3339 instant: the registry then")]
    = None,
) -> GeoJSONResponse:
    """A page of features in CRS84 or the CRS asked for, with a ``next`` link while more
    remain and, on the first page of a bbox query of parcels, ``numberMatched``."""
    c = _collection(collection_id, user)
    out = ogc_crs.parse_crs(crs)
    box_crs = ogc_crs.parse_crs(bbox_crs, field="bbox-crs")
    if bbox_crs is not None and bbox is None:
        raise InvalidInput("bbox-crs names the CRS of a bbox, but no bbox was given",
                           field="bbox-crs")
    when = _parse_datetime(datetime_)
    if when is not None and not c.temporal:
        raise InvalidInput(f"collection {c.id} has no time dimension", field="datetime")
    window = Window(ogc_crs.parse_bbox(bbox, box_crs), box_crs.epsg) if bbox else None
    rows, more, matched, pinned = await _fetch(request, c, user, window, when, None, limit,
                                               offset)
    self_url = str(request.url)
    links = [{"href": self_url, "rel": "self", "type": "application/geo+json"},
             {"href": f"{_base(request)}/collections/{c.id}", "rel": "collection",
              "type": "application/json"}]
    if more:
        # A listing of the registry now pins the instant it showed (``datetime``), so the
        # pages that follow show the same registry, each parcel once (parcels.queries).
        pinned_at = {"datetime": pinned.isoformat()} if pinned is not None else {}
        links.append({"href": str(request.url.include_query_params(
            offset=offset + limit, limit=limit, **pinned_at)),
                      "rel": "next", "type": "application/geo+json"})
    body: dict[str, Any] = {
        "type": "FeatureCollection", "features": _features(rows, out), "links": links,
        "numberReturned": len(rows), "timeStamp": clock.now().isoformat(),
    }
    if matched is not None:
        body["numberMatched"] = matched
    return GeoJSONResponse(body, headers={"Content-Crs": out.header})


@router.get("/collections/{collection_id}/items/{feature_id}")
async def item(collection_id: str, feature_id: Id, request: Request, user: Reader,
               crs: CrsParam = None,
               datetime_: Annotated[str | None, Query(alias="datetime")] = None
               ) -> GeoJSONResponse:
    c = _collection(collection_id, user)
    out = ogc_crs.parse_crs(crs)
    when = _parse_datetime(datetime_)
    rows, _, _, _ = await _fetch(request, c, user, None, when, feature_id, 1, 0)
    if not rows:
        raise HTTPException(404, f"no feature {feature_id} in {c.id}")
    f = _features(rows, out)[0]
    base = _base(request)
    f["links"] = [
        {"href": f"{base}/collections/{c.id}/items/{feature_id}", "rel": "self",
         "type": "application/geo+json"},
        {"href": f"{base}/collections/{c.id}", "rel": "collection", "type": "application/json"},
    ]
    return GeoJSONResponse(f, headers={"Content-Crs": out.header})

"""OGC API – Features (Part 1: Core, GeoJSON) under ``/ogc``, so QGIS and GDAL read the registry.

Collections are declared once in :data:`COLLECTIONS`: each names the roles that
may read it and how to fetch a page of features from the domain packages.
Coordinates are CRS84 (longitude, latitude); ``datetime`` is an instant and
means "the registry as it stood then" (intervals are refused: the registry has
one state per instant).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from psycopg import AsyncConnection
from sqlalchemy.orm import Session

from api.deps import DbSession, Id, Reader, hot_read
from api.responses import GeoJSONResponse
from api.users import User
from certificates.applications import pending_claims
from config import clock
from gis.convert import from_db
from gis.crs import WARD
from gis.geojson import geometry_to_geojson
from parcels import queries
from parcels.errors import InvalidInput
from parcels.schemas import SYNTHETIC_NOTE, feature, features
from parcels.ward import extent_wgs84
from parcels.zones import list_zones
from projects.reads import list_segments

router = APIRouter(prefix="/ogc", tags=["OGC API Features"])

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
DEFAULT_LIMIT, MAX_LIMIT = 10, 1000

Bbox = tuple[float, float, float, float] | None
Page = tuple[list[dict[str, Any]], bool, datetime | None]
"""Features, whether more follow, and the registry instant a paged listing pinned."""
Fetch = Callable[[Session, User, Bbox, datetime | None, int | None, int, int], Page]
FetchAsync = Callable[[AsyncConnection[Any], User, Bbox, datetime | None, int | None, int, int],
                      Awaitable[Page]]


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


def _parcels(s: Session, u: User, bbox: Bbox, when: datetime | None, fid: int | None,
             limit: int, offset: int) -> Page:
    if fid is not None:
        return _parcel_page(queries.get_parcel(s, ward_code=u.ward_code, parcel_id=fid,
                                               as_of=when))
    return _parcels_page(queries.list_parcels(s, ward_code=u.ward_code, bbox=bbox, as_of=when,
                                              limit=limit, offset=offset))


async def _parcels_async(conn: AsyncConnection[Any], u: User, bbox: Bbox, when: datetime | None,
                         fid: int | None, limit: int, offset: int) -> Page:
    if fid is not None:
        return _parcel_page(await queries.get_parcel_async(
            conn, ward_code=u.ward_code, parcel_id=fid, as_of=when))
    return _parcels_page(await queries.list_parcels_async(
        conn, ward_code=u.ward_code, bbox=bbox, as_of=when, limit=limit, offset=offset))


def _parcel_page(record: queries.ParcelRecord) -> Page:
    return [feature(record)], False, None


def _parcels_page(page: queries.Page) -> Page:
    # GIS clients want flat attributes: a listing carries no holders (a list), the
    # single-item view does.
    return features(page.items), page.has_more, page.as_of


def _zones(s: Session, u: User, bbox: Bbox, when: datetime | None, fid: int | None, limit: int,
           offset: int) -> Page:
    rows, more = list_zones(s, ward_code=u.ward_code, bbox=bbox, as_of=when, zone_id=fid,
                            limit=limit, offset=offset)
    return [{"type": "Feature", "id": z.id, "geometry": geometry_to_geojson(z.geometry, WARD),
             "properties": {"zone_key": z.zone_key, "kind": z.kind, "name": z.name,
                            "project_code": z.project_code, "area_m2": round(z.area_m2, 1),
                            "synthetic": z.synthetic}} for z in rows], more, None


def _corridors(s: Session, u: User, bbox: Bbox, when: datetime | None, fid: int | None,
               limit: int, offset: int) -> Page:
    rows, more = list_segments(s, ward_code=u.ward_code, bbox=bbox, segment_id=fid,
                               limit=limit, offset=offset)
    return [{"type": "Feature", "id": g.id, "geometry": geometry_to_geojson(g.centreline, WARD),
             "properties": {"project_code": g.project_code, "project_name": g.project_name,
                            "segment_no": g.segment_no, "name": g.name,
                            "left_width_m": g.left_width_m, "right_width_m": g.right_width_m,
                            "existing_width_m": g.existing_width_m,
                            "length_m": round(g.centreline.length, 1),
                            "synthetic": g.synthetic}} for g in rows], more, None


def _pending(s: Session, u: User, bbox: Bbox, when: datetime | None, fid: int | None,
             limit: int, offset: int) -> Page:
    rows, more = pending_claims(s, ward_code=u.ward_code, bbox=bbox, application_id=fid,
                                limit=limit, offset=offset)
    feats = []
    for a in rows:
        geom = from_db(a.geom)
        if geom is None:
            continue
        feats.append({"type": "Feature", "id": a.id, "geometry": geometry_to_geojson(geom, WARD),
                      "properties": {
                          "application_key": a.application_key, "procedure": a.procedure,
                          "state": a.state, "channel": a.channel,
                          "received_on": a.received_on.isoformat(),
                          "due_on": a.due_on.isoformat(), "former_unit": a.former_unit,
                          "sheet_no": a.sheet_no, "parcel_no": a.parcel_no,
                          "declared_area_m2": float(a.declared_area) if a.declared_area else None,
                          "declared_land_use": a.declared_land_use,
                          "geometry_valid": a.geom_valid}})
    return feats, more, None


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
        # Part 1 only: CRS84 out.  Advertising storageCrs (9214) would make clients such as
        # GDAL ask for it and then label our lon/lat as metres.
        "crs": [CRS84],
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


async def _fetch(request: Request, c: Collection, u: User, bbox: Bbox, when: datetime | None,
                 fid: int | None, limit: int, offset: int) -> Page:
    on_loop = c.fetch_async
    return await hot_read(
        request,
        (lambda conn: on_loop(conn, u, bbox, when, fid, limit, offset)) if on_loop else None,
        lambda session: c.fetch(session, u, bbox, when, fid, limit, offset))


@router.get("/collections/{collection_id}/items")
async def items(
    collection_id: str, request: Request, user: Reader,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (CRS84)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0)] = 0,
    datetime_: Annotated[str | None, Query(alias="datetime",
                                           description="RFC 3339 instant: the registry then")]
    = None,
) -> GeoJSONResponse:
    """A page of features in CRS84, with a ``next`` link while more remain."""
    c = _collection(collection_id, user)
    when = _parse_datetime(datetime_)
    if when is not None and not c.temporal:
        raise InvalidInput(f"collection {c.id} has no time dimension", field="datetime")
    box = queries.parse_bbox(bbox) if bbox else None
    feats, more, pinned = await _fetch(request, c, user, box, when, None, limit, offset)
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
    return GeoJSONResponse({
        "type": "FeatureCollection", "features": feats, "links": links,
        "numberReturned": len(feats), "timeStamp": clock.now().isoformat(),
    })


@router.get("/collections/{collection_id}/items/{feature_id}")
async def item(collection_id: str, feature_id: Id, request: Request, user: Reader,
               datetime_: Annotated[str | None, Query(alias="datetime")] = None
               ) -> GeoJSONResponse:
    c = _collection(collection_id, user)
    when = _parse_datetime(datetime_)
    feats, _, _ = await _fetch(request, c, user, None, when, feature_id, 1, 0)
    if not feats:
        raise HTTPException(404, f"no feature {feature_id} in {c.id}")
    f = feats[0]
    base = _base(request)
    f["links"] = [
        {"href": f"{base}/collections/{c.id}/items/{feature_id}", "rel": "self",
         "type": "application/geo+json"},
        {"href": f"{base}/collections/{c.id}", "rel": "collection", "type": "application/json"},
    ]
    return GeoJSONResponse(f)


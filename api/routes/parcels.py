"""Parcel registry over HTTP: reads for every role, writes for land officers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api.concurrency import expected_parcel, expected_parcels
from api.deps import DbSession, Id, Officer, Reader, actor, hot_read
from api.responses import GeoJSONResponse
from parcels import queries, registry
from parcels.records import ParcelRecord
from parcels.schemas import (
    AmendIn,
    Feature,
    FeatureCollection,
    MergeIn,
    RegisterIn,
    RetireIn,
    SplitIn,
    feature,
    feature_collection,
    features,
)

router = APIRouter(prefix="/api/v1/parcels", tags=["parcels"])


def tagged(rec: ParcelRecord, status_code: int = 200) -> GeoJSONResponse:
    """One parcel version, with its ETag (send it back in If-Match to change it)."""
    return GeoJSONResponse(feature(rec), status_code=status_code,
                           headers={"ETag": registry.parcel_etag(rec.parcel_id, rec.version)})
AsOf = Annotated[datetime | None, Query(description="Registry state at this time (ISO 8601)")]


@router.get("", response_model=FeatureCollection)
async def list_parcels(
    request: Request, user: Reader,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (WGS 84)")] = None,
    sheet_no: Annotated[int | None, Query(gt=0)] = None,
    parcel_no: Annotated[int | None, Query(gt=0)] = None,
    land_use: Annotated[str | None, Query(pattern=r"^[A-Za-z]{3}$")] = None,
    former_unit: Annotated[str | None, Query(max_length=40)] = None,
    as_of: AsOf = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    after: Annotated[int | None, Query(ge=0, description="the last parcel id of the page "
                                       "before (the next link sets it)")] = None,
) -> GeoJSONResponse:
    """Parcels in force, filtered, by parcel id; GeoJSON in EPSG:4326, areas in m² from
    EPSG:9214.  The ``next`` link pages by parcel id and pins the registry instant of the
    first page (``as_of``): following it shows every parcel of that instant exactly once,
    whatever is split or retired meanwhile."""
    filters: dict[str, Any] = {
        "ward_code": user.ward_code, "bbox": queries.parse_bbox(bbox) if bbox else None,
        "sheet_no": sheet_no, "parcel_no": parcel_no, "land_use": land_use,
        "former_unit": former_unit, "as_of": as_of, "limit": limit, "offset": offset,
        "after": after}
    page = await hot_read(request,
                          lambda conn: queries.list_parcels_async(conn, **filters),
                          lambda session: queries.list_parcels(session, **filters))
    links = []
    if page.has_more and page.as_of is not None:
        nxt = request.url.remove_query_params("offset").include_query_params(
            after=page.last_id, as_of=page.as_of.isoformat())
        links.append({"rel": "next", "type": "application/geo+json", "href": str(nxt)})
    return GeoJSONResponse(feature_collection(features(page.items), links=links))


@router.get("/{parcel_id}", response_model=Feature)
async def get_parcel(request: Request, parcel_id: Id, user: Reader,
                     as_of: AsOf = None) -> GeoJSONResponse:
    """One parcel as a GeoJSON Feature (EPSG:4326) with its measured area in m²."""
    record = await hot_read(
        request,
        lambda conn: queries.get_parcel_async(conn, ward_code=user.ward_code,
                                              parcel_id=parcel_id, as_of=as_of),
        lambda session: queries.get_parcel(session, ward_code=user.ward_code,
                                           parcel_id=parcel_id, as_of=as_of))
    return tagged(record)


@router.get("/{parcel_id}/history", response_model=FeatureCollection)
def parcel_history(parcel_id: Id, user: Reader, session: DbSession) -> GeoJSONResponse:
    """Every version of the parcel, oldest first; nothing is ever overwritten."""
    versions = queries.history(session, ward_code=user.ward_code, parcel_id=parcel_id)
    return GeoJSONResponse(feature_collection(features(versions)))


@router.get("/{parcel_id}/lineage")
def parcel_lineage(parcel_id: Id, user: Reader, session: DbSession) -> dict[str, Any]:
    """The parcels this one came from (splits, merges) and those that came from it."""
    lin = queries.lineage(session, ward_code=user.ward_code, parcel_id=parcel_id)

    def links(items: list[queries.LineageLink]) -> list[dict[str, Any]]:
        return [{"parcel_id": x.parcel_id, "kind": x.kind, "depth": x.depth,
                 "recorded_at": x.recorded_at.isoformat()} for x in items]

    return {"parcel_id": parcel_id, "ancestors": links(lin.ancestors),
            "descendants": links(lin.descendants)}


@router.post("", response_model=Feature, status_code=201)
def register_parcel(body: RegisterIn, request: Request, user: Officer,
                    session: DbSession) -> GeoJSONResponse:
    """Register a new parcel (land officers)."""
    with session.begin():
        v = registry.register_parcel(session, actor=actor(request, user), spec=body.to_spec(),
                                     reason=body.reason,
                                     source=body.source.to_source() if body.source else None)
    return GeoJSONResponse(
        feature(queries.get_parcel(session, ward_code=user.ward_code, parcel_id=v.parcel_id)),
        status_code=201, headers={"Location": f"/api/v1/parcels/{v.parcel_id}"})


@router.post("/{parcel_id}/versions", response_model=Feature, status_code=201)
def amend_parcel(parcel_id: Id, body: AmendIn, request: Request, user: Officer,
                 session: DbSession) -> GeoJSONResponse:
    """Amend a parcel: a new version; the previous one stays in the history.
    With If-Match (or ``expected_version``), a stale version answers 412."""
    expected = expected_parcel(request, parcel_id, body.expected_version)
    with session.begin():
        registry.amend_parcel(session, actor=actor(request, user), parcel_id=parcel_id,
                              amendment=body.to_amendment(), reason=body.reason,
                              source=body.source.to_source() if body.source else None,
                              expected_version=expected)
    return tagged(queries.get_parcel(session, ward_code=user.ward_code, parcel_id=parcel_id),
                  201)


@router.post("/{parcel_id}/split", response_model=FeatureCollection, status_code=201)
def split_parcel(parcel_id: Id, body: SplitIn, request: Request, user: Officer,
                 session: DbSession) -> GeoJSONResponse:
    """Split a parcel into parts that cover it exactly (to 0.01 m²), each a lot the
    minimum-lot rule allows unless merged with a neighbour in the same act (422
    ``lot_below_minimum`` names the failed figures).  With If-Match (or
    ``expected_version``), a stale version answers 412."""
    expected = expected_parcel(request, parcel_id, body.expected_version)
    with session.begin():
        made = registry.split_parcel(session, actor=actor(request, user), parcel_id=parcel_id,
                                     children=[p.to_spec() for p in body.parts],
                                     reason=body.reason,
                                     source=body.source.to_source() if body.source else None,
                                     merge_with=body.merges(), expected_version=expected)
    ids = [v.parcel_id for v in made]
    feats = [feature(queries.get_parcel(session, ward_code=user.ward_code, parcel_id=i))
             for i in ids]
    return GeoJSONResponse(feature_collection(feats), status_code=201)


@router.post("/merge", response_model=Feature, status_code=201)
def merge_parcels(body: MergeIn, request: Request, user: Officer,
                  session: DbSession) -> GeoJSONResponse:
    """Merge touching parcels into a new one; the originals are retired.
    With If-Match (one ETag per parcel) or ``expected_versions``, a stale one answers 412."""
    expected = expected_parcels(request, body.parcel_ids, body.expected_versions)
    with session.begin():
        v = registry.merge_parcels(
            session, actor=actor(request, user), parcel_ids=body.parcel_ids,
            former_unit=body.former_unit, sheet_no=body.sheet_no, parcel_no=body.parcel_no,
            land_use=body.land_use, legal_area=body.legal_area, address=body.address,
            reason=body.reason, source=body.source.to_source() if body.source else None,
            expected_versions=expected)
    return tagged(queries.get_parcel(session, ward_code=user.ward_code, parcel_id=v.parcel_id),
                  201)


@router.post("/{parcel_id}/retire", response_model=Feature)
def retire_parcel(parcel_id: Id, body: RetireIn, request: Request, user: Officer,
                  session: DbSession) -> GeoJSONResponse:
    """Retire a parcel (its history stays readable).
    With If-Match (or ``expected_version``), a stale version answers 412."""
    expected = expected_parcel(request, parcel_id, body.expected_version)
    with session.begin():
        registry.retire_parcel(session, actor=actor(request, user), parcel_id=parcel_id,
                               reason=body.reason,
                               source=body.source.to_source() if body.source else None,
                               expected_version=expected)
    return tagged(queries.get_parcel(session, ward_code=user.ward_code, parcel_id=parcel_id))

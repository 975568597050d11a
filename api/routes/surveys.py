"""Survey intake over HTTP: surveyors upload and follow their batches, officers decide.

Roles (the route-table policy in tests/api/test_route_authorisation.py): a
surveyor uploads and reads their own batches (anyone else's answers 404, so
batch numbers reveal nothing); a land officer reads every batch, validates it
again, overrides findings, commits and rejects; officials and administrators
have no business with unreviewed survey data (403).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, model_validator
from sqlalchemy.orm import Session

from api import jobs
from api.concurrency import expected_batch
from api.deps import DbSession, SettingsDep, actor, allow, oauth2
from api.responses import GeoJSONResponse
from api.upload_limit import BodyTooLarge, CappedBody, too_large
from api.users import User
from certificates import disputes
from config import clock
from gis.intake.errors import MappingError
from parcels import surveys

PREFIX = "/api/v1/surveys"

may_upload = allow("surveyor", "land_officer")
Uploader = Annotated[User, Depends(may_upload)]
SurveyReader = Annotated[User, Depends(allow("surveyor", "land_officer"))]
Officer = Annotated[User, Depends(allow("land_officer"))]
State = Literal["received", "validated", "committed", "rejected"]


class CappedUpload(APIRoute):
    """A route whose request body is cut off at the intake size limit while it streams in
    (:mod:`api.upload_limit`); a caller who may not upload is refused before its body is
    read."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def capped(request: Request) -> Response:
            # Who is asking, before a byte of the body is read: a missing, forged or expired
            # token, or a role that may not upload, is refused at once (a 50 MB body with
            # "Bearer x" was once read first).  The route's dependency checks again, from
            # the user cache.
            await may_upload(request, await oauth2(request))
            body = CappedBody(request)
            refusal = body.declared_too_large()
            if refusal is not None:
                raise refusal
            try:
                return await handler(body.request)
            except BodyTooLarge as exc:
                raise too_large(body.max_file) from exc

        return capped


class ReasonIn(BaseModel):
    reason: str = Field(min_length=3, max_length=2000, examples=["đã kiểm tra thực địa"])


class OneOverride(BaseModel):
    id: int
    reason: str = Field(min_length=3, max_length=2000)


class OverridesIn(BaseModel):
    """Either one reason for a list of findings, or a reason per finding (or both)."""

    finding_ids: list[int] = Field(default_factory=list, max_length=100_000)
    reason: str | None = Field(default=None, min_length=3, max_length=2000,
                               examples=["đã kiểm tra thực địa"])
    overrides: list[OneOverride] = Field(default_factory=list, max_length=100_000)

    @model_validator(mode="after")
    def _reason_for_list(self) -> OverridesIn:
        if self.finding_ids and self.reason is None:
            raise ValueError("finding_ids needs a reason")
        return self

    def pairs(self) -> list[tuple[int, str]]:
        return [(i, self.reason or "") for i in self.finding_ids] + \
            [(o.id, o.reason) for o in self.overrides]


class CommitIn(BaseModel):
    reason: str | None = Field(default=None, max_length=2000)


class DisputeFindingIn(BaseModel):
    """Who disputes the boundary and what the disagreement is."""

    claimant: str = Field(min_length=1, max_length=500, examples=["Hộ ông Nguyễn Văn An"])
    description: str = Field(min_length=3, max_length=4000,
                             examples=["hai bên chưa thống nhất ranh giới phía đông"])
    respondent: str | None = Field(default=None, max_length=500)


upload_router = APIRouter(prefix=PREFIX, tags=["surveys"], route_class=CappedUpload)
batch_router = APIRouter(prefix=PREFIX, tags=["surveys"])


def _mapping(raw: str | None) -> dict[str, str] | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise MappingError("The mapping is not valid JSON; send an object such as "
                           '{"parcel_no": "SoThua", "sheet_no": "SoTo"}.') from exc
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                              for k, v in value.items()):
        raise MappingError("The mapping must be a JSON object of our field → the file's column, "
                           'e.g. {"parcel_no": "SoThua"}.')
    return value


@upload_router.post("", status_code=201, responses={202: {"description": "staged; a job "
                                                        "validates it (large batches)"}})
def upload_survey(
    request: Request, user: Uploader, session: DbSession, settings: SettingsDep,
    file: Annotated[UploadFile, File(description="GeoJSON, zipped Shapefile, GeoPackage, "
                                                 "KML/KMZ, DXF or CSV coordinate table")],
    crs: Annotated[str | None, Form(max_length=80, description="EPSG code overriding the "
                                                               "file's CRS, e.g. 9214")] = None,
    layer: Annotated[str | None, Form(max_length=255)] = None,
    mapping: Annotated[str | None, Form(max_length=4000, description='JSON, e.g. '
                                        '{"parcel_no": "SoThua"}')] = None,
    former_unit: Annotated[str | None, Form(max_length=80)] = None,
    swap_axes: Annotated[bool, Form(description=(
        "read the two coordinates the other way round; only when the service says the axes "
        "look swapped (a CSV table is already read as VN-2000 writes it: X = northing, "
        "Y = easting; GeoJSON, Shapefile and GeoPackage as easting, northing)"))] = False,
) -> JSONResponse:
    """Stage and validate a survey file as a batch (201); the same file again: its batch (200).
    A batch of more than ``CADASTRE_INTAKE_VALIDATE_INLINE_UP_TO`` features is staged and
    validated by a job: 202 with the batch (``received``) and the job's URL to follow."""
    options = surveys.UploadOptions(crs=crs or None, layer=layer or None,
                                    mapping=_mapping(mapping),
                                    former_unit=former_unit or None, swap_axes=swap_axes)
    staged, job = jobs.stage_survey(session, settings=settings, actor=actor(request, user),
                                    stream=file.file, filename=file.filename, options=options)
    batch_id = staged.batch["id"]
    if job is not None:
        return JSONResponse(jsonable_encoder({**staged.batch, "job": job.to_dict()}),
                            status_code=202, headers={"Location": job.to_dict()["href"]})
    return JSONResponse(jsonable_encoder(staged.batch), status_code=201 if staged.created else 200,
                        headers={"Location": f"{PREFIX}/{batch_id}"})


@batch_router.get("")
def list_surveys(
    request: Request, user: SurveyReader, session: DbSession, state: State | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """Batches newest first: your own as a surveyor, every batch for land officers."""
    return surveys.list_batches(session, actor=actor(request, user), state=state, limit=limit,
                                offset=offset)


@batch_router.get("/{batch_id}")
def get_survey(batch_id: int, request: Request, user: SurveyReader,
               session: DbSession) -> JSONResponse:
    """State, file facts, match counts and findings summary of one batch, with its ETag
    (send it back in If-Match with a decision: a batch changed since answers 412)."""
    summary = surveys.batch_summary(session, actor=actor(request, user), batch_id=batch_id)
    version = surveys.batch_version(session, batch_id=batch_id)
    return JSONResponse(jsonable_encoder({**summary, "version": version}),
                        headers={"ETag": surveys.batch_etag(batch_id, version)})


def _based_on(session: Session, request: Request, user: User, batch_id: int) -> None:
    """A decision sent with If-Match is taken on that version of the batch or not at all."""
    surveys.require_batch_version(session, actor=actor(request, user), batch_id=batch_id,
                                  expected=expected_batch(request, batch_id))


@batch_router.get("/{batch_id}/features")
def survey_features(
    batch_id: int, request: Request, user: SurveyReader, session: DbSession,
    match: Literal["new", "new_version", "conflict"] | None = None,
    limit: Annotated[int, Query(ge=1, le=surveys.MAX_PAGE)] = surveys.MAX_PAGE,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> GeoJSONResponse:
    """The staged features (GeoJSON, WGS 84) with how each matches the registry."""
    return GeoJSONResponse(jsonable_encoder(surveys.batch_features(
        session, actor=actor(request, user), batch_id=batch_id, match=match, limit=limit,
        offset=offset)))


@batch_router.get("/{batch_id}/findings")
def survey_findings(
    batch_id: int, request: Request, user: SurveyReader, session: DbSession,
    severity: Literal["error", "warning", "info"] | None = None,
    rule: Annotated[str | None, Query(max_length=40)] = None,
) -> GeoJSONResponse:
    """Validation findings (GeoJSON, WGS 84), each with the geometry of the problem."""
    return GeoJSONResponse(jsonable_encoder(surveys.batch_findings(
        session, actor=actor(request, user), batch_id=batch_id, severity=severity, rule=rule)))


@batch_router.post("/{batch_id}/validate")
def validate_survey(batch_id: int, request: Request, user: Officer, session: DbSession,
                    settings: SettingsDep) -> dict[str, Any]:
    """Validate an open batch again against the registry as it is now (overrides carry over)."""
    with session.begin():
        _based_on(session, request, user, batch_id)
        return surveys.validate_batch(session, actor=actor(request, user), batch_id=batch_id,
                                      settings=settings)


@batch_router.post("/{batch_id}/findings/{finding_id}/override")
def override_finding(batch_id: int, finding_id: int, body: ReasonIn, request: Request,
                     user: Officer, session: DbSession) -> GeoJSONResponse:
    """Accept one error finding with a reason (land officers)."""
    with session.begin():
        _based_on(session, request, user, batch_id)
        found = surveys.override_finding(session, actor=actor(request, user), batch_id=batch_id,
                                         finding_id=finding_id, reason=body.reason)
    return GeoJSONResponse(jsonable_encoder(found))


@batch_router.post("/{batch_id}/findings/override")
def override_findings(batch_id: int, body: OverridesIn, request: Request, user: Officer,
                      session: DbSession) -> dict[str, Any]:
    """Accept many error findings in one request, all or none (land officers): one reason
    for ``finding_ids``, or ``overrides`` with a reason each.  Answers the batch summary."""
    pairs = body.pairs()
    with session.begin():
        _based_on(session, request, user, batch_id)
        return surveys.override_findings(session, actor=actor(request, user),
                                         batch_id=batch_id, overrides=pairs)


@batch_router.post("/{batch_id}/findings/{finding_id}/amend-neighbour")
def amend_neighbour(batch_id: int, finding_id: int, body: ReasonIn, request: Request,
                    user: Officer, session: DbSession) -> GeoJSONResponse:
    """Settle an overlap with a registered neighbour by amending the neighbour in the
    commit (it gives up the overlap); answers the finding with the neighbour's proposed
    boundary (land officers).  Refused (409) where the neighbour would not stay whole."""
    with session.begin():
        _based_on(session, request, user, batch_id)
        found = surveys.amend_neighbour(session, actor=actor(request, user), batch_id=batch_id,
                                        finding_id=finding_id, reason=body.reason)
    return GeoJSONResponse(jsonable_encoder(found))


@batch_router.post("/{batch_id}/findings/{finding_id}/dispute")
def dispute_finding(batch_id: int, finding_id: int, body: DisputeFindingIn, request: Request,
                    user: Officer, session: DbSession) -> GeoJSONResponse:
    """Settle an overlap the officer cannot decide as a dispute on both parcels; the batch
    waits (its commit refuses) until the finding is settled otherwise (land officers)."""
    with session.begin():
        _based_on(session, request, user, batch_id)
        d, found = disputes.dispute_survey_finding(
            session, actor=actor(request, user), batch_id=batch_id, finding_id=finding_id,
            claimant=body.claimant, description=body.description, respondent=body.respondent,
            opened_on=clock.today())
        found["dispute"] = {"id": d.id, "parcel_ids": list(d.parcel_ids), "state": d.state}
    return GeoJSONResponse(jsonable_encoder(found))


@batch_router.post("/{batch_id}/commit")
def commit_survey(batch_id: int, request: Request, user: Officer, session: DbSession,
                  settings: SettingsDep, body: CommitIn | None = None) -> dict[str, Any]:
    """Write every feature into the registry in one transaction (land officers)."""
    with session.begin():
        _based_on(session, request, user, batch_id)
        return surveys.commit_batch(session, actor=actor(request, user), batch_id=batch_id,
                                    settings=settings, reason=body.reason if body else None)


@batch_router.post("/{batch_id}/reject")
def reject_survey(batch_id: int, body: ReasonIn, request: Request, user: Officer,
                  session: DbSession) -> dict[str, Any]:
    """Close a batch without touching the registry (land officers)."""
    with session.begin():
        _based_on(session, request, user, batch_id)
        return surveys.reject_batch(session, actor=actor(request, user), batch_id=batch_id,
                                    reason=body.reason)


router = APIRouter()
"""Everything above: the one router the app includes."""
router.include_router(upload_router)
router.include_router(batch_router)

"""Long work over HTTP: start a job (202 and its URL), then follow it to its result.

The work itself runs in ``cadastre worker`` (api/jobs.py).  A job is visible to the user
who asked for it and to the ward's land officers and officials; a surveyor sees only their
own (the validation of their upload); to anyone else it is "not found".  Administrators
have no business with land work (403).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api import jobs
from api.deps import DbSession, Id, Officer, SettingsDep, actor, allow
from api.users import User
from db import jobs as records
from projects import reads

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])
JobReader = Annotated[User, Depends(allow("surveyor", "land_officer", "official"))]
ImpactReader = Annotated[User, Depends(allow("land_officer", "official"))]


class WardAuditIn(BaseModel):
    sheet_no: int | None = Field(default=None, gt=0, lt=100_000)
    former_unit: str | None = Field(default=None, max_length=40)


class ImpactIn(BaseModel):
    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$", examples=["RING_ROAD_3"])
    alternative: str | None = Field(default=None, max_length=32)
    version: int | None = Field(default=None, ge=1, le=999_999)
    section: str | None = Field(default=None, max_length=32)
    as_of: datetime | None = None
    include_noise: bool = False


def accepted(job: records.Job) -> JSONResponse:
    """202 Accepted: the job's state now and where to follow it."""
    return JSONResponse(jsonable_encoder(job.to_dict()), status_code=202,
                        headers={"Location": job.to_dict()["href"]})


@router.get("/{job_id}")
def get_job(job_id: Id, user: JobReader, session: DbSession) -> dict[str, Any]:
    """A job's state, progress, and its result or error once it is done."""
    job = records.get(session, job_id=job_id, ward_code=user.ward_code)
    if job.requested_by != user.username and user.role == "surveyor":
        raise records.JobNotFound(f"no job {job_id}", job_id=job_id)
    return job.to_dict()


@router.post("/ward-audit", status_code=202)
def start_ward_audit(body: WardAuditIn, request: Request, user: Officer, session: DbSession,
                     settings: SettingsDep) -> JSONResponse:
    """The topology audit of the whole ward (or one sheet, one former unit) as a job."""
    with session.begin():
        job = jobs.submit(session, settings=settings, actor=actor(request, user),
                          kind="ward_audit", params=body.model_dump(exclude_none=True))
    return accepted(job)


@router.post("/verify-backlog", status_code=202)
def start_verify_backlog(request: Request, user: Officer, session: DbSession,
                         settings: SettingsDep) -> JSONResponse:
    """Verify every received, never verified application (the inherited backlog)."""
    with session.begin():
        job = jobs.submit(session, settings=settings, actor=actor(request, user),
                          kind="verify_backlog", params={})
    return accepted(job)


@router.post("/impact", status_code=202)
def start_impact(body: ImpactIn, request: Request, user: ImpactReader, session: DbSession,
                 settings: SettingsDep) -> JSONResponse:
    """A road project's impact as a job (the same answer as ``GET …/impact``)."""
    with session.begin():
        reads.get_project_row(session, ward_code=user.ward_code, code=body.code)  # 404
        job = jobs.submit(session, settings=settings, actor=actor(request, user),
                          kind="impact", params=body.model_dump(mode="json", exclude_none=True))
    return accepted(job)

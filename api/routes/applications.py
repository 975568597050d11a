"""First-time certificate applications, their statistics and the dispute register over HTTP.

Thin routers: parse, call one domain function of :mod:`certificates`, shape the answer.
Every write is a land officer's (the receiving clerk is one too); officials read
statistics; surveyors and administrators are refused (403) by the role declarations.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.concurrency import expected_number
from api.deps import DbSession, Id, Officer, SettingsDep, actor, allow
from api.users import User
from certificates import applications as apps
from certificates import disputes, stats
from certificates.rules import load_settings
from certificates.schemas import (
    ApplicationIn,
    DecisionIn,
    DisputeIn,
    DisputeStateIn,
    FieldCheckIn,
    IssueIn,
    ResumeIn,
    SupplementIn,
    application_out,
    dispute_out,
    report_out,
)

applications = APIRouter(prefix="/api/v1/applications", tags=["applications"])
statistics = APIRouter(prefix="/api/v1/stats", tags=["statistics"])
register = APIRouter(prefix="/api/v1/disputes", tags=["disputes"])
Clerk = Officer
"""The one-stop desk's receiving clerk acts as a land officer."""
StatsReader = Annotated[User, Depends(allow("land_officer", "official"))]


@applications.post("", status_code=201)
def receive(body: ApplicationIn, request: Request, user: Clerk,
            session: DbSession) -> JSONResponse:
    """Record a file at the desk: 201 with its id and statutory due date."""
    with session.begin():
        app = apps.receive(session, actor=actor(request, user), intake=body.to_intake())
        out = application_out(app)
    return JSONResponse(out, status_code=201,
                        headers={"Location": f"/api/v1/applications/{app.id}"})


@applications.get("")
def list_applications(
    request: Request, user: Officer, session: DbSession,
    state: Annotated[str | None, Query(description="received, verifying, …")] = None,
    procedure: Annotated[str | None, Query()] = None,
    overdue: Annotated[bool, Query(description="pending with the due date passed")] = False,
    due_within: Annotated[int | None, Query(ge=0, le=60,
                                            description="due within N working days")] = None,
    received_from: Annotated[date | None, Query()] = None,
    received_to: Annotated[date | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """The queue, filtered; overdue and due-soon lists are ordered by due date."""
    page = apps.list_applications(
        session, ward_code=user.ward_code, state=state, procedure=procedure, overdue=overdue,
        due_within=due_within, received_from=received_from, received_to=received_to,
        limit=limit, offset=offset)
    links = []
    if page.has_more:
        links.append({"rel": "next",
                      "href": str(request.url.include_query_params(offset=offset + limit))})
    return {"items": [application_out(a, with_geometry=False) for a in page.items],
            "count": len(page.items), "links": links}


@applications.get("/{application_id}")
def get_application(application_id: Id, user: Officer, session: DbSession) -> JSONResponse:
    """One application with its claim (GeoJSON, WGS 84) and its state history."""
    app = apps.get(session, ward_code=user.ward_code, application_id=application_id)
    out = application_out(app)
    events = apps.events(session, application_id=app.id)
    out["events"] = [{"action": e.action, "from": e.from_state, "to": e.to_state,
                      "at": e.at.isoformat(), "by": e.actor, "reason": e.reason,
                      "detail": e.detail} for e in events]
    out["version"] = len(events)
    return JSONResponse(jsonable_encoder(out),
                        headers={"ETag": apps.application_etag(app.id, len(events))})


def _based_on(session: Session, request: Request, user: User, application_id: int) -> None:
    """An act sent with If-Match acts on that version of the application or not at all
    (412 with the current one); the locks it takes hold until the act commits."""
    apps.require_version(session, actor=actor(request, user), application_id=application_id,
                         expected=expected_number(request, f"application-{application_id}-r"))


@applications.post("/{application_id}/verify", status_code=201)
def verify(application_id: Id, request: Request, user: Officer, session: DbSession,
           settings: SettingsDep) -> dict[str, Any]:
    """Check the claim against the registry now; a new report is stored."""
    with session.begin():
        _based_on(session, request, user, application_id)
        report = apps.verify(session, actor=actor(request, user), application_id=application_id,
                             settings=load_settings(settings.data.rules_file))
        return report_out(report)


@applications.get("/{application_id}/reports")
def list_reports(application_id: Id, user: Officer, session: DbSession) -> dict[str, Any]:
    """Every verification report of the application, newest first."""
    found = apps.reports(session, ward_code=user.ward_code, application_id=application_id)
    return {"items": [report_out(r) for r in found], "count": len(found)}


@applications.post("/{application_id}/field-check", status_code=201)
def field_check(application_id: Id, body: FieldCheckIn, request: Request, user: Officer,
                session: DbSession, settings: SettingsDep) -> dict[str, Any]:
    """Record the field check (a corrected boundary replaces the claim); re-verifies."""
    with session.begin():
        _based_on(session, request, user, application_id)
        report = apps.record_field_check(session, actor=actor(request, user),
                                         application_id=application_id, check=body.to_check(),
                                         settings=load_settings(settings.data.rules_file))
        return report_out(report)


@applications.post("/{application_id}/decision")
def decide(application_id: Id, body: DecisionIn, request: Request, user: Officer,
           session: DbSession, settings: SettingsDep) -> dict[str, Any]:
    """Approve (parcel version, use right, certificate; 409 on a registry conflict) or reject."""
    with session.begin():
        _based_on(session, request, user, application_id)
        app = apps.decide(session, actor=actor(request, user), application_id=application_id,
                          decision=body.to_decision(),
                          settings=load_settings(settings.data.rules_file))
        return application_out(app)


@applications.post("/{application_id}/request-supplement")
def request_supplement(application_id: Id, body: SupplementIn, request: Request,
                       user: Officer, session: DbSession) -> dict[str, Any]:
    """Ask the applicant for more; the statutory clock stops."""
    with session.begin():
        _based_on(session, request, user, application_id)
        app = apps.request_supplement(session, actor=actor(request, user),
                                      application_id=application_id, reason=body.reason,
                                      documents=body.documents)
        return application_out(app, with_geometry=False)


@applications.post("/{application_id}/supplement-received")
def supplement_received(application_id: Id, body: ResumeIn, request: Request, user: Officer,
                        session: DbSession) -> dict[str, Any]:
    """The file is complete again: the clock restarts and the due date moves."""
    with session.begin():
        _based_on(session, request, user, application_id)
        app = apps.supplement_received(session, actor=actor(request, user),
                                       application_id=application_id, note=body.note,
                                       documents=body.documents)
        return application_out(app, with_geometry=False)


@applications.post("/{application_id}/issue")
def issue(application_id: Id, body: IssueIn, request: Request, user: Officer,
          session: DbSession) -> dict[str, Any]:
    """The certificate was handed over: the file is closed."""
    with session.begin():
        _based_on(session, request, user, application_id)
        app = apps.issue_certificate(session, actor=actor(request, user),
                                     application_id=application_id, note=body.note)
        return application_out(app, with_geometry=False)


@statistics.get("/applications")
def application_stats(
    user: StatsReader, session: DbSession,
    date_from: Annotated[date, Query(alias="from", description="first day received")],
    date_to: Annotated[date, Query(alias="to", description="last day received")],
) -> dict[str, Any]:
    """Received, online share, finished on time / late, pending, overdue, by procedure."""
    return stats.application_stats(session, ward_code=user.ward_code, date_from=date_from,
                                   date_to=date_to).as_dict()


@register.post("", status_code=201)
def open_dispute(body: DisputeIn, request: Request, user: Officer,
                 session: DbSession) -> dict[str, Any]:
    """Enter a dispute over parcels; verification reports it while it is open."""
    with session.begin():
        d = disputes.open_dispute(session, actor=actor(request, user), parcel_ids=body.parcel_ids,
                                  claimant=body.claimant, respondent=body.respondent,
                                  description=body.description, opened_on=body.opened_on)
        return dispute_out(d)


@register.get("")
def list_disputes(user: Officer, session: DbSession,
                  open_only: bool = True, parcel_id: int | None = None) -> dict[str, Any]:
    found = disputes.list_disputes(session, ward_code=user.ward_code, open_only=open_only,
                                   parcel_id=parcel_id)
    return {"items": [dispute_out(d) for d in found], "count": len(found)}


@register.post("/{dispute_id}/state")
def set_dispute_state(dispute_id: Id, body: DisputeStateIn, request: Request, user: Officer,
                      session: DbSession) -> dict[str, Any]:
    """Mediation, or closed (resolved, withdrawn) on a day."""
    with session.begin():
        d = disputes.set_state(session, actor=actor(request, user), dispute_id=dispute_id,
                               state=body.state, on=body.on, reason=body.reason)
        return dispute_out(d)


router = APIRouter()
router.include_router(applications)
router.include_router(statistics)
router.include_router(register)

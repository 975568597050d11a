"""First-time certificate applications, their statistics and the dispute register over HTTP.

Thin routers: parse, call one domain function of :mod:`certificates`, shape the answer.
Every write is a land officer's (the receiving clerk is one too); officials read
statistics; surveyors and administrators are refused (403) by the role declarations.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.concurrency import expected_number
from api.deps import DbSession, Id, Officer, SettingsDep, actor, allow
from api.users import User
from certificates import applications as apps
from certificates import backlog, disputes, stats
from certificates.rules import load_settings
from certificates.schemas import (
    ApplicationIn,
    ClockStopIn,
    ComplaintIn,
    DecisionIn,
    DisputeIn,
    DisputeStateIn,
    EligibilityIn,
    EvidenceIn,
    FieldCheckIn,
    IssueIn,
    NoteIn,
    ObligationsIn,
    PostingIn,
    ResumeIn,
    SettleIn,
    SupplementIn,
    SurveyOrderIn,
    SurveyReceivedIn,
    TaxInfoIn,
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
AppRef = Annotated[str, Path(min_length=1, max_length=60, pattern=r"^[0-9A-Za-z][0-9A-Za-z._/-]*$",
                             description="the application's id, or the desk's receipt number "
                             "(A000001, 000.00.19.H57-250701-0001): digits only is an id")]
"""An application wherever one is named: by id or by receipt number."""


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
    origin: Annotated[str | None, Query(description="desk or inherited")] = None,
    sort: Annotated[str | None, Query(description="id, due (most overdue first) or "
                                      "received")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """The queue, filtered: ``total`` files match, ``count`` are on this page; each item
    carries its working days left and overdue.  Overdue and due-soon lists are sorted by due
    date, the most overdue first."""
    page = apps.list_applications(
        session, ward_code=user.ward_code, state=state, procedure=procedure, overdue=overdue,
        due_within=due_within, received_from=received_from, received_to=received_to,
        origin=origin, sort=sort, limit=limit, offset=offset)
    links = []
    if page.has_more:
        links.append({"rel": "next",
                      "href": str(request.url.include_query_params(offset=offset + limit))})
    return {"items": [application_out(a, with_geometry=False, clock=page.clocks[a.id])
                      for a in page.items],
            "total": page.total, "count": len(page.items), "offset": offset, "links": links}


@applications.get("/triage")
def triage(user: Officer, session: DbSession,
           origin: Annotated[str, Query(description="desk or inherited")] = "inherited",
           ) -> dict[str, Any]:
    """The latest verdict of each pending file of an origin, its first rule and age in
    working days, worst first (``cadastre applications verify-all`` stores the verdicts)."""
    return backlog.triage(session, ward_code=user.ward_code, origin=origin).as_dict()


@applications.get("/{application_id}")
def get_application(application_id: AppRef, user: Officer, session: DbSession) -> JSONResponse:
    """One application with its claim (GeoJSON, WGS 84), its clock and its state history;
    the ETag names its version (send it back as If-Match with an act)."""
    app = apps.get(session, ward_code=user.ward_code, application_id=application_id)
    out = application_out(app, clock=apps.clock_of(session, app))
    out["complaints"] = apps.complaints(session, app)
    out["origin_assessment"] = apps.origin_assessment(session, app).as_dict()
    events = apps.events(session, application_id=app.id)
    out["events"] = [{"action": e.action, "from": e.from_state, "to": e.to_state,
                      "at": e.at.isoformat(), "by": e.actor, "reason": e.reason,
                      "detail": e.detail} for e in events]
    out["version"] = len(events)
    return JSONResponse(jsonable_encoder(out),
                        headers={"ETag": apps.application_etag(app.id, len(events))})


def _based_on(session: Session, request: Request, user: User, application_id: int | str) -> None:
    """An act sent with If-Match acts on that version of the application or not at all
    (412 with the current one); the locks it takes hold until the act commits.  A receipt
    number is resolved to the id the ETag names."""
    if request.headers.get("if-match") is None:
        return
    app_id = application_id if isinstance(application_id, int) else apps.get(
        session, ward_code=user.ward_code, application_id=application_id).id
    apps.require_version(session, actor=actor(request, user), application_id=app_id,
                         expected=expected_number(request, f"application-{app_id}-r"))


@applications.post("/{application_id}/verify", status_code=201)
def verify(application_id: AppRef, request: Request, user: Officer, session: DbSession,
           settings: SettingsDep) -> dict[str, Any]:
    """Check the claim against the registry now; a new report is stored."""
    with session.begin():
        _based_on(session, request, user, application_id)
        report = apps.verify(session, actor=actor(request, user), application_id=application_id,
                             settings=load_settings(settings.data.rules_file))
        return report_out(report)


@applications.get("/{application_id}/reports")
def list_reports(application_id: AppRef, user: Officer, session: DbSession) -> dict[str, Any]:
    """Every verification report of the application, newest first."""
    found = apps.reports(session, ward_code=user.ward_code, application_id=application_id)
    return {"items": [report_out(r) for r in found], "count": len(found)}


@applications.post("/{application_id}/field-check", status_code=201)
def field_check(application_id: AppRef, body: FieldCheckIn, request: Request, user: Officer,
                session: DbSession, settings: SettingsDep) -> dict[str, Any]:
    """Record the field check (a corrected boundary replaces the claim); re-verifies."""
    with session.begin():
        _based_on(session, request, user, application_id)
        report = apps.record_field_check(session, actor=actor(request, user),
                                         application_id=application_id, check=body.to_check(),
                                         settings=load_settings(settings.data.rules_file))
        return report_out(report)


@applications.post("/{application_id}/decision")
def decide(application_id: AppRef, body: DecisionIn, request: Request, user: Officer,
           session: DbSession, settings: SettingsDep) -> dict[str, Any]:
    """Approve (parcel version, use right, certificate; 409 on a registry conflict) or reject."""
    with session.begin():
        _based_on(session, request, user, application_id)
        app = apps.decide(session, actor=actor(request, user), application_id=application_id,
                          decision=body.to_decision(),
                          settings=load_settings(settings.data.rules_file))
        return application_out(app)


@applications.post("/{application_id}/request-supplement")
def request_supplement(application_id: AppRef, body: SupplementIn, request: Request,
                       user: Officer, session: DbSession) -> dict[str, Any]:
    """Ask the applicant for more; the statutory clock stops."""
    with session.begin():
        _based_on(session, request, user, application_id)
        app = apps.request_supplement(session, actor=actor(request, user),
                                      application_id=application_id, reason=body.reason,
                                      documents=body.documents)
        return application_out(app, with_geometry=False, clock=apps.clock_of(session, app))


@applications.post("/{application_id}/supplement-received")
def supplement_received(application_id: AppRef, body: ResumeIn, request: Request, user: Officer,
                        session: DbSession) -> dict[str, Any]:
    """The file is complete again: the clock restarts and the due date moves."""
    with session.begin():
        _based_on(session, request, user, application_id)
        app = apps.supplement_received(session, actor=actor(request, user),
                                       application_id=application_id, note=body.note,
                                       documents=body.documents)
        return application_out(app, with_geometry=False, clock=apps.clock_of(session, app))


@applications.post("/{application_id}/issue")
def issue(application_id: AppRef, body: IssueIn, request: Request, user: Officer,
          session: DbSession) -> dict[str, Any]:
    """The certificate was handed over: the file is closed."""
    with session.begin():
        _based_on(session, request, user, application_id)
        app = apps.issue_certificate(session, actor=actor(request, user),
                                     application_id=application_id, note=body.note)
        return application_out(app, with_geometry=False)


def _act(session: DbSession, request: Request, user: User, fn: Any, *,
         application_id: int | str, **kw: Any) -> dict[str, Any]:
    """Run one act in a transaction (on the version If-Match names, when sent) and answer
    the application with its clock."""
    with session.begin():
        _based_on(session, request, user, application_id)
        app = fn(session, actor=actor(request, user), application_id=application_id, **kw)
        return application_out(app, with_geometry=False, clock=apps.clock_of(session, app))


@applications.post("/{application_id}/survey/order")
def order_survey(application_id: AppRef, body: SurveyOrderIn, request: Request, user: Officer,
                 session: DbSession) -> dict[str, Any]:
    """Order the survey extract from a licensed surveyor (due in 5 working days)."""
    return _act(session, request, user, apps.order_survey,
                application_id=application_id, surveyor=body.surveyor, reason=body.reason)


@applications.post("/{application_id}/survey/received", status_code=201)
def survey_received(application_id: AppRef, body: SurveyReceivedIn, request: Request,
                    user: Officer, session: DbSession, settings: SettingsDep) -> dict[str, Any]:
    """The survey extract is back (its boundary replaces the claim): verified again."""
    with session.begin():
        _based_on(session, request, user, application_id)
        report = apps.survey_received(
            session, actor=actor(request, user), application_id=application_id,
            surveyor=body.surveyor, extract_no=body.extract_no,
            geometry=body.geometry.to_shape() if body.geometry else None, srid=body.srid,
            settings=load_settings(settings.data.rules_file))
        return report_out(report)


@applications.post("/{application_id}/evidence", status_code=201)
def add_evidence(application_id: AppRef, body: EvidenceIn, request: Request, user: Officer,
                 session: DbSession) -> dict[str, Any]:
    """Record a dated document of origin or stable use."""
    with session.begin():
        _based_on(session, request, user, application_id)
        app = apps.add_evidence(session, actor=actor(request, user),
                                application_id=application_id, evidence=body.to_evidence())
        return {"application_id": app.id,
                "origin_assessment": apps.origin_assessment(session, app).as_dict()}


@applications.post("/{application_id}/posting")
def open_posting(application_id: AppRef, body: PostingIn, request: Request, user: Officer,
                 session: DbSession) -> dict[str, Any]:
    """Post the result publicly (form 17): 15 calendar days outside the count."""
    return _act(session, request, user, apps.open_posting,
                application_id=application_id, place=body.place)


@applications.post("/{application_id}/posting/close")
def close_posting(application_id: AppRef, body: NoteIn, request: Request, user: Officer,
                  session: DbSession) -> dict[str, Any]:
    """End the posting (after its 15th day, every complaint settled)."""
    return _act(session, request, user, apps.close_posting,
                application_id=application_id, note=body.note)


@applications.post("/{application_id}/complaints", status_code=201)
def record_complaint(application_id: AppRef, body: ComplaintIn, request: Request,
                     user: Officer, session: DbSession) -> dict[str, Any]:
    """A complaint received during the posting."""
    with session.begin():
        _based_on(session, request, user, application_id)
        app = apps.record_complaint(session, actor=actor(request, user),
                                    application_id=application_id,
                                    complainant=body.complainant, text=body.text)
        return {"application_id": app.id, "complaints": apps.complaints(session, app)}


@applications.post("/{application_id}/complaints/{complaint_no}/settle")
def settle_complaint(application_id: AppRef, complaint_no: Annotated[int, Path(ge=1, le=1000)],
                     body: SettleIn, request: Request, user: Officer,
                     session: DbSession) -> dict[str, Any]:
    """How a complaint was settled."""
    with session.begin():
        _based_on(session, request, user, application_id)
        app = apps.settle_complaint(session, actor=actor(request, user),
                                    application_id=application_id, complaint_no=complaint_no,
                                    outcome=body.outcome, upheld=body.upheld)
        return {"application_id": app.id, "complaints": apps.complaints(session, app)}


@applications.post("/{application_id}/eligibility")
def decide_eligibility(application_id: AppRef, body: EligibilityIn, request: Request,
                       user: Officer, session: DbSession) -> dict[str, Any]:
    """Eligible for a certificate, or not (form 16; not eligible rejects the file)."""
    return _act(session, request, user, apps.decide_eligibility,
                application_id=application_id, eligible=body.eligible, reason=body.reason,
                override_warnings=body.override_warnings)


@applications.post("/{application_id}/tax-info")
def send_tax_info(application_id: AppRef, body: TaxInfoIn, request: Request, user: Officer,
                  session: DbSession) -> dict[str, Any]:
    """Send the tax information (form 19): the clock stops for the financial obligations."""
    return _act(session, request, user, apps.send_tax_info,
                application_id=application_id, tax_office=body.tax_office, note=body.note)


@applications.post("/{application_id}/obligations-met")
def obligations_met(application_id: AppRef, body: ObligationsIn, request: Request,
                    user: Officer, session: DbSession) -> dict[str, Any]:
    """The applicant paid (receipt) or is exempt: the clock runs again."""
    return _act(session, request, user, apps.obligations_met,
                application_id=application_id, receipt=body.receipt,
                exempt_reason=body.exempt_reason)


@applications.post("/{application_id}/clock/stop")
def stop_clock(application_id: AppRef, body: ClockStopIn, request: Request, user: Officer,
               session: DbSession) -> dict[str, Any]:
    """Stop the clock for violation handling, expert assessment or inheritance division."""
    return _act(session, request, user, apps.stop_clock,
                application_id=application_id, kind=body.kind, reason=body.reason)


@applications.post("/{application_id}/clock/resume")
def resume_clock(application_id: AppRef, body: NoteIn, request: Request, user: Officer,
                 session: DbSession) -> dict[str, Any]:
    """The excluded period is over: the clock runs again."""
    return _act(session, request, user, apps.resume_clock,
                application_id=application_id, note=body.note)


@statistics.get("/applications")
def application_stats(
    user: StatsReader, session: DbSession,
    date_from: Annotated[date, Query(alias="from", description="first day received")],
    date_to: Annotated[date, Query(alias="to", description="last day received")],
    origin: Annotated[str | None, Query(description="desk or inherited (both when not "
                                        "given)")] = None,
) -> dict[str, Any]:
    """Received, online share, returned on time / late, pending, overdue, by procedure."""
    return stats.application_stats(session, ward_code=user.ward_code, date_from=date_from,
                                   date_to=date_to, origin=origin).as_dict()


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

"""The land officer's pages: the application queue, receiving a file, one application.

Thin like the API's routers: read the form, call one domain function of
:mod:`certificates`, show the page.  An action the state does not allow is not shown, and
the domain function refuses it anyway (the page then says why, with the status the API
would give).  Every action redirects back to the application (303, so a reload does not
repeat it) with a note of what was done.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from shapely.geometry import shape
from sqlalchemy.orm import Session

from api.deps import DbSession, Id, SettingsDep, actor
from api.errors import status_for
from api.users import User
from api.web import sketch
from api.web.access import form_user, page_user
from api.web.errors import PageRoute, message_for
from api.web.render import frame, parse_day, render, svg, translator
from api.web.uploads import CRS_CHOICES, given, read_claim
from certificates import applications as apps
from certificates import queue as q
from certificates.deadlines import calendar
from certificates.errors import InvalidApplication
from config import clock
from config.settings import Settings
from gis import crs as gcrs
from gis.convert import from_db
from gis.errors import DomainError
from parcels import queries, surveys
from parcels.ward import former_units

router = APIRouter(include_in_schema=False, route_class=PageRoute)
Officer = Annotated[User, Depends(page_user("land_officer"))]
OfficerForm = Annotated[User, Depends(form_user("land_officer"))]
Text = Annotated[str | None, Query(max_length=200)]
NEIGHBOUR_REACH_M = 40.0
"""How far around a claim the sketch shows registered parcels."""
DONE = {
    "verify": ("Đã kiểm tra tự động; báo cáo mới ở dưới.", "Verified; the new report is below."),
    "field_check": ("Đã ghi kết quả kiểm tra thực địa và kiểm tra lại.",
                    "Field check recorded and verified again."),
    "request_supplement": ("Đã yêu cầu bổ sung; thời hạn tạm dừng.",
                           "Supplement requested; the statutory clock is stopped."),
    "supplement_received": ("Đã nhận bổ sung; thời hạn tính tiếp.",
                            "Supplement received; the clock runs again."),
    "open_posting": ("Đã niêm yết công khai; thời hạn tạm dừng trong thời gian niêm yết.",
                     "Posted publicly; the clock stands still while it is posted."),
    "close_posting": ("Đã kết thúc niêm yết.", "The posting is closed."),
    "eligibility": ("Đã ghi kết luận đủ điều kiện (mẫu 16).",
                    "The eligibility conclusion (form 16) is recorded."),
    "tax_info": ("Đã gửi thông tin địa chính cho cơ quan thuế (mẫu 19); thời hạn tạm dừng.",
                 "Tax information sent (form 19); the clock stands still."),
    "obligations_met": ("Đã ghi nhận hoàn thành nghĩa vụ tài chính; thời hạn tính tiếp.",
                        "Financial obligations met; the clock runs again."),
    "approve": ("Đã phê duyệt: thửa đất và quyền sử dụng đã được ghi vào sổ.",
                "Approved: the parcel and the use right are in the registry."),
    "reject": ("Đã từ chối hồ sơ.", "The application was rejected."),
    "issue": ("Đã trao giấy chứng nhận; hồ sơ đã đóng.", "Certificate issued; the file is closed."),
    "received": ("Đã tiếp nhận hồ sơ.", "The application was received."),
}


# ----------------------------------------------------------------------- form values


def _opt(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def _date(value: str | None, name: str) -> date | None:
    try:
        return parse_day(value)
    except ValueError as exc:
        raise InvalidApplication(f"{name}: {value!r} is not a date (dd/mm/yyyy)", field=name,
                                 vi=f"Ngày không hợp lệ: {value} (nhập dd/mm/yyyy)") from exc


def _int(value: str | None, name: str) -> int | None:
    value = _opt(value)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise InvalidApplication(f"{name}: {value!r} is not a whole number", field=name) from exc


def _float(value: str | None, name: str) -> float | None:
    value = _opt(value)
    if value is None:
        return None
    try:
        return float(value.replace(",", "."))
    except ValueError as exc:
        raise InvalidApplication(f"{name}: {value!r} is not a number", field=name) from exc


# ---------------------------------------------------------------------------- queue


@router.get("/applications", response_class=HTMLResponse)
def queue_page(request: Request, user: Officer, session: DbSession, settings: SettingsDep,
               state: Text = None, overdue: Text = None, due_within: Text = None,
               channel: Text = None, procedure: Text = None, received_from: Text = None,
               received_to: Text = None, text: Text = None, sort: Text = None,
               dir: Text = None, after: Text = None, before: Text = None) -> Response:
    """The queue, filtered and sorted; pages move by position (stable while files arrive)."""
    filters = q.QueueFilter(
        state=_opt(state), overdue=bool(_opt(overdue)), due_within=_int(due_within, "due_within"),
        channel=_opt(channel), procedure=_opt(procedure),
        received_from=_date(received_from, "received_from"),
        received_to=_date(received_to, "received_to"), text=_opt(text))
    sort_by = _opt(sort) or "due"
    descending = _opt(dir) == "desc"
    page = q.queue(session, ward_code=user.ward_code, filters=filters, sort=sort_by,
                   descending=descending, after=_opt(after), before=_opt(before))
    kept = {k: v for k, v in (("state", filters.state), ("overdue", "1" if filters.overdue
                                                            else None),
                              ("due_within", _opt(due_within)), ("channel", filters.channel),
                              ("procedure", filters.procedure),
                              ("received_from", _opt(received_from)),
                              ("received_to", _opt(received_to)), ("text", filters.text))
            if v}

    def link(**changes: str | None) -> str:
        values = {**kept, "sort": sort_by, "dir": "desc" if descending else "asc", **changes}
        return "/applications?" + urlencode({k: v for k, v in values.items() if v})

    return render(request, "queue.html", frame=frame(session, settings, user), page=page,
                  link=link,
                  filters=filters, raw=kept, sort=sort_by, descending=descending,
                  states=[*apps.PENDING, *apps.FINISHED], procedures=apps.PROCEDURES,
                  channels=apps.CHANNELS, sorts=list(q.SORTS))


# -------------------------------------------------------------------------- receive


def _receive_form(request: Request, session: Session, settings: Settings, user: User, *,
                  status: int = 200, error: str | None = None,
                  values: dict[str, Any] | None = None) -> HTMLResponse:
    batches = surveys.list_batches(session, actor=actor(request, user), limit=50)
    return render(request, "receive.html", frame=frame(session, settings, user), status=status,
                  error=error, values=values or {}, procedures=apps.PROCEDURES,
                  channels=apps.CHANNELS, crs_choices=CRS_CHOICES,
                  units=sorted(former_units(session, user.ward_code).items()),
                  batches=[b for b in batches if b["state"] in ("validated", "committed")])


@router.get("/applications/new", response_class=HTMLResponse)
def receive_page(request: Request, user: Officer, session: DbSession,
                 settings: SettingsDep) -> Response:
    """The one-stop desk's form for a new file."""
    return _receive_form(request, session, settings, user)


def _batch_feature(session: Session, user: User, request: Request, batch: int,
                   feature: int) -> dict[str, Any]:
    found = surveys.batch_features(session, actor=actor(request, user), batch_id=batch)
    for f in found["features"]:
        if f["id"] == feature:
            return dict(f)
    raise InvalidApplication(f"survey batch {batch} has no feature {feature}",
                             field="batch_feature")


@router.post("/applications/new")
def receive(request: Request, user: OfficerForm, session: DbSession, settings: SettingsDep,
            applicant_name: Annotated[str, Form(max_length=200)],
            channel: Annotated[str, Form(max_length=20)],
            procedure: Annotated[str, Form(max_length=40)] = "first_certificate",
            applicant_id_number: Annotated[str | None, Form(max_length=40)] = None,
            applicant_address: Annotated[str | None, Form(max_length=500)] = None,
            declared_area: Annotated[str | None, Form(max_length=20)] = None,
            declared_land_use: Annotated[str | None, Form(max_length=20)] = None,
            former_unit: Annotated[str | None, Form(max_length=40)] = None,
            sheet_no: Annotated[str | None, Form(max_length=10)] = None,
            parcel_no: Annotated[str | None, Form(max_length=10)] = None,
            application_key: Annotated[str | None, Form(max_length=60)] = None,
            documents: Annotated[str | None, Form(max_length=5000)] = None,
            source: Annotated[str, Form(max_length=10)] = "file",
            crs: Annotated[str | None, Form(max_length=10)] = None,
            batch_id: Annotated[str | None, Form(max_length=20)] = None,
            feature_no: Annotated[str | None, Form(max_length=20)] = None,
            geometry_file: Annotated[UploadFile | None, File()] = None) -> Response:
    """Receive a file: the claim from an uploaded boundary or a survey batch's feature."""
    values = {k: v for k, v in locals().items() if isinstance(v, str)}
    try:
        geometry, srid, batch = None, gcrs.WARD, None
        if source == "batch" and _opt(batch_id):
            batch = _int(batch_id, "batch_id")
            number = _int(feature_no, "feature_no")
            if batch is None or number is None:
                raise InvalidApplication("choose the survey batch and the feature number",
                                         field="feature_no")
            geometry = shape(_batch_feature(session, user, request, batch, number)["geometry"])
            srid = gcrs.WGS84
        elif given(geometry_file):
            assert geometry_file is not None
            geometry = read_claim(geometry_file, crs=_opt(crs), settings=settings)
        intake = apps.Intake(
            procedure=procedure, applicant_name=applicant_name, channel=channel,
            declared_area=_float(declared_area, "declared_area"),
            declared_land_use=_opt(declared_land_use), geometry=geometry, srid=srid,
            applicant_id_number=_opt(applicant_id_number),
            applicant_address=_opt(applicant_address), former_unit=_opt(former_unit),
            sheet_no=_int(sheet_no, "sheet_no"), parcel_no=_int(parcel_no, "parcel_no"),
            documents=[d.strip() for d in (documents or "").splitlines() if d.strip()],
            application_key=_opt(application_key), survey_batch_id=batch)
        with session.begin():
            app = apps.receive(session, actor=actor(request, user), intake=intake)
            app_id = app.id
    except DomainError as exc:
        session.rollback()
        return _receive_form(request, session, settings, user, status=status_for(exc),
                             error=message_for(request, exc), values=values)
    return RedirectResponse(f"/applications/{app_id}?done=received", status_code=303)


# ---------------------------------------------------------------------- application


def _allowed(app: Any, verdict: str | None) -> dict[str, bool]:
    """The actions the state allows (the domain functions check again)."""
    def may(action: str) -> bool:
        return app.state in apps.TRANSITIONS[action][0]

    return {
        "verify": may("verify") and app.geom is not None,
        "field_check": may("field_check"),
        "request_supplement": may("request_supplement"),
        "supplement_received": may("supplement_received"),
        "approve": may("approve") and app.procedure == "first_certificate"
        and verdict in ("pass", "review"),
        "reject": may("reject"),
        "issue": may("issue_certificate"),
        "open_posting": may("open_posting") and app.procedure == "first_certificate",
        "close_posting": may("close_posting"),
        "eligibility": may("decide_eligibility"),
        "tax_info": may("send_tax_info"),
        "obligations_met": may("obligations_met"),
    }


def _wgs84_to_ward(geojson: dict[str, Any] | None) -> Any:
    if not geojson:
        return None
    return gcrs.to_ward(shape(geojson), gcrs.WGS84)


def _sketch(session: Session, user: User, claim: Any, findings: list[dict[str, Any]],
            t: Any) -> str:
    """The claim, the registered parcels around it and each finding's geometry."""
    if claim is None or claim.is_empty:
        return ""
    reach = claim.buffer(NEIGHBOUR_REACH_M).envelope
    bbox = gcrs.to_wgs84(reach, gcrs.WARD).bounds
    near = queries.list_parcels(session, ward_code=user.ward_code, bbox=bbox, limit=300).items
    layers = [
        sketch.Layer("neighbour", [p.geometry for p in near],
                     labels=[str(p.parcel_no) for p in near],
                     titles=[f"{t('Tờ', 'Sheet')} {p.sheet_no} {t('thửa', 'parcel')} "
                             f"{p.parcel_no} ({p.land_use})" for p in near],
                     links=[f"/parcels/{p.parcel_id}" for p in near]),
        sketch.Layer("claim", [claim], titles=[t("Thửa đề nghị cấp GCN", "Claimed parcel")]),
    ]
    for i, f in enumerate(findings, start=1):
        geom = _wgs84_to_ward(f.get("geometry"))
        if geom is not None:
            layers.append(sketch.Layer(f"finding finding-{f.get('severity', 'info')}", [geom],
                                       labels=[str(i)], titles=[f"{i}. {f.get('rule', '')}"]))
    return sketch.draw(layers, title=t("Sơ đồ thửa đề nghị, thửa lân cận và các phát hiện",
                                       "Sketch of the claim, its neighbours and the findings"),
                       focus=claim.buffer(NEIGHBOUR_REACH_M / 2))


def _application_page(request: Request, session: Session, settings: Settings, user: User,
                      application_id: int, *, status: int = 200, error: str | None = None,
                      failed_action: str | None = None, done: str | None = None) -> HTMLResponse:
    app = apps.get(session, ward_code=user.ward_code, application_id=application_id)
    events = apps.events(session, application_id=app.id)
    report = apps.latest_report(session, app)
    findings = list(report.findings) if report is not None else []
    fr = frame(session, settings, user)
    t = translator(fr.lang)
    claim = from_db(app.geom)
    cal = calendar()
    days_left = q.days_left(cal, app.state, app.due_on, cal.local_date(clock.now()))
    note = DONE.get(done or "")
    return render(
        request, "application.html", frame=fr, status=status, app=app, events=events,
        report=report, findings=findings, days_left=days_left,
        sketch=svg(_sketch(session, user, claim, findings, t)),
        allowed=_allowed(app, report.verdict if report else None), error=error,
        failed_action=failed_action, notice=t(*note) if note else None,
        crs_choices=CRS_CHOICES, claimed_area=claim.area if claim is not None else None)


@router.get("/applications/{application_id}", response_class=HTMLResponse)
def application_page(request: Request, application_id: Id, user: Officer, session: DbSession,
                     settings: SettingsDep,
                     done: Annotated[str | None, Query(max_length=40)] = None) -> Response:
    """The file: applicant, documents, timeline, latest report beside the sketch, actions."""
    return _application_page(request, session, settings, user, application_id, done=done)


def _act(request: Request, session: Session, settings: Settings, user: User,
         application_id: int, action: str, write: Any) -> Response:
    """Run one action in a transaction; on a refusal show the page with the reason."""
    try:
        with session.begin():
            write(actor(request, user))
    except DomainError as exc:
        session.rollback()
        return _application_page(request, session, settings, user, application_id,
                                 status=status_for(exc), error=message_for(request, exc),
                                 failed_action=action)
    return RedirectResponse(f"/applications/{application_id}?done={action}#top",
                            status_code=303)


@router.post("/applications/{application_id}/verify")
def verify(request: Request, application_id: Id, user: OfficerForm, session: DbSession,
           settings: SettingsDep) -> Response:
    return _act(request, session, settings, user, application_id, "verify",
                lambda who: apps.verify(session, actor=who, application_id=application_id))


@router.post("/applications/{application_id}/request-supplement")
def request_supplement(request: Request, application_id: Id, user: OfficerForm,
                       session: DbSession, settings: SettingsDep,
                       reason: Annotated[str, Form(max_length=5000)],
                       documents: Annotated[str | None, Form(max_length=5000)] = None
                       ) -> Response:
    docs = [d.strip() for d in (documents or "").splitlines() if d.strip()]
    return _act(request, session, settings, user, application_id, "request_supplement",
                lambda who: apps.request_supplement(session, actor=who,
                                                    application_id=application_id,
                                                    reason=reason, documents=docs))


@router.post("/applications/{application_id}/supplement-received")
def supplement_received(request: Request, application_id: Id, user: OfficerForm,
                        session: DbSession, settings: SettingsDep,
                        note: Annotated[str | None, Form(max_length=5000)] = None,
                        documents: Annotated[str | None, Form(max_length=5000)] = None
                        ) -> Response:
    docs = [d.strip() for d in (documents or "").splitlines() if d.strip()]
    return _act(request, session, settings, user, application_id, "supplement_received",
                lambda who: apps.supplement_received(session, actor=who,
                                                     application_id=application_id,
                                                     note=_opt(note), documents=docs))


@router.post("/applications/{application_id}/field-check")
def field_check(request: Request, application_id: Id, user: OfficerForm, session: DbSession,
                settings: SettingsDep, notes: Annotated[str, Form(max_length=5000)],
                crs: Annotated[str | None, Form(max_length=10)] = None,
                geometry_file: Annotated[UploadFile | None, File()] = None) -> Response:
    """The field visit; a re-measured boundary file replaces the claim and is re-verified."""
    def write(who: Any) -> None:
        geometry = read_claim(geometry_file, crs=_opt(crs), settings=settings) \
            if given(geometry_file) and geometry_file is not None else None
        apps.record_field_check(session, actor=who, application_id=application_id,
                                check=apps.FieldCheck(notes=notes, geometry=geometry,
                                                      srid=gcrs.WARD))

    return _act(request, session, settings, user, application_id, "field_check", write)


@router.post("/applications/{application_id}/posting")
def open_posting(request: Request, application_id: Id, user: OfficerForm, session: DbSession,
                 settings: SettingsDep, place: Annotated[str, Form(max_length=500)]) -> Response:
    """Post the result publicly (form 17): the statutory clock stands still while posted."""
    return _act(request, session, settings, user, application_id, "open_posting",
                lambda who: apps.open_posting(session, actor=who, application_id=application_id,
                                              place=place))


@router.post("/applications/{application_id}/posting/close")
def close_posting(request: Request, application_id: Id, user: OfficerForm, session: DbSession,
                  settings: SettingsDep,
                  note: Annotated[str | None, Form(max_length=2000)] = None) -> Response:
    """End the posting once its days are over and every complaint is settled."""
    return _act(request, session, settings, user, application_id, "close_posting",
                lambda who: apps.close_posting(session, actor=who,
                                               application_id=application_id,
                                               note=_opt(note)))


@router.post("/applications/{application_id}/eligibility")
def eligibility(request: Request, application_id: Id, user: OfficerForm, session: DbSession,
                settings: SettingsDep, eligible: Annotated[str, Form(max_length=5)],
                reason: Annotated[str, Form(max_length=2000)],
                override_warnings: Annotated[str | None, Form(max_length=5)] = None
                ) -> Response:
    """The ward's conclusion (form 16): eligible, or not (which rejects the file)."""
    return _act(request, session, settings, user, application_id, "eligibility",
                lambda who: apps.decide_eligibility(
                    session, actor=who, application_id=application_id,
                    eligible=eligible == "yes", reason=reason,
                    override_warnings=bool(_opt(override_warnings))))


@router.post("/applications/{application_id}/tax-info")
def tax_info(request: Request, application_id: Id, user: OfficerForm, session: DbSession,
             settings: SettingsDep, tax_office: Annotated[str, Form(max_length=200)],
             note: Annotated[str | None, Form(max_length=2000)] = None) -> Response:
    """Send the information for the financial obligations (form 19)."""
    return _act(request, session, settings, user, application_id, "tax_info",
                lambda who: apps.send_tax_info(session, actor=who,
                                               application_id=application_id,
                                               tax_office=tax_office, note=_opt(note)))


@router.post("/applications/{application_id}/obligations-met")
def obligations_met(request: Request, application_id: Id, user: OfficerForm,
                    session: DbSession, settings: SettingsDep,
                    receipt: Annotated[str | None, Form(max_length=100)] = None,
                    exempt_reason: Annotated[str | None, Form(max_length=2000)] = None
                    ) -> Response:
    """The applicant paid (the receipt's number) or is exempt (why)."""
    return _act(request, session, settings, user, application_id, "obligations_met",
                lambda who: apps.obligations_met(session, actor=who,
                                                 application_id=application_id,
                                                 receipt=_opt(receipt),
                                                 exempt_reason=_opt(exempt_reason)))


@router.post("/applications/{application_id}/decision")
def decide(request: Request, application_id: Id, user: OfficerForm, session: DbSession,
           settings: SettingsDep, decision: Annotated[str, Form(max_length=10)],
           reason: Annotated[str, Form(max_length=5000)],
           override_warnings: Annotated[str | None, Form(max_length=5)] = None,
           certificate_no: Annotated[str | None, Form(max_length=40)] = None) -> Response:
    """Approve (with the override where the verdict asks for a look) or reject, with a reason."""
    if decision not in ("approve", "reject"):
        raise InvalidApplication("decision must be approve or reject", field="decision")
    chosen = apps.Decision(approve=decision == "approve", reason=reason,
                           override_warnings=bool(_opt(override_warnings)),
                           certificate_no=_opt(certificate_no))
    return _act(request, session, settings, user, application_id, decision,
                lambda who: apps.decide(session, actor=who, application_id=application_id,
                                        decision=chosen))


@router.post("/applications/{application_id}/issue")
def issue(request: Request, application_id: Id, user: OfficerForm, session: DbSession,
          settings: SettingsDep,
          note: Annotated[str | None, Form(max_length=5000)] = None) -> Response:
    return _act(request, session, settings, user, application_id, "issue",
                lambda who: apps.issue_certificate(session, actor=who,
                                                   application_id=application_id,
                                                   note=_opt(note)))

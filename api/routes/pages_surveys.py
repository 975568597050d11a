"""Survey pages: a surveyor uploads a file and reads its batch; a land officer decides.

The upload form works as a plain multipart form; with the page's script a file can be
dropped on it and the upload shows its progress.  A file without a coordinate system
comes back to the form with the reader's sentence and the CRS list to choose from.  The
batch page shows the counts, the findings (list and sketch) and the state; a land
officer overrides findings with a reason (one, or many at once), commits or rejects.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from shapely.geometry import shape
from sqlalchemy.orm import Session

from api import jobs
from api.deps import DbSession, Id, SettingsDep, actor
from api.errors import status_for
from api.users import User
from api.web import sketch
from api.web.access import form_user, page_user
from api.web.errors import PageRoute, message_for
from api.web.render import frame, render, svg, translator
from api.web.uploads import CRS_CHOICES, CappedPageUpload
from certificates import disputes
from config import clock
from config.settings import Settings
from gis import crs as gcrs
from gis.errors import DomainError
from gis.intake.errors import CRSMissingError, CRSMistakeError, CRSUnknownError
from parcels import surveys
from parcels.errors import InvalidInput
from parcels.ward import former_units

UPLOAD_PATH: Final = "/surveys/new"
router = APIRouter(include_in_schema=False, route_class=PageRoute)
upload_router = APIRouter(include_in_schema=False, route_class=CappedPageUpload)
Uploader = Annotated[User, Depends(page_user("surveyor", "land_officer"))]
UploaderForm = Annotated[User, Depends(form_user("surveyor", "land_officer"))]
OfficerForm = Annotated[User, Depends(form_user("land_officer"))]
CRS_ERRORS = (CRSMissingError, CRSUnknownError, CRSMistakeError)
DONE = {
    "override": ("Đã chấp nhận phát hiện với lý do đã ghi.", "Finding accepted with the reason."),
    "commit": ("Đã ghi lô đo đạc vào sổ địa chính.", "The batch is in the registry."),
    "amend_neighbour": ("Thửa liền kề sẽ được điều chỉnh theo số đo mới khi ghi sổ.",
                        "The neighbour will be amended to the survey on commit."),
    "dispute": ("Đã ghi nhận tranh chấp trên cả hai thửa; lô chờ giải quyết.",
                "The dispute is recorded on both parcels; the batch waits."),
    "reject": ("Đã từ chối lô đo đạc.", "The batch was rejected."),
    "uploaded": ("Đã tải lên và kiểm tra tệp.", "The file was uploaded and checked."),
    "again": ("Tệp này đã được tải lên trước đây; đây là lô của nó.",
              "This file was uploaded before; here is its batch."),
}


@router.get("/surveys", response_class=HTMLResponse)
def batches_page(request: Request, user: Uploader, session: DbSession,
                 settings: SettingsDep) -> Response:
    """Batches newest first: a surveyor's own, every batch for a land officer."""
    found = surveys.list_batches(session, actor=actor(request, user), limit=200)
    return render(request, "surveys.html", frame=frame(session, settings, user), batches=found)


def _upload_form(request: Request, session: Session, settings: Settings, user: User, *,
                 status: int = 200, error: str | None = None, crs_needed: bool = False,
                 values: dict[str, Any] | None = None) -> HTMLResponse:
    return render(request, "upload.html", frame=frame(session, settings, user), status=status,
                  error=error, crs_needed=crs_needed, values=values or {},
                  crs_choices=CRS_CHOICES,
                  units=sorted(former_units(session, user.ward_code).items()),
                  max_mb=settings.intake.max_file_bytes / 1_048_576)


@router.get(UPLOAD_PATH, response_class=HTMLResponse)
def upload_page(request: Request, user: Uploader, session: DbSession,
                settings: SettingsDep) -> Response:
    return _upload_form(request, session, settings, user)


@upload_router.post(UPLOAD_PATH)
def upload(request: Request, user: UploaderForm, session: DbSession, settings: SettingsDep,
           file: Annotated[UploadFile, File()],
           crs: Annotated[str | None, Form(max_length=10)] = None,
           former_unit: Annotated[str | None, Form(max_length=40)] = None,
           layer: Annotated[str | None, Form(max_length=255)] = None,
           swap_axes: Annotated[str | None, Form(max_length=5)] = None) -> Response:
    """Stage and check the file as a batch, then show the batch."""
    values = {"crs": crs or "", "former_unit": former_unit or "", "layer": layer or "",
              "swap_axes": bool(swap_axes)}
    try:
        if crs not in (None, *CRS_CHOICES):
            raise InvalidInput(f"unknown CRS choice {crs!r}", field="crs")
        options = surveys.UploadOptions(crs=crs or None, layer=layer or None,
                                        former_unit=former_unit or None,
                                        swap_axes=bool(swap_axes))
        staged, _job = jobs.stage_survey(session, settings=settings,
                                         actor=actor(request, user), stream=file.file,
                                         filename=file.filename, options=options)
    except DomainError as exc:
        session.rollback()
        return _upload_form(request, session, settings, user, status=status_for(exc),
                            error=message_for(request, exc), values=values,
                            crs_needed=isinstance(exc, CRS_ERRORS))
    done = "uploaded" if staged.created else "again"
    return RedirectResponse(f"/surveys/{staged.batch['id']}?done={done}", status_code=303)


def _ward(geojson: dict[str, Any] | None) -> Any:
    return None if not geojson else gcrs.to_ward(shape(geojson), gcrs.WGS84)


def _batch_page(request: Request, session: Session, settings: Settings, user: User,
                batch_id: int, *, status: int = 200, error: str | None = None,
                done: str | None = None) -> HTMLResponse:
    who = actor(request, user)
    summary = surveys.batch_summary(session, actor=who, batch_id=batch_id)
    features = surveys.batch_features(session, actor=who, batch_id=batch_id)["features"]
    findings = surveys.batch_findings(session, actor=who, batch_id=batch_id)["features"]
    fr = frame(session, settings, user)
    t = translator(fr.lang)
    layers = [sketch.Layer("feature", [_ward(f["geometry"]) for f in features],
                           labels=[str(f["id"]) for f in features],
                           titles=[f"{t('Thửa', 'Feature')} {f['id']}" for f in features])]
    for i, f in enumerate(findings, start=1):
        geom = _ward(f["geometry"])
        if geom is not None:
            layers.append(sketch.Layer(f"finding finding-{f['properties']['severity']}", [geom],
                                       labels=[str(i)],
                                       titles=[f"{i}. {f['properties']['rule']}"]))
    drawing = sketch.draw(layers, title=t("Sơ đồ các thửa trong lô và các phát hiện",
                                          "Sketch of the batch's features and findings"))
    note = DONE.get(done or "")
    return render(request, "batch.html", frame=fr, status=status, batch=summary,
                  features=features, findings=findings, sketch=svg(drawing), error=error,
                  notice=t(*note) if note else None,
                  officer=user.role == "land_officer",
                  open_batch=summary["state"] in ("received", "validated"))


@router.get("/surveys/{batch_id}", response_class=HTMLResponse)
def batch_page(request: Request, batch_id: Id, user: Uploader, session: DbSession,
               settings: SettingsDep, done: str | None = None) -> Response:
    """Counts, findings (list and sketch) and the state of one batch."""
    return _batch_page(request, session, settings, user, batch_id, done=done)


def _act(request: Request, session: Session, settings: Settings, user: User, batch_id: int,
         action: str, write: Any) -> Response:
    try:
        with session.begin():
            write(actor(request, user))
    except DomainError as exc:
        session.rollback()
        return _batch_page(request, session, settings, user, batch_id,
                           status=status_for(exc), error=message_for(request, exc))
    return RedirectResponse(f"/surveys/{batch_id}?done={action}", status_code=303)


@router.post("/surveys/{batch_id}/findings/{finding_id}/override")
def override_one(request: Request, batch_id: Id, finding_id: Id, user: OfficerForm,
                 session: DbSession, settings: SettingsDep,
                 reason: Annotated[str, Form(max_length=2000)]) -> Response:
    return _act(request, session, settings, user, batch_id, "override",
                lambda who: surveys.override_finding(session, actor=who, batch_id=batch_id,
                                                     finding_id=finding_id, reason=reason))


@router.post("/surveys/{batch_id}/override")
def override_many(request: Request, batch_id: Id, user: OfficerForm, session: DbSession,
                  settings: SettingsDep, reason: Annotated[str, Form(max_length=2000)],
                  finding: Annotated[list[int] | None, Form()] = None) -> Response:
    """Accept the ticked findings with one reason, all or none."""
    def write(who: Any) -> None:
        if not finding:
            raise InvalidInput("tick at least one finding to accept", field="finding",
                               vi="Hãy chọn ít nhất một phát hiện.")
        surveys.override_findings(session, actor=who, batch_id=batch_id,
                                  overrides=[(i, reason) for i in finding])

    return _act(request, session, settings, user, batch_id, "override", write)


@router.post("/surveys/{batch_id}/findings/{finding_id}/amend-neighbour")
def amend_neighbour(request: Request, batch_id: Id, finding_id: Id, user: OfficerForm,
                    session: DbSession, settings: SettingsDep,
                    reason: Annotated[str, Form(max_length=2000)]) -> Response:
    """An overlap with a registered neighbour settled by amending the neighbour in the
    commit (it gives up the overlap); an overlap is never accepted as it is."""
    return _act(request, session, settings, user, batch_id, "amend_neighbour",
                lambda who: surveys.amend_neighbour(session, actor=who, batch_id=batch_id,
                                                    finding_id=finding_id, reason=reason))


@router.post("/surveys/{batch_id}/findings/{finding_id}/dispute")
def dispute(request: Request, batch_id: Id, finding_id: Id, user: OfficerForm,
            session: DbSession, settings: SettingsDep,
            claimant: Annotated[str, Form(max_length=500)],
            description: Annotated[str, Form(max_length=4000)],
            respondent: Annotated[str | None, Form(max_length=500)] = None) -> Response:
    """An overlap the officer cannot decide recorded as a dispute on both parcels: the batch
    waits (its commit refuses) until it is settled."""
    return _act(request, session, settings, user, batch_id, "dispute",
                lambda who: disputes.dispute_survey_finding(
                    session, actor=who, batch_id=batch_id, finding_id=finding_id,
                    claimant=claimant, description=description,
                    respondent=respondent or None, opened_on=clock.today()))


@router.post("/surveys/{batch_id}/commit")
def commit(request: Request, batch_id: Id, user: OfficerForm, session: DbSession,
           settings: SettingsDep,
           reason: Annotated[str | None, Form(max_length=2000)] = None) -> Response:
    return _act(request, session, settings, user, batch_id, "commit",
                lambda who: surveys.commit_batch(session, actor=who, batch_id=batch_id,
                                                 settings=settings, reason=reason or None))


@router.post("/surveys/{batch_id}/reject")
def reject(request: Request, batch_id: Id, user: OfficerForm, session: DbSession,
           settings: SettingsDep, reason: Annotated[str, Form(max_length=2000)]) -> Response:
    return _act(request, session, settings, user, batch_id, "reject",
                lambda who: surveys.reject_batch(session, actor=who, batch_id=batch_id,
                                                 reason=reason))


router.include_router(upload_router)

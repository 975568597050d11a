"""The decision: approval writes the registry under the ward lock, or a reasoned rejection.

Approval is the one write that depends on a spatial check: it takes the ward's registry
lock (:func:`parcels.registry.lock_ward`), re-runs the verification against the registry
as it is now, and only then writes the parcel version, the holder's use right and the
certificate as source document.  Two officers approving overlapping claims at the same
moment are serialised by the lock; the second sees the first one's certified parcel and
gets :class:`~certificates.errors.ApprovalConflict`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from certificates import verification
from certificates.deadlines import read_settings
from certificates.errors import (
    ApprovalConflict,
    InvalidApplication,
    NotVerified,
)
from certificates.models import Application, ApplicationEvent
from certificates.review import claim_of, latest_report, store_report
from certificates.rules import VerificationSettings, load_settings
from certificates.steps import require_land_use
from certificates.workflow import (
    TRANSITIONS,
    get,
    require_officer,
    transition,
)
from config import clock
from db.audit import Actor
from gis import crs as gcrs
from gis.convert import from_db
from parcels.numbers import next_number
from parcels.registry import (
    Amendment,
    ParcelSpec,
    Source,
    amend_parcel,
    lock_ward,
    record_source,
    register_parcel,
)
from parcels.rights import CertificateFields, PartyDetails, grant_use_right, next_register_no
from parcels.ward import is_synthetic

approval_checked: Callable[[int], None] | None = None
"""Test seam, always None in the service: called with the application id when an approval
has passed its re-verification under the ward lock and has not written anything yet.
``tests/certificates/test_race.py`` holds two approvals here to show that the lock, not
timing, keeps two overlapping claims from both being certified."""


@dataclass(frozen=True)
class Decision:
    """The officer's decision.  Approving signs the certificate: ``certificate_no`` is the
    blank's serial (số phát hành; a synthetic ward's is made up and says so), ``term_of_use``
    and ``use_origin`` the certificate's texts (defaults in the certificates settings)."""

    approve: bool
    reason: str
    override_warnings: bool = False
    certificate_no: str | None = None
    term_of_use: str | None = None
    use_origin: str | None = None


def decide(session: Session, *, actor: Actor, application_id: int | str, decision: Decision,
           settings: VerificationSettings | None = None) -> Application:
    """Approve (the certificate: registry write, under the ward lock) or reject with a
    reason (the refusal is the result returned)."""
    require_officer(actor)
    if not decision.reason.strip():
        raise InvalidApplication("a decision needs a reason", field="reason")
    if not decision.approve:
        app = get(session, ward_code=actor.ward_code, application_id=application_id,
                  for_update=True)
        transition(session, app, actor=actor, action="reject", reason=decision.reason)
        now = clock.now()
        app.decided_at = now
        app.decision_reason = decision.reason
        app.returned_at = now
        return app
    return _approve(session, actor=actor, application_id=application_id, decision=decision,
                    settings=settings or load_settings())


def _approve(session: Session, *, actor: Actor, application_id: int | str, decision: Decision,
             settings: VerificationSettings) -> Application:
    lock_ward(session, actor.ward_code)  # check and write atomic against other approvals
    app = get(session, ward_code=actor.ward_code, application_id=application_id,
              for_update=True)
    allowed, _ = TRANSITIONS["approve"]
    if app.state not in allowed:
        transition(session, app, actor=actor, action="approve")  # raises WrongState
    if app.procedure != "first_certificate":
        raise InvalidApplication("only first-time certificate applications are approved here")
    land_use = require_land_use(app)
    last = latest_report(session, app)
    if last is None:
        raise NotVerified(f"application {app.id} has never been verified: verify it first")
    outcome, ms = verification.run(session, ward_code=app.ward_code, claim=claim_of(app),
                                   settings=settings)
    errors = outcome.errors()
    if errors:
        parcels = sorted({p["parcel_id"] for f in errors for p in f.parcels})
        raise ApprovalConflict(
            f"the claim now conflicts with the registry ({', '.join(f.rule for f in errors)}): "
            + "; ".join(f.message_en for f in errors[:3]),
            conflicting_parcels=parcels, findings=[verification.finding_dict(f) for f in errors],
            registry_version=outcome.registry_version)
    if outcome.verdict == "review" and not (decision.override_warnings
                                            or _eligible_despite_warnings(session, app)):
        raise NotVerified("the verification now has warnings the eligibility decision did not "
                          "accept: approve with override_warnings after looking at them",
                          verdict=outcome.verdict)
    if approval_checked is not None:
        approval_checked(app.id)
    report = store_report(session, app, outcome, actor=actor, purpose="approval", elapsed_ms=ms,
                          settings=settings)
    geom = from_db(app.geom)
    assert geom is not None
    now = clock.now()
    issued_on = clock.ward_date(now)
    cert = certificate_settings()
    register_no = next_register_no(session, ward_code=app.ward_code,
                                   prefix=cert["register_prefix"])
    serial = (decision.certificate_no or "").strip()
    if not serial:
        if not is_synthetic(session, app.ward_code):
            raise InvalidApplication("give the certificate blank's serial (số phát hành)",
                                     field="certificate_no")
        serial = f"{cert['synthetic_serial_prefix']} {register_no}"
    fields = CertificateFields(
        serial=serial, register_no=register_no, issued_on=issued_on,
        term_of_use=(decision.term_of_use or cert["default_term_of_use"]).strip(),
        use_origin=(decision.use_origin or cert["default_use_origin"]).strip(),
        use_form="chung" if len(app.co_applicants or []) > 1 else "rieng")
    source = Source(kind="certificate", number=serial, issued_on=issued_on,
                    issued_by=f"UBND phường, ward {app.ward_code}",
                    description=f"first-time certificate, application {app.application_key}, "
                                f"register {register_no}")
    reason = f"first-time certificate, application {app.application_key}: {decision.reason}"
    area = Decimal(str(round(geom.area, 1)))
    if app.parcel_id is not None and outcome.subject_parcel_id == app.parcel_id:
        version = amend_parcel(session, actor=actor, parcel_id=app.parcel_id, reason=reason,
                               source=source, amendment=Amendment(
                                   geometry=geom, srid=gcrs.WARD, legal_area=area,
                                   land_use=land_use))
    else:
        if not (app.former_unit and app.sheet_no):
            raise InvalidApplication("the claim is not a map parcel and has no former unit and "
                                     "sheet: record them at the field check", field="sheet_no")
        number = app.parcel_no or next_number(session, ward_code=app.ward_code,
                                              former_unit=app.former_unit,
                                              sheet_no=app.sheet_no)
        version = register_parcel(session, actor=actor, reason=reason, source=source,
                                  spec=ParcelSpec(former_unit=app.former_unit,
                                                  sheet_no=app.sheet_no, parcel_no=number,
                                                  land_use=land_use, geometry=geom,
                                                  srid=gcrs.WARD, legal_area=area))
    source_id = version.source_document_id or record_source(session, actor, source)
    party_id = grant_use_right(
        session, ward_code=app.ward_code, parcel_id=version.parcel_id,
        holder=PartyDetails(full_name=app.applicant_name, id_number=app.applicant_id_number,
                            address=app.applicant_address),
        party_id=app.applicant_party_id, certificate_no=serial, issued_on=issued_on,
        source_id=source_id, recorded_by=actor.username, certificate=fields,
        co_holders=[PartyDetails(c["name"], c.get("id_number"), c.get("address"))
                    for c in app.co_applicants or []])
    transition(session, app, actor=actor, action="approve", reason=decision.reason,
               detail={"report_id": report.id, "parcel_id": version.parcel_id,
                       "parcel_version": version.version, "certificate_no": serial,
                       "register_no": register_no, "term_of_use": fields.term_of_use,
                       "use_origin": fields.use_origin, "use_form": fields.use_form,
                       "override_warnings": decision.override_warnings})
    app.parcel_id = version.parcel_id
    app.applicant_party_id = party_id
    app.certificate_no = serial
    app.decided_at = now
    app.decision_reason = decision.reason
    session.flush()
    return app


def _eligible_despite_warnings(session: Session, app: Application) -> bool:
    last = session.execute(select(ApplicationEvent.detail).where(
        ApplicationEvent.application_id == app.id,
        ApplicationEvent.action == "decide_eligibility").order_by(ApplicationEvent.id.desc())
        .limit(1)).scalar_one_or_none()
    return bool(last and last.get("override_warnings"))


def certificate_settings() -> dict[str, str]:
    """``[procedure.certificate]`` of the certificates settings."""
    c = read_settings().get("procedure", {}).get("certificate", {})
    return {"register_prefix": str(c.get("register_prefix", "CS")),
            "default_term_of_use": str(c.get("default_term_of_use", "Lâu dài")),
            "default_use_origin": str(c.get("default_use_origin",
                                            "Công nhận quyền sử dụng đất")),
            "synthetic_serial_prefix": str(c.get("synthetic_serial_prefix", "MÔ PHỎNG"))}


def issue_certificate(session: Session, *, actor: Actor, application_id: int | str,
                      note: str | None = None) -> Application:
    """The certificate was handed to the applicant: the result is returned, the file closed."""
    require_officer(actor)
    app = get(session, ward_code=actor.ward_code, application_id=application_id,
              for_update=True)
    now = clock.now()
    app.certificate_issued_at = now
    app.returned_at = now
    transition(session, app, actor=actor, action="issue_certificate", reason=note,
               detail={"certificate_no": app.certificate_no})
    return app

"""The ward's steps between the checks and the certificate, as Decree 151/2025 Annex I runs them.

- the survey extract ordered from a licensed surveyor (5 working days, inside the count);
- evidence of origin and stable use, recorded as dated documents (:mod:`certificates.origin`
  says which Land Law 2024 period the earliest one puts the file in);
- the public posting (form 17): 15 calendar days outside the count, complaints recorded and
  settled, closed only after the 15th day and with no complaint open;
- the eligibility decision (form 16): eligible, or not (the file is rejected, the refusal
  returned);
- the tax information (form 19) and the financial obligations, outside the count.

Each act is one transition (:data:`certificates.workflow.TRANSITIONS`): an event, an audit
event, the clock recomputed.  Nothing here writes the registry (approval does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from certificates.deadlines import calendar
from certificates.errors import InvalidApplication, NotVerified, WrongState
from certificates.intake import procedure_forms
from certificates.models import Application, ApplicationEvent
from certificates.origin import Assessment, assess
from certificates.review import latest_report
from certificates.workflow import get, require_officer, transition, ward_today
from config import clock, land_use
from db.audit import Actor

EVIDENCE_KINDS = ("use", "papers")
"""``use``: a dated document showing the land in use (a residence registration, a tax
receipt, an old register entry); ``papers``: a land-use right paper of Land Law 2024
Art. 137."""


def _require_first(app: Application, act: str) -> None:
    if app.procedure != "first_certificate":
        raise InvalidApplication(f"{act} is a step of a first-time certificate, not of a "
                                 f"{app.procedure} file", field="procedure")


def _acting(session: Session, actor: Actor, application_id: int | str) -> Application:
    require_officer(actor)
    return get(session, ward_code=actor.ward_code, application_id=application_id,
               for_update=True)


# ------------------------------------------------------------------- survey extract


def order_survey(session: Session, *, actor: Actor, application_id: int | str,
                 surveyor: str, reason: str | None = None) -> Application:
    """Order the cadastral survey extract from a licensed surveyor: due in the dated number
    of working days (5 under Decree 151/2025); the statutory clock keeps running."""
    app = _acting(session, actor, application_id)
    _require_first(app, "a survey extract")
    if not surveyor.strip():
        raise InvalidApplication("name the licensed surveyor", field="surveyor")
    transition(session, app, actor=actor, action="order_survey", reason=reason,
               detail={"surveyor": surveyor.strip()})
    return app


# ----------------------------------------------------------------------- evidence


@dataclass(frozen=True)
class Evidence:
    """A dated document about the land's origin or use."""

    kind: str
    dated: date
    title: str
    number: str | None = None
    issuer: str | None = None


def add_evidence(session: Session, *, actor: Actor, application_id: int | str,
                 evidence: Evidence) -> Application:
    """Record a dated document of origin or stable use (no state change; audited)."""
    app = _acting(session, actor, application_id)
    _require_first(app, "origin evidence")
    if evidence.kind not in EVIDENCE_KINDS:
        raise InvalidApplication(f"evidence kind is {' or '.join(EVIDENCE_KINDS)}, not "
                                 f"{evidence.kind!r}", field="kind")
    if not evidence.title.strip():
        raise InvalidApplication("say what the document is", field="title")
    if evidence.dated > clock.today():
        raise InvalidApplication("a document cannot be dated in the future", field="dated")
    transition(session, app, actor=actor, action="add_evidence",
               detail={"kind": evidence.kind, "dated": evidence.dated.isoformat(),
                       "title": evidence.title.strip(), "number": evidence.number,
                       "issuer": evidence.issuer})
    return app


# ------------------------------------------------------------------------ posting


def _posting_events(session: Session, app: Application) -> list[ApplicationEvent]:
    return list(session.execute(select(ApplicationEvent).where(
        ApplicationEvent.application_id == app.id,
        ApplicationEvent.action.in_(("open_posting", "record_complaint", "settle_complaint",
                                     "close_posting"))).order_by(ApplicationEvent.id)).scalars())


def complaints(session: Session, app: Application) -> list[dict[str, Any]]:
    """The complaints received during the posting, each with its settlement (or None)."""
    out: dict[int, dict[str, Any]] = {}
    for e in _posting_events(session, app):
        if e.action == "record_complaint":
            n = int(e.detail["complaint_no"])
            out[n] = {"complaint_no": n, "complainant": e.detail.get("complainant"),
                      "text": e.reason, "received_at": e.at.isoformat(), "settled": None}
        elif e.action == "settle_complaint":
            n = int(e.detail["complaint_no"])
            out[n]["settled"] = {"at": e.at.isoformat(), "outcome": e.reason,
                                 "upheld": e.detail.get("upheld")}
    return [out[k] for k in sorted(out)]


def open_posting(session: Session, *, actor: Actor, application_id: int | str,
                 place: str) -> Application:
    """Post the file's result publicly (form 17) at the ward's office and where the land
    lies; the clock stops for the dated number of calendar days (15).

    Only a file whose latest verification does not fail is posted: a failing claim is
    corrected at the field check or rejected first.
    """
    app = _acting(session, actor, application_id)
    _require_first(app, "a public posting")
    if not place.strip():
        raise InvalidApplication("say where the result is posted", field="place")
    last = latest_report(session, app)
    if last is None or last.verdict == "fail":
        raise NotVerified(f"application {app.id} has no passing or reviewable verification: "
                          "verify it (and correct it at the field check) before posting",
                          report_id=last.id if last else None,
                          verdict=last.verdict if last else None)
    today = ward_today(calendar())
    days = calendar().step_time("public_posting", today)
    transition(session, app, actor=actor, action="open_posting",
               detail={"place": place.strip(), "form": procedure_forms().get("open_posting"),
                       "days": days.days, "ends_on": (today + timedelta(days=days.days))
                       .isoformat(), "source": days.source})
    return app


def record_complaint(session: Session, *, actor: Actor, application_id: int | str,
                     complainant: str, text: str) -> Application:
    """A complaint (phản ánh, khiếu nại) received during the posting."""
    app = _acting(session, actor, application_id)
    if not complainant.strip() or not text.strip():
        raise InvalidApplication("name the complainant and say what they object to",
                                 field="text")
    n = 1 + sum(e.action == "record_complaint" for e in _posting_events(session, app))
    transition(session, app, actor=actor, action="record_complaint", reason=text.strip(),
               detail={"complaint_no": n, "complainant": complainant.strip()})
    return app


def settle_complaint(session: Session, *, actor: Actor, application_id: int | str,
                     complaint_no: int, outcome: str, upheld: bool) -> Application:
    """Record how a complaint was settled (upheld: the file must change or be rejected)."""
    app = _acting(session, actor, application_id)
    found = {c["complaint_no"]: c for c in complaints(session, app)}
    if complaint_no not in found:
        raise InvalidApplication(f"application {app.id} has no complaint {complaint_no}",
                                 field="complaint_no")
    if found[complaint_no]["settled"] is not None:
        raise WrongState(f"complaint {complaint_no} is already settled", state=app.state,
                         action="settle_complaint")
    if not outcome.strip():
        raise InvalidApplication("say how the complaint was settled", field="outcome")
    transition(session, app, actor=actor, action="settle_complaint", reason=outcome.strip(),
               detail={"complaint_no": complaint_no, "upheld": upheld})
    return app


def close_posting(session: Session, *, actor: Actor, application_id: int | str,
                  note: str | None = None) -> Application:
    """End the posting: allowed from the day after its 15th day, with every complaint settled."""
    app = _acting(session, actor, application_id)
    opened = next((e for e in reversed(_posting_events(session, app))
                   if e.action == "open_posting"), None)
    if app.state != "posting" or opened is None:
        transition(session, app, actor=actor, action="close_posting")  # raises WrongState
        raise AssertionError("unreachable")
    ends_on = date.fromisoformat(opened.detail["ends_on"])
    today = ward_today(calendar())
    if today <= ends_on:
        raise WrongState(f"the posting runs until the end of {ends_on.isoformat()} (15 days "
                         "from the day after it opened): it can be closed from the next day",
                         state=app.state, action="close_posting", ends_on=ends_on.isoformat())
    open_ = [c["complaint_no"] for c in complaints(session, app) if c["settled"] is None]
    if open_:
        raise WrongState(f"complaints {open_} are not settled: settle them before closing "
                         "the posting", state=app.state, action="close_posting",
                         open_complaints=open_)
    transition(session, app, actor=actor, action="close_posting", reason=note,
               detail={"ends_on": ends_on.isoformat()})
    return app


# -------------------------------------------------------------------- eligibility


def decide_eligibility(session: Session, *, actor: Actor, application_id: int | str,
                       eligible: bool, reason: str,
                       override_warnings: bool = False) -> Application:
    """The ward's conclusion on the file (form 16): eligible for a certificate, or not.

    Eligible needs a declared land use of the list and a latest verification that does
    not fail (warnings only with ``override_warnings``).  Not eligible rejects the file:
    the refusal is the result returned to the applicant.
    """
    if not reason.strip():
        raise InvalidApplication("an eligibility decision needs a reason", field="reason")
    app = _acting(session, actor, application_id)
    _require_first(app, "an eligibility decision")
    if app.state != "posted":
        transition(session, app, actor=actor, action="decide_eligibility")  # WrongState
    form = procedure_forms().get("decide_eligibility")
    if not eligible:
        transition(session, app, actor=actor, action="decide_eligibility", to_state="rejected",
                   reason=reason, detail={"eligible": False, "form": form})
        _returned(app, reason)
        return app
    require_land_use(app)
    last = latest_report(session, app)
    if last is None or last.verdict == "fail":
        raise NotVerified("the latest verification fails (or there is none): the file is "
                          "not eligible as it stands", report_id=last.id if last else None,
                          verdict=last.verdict if last else None)
    if last.verdict == "review" and not override_warnings:
        raise NotVerified(f"the latest verification (report {last.id}) has warnings: decide "
                          "with override_warnings after looking at them", report_id=last.id,
                          verdict=last.verdict)
    transition(session, app, actor=actor, action="decide_eligibility", to_state="eligible",
               reason=reason, detail={"eligible": True, "form": form, "report_id": last.id,
                                      "override_warnings": override_warnings})
    return app


def require_land_use(app: Application) -> str:
    """The declared land use, a code of the list; refused when missing or unknown."""
    if not app.declared_land_use:
        raise InvalidApplication(f"application {app.id} declares no land use: record it "
                                 "before deciding (no land use is assumed)",
                                 field="declared_land_use")
    try:
        return land_use.load().normalise(app.declared_land_use)
    except land_use.UnknownLandUse as exc:
        raise InvalidApplication(str(exc), field="declared_land_use",
                                 land_use=exc.code) from exc


def _returned(app: Application, reason: str) -> None:
    now = clock.now()
    app.decided_at = now
    app.decision_reason = reason
    app.returned_at = now


# ------------------------------------------------------------- financial obligations


def send_tax_info(session: Session, *, actor: Actor, application_id: int | str,
                  tax_office: str, note: str | None = None) -> Application:
    """Send the information for the financial obligations to the tax office (form 19): the
    clock stops until the obligations are met."""
    app = _acting(session, actor, application_id)
    if not tax_office.strip():
        raise InvalidApplication("name the tax office the information goes to",
                                 field="tax_office")
    transition(session, app, actor=actor, action="send_tax_info", reason=note,
               detail={"tax_office": tax_office.strip(),
                       "form": procedure_forms().get("send_tax_info")})
    return app


def obligations_met(session: Session, *, actor: Actor, application_id: int | str,
                    receipt: str | None = None, exempt_reason: str | None = None,
                    ) -> Application:
    """The applicant paid (the receipt's number) or is exempt (why): the clock runs again."""
    app = _acting(session, actor, application_id)
    if bool((receipt or "").strip()) == bool((exempt_reason or "").strip()):
        raise InvalidApplication("give either the payment receipt or why the applicant is "
                                 "exempt", field="receipt")
    detail: Mapping[str, Any] = ({"receipt": receipt.strip()} if receipt else
                                 {"exempt_reason": (exempt_reason or "").strip()})
    transition(session, app, actor=actor, action="obligations_met", detail=detail)
    return app


def origin_assessment(session: Session, app: Application) -> Assessment:
    """The Land Law 2024 period the file's earliest dated evidence of use falls in."""
    found = session.execute(select(ApplicationEvent.detail).where(
        ApplicationEvent.application_id == app.id, ApplicationEvent.action == "add_evidence")
        .order_by(ApplicationEvent.id)).scalars().all()
    return assess(found)

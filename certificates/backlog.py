"""The inherited backlog: every file of an origin verified in one run, and its triage.

About 400 files came from the former Phú Xuân district's units when the ward took over
their land work (1 July 2025).  :func:`verify_all` is a plain domain function (a job, the
command line or a test calls it): it verifies every pending file of an origin that the
workflow lets verify, stores each report, and reports progress.  :func:`triage` reads what
is stored: per file the latest verdict, the first rule found and the file's age in working
days since its (old) receipt, worst first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from certificates.deadlines import calendar
from certificates.errors import InvalidApplication
from certificates.models import Application, VerificationReport
from certificates.review import verify
from certificates.rules import VerificationSettings, load_settings
from certificates.workflow import ORIGINS, PENDING, TRANSITIONS, require_officer, ward_today
from db.audit import Actor

VERDICT_ORDER: Final = {"fail": 0, "review": 1, "not verified": 2, "pass": 3}


@dataclass(frozen=True)
class VerifyAllResult:
    verified: int
    skipped: int
    verdicts: dict[str, int]


def _pending(session: Session, ward_code: str, origin: str) -> list[Application]:
    if origin not in ORIGINS:
        raise InvalidApplication(f"origin is {' or '.join(ORIGINS)}, not {origin!r}",
                                 field="origin")
    return list(session.execute(select(Application).where(
        Application.ward_code == ward_code, Application.origin == origin,
        Application.state.in_(PENDING)).order_by(Application.id)).scalars())


def verify_all(session: Session, *, actor: Actor, origin: str = "inherited",
               settings: VerificationSettings | None = None,
               progress: Callable[[int, int], None] | None = None) -> VerifyAllResult:
    """Verify every pending file of ``origin`` that has a claim and may be verified now
    (received, verifying, field check); the others are skipped.  ``progress(done, total)``
    is called after each file."""
    require_officer(actor)
    settings = settings or load_settings()
    allowed, _ = TRANSITIONS["verify"]
    files = _pending(session, actor.ward_code, origin)
    verdicts: Counter[str] = Counter()
    skipped = 0
    for k, app in enumerate(files, start=1):
        if app.state in allowed and app.geom is not None:
            report = verify(session, actor=actor, application_id=app.id, settings=settings)
            verdicts[report.verdict] += 1
        else:
            skipped += 1
        if progress is not None:
            progress(k, len(files))
    return VerifyAllResult(verified=sum(verdicts.values()), skipped=skipped,
                           verdicts=dict(sorted(verdicts.items())))


@dataclass(frozen=True)
class TriageRow:
    application_id: int
    application_key: str | None
    old_receipt_no: str | None
    inherited_from: str | None
    received_on: date
    state: str
    verdict: str
    first_rule: str | None
    first_message_vi: str | None
    first_message_en: str | None
    age_working_days: int

    def as_dict(self) -> dict[str, Any]:
        return {"application_id": self.application_id, "application_key": self.application_key,
                "old_receipt_no": self.old_receipt_no, "inherited_from": self.inherited_from,
                "received_on": self.received_on.isoformat(), "state": self.state,
                "verdict": self.verdict, "first_rule": self.first_rule,
                "first_message_vi": self.first_message_vi,
                "first_message_en": self.first_message_en,
                "age_working_days": self.age_working_days}


@dataclass(frozen=True)
class Triage:
    origin: str
    today: date
    rows: list[TriageRow] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(r.verdict for r in self.rows).items(),
                           key=lambda kv: VERDICT_ORDER.get(kv[0], 9)))

    def as_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "today": self.today.isoformat(), "total": len(self.rows),
                "counts": self.counts(), "items": [r.as_dict() for r in self.rows]}


def triage(session: Session, *, ward_code: str, origin: str = "inherited",
           today: date | None = None) -> Triage:
    """Every pending file of ``origin`` with its latest verdict and first rule, worst first
    (fail, review, not verified, pass), the oldest first within a verdict."""
    cal = calendar()
    today = today or ward_today(cal)
    files = _pending(session, ward_code, origin)
    latest: dict[int, VerificationReport] = {}
    if files:
        for r in session.execute(select(VerificationReport).where(
                VerificationReport.application_id.in_([a.id for a in files]))
                .order_by(VerificationReport.id)).scalars():
            latest[r.application_id] = r
    rows = []
    for a in files:
        rep = latest.get(a.id)
        first = next((f for f in (rep.findings if rep else [])
                      if f.get("severity") in ("error", "warning")), None)
        rows.append(TriageRow(
            application_id=a.id, application_key=a.application_key,
            old_receipt_no=a.old_receipt_no, inherited_from=a.inherited_from,
            received_on=a.received_on, state=a.state,
            verdict=rep.verdict if rep else "not verified",
            first_rule=first["rule"] if first else None,
            first_message_vi=first.get("message_vi") if first else None,
            first_message_en=first.get("message_en") if first else None,
            age_working_days=cal.working_days_between(a.received_on, today)))
    rows.sort(key=lambda r: (VERDICT_ORDER.get(r.verdict, 9), -r.age_working_days,
                             r.application_id))
    return Triage(origin=origin, today=today, rows=rows)

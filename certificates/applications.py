"""The application workflow's public functions, gathered in one place for callers.

Routers, the command line, pages and benchmarks import the workflow from here; each act
lives in the module named for what it holds:

- :mod:`certificates.workflow`: states, transitions, reading one application;
- :mod:`certificates.intake`: receipt at the one-stop desk;
- :mod:`certificates.review`: verification and the field check, stored reports;
- :mod:`certificates.supplements`: the clock stops (a supplement, another excluded period);
- :mod:`certificates.steps`: survey extract, evidence, posting and complaints, eligibility,
  tax information and financial obligations;
- :mod:`certificates.backlog`: the inherited backlog verified in one run, its triage;
- :mod:`certificates.approval`: the decision and the certificate handed over;
- :mod:`certificates.listing`: the API's listing with each file's clock, events, pending
  claims for maps (the pages' keyset queue is :mod:`certificates.queue`).

The approval's test seam (``approval_checked``) is :mod:`certificates.approval`'s.
"""

from __future__ import annotations

from certificates.approval import Decision, decide, issue_certificate
from certificates.intake import Intake, prepare_claim, receive
from certificates.listing import AppPage, events, list_applications, pending_claims
from certificates.review import (
    FieldCheck,
    claim_of,
    latest_report,
    record_field_check,
    reports,
    survey_received,
    verify,
)
from certificates.steps import (
    Evidence,
    add_evidence,
    close_posting,
    complaints,
    decide_eligibility,
    obligations_met,
    open_posting,
    order_survey,
    origin_assessment,
    record_complaint,
    send_tax_info,
    settle_complaint,
)
from certificates.supplements import (
    request_supplement,
    resume_clock,
    stop_clock,
    supplement_received,
)
from certificates.workflow import (
    CHANNELS,
    FINISHED,
    OFFICER,
    PENDING,
    PROCEDURES,
    TRANSITIONS,
    application_etag,
    clock_of,
    clocks_of,
    get,
    require_version,
    version_of,
)

__all__ = ["CHANNELS", "FINISHED", "OFFICER", "PENDING", "PROCEDURES", "TRANSITIONS", "AppPage",
           "Decision", "Evidence", "FieldCheck", "Intake", "add_evidence", "application_etag",
           "claim_of",
           "clock_of", "clocks_of", "close_posting", "complaints", "decide",
           "decide_eligibility", "events", "get", "issue_certificate", "latest_report",
           "list_applications", "obligations_met", "open_posting", "order_survey",
           "origin_assessment",
           "pending_claims", "prepare_claim", "receive", "record_complaint",
           "record_field_check", "reports", "request_supplement", "require_version", "resume_clock",
           "send_tax_info", "settle_complaint", "stop_clock", "supplement_received",
           "survey_received", "verify", "version_of"]

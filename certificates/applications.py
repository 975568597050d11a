"""The application workflow's public functions, gathered in one place for callers.

Routers, the command line, pages and benchmarks import the workflow from here; each act
lives in the module named for what it holds:

- :mod:`certificates.workflow`: states, transitions, reading one application;
- :mod:`certificates.intake`: receipt at the one-stop desk;
- :mod:`certificates.review`: verification and the field check, stored reports;
- :mod:`certificates.supplements`: the file waits for the applicant;
- :mod:`certificates.approval`: the decision and the certificate handed over;
- :mod:`certificates.queue`: the queue, events, pending claims for maps.

The approval's test seam (``approval_checked``) is :mod:`certificates.approval`'s.
"""

from __future__ import annotations

from certificates.approval import Decision, decide, issue_certificate
from certificates.intake import Intake, prepare_claim, receive
from certificates.queue import AppPage, events, list_applications, pending_claims
from certificates.review import (
    FieldCheck,
    claim_of,
    latest_report,
    record_field_check,
    reports,
    verify,
)
from certificates.supplements import request_supplement, supplement_received
from certificates.workflow import (
    CHANNELS,
    FINISHED,
    OFFICER,
    PENDING,
    PROCEDURES,
    TRANSITIONS,
    get,
)

__all__ = ["CHANNELS", "FINISHED", "OFFICER", "PENDING", "PROCEDURES", "TRANSITIONS", "AppPage",
           "Decision", "FieldCheck", "Intake", "claim_of", "decide", "events", "get",
           "issue_certificate", "latest_report", "list_applications", "pending_claims",
           "prepare_claim", "receive", "record_field_check", "reports", "request_supplement",
           "supplement_received", "verify"]

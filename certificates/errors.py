"""Errors of certificate applications; each says what is wrong and what to do.

``api/errors.py`` maps them to status codes (one line each); the command line
prints the message and exits 2.  Nothing is written when one is raised.
"""

from __future__ import annotations

from db.errors import Conflict, NotFound
from gis.errors import DomainError


class ApplicationNotFound(NotFound):
    code = "application_not_found"
    title = "Application not found"


class InvalidApplication(DomainError):
    code = "invalid_application"
    title = "Invalid application"


class InvalidClaim(DomainError):
    code = "invalid_claim"
    title = "The claimed parcel geometry cannot be read"


class DuplicateApplicationKey(Conflict):
    code = "duplicate_application_key"
    title = "That application key is already in use"


class WrongState(Conflict):
    code = "wrong_state"
    title = "Not allowed in the application's current state"


class NotVerified(Conflict):
    code = "not_verified"
    title = "No passing or overridden verification"


class ApprovalConflict(Conflict):
    code = "approval_conflict"
    title = "The claim now conflicts with the registry"


class DisputeNotFound(NotFound):
    code = "dispute_not_found"
    title = "Dispute not found"


class InvalidDispute(DomainError):
    code = "invalid_dispute"
    title = "Invalid dispute"

"""The kinds of domain error every registry package shares: not found, conflict, forbidden.

Each is a ``gis.errors.DomainError`` (code, title, a ``detail`` sentence, ``extra`` facts);
the HTTP layer maps each class to a status code in one table (``api/errors.py``); the
command line prints the detail and exits 2.
"""

from __future__ import annotations

from gis.errors import DomainError


class NotFound(DomainError):
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    code = "conflict"
    title = "Conflict with the registry"


class Forbidden(DomainError):
    code = "forbidden"
    title = "Not allowed for this role"


class StaleVersion(Conflict):
    """The change was based on a version of the record that is no longer the current one:
    someone else changed it first.  Nothing was written; ``extra`` names the current
    version and its ETag, so the caller can read it again and decide."""

    code = "stale_version"
    title = "The record changed since you read it"

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

"""The base of every domain error: a stable machine code and a message safe to show.

The HTTP layer maps each subclass to a status code in one table
(``api/errors.py``); the command line prints the message and exits 2.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """An error a user caused and can fix; nothing was written."""

    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    code = "conflict"
    title = "Conflict with the registry"


class Forbidden(DomainError):
    code = "forbidden"
    title = "Not allowed for this role"

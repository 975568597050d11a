"""The one shape of every error a user can cause, whichever package raises it.

An error has a stable machine ``code`` (the problem type ``/problems/<code>``), a fixed
``title``, a ``detail`` sentence safe to show that says what is wrong with this input,
and ``extra``: the structured facts behind it (the offending parcels or features, the
layers found, the suggested fix).  These are the members of an RFC 9457 problem
document: ``api/errors.py`` maps each class to a status code in one table and sends
``extra`` as extension members; the command line prints ``detail`` and exits 2.
Nothing is written when one is raised.

It lives in ``gis`` because ``gis`` imports nothing of ours and every package may import
``gis``: the file readers' errors (``gis.intake.errors``) and the registry's (``db.errors``,
``parcels.errors``, ``certificates.errors``, ``api.users``) derive from the same base.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """An error a user caused and can fix; nothing was written."""

    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra: dict[str, Any] = extra


class OutsideWard(DomainError):
    """Geometry outside the ward: a parcel written to the registry that lies partly outside,
    or (``gis.intake.errors.OutsideWardError``) an uploaded file of which no feature lies inside."""

    code = "outside_ward"
    title = "Parcel lies outside the ward"

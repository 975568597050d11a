"""Response classes (GeoJSON with its registered media type) and the headers every
response carries."""

from __future__ import annotations

from typing import Any, Final

import orjson
from fastapi.responses import JSONResponse


class GeoJSONResponse(JSONResponse):
    """``application/geo+json`` (RFC 7946); content is built as plain dicts, not re-validated.

    Serialised with orjson: a 100-parcel page is about a thousand coordinate pairs,
    which the standard library encodes several times slower.
    """

    media_type = "application/geo+json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


SECURITY_HEADERS: Final[dict[str, str]] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    # Every page, /docs included, runs only scripts from our own origin: no inline script,
    # nothing from a CDN.  Inline styles stay allowed (attributes in our pages, Swagger UI).
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    # Tokens and records (applicants' names and papers) must not sit in a browser's or a
    # proxy's cache; a response that may be cached (the docs' files) says so itself.
    "Cache-Control": "no-store",
}
"""Set on every response that does not set its own (api.app.RequestContext; a 500, which
Starlette answers outside every middleware, gets them from api.errors)."""

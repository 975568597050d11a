"""Response classes (GeoJSON with its registered media type) and the headers every
response carries."""

from __future__ import annotations

import base64
import hashlib
import re
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


CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

SECURITY_HEADERS: Final[dict[str, str]] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    # Every page, /docs included, runs only scripts from our own origin: no inline script,
    # nothing from a CDN.  Inline styles stay allowed (attributes in our pages, Swagger UI).
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # Tokens and records (applicants' names and papers) must not sit in a browser's or a
    # proxy's cache; a response that may be cached (the docs' files) says so itself.
    "Cache-Control": "no-store",
}
"""Set on every response that does not set its own (api.app.RequestContext; a 500, which
Starlette answers outside every middleware, gets them from api.errors)."""


_INLINE_SCRIPT: Final = re.compile(r"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>",
                                   re.IGNORECASE | re.DOTALL)


def inline_script_policy(page: str, *, allow_eval: bool = False) -> str:
    """The Content-Security-Policy of a page whose own scripts are inline (folium's maps):
    the same policy as every page, with exactly these scripts allowed by their SHA-256.

    A script injected into the page (a stored name with ``<script>`` in it) has another hash
    and does not run; ``'unsafe-inline'`` would let it.  ``allow_eval`` is for a library that
    compiles its templates in the browser (leaflet-measure does, with lodash).
    """
    hashes = sorted({base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
                     for body in _INLINE_SCRIPT.findall(page)})
    allowed = " ".join(f"'sha256-{h}'" for h in hashes)
    if allow_eval:
        allowed += " 'unsafe-eval'"
    return CONTENT_SECURITY_POLICY.replace("script-src 'self'", f"script-src 'self' {allowed}")

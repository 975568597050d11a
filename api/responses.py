"""Response classes: GeoJSON with its registered media type."""

from __future__ import annotations

from typing import Any

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

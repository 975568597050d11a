"""Response classes: GeoJSON with its registered media type."""

from __future__ import annotations

from fastapi.responses import JSONResponse


class GeoJSONResponse(JSONResponse):
    """``application/geo+json`` (RFC 7946); content is built as plain dicts, not re-validated."""

    media_type = "application/geo+json"

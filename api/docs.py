"""The OpenAPI pages, served with Swagger UI's files from our own origin.

FastAPI's default ``/docs`` loads Swagger UI from a CDN (no integrity check, on the
session's origin, and nothing at all in the field without internet) and starts it with an
inline script.  Here the files come from the ``fastapi-offline`` package (Swagger UI 5,
which reads OpenAPI 3.1), the start-up script is a file of ours (``docs_assets/init.js``),
and the page works under the service's Content-Security-Policy (``api.app``), which
allows no inline script and nothing from elsewhere.  ReDoc and the OAuth2 redirect page
(both CDN- or inline-script-based) are not served.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Final

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

SWAGGER: Final = Path(str(files("fastapi_offline").joinpath("static")))
INIT: Final = Path(__file__).resolve().parent / "docs_assets" / "init.js"
ASSET_CACHE: Final = {"Cache-Control": "public, max-age=86400"}

router = APIRouter(include_in_schema=False)

PAGE: Final = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<title>Kim Long land records — API / Sổ địa chính phường Kim Long</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head><body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body></html>
"""


@router.get("/docs", response_class=HTMLResponse)
def docs() -> HTMLResponse:
    return HTMLResponse(PAGE)


@router.get("/docs/swagger-ui-bundle.js")
def swagger_script() -> FileResponse:
    return FileResponse(SWAGGER / "swagger-ui-bundle.js", media_type="text/javascript",
                        headers=ASSET_CACHE)


@router.get("/docs/swagger-ui.css")
def swagger_style() -> FileResponse:
    return FileResponse(SWAGGER / "swagger-ui.css", media_type="text/css", headers=ASSET_CACHE)


@router.get("/docs/init.js")
def swagger_init() -> FileResponse:
    return FileResponse(INIT, media_type="text/javascript", headers=ASSET_CACHE)

"""Files posted from the pages: a claimed boundary (one polygon), a survey file (a batch).

A claimed or re-measured boundary is read by the same safe reader as survey files
(:func:`gis.intake.upload.read_upload`: format from content, archives vetted, GDAL kept
in its folder), into the ward's CRS; it must hold exactly one polygon.

A survey file may be large: its page route (:class:`CappedPageUpload`) cuts the body off
at the intake limit while it streams in, as the API's upload route does, and refuses a
request without a session before reading a byte of it.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, UploadFile
from fastapi.responses import Response
from shapely.geometry import MultiPolygon, Polygon

from api.auth import SESSION_COOKIE
from api.upload_limit import CappedBody, too_large
from api.web.access import SignInNeeded
from api.web.errors import PageRoute, page_for
from certificates.errors import InvalidClaim
from config.settings import Settings
from gis.intake.archives import copy_limited
from gis.intake.upload import read_upload
from parcels import surveys

CRS_CHOICES = ("", "9214", "4326", "4756", "3405", "3406")
"""The CRS a user may name for a file that has none ("" = as the file says)."""


def given(upload: UploadFile | None) -> bool:
    """Whether the form's file input carried a file (browsers send an empty part if not)."""
    return upload is not None and bool(upload.filename) and (upload.size is None
                                                             or upload.size > 0)


def read_claim(upload: UploadFile, *, crs: str | None, settings: Settings) -> Polygon:
    """The one polygon of an uploaded boundary file, in EPSG:9214."""
    if crs not in (None, *CRS_CHOICES):
        raise InvalidClaim(f"unknown CRS choice {crs!r}", field="crs")
    intake = settings.intake
    with surveys.upload_folder(intake) as folder:
        path = folder / "claim.bin"
        copy_limited(upload.file, path, intake.max_file_bytes)
        result = read_upload(path, workdir=folder, filename=upload.filename, crs=crs or None,
                             limits=surveys.intake_limits(intake))
    geoms = [g for g in result.features.geometry if g is not None and not g.is_empty]
    if len(geoms) != 1:
        raise InvalidClaim(f"the boundary file holds {len(geoms)} parcels; a claim is one "
                           "parcel: upload a file with one polygon, or choose a survey batch "
                           "feature", features=len(geoms),
                           vi=f"Tệp có {len(geoms)} thửa; hồ sơ chỉ gồm một thửa.")
    geom = geoms[0]
    if isinstance(geom, MultiPolygon) and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    if not isinstance(geom, Polygon):
        raise InvalidClaim(f"a claimed parcel is one polygon, got {geom.geom_type}")
    return geom


class CappedPageUpload(PageRoute):
    """A page route taking a survey file: the body is capped at the intake limit while it
    streams (Starlette would spool the whole file to disk before the page ran)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def capped(request: Request) -> Response:
            if not request.cookies.get(SESSION_COOKIE):  # before reading a byte of the body
                return page_for(request, SignInNeeded())
            body = CappedBody(request)
            refusal = body.declared_too_large()
            if refusal is not None:
                return page_for(request, refusal)
            response = await handler(body.request)
            return page_for(request, too_large(body.max_file)) if body.exceeded else response

        return capped

"""The ready QGIS project of the ward, for the signed-in user."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import DbSession, Reader, SettingsDep
from api.qgis import project_for

router = APIRouter(prefix="/api/v1/qgis", tags=["QGIS"])


@router.get("/project.qgz", response_class=Response,
            responses={200: {"content": {"application/zip": {}},
                             "description": "a QGIS project (.qgz)"}})
def project(
    user: Reader, session: DbSession, settings: SettingsDep,
    authcfg: Annotated[str, Query(pattern=r"^[A-Za-z0-9]{7}$",
                                  description="id of the QGIS authentication configuration "
                                              "the layers sign in with")] = "kimlong",
) -> Response:
    """A QGIS project of the ward in EPSG:9214 with the ``/ogc`` layers, styled: parcels by
    land use (Vietnamese names in the legend) with parcel numbers from 1:2,500 in, zones,
    project corridors and, for land officers, pending applications.  Open it in QGIS after
    making a Basic authentication configuration whose id is ``authcfg`` (your username and
    password, or a personal access token)."""
    base = settings.server.public_base_url()  # never the request's Host header
    body = project_for(session, ward_code=user.ward_code, role=user.role, base_url=base,
                       authcfg=authcfg)
    return Response(body, media_type="application/zip", headers={
        "Content-Disposition": 'attachment; filename="kimlong.qgz"',
        "Cache-Control": "no-store"})

"""The QGIS project for a user: the ward read from the registry, the project written by
``maps.qgis_project``.  Shared by the HTTP route and ``cadastre qgis-project``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from config import clock
from config.land_use import load as land_use_list
from db.errors import NotFound
from maps.qgis_project import DEFAULT_AUTHCFG, WardView, qgis_project
from parcels.ward import ward_summary


def project_for(session: Session, *, ward_code: str, role: str, base_url: str,
                authcfg: str = DEFAULT_AUTHCFG) -> bytes:
    """The .qgz of the ward for a user of ``role`` (the pending applications only for land
    officers, who alone may read them) of the service at ``base_url``."""
    ward = ward_summary(session, ward_code=ward_code)
    if ward is None:
        raise NotFound(f"no ward {ward_code} in the registry")
    return qgis_project(ogc_url=base_url.rstrip("/") + "/ogc",
                        ward=WardView(name=ward.name, synthetic=ward.synthetic,
                                      extent=ward.bounds),
                        land_uses=land_use_list(), on=clock.today(),
                        officer=role == "land_officer", authcfg=authcfg)

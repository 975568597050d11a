"""Drive Debian's QGIS (python3-qgis, the system Python, not the venv) as a user would.

Run by tests/api/test_qgis.py as ``/usr/bin/python3 tests/qgis_probe.py`` with
``QT_QPA_PLATFORM=offscreen`` and ``QGIS_AUTH_DB_DIR_PATH`` pointing at an empty
folder (a throwaway authentication database); reads one JSON request on standard input
and prints one JSON answer on the last line of standard output.

Requests:

- ``{"do": "layer", "url", "collection", "username", "password", "window"}``: store a
  Basic authentication configuration (QGIS's own auth manager, a master password), open the
  collection with QGIS's OAPIF provider, and read the features of ``window`` (EPSG:9214)
  transformed into EPSG:9214 by QGIS, as a map canvas in that CRS asks for them.
- ``{"do": "project", "path", "username", "password", "authcfg"}``: store the Basic
  configuration under the id the project names, open the project, and describe it.

Only the standard library and qgis are imported here.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from qgis.core import (
    QgsApplication,
    QgsAuthMethodConfig,
    QgsCoordinateReferenceSystem,
    QgsFeatureRequest,
    QgsGeometry,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
)

MASTER_PASSWORD = "probe-master-password"  # a throwaway auth database
LOG: list[str] = []
"""What QGIS logged (the provider's errors: a refused sign-in says so here)."""


def _auth(username: str, password: str, authcfg: str | None = None) -> str:
    """A Basic configuration in QGIS's encrypted auth database; its id."""
    manager = QgsApplication.authManager()
    if not manager.masterPasswordIsSet():
        assert manager.setMasterPassword(MASTER_PASSWORD, True), "master password refused"
    config = QgsAuthMethodConfig("Basic")
    config.setName(f"Kim Long ({username})")
    config.setConfig("username", username)
    config.setConfig("password", password)
    if authcfg:
        config.setId(authcfg)
    assert manager.storeAuthenticationConfig(config), "auth config not stored"
    return str(config.id())


def _layer(req: dict[str, Any]) -> dict[str, Any]:
    authcfg = _auth(req["username"], req["password"])
    uri = (f"pagingEnabled='true' restrictToRequestBBOX='1' typename='{req['collection']}' "
           f"url='{req['url']}/ogc' authcfg='{authcfg}'")
    layer = QgsVectorLayer(uri, req["collection"], "OAPIF")
    out: dict[str, Any] = {"valid": layer.isValid(), "log": LOG}
    if not layer.isValid():  # (layer.error() of an invalid OAPIF layer crashes QGIS 3.22)
        return out
    ward = QgsCoordinateReferenceSystem("EPSG:9214")
    x0, y0, x1, y1 = req["window"]
    window = QgsRectangle(x0, y0, x1, y1)
    request = QgsFeatureRequest()
    request.setDestinationCrs(ward, QgsProject.instance().transformContext())
    request.setFilterRect(window)  # in the destination CRS
    exact = QgsGeometry.fromRect(window)
    fetched, inside, vertices = 0, [], {}
    for feature in layer.getFeatures(request):
        fetched += 1
        geom = feature.geometry()
        if geom.intersects(exact):
            pid = int(feature["parcel_id"])
            inside.append(pid)
            vertices[pid] = [[p.x(), p.y()] for p in geom.vertices()]
    out.update(crs=layer.crs().authid(), fields=[f.name() for f in layer.fields()],
               fetched=fetched, ids=sorted(inside), vertices=vertices,
               land_uses=sorted({str(f["land_use"]) for f in layer.getFeatures(request)}))
    return out


def _project(req: dict[str, Any]) -> dict[str, Any]:
    _auth(req["username"], req["password"], req["authcfg"])
    project = QgsProject.instance()
    read = project.read(req["path"])
    layers = []
    for layer in project.mapLayers().values():
        about: dict[str, Any] = {"name": layer.name(), "valid": layer.isValid(),
                                 "provider": layer.providerType(), "crs": layer.crs().authid()}
        if layer.isValid():
            about["features"] = sum(1 for _ in layer.getFeatures(QgsFeatureRequest()
                                                                 .setLimit(50)))
        renderer = layer.renderer()
        about["renderer"] = renderer.type() if renderer is not None else None
        if renderer is not None and renderer.type() == "categorizedSymbol":
            about["attr"] = renderer.classAttribute()
            about["categories"] = [[str(c.value()), c.label(), c.symbol().color().name()]
                                   for c in renderer.categories()]
        about["labels"] = layer.labelsEnabled()
        if layer.labelsEnabled():
            settings = layer.labeling().settings()
            about["label_field"] = settings.fieldName
            about["label_scale"] = [settings.scaleVisibility, settings.minimumScale,
                                    settings.maximumScale]
        layers.append(about)
    group = project.layerTreeRoot().children()
    return {"read": read, "crs": project.crs().authid(), "title": project.title(), "log": LOG,
            "group": group[0].name() if group else None, "layers": layers}


def main() -> None:
    req = json.loads(sys.stdin.read())
    app = QgsApplication([], False)
    app.initQgis()
    QgsApplication.messageLog().messageReceived.connect(
        lambda message, tag, _level: LOG.append(f"{tag}: {message}"))
    try:
        answer = _layer(req) if req["do"] == "layer" else _project(req)
    finally:
        app.exitQgis()
    print(json.dumps(answer, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""A ready QGIS project (.qgz) of the ward: the ``/ogc`` collections as layers, styled.

An officer opens it and sees the ward in VN-2000 / TM-3 107-00 (the project CRS is
EPSG:9214): parcels coloured by land use with the Vietnamese names in the legend (the
styles generated from ``config/land_use.toml``), "số thửa" labels from 1:2,500 in,
protection zones, road project centrelines and, for land officers, the pending
applications.  The layers are QGIS's own OGC API Features provider (``OAPIF``) on the
service's ``/ogc``.

Signing in is left to the user: every layer names the authentication configuration
``kimlong`` (QGIS: Settings → Options → Authentication, a Basic configuration whose Id is
set to ``kimlong``, holding the user's name and password or a personal access token).
Nothing secret is in the file.

Only the XML QGIS needs is written; QGIS 3.22 (Debian 12) fills in the rest on opening
(tests/maps/test_qgis_project.py opens it in PyQGIS).  Pure: no database, no web.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date
from typing import Final
from xml.etree import ElementTree as ET

from config.land_use import LandUseList
from gis import crs as gcrs
from maps.land_use_styles import FALLBACK, RGB, code_colours, hex_rgb
from maps.styles import SYNTHETIC_NOTICE, ZONE_COLOURS, ZONE_NAMES

DEFAULT_AUTHCFG: Final = "kimlong"
AUTHCFG: Final = re.compile(r"^[A-Za-z0-9]{7}$")
"""QGIS authentication configuration ids are seven letters or digits."""
LABEL_SCALE: Final = 2500
"""Parcel numbers are drawn from 1:2,500 in (cadastral sheets of an urban ward are 1:500
to 1:2,000; further out the numbers would hide the map)."""
QGIS_VERSION: Final = "3.22.0"
PROJECT_FILE: Final = "kimlong.qgs"

@dataclass(frozen=True)
class WardView:
    """What the project says about the ward: its name, whether it is the synthetic demo
    ward, and its extent in EPSG:9214 (where the map opens)."""

    name: str
    synthetic: bool
    extent: tuple[float, float, float, float] | None


class ProjectError(ValueError):
    """A request for a project that cannot be written (a malformed authcfg id)."""


def qgis_project(*, ogc_url: str, ward: WardView, land_uses: LandUseList, on: date,
                 officer: bool, authcfg: str = DEFAULT_AUTHCFG) -> bytes:
    """The .qgz (a zip holding the .qgs) for a user of the service at ``ogc_url``."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(PROJECT_FILE, qgs_xml(ogc_url=ogc_url, ward=ward, land_uses=land_uses,
                                         on=on, officer=officer, authcfg=authcfg))
    return out.getvalue()


def qgs_xml(*, ogc_url: str, ward: WardView, land_uses: LandUseList, on: date,
            officer: bool, authcfg: str = DEFAULT_AUTHCFG) -> str:
    """The project document (.qgs)."""
    if not AUTHCFG.match(authcfg):
        raise ProjectError(f"authcfg {authcfg!r} is not a QGIS authentication id "
                           "(seven letters or digits)")
    said = "mô phỏng" in ward.name.lower()  # the demo ward's name says so already
    note = " — Dữ liệu mô phỏng / synthetic demo data" if ward.synthetic and not said else ""
    title = f"{ward.name}{note}"
    layers = [_parcels(ogc_url, authcfg, land_uses, on), _zones(ogc_url, authcfg),
              _corridors(ogc_url, authcfg)]
    if officer:
        layers.insert(0, _pending(ogc_url, authcfg))

    root = ET.Element("qgis", projectname=title, version=QGIS_VERSION)
    ET.SubElement(root, "title").text = title
    ET.SubElement(ET.SubElement(root, "projectCrs"), "spatialrefsys").extend(
        _srs_children(gcrs.WARD))
    tree = ET.SubElement(root, "layer-tree-group")
    group = ET.SubElement(tree, "layer-tree-group", name=title, checked="Qt::Checked",
                          expanded="1")
    for layer in layers:
        ET.SubElement(group, "layer-tree-layer", id=layer.get("id", ""),
                      name=layer.findtext("layername", ""), providerKey="OAPIF",
                      source=layer.findtext("datasource", ""), checked="Qt::Checked",
                      expanded="1")
    ET.SubElement(root, "projectlayers").extend(layers)
    # QGIS reads projectCrs only where the project says it has one.
    properties = ET.SubElement(ET.SubElement(root, "properties"), "SpatialRefSys")
    ET.SubElement(properties, "ProjectionsEnabled", type="int").text = "1"
    if ward.extent is not None:
        root.append(_canvas(ward.extent))
    meta = ET.SubElement(root, "projectMetadata")
    ET.SubElement(meta, "title").text = title
    ET.SubElement(meta, "abstract").text = (
        f"{ward.name}: thửa đất, vùng hạn chế, tim tuyến dự án"
        + (", hồ sơ đang xử lý" if officer else "")
        + f" từ {ogc_url} (OGC API Features). Hệ tọa độ VN-2000 / TM-3 107-00 (EPSG:9214). "
        + ("{}. {}. ".format(*SYNTHETIC_NOTICE) if ward.synthetic else "")
        + f"Đăng nhập: cấu hình xác thực '{authcfg}' (Basic: tên và mật khẩu, hoặc mã truy "
          f"cập cá nhân). Sign in with the authentication configuration '{authcfg}'.")
    ET.indent(root)
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            + ET.tostring(root, encoding="unicode"))


# ------------------------------------------------------------------------- the layers


def _source(ogc_url: str, collection: str, authcfg: str) -> str:
    """The OAPIF data source: only the features in view are asked for (a ward has tens of
    thousands of parcels), a page of 1,000 (the service's largest) at a time."""
    return (f"pagingEnabled='true' pageSize='1000' restrictToRequestBBOX='1' "
            f"typename='{collection}' url='{ogc_url}' authcfg='{authcfg}'")


def _layer(collection: str, name: str, geometry: str, ogc_url: str, authcfg: str,
           renderer: ET.Element, labeling: ET.Element | None = None) -> ET.Element:
    layer = ET.Element("maplayer", type="vector", geometry=geometry,
                       labelsEnabled="1" if labeling is not None else "0",
                       hasScaleBasedVisibilityFlag="0", minScale="0", maxScale="0")
    ET.SubElement(layer, "id").text = f"{collection}_kimlong"
    ET.SubElement(layer, "datasource").text = _source(ogc_url, collection, authcfg)
    ET.SubElement(layer, "layername").text = name
    ET.SubElement(ET.SubElement(layer, "srs"), "spatialrefsys").extend(
        _srs_children("OGC:CRS84"))
    ET.SubElement(layer, "provider", encoding="UTF-8").text = "OAPIF"
    layer.append(renderer)
    if labeling is not None:
        layer.append(labeling)
    return layer


def _parcels(ogc_url: str, authcfg: str, land_uses: LandUseList, on: date) -> ET.Element:
    colours = code_colours(land_uses)
    categories = [(c.code, c.label, _fill(colours[c.code], (90, 90, 90), 0.1))
                  for c in land_uses.in_force(on)]
    categories.append(("", "Mã khác / other code", _fill(FALLBACK, (90, 90, 90), 0.1)))
    # The first code of a mixed use (ODT+CLN) decides the colour.
    renderer = _categorized('left("land_use", 3)', categories)
    return _layer("parcels", "Thửa đất / Parcels", "Polygon", ogc_url, authcfg, renderer,
                  _labels("parcel_no", LABEL_SCALE))


def _zones(ogc_url: str, authcfg: str) -> ET.Element:
    # The zone kinds of the registry (the ``zone.kind`` check of migration 0002), named and
    # coloured as on the service's own maps.
    categories = [(kind, f"{vi} / {en}", _fill(rgb, rgb, 0.5, alpha=60))
                  for kind, (vi, en) in ZONE_NAMES.items()
                  for rgb in [hex_rgb(ZONE_COLOURS[kind])]]
    return _layer("zones", "Vùng hạn chế / Zones", "Polygon", ogc_url, authcfg,
                  _categorized("kind", categories))


def _corridors(ogc_url: str, authcfg: str) -> ET.Element:
    return _layer("corridors", "Tim tuyến dự án / Project corridors", "Line", ogc_url,
                  authcfg, _single(_line((200, 0, 0), 0.6, "dash")))


def _pending(ogc_url: str, authcfg: str) -> ET.Element:
    return _layer("pending_applications", "Hồ sơ đang xử lý / Pending applications",
                  "Polygon", ogc_url, authcfg,
                  _single(_fill((199, 125, 255), (123, 44, 191), 0.6, alpha=50)),
                  _labels("application_key", 5000))


# ------------------------------------------------------------------------ XML pieces


def _srs_children(code: int | str) -> list[ET.Element]:
    """A CRS as QGIS stores it: the WKT (lossless) and the authority id it falls back on."""
    out = []
    for tag, text in (("wkt", gcrs.wkt(code)), ("authid", gcrs.authid(code)),
                      ("description", gcrs.crs(code).name)):
        el = ET.Element(tag)
        el.text = text
        out.append(el)
    return out


def _options(**values: str) -> ET.Element:
    opt = ET.Element("Option", type="Map")
    for name, value in values.items():
        ET.SubElement(opt, "Option", name=name, value=value, type="QString")
    return opt


def _rgba(rgb: RGB, alpha: int = 255) -> str:
    return f"{rgb[0]},{rgb[1]},{rgb[2]},{alpha}"


def _symbol(kind: str, layer_class: str, **props: str) -> ET.Element:
    symbol = ET.Element("symbol", type=kind, alpha="1", clip_to_extent="1", force_rhr="0")
    layer = ET.SubElement(symbol, "layer", attrib={"class": layer_class, "enabled": "1",
                                                   "locked": "0", "pass": "0"})
    layer.append(_options(**props))
    return symbol


def _fill(fill: RGB, outline: RGB, width: float, alpha: int = 255) -> ET.Element:
    return _symbol("fill", "SimpleFill", color=_rgba(fill, alpha), style="solid",
                   outline_color=_rgba(outline), outline_style="solid",
                   outline_width=str(width), outline_width_unit="MM")


def _line(colour: RGB, width: float, style: str) -> ET.Element:
    return _symbol("line", "SimpleLine", line_color=_rgba(colour), line_width=str(width),
                   line_width_unit="MM", line_style=style, capstyle="round",
                   joinstyle="round")


def _categorized(attr: str, categories: list[tuple[str, str, ET.Element]]) -> ET.Element:
    renderer = ET.Element("renderer-v2", type="categorizedSymbol", attr=attr,
                          symbollevels="0", forceraster="0", enableorderby="0")
    cats = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    for i, (value, label, symbol) in enumerate(categories):
        ET.SubElement(cats, "category", value=value, label=label, symbol=str(i), render="true")
        symbol.set("name", str(i))
        symbols.append(symbol)
    return renderer


def _single(symbol: ET.Element) -> ET.Element:
    renderer = ET.Element("renderer-v2", type="singleSymbol", symbollevels="0",
                          forceraster="0", enableorderby="0")
    symbol.set("name", "0")
    ET.SubElement(renderer, "symbols").append(symbol)
    return renderer


def _labels(field: str, largest_scale: int) -> ET.Element:
    """Labels of ``field`` drawn over the centroid, from 1:``largest_scale`` in."""
    labeling = ET.Element("labeling", type="simple")
    settings = ET.SubElement(labeling, "settings", calloutType="simple")
    ET.SubElement(settings, "text-style", fieldName=field, isExpression="0", fontSize="8",
                  fontSizeUnit="Point", textColor="20,20,20,255", fontFamily="Sans Serif",
                  namedStyle="Regular", fontWeight="50", textOpacity="1")
    ET.SubElement(settings, "text-format", wrapChar="", multilineAlign="0",
                  plussign="0", reverseDirectionSymbol="0", addDirectionSymbol="0")
    ET.SubElement(settings, "placement", placement="1", centroidInside="1",
                  centroidWhole="0", fitInPolygonOnly="0", dist="0")
    # QGIS names the bounds the other way round: scaleMax is the smallest scale shown.
    ET.SubElement(settings, "rendering", scaleVisibility="1", scaleMin="1",
                  scaleMax=str(largest_scale), drawLabels="1", obstacle="1",
                  displayAll="0", maxNumLabels="2000", limitNumLabels="0")
    return labeling


def _canvas(extent: tuple[float, float, float, float]) -> ET.Element:
    canvas = ET.Element("mapcanvas", name="theMapCanvas", annotationsVisible="1")
    ET.SubElement(canvas, "units").text = "meters"
    box = ET.SubElement(canvas, "extent")
    for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), extent, strict=True):
        ET.SubElement(box, tag).text = f"{value:.3f}"
    ET.SubElement(canvas, "rotation").text = "0"
    ET.SubElement(ET.SubElement(canvas, "destinationsrs"), "spatialrefsys").extend(
        _srs_children(gcrs.WARD))
    return canvas

"""KML placemarks as parcels, parsed without GDAL.

KML is XML, and XML can declare entities that expand a kilobyte into
gigabytes (billion laughs) or pull in local files and URLs (external
entities).  The file is parsed here with defusedxml, which refuses any
DOCTYPE before an entity could be expanded, so neither GDAL nor a network
link (``NetworkLink``) ever sees it.  Coordinates are always WGS 84
longitude, latitude[, altitude] (the KML 2.2 standard).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import defusedxml
import defusedxml.ElementTree as SafeET
import shapely
import shapely.errors
from shapely.geometry import LinearRing, LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from gis.intake.errors import (
    CorruptFileError,
    FormatMismatchError,
    TooManyFeaturesError,
    XmlEntityError,
)
from gis.intake.types import RawFeatures


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _coords(elem: ET.Element | None) -> list[tuple[float, ...]]:
    if elem is None or not elem.text:
        return []
    out = []
    for token in elem.text.split():
        try:
            out.append(tuple(float(v) for v in token.split(",") if v != ""))
        except ValueError as exc:
            raise CorruptFileError(
                f"The KML coordinate {token[:40]!r} is not a number.",
                vi="Tọa độ trong KML không phải là số.",
            ) from exc
    return out


def _child(elem: ET.Element, name: str) -> ET.Element | None:
    for c in elem:
        if _local(c.tag) == name:
            return c
    return None


def _ring_coords(boundary: ET.Element) -> list[tuple[float, ...]]:
    ring = _child(boundary, "LinearRing")
    return _coords(_child(ring, "coordinates")) if ring is not None else []


def _geometry(elem: ET.Element) -> list[BaseGeometry]:
    name = _local(elem.tag)
    if name == "Polygon":
        outer = _child(elem, "outerBoundaryIs")
        shell = _ring_coords(outer) if outer is not None else []
        holes = [_ring_coords(b) for b in elem if _local(b.tag) == "innerBoundaryIs"]
        if len(shell) < 3:
            return [LineString(shell)] if len(shell) >= 2 else []
        return [Polygon(shell, [h for h in holes if len(h) >= 3])]
    if name in ("LineString", "LinearRing"):
        pts = _coords(_child(elem, "coordinates"))
        if name == "LinearRing" and len(pts) >= 3:
            return [LinearRing(pts)]
        return [LineString(pts)] if len(pts) >= 2 else []
    if name == "Point":
        pts = _coords(_child(elem, "coordinates"))
        return [Point(pts[0])] if pts else []
    if name == "MultiGeometry":
        return [g for c in elem for g in _geometry(c)]
    return []


def _attributes(placemark: ET.Element) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for c in placemark:
        tag = _local(c.tag)
        if tag in ("name", "description") and c.text:
            attrs[tag] = c.text.strip()
        elif tag == "ExtendedData":
            for d in c.iter():
                dtag = _local(d.tag)
                if dtag == "Data" and d.get("name"):
                    value = _child(d, "value")
                    attrs[str(d.get("name"))] = (value.text or "").strip() if value is not None \
                        else None
                elif dtag == "SimpleData" and d.get("name"):
                    attrs[str(d.get("name"))] = (d.text or "").strip()
    return attrs


def _combine(parts: list[BaseGeometry]) -> BaseGeometry | None:
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    polys = [p for p in parts if isinstance(p, Polygon)]
    if len(polys) == len(parts):
        return shapely.multipolygons(polys)
    return shapely.geometrycollections(parts)


def read_kml(path: Path, *, max_features: int) -> RawFeatures:
    """Placemarks of a KML file, in document order, with their folder as layer.

    Raises ``XmlEntityError`` for any DOCTYPE/ENTITY declaration,
    ``FormatMismatchError`` when the XML is not KML, ``CorruptFileError``
    when it is not well-formed.
    """
    geometries: list[BaseGeometry | None] = []
    attributes: list[dict[str, Any]] = []
    layers: list[str | None] = []
    stack: list[str] = []
    folders: list[str | None] = []

    try:
        for event, elem in SafeET.iterparse(str(path), events=("start", "end"),
                                            forbid_dtd=True, forbid_entities=True,
                                            forbid_external=True):
            tag = _local(elem.tag)
            if event == "start":
                if not stack and tag != "kml":
                    raise FormatMismatchError(
                        f"The XML file's root element is <{tag[:40]}>, not <kml>.",
                        vi="Tệp XML không phải là KML.", detected="xml",
                    )
                stack.append(tag)
                if tag in ("Folder", "Document"):
                    folders.append(None)
                continue
            stack.pop()
            if tag == "name" and stack and stack[-1] in ("Folder", "Document") and folders:
                folders[-1] = (elem.text or "").strip() or None
            elif tag in ("Folder", "Document") and folders:
                folders.pop()
            elif tag == "Placemark":
                if len(geometries) >= max_features:
                    raise TooManyFeaturesError(
                        f"The file has more than {max_features:,} placemarks.",
                        vi=f"Tệp có hơn {max_features:,} đối tượng.", max_features=max_features,
                    )
                try:
                    parts = [g for c in elem for g in _geometry(c)]
                except (ValueError, TypeError, shapely.errors.ShapelyError) as exc:
                    raise CorruptFileError(
                        f"Placemark {len(geometries) + 1} has malformed coordinates.",
                        vi="Tọa độ trong KML không hợp lệ.", feature=len(geometries),
                    ) from exc
                geometries.append(_combine(parts))
                attributes.append(_attributes(elem))
                layers.append(next((f for f in reversed(folders) if f), None))
                elem.clear()
    except (defusedxml.DTDForbidden, defusedxml.EntitiesForbidden,
            defusedxml.ExternalReferenceForbidden) as exc:
        raise XmlEntityError(
            "The KML declares a DOCTYPE or XML entities; these are refused because they can "
            "expand without limit or read other files. Export the KML again without them.",
            vi="KML có khai báo DOCTYPE/ENTITY (có thể gây tấn công): hãy xuất lại tệp.",
        ) from exc
    except ET.ParseError as exc:
        raise CorruptFileError(
            f"The KML is not well-formed XML ({str(exc)[:120]}).",
            vi="Tệp KML không đúng cú pháp XML.",
        ) from exc
    except LookupError as exc:  # <?xml ... encoding="..."?> names no known encoding
        raise CorruptFileError(
            f"The KML declares an encoding Python does not know ({str(exc)[:80]}); KML is "
            "UTF-8: export it again as UTF-8.",
            vi="Tệp KML khai báo bảng mã không hợp lệ; hãy xuất lại ở UTF-8.",
        ) from exc
    return RawFeatures(
        format="kml", layer=None, geometries=geometries, attributes=attributes,
        layers=layers, crs=4326, crs_origin="default", drawing=True,
    )

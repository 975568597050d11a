"""KML placemarks as parcels, parsed without GDAL.

KML is XML, and XML can declare entities that expand a kilobyte into
gigabytes (billion laughs) or pull in local files and URLs (external
entities).  The file is parsed here with defusedxml, which refuses any
DOCTYPE before an entity could be expanded, so neither GDAL nor a network
link (``NetworkLink``) ever sees it.  Coordinates are always WGS 84
longitude, latitude[, altitude] (the KML 2.2 standard).
"""

from __future__ import annotations

import re
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Final

import defusedxml
import defusedxml.ElementTree as SafeET
import numpy as np
import shapely
import shapely.errors
from shapely.geometry import LinearRing, LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from gis.intake.errors import (
    CorruptFileError,
    FormatMismatchError,
    ReadError,
    TooManyFeaturesError,
    TooManyVerticesError,
    XmlEntityError,
)
from gis.intake.types import RawFeatures


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


_TAG: Final = re.compile(rb"<(/?)(?:[\w.-]+:)?coordinates\b[^>]*>")
CHUNK: Final = 8 * 1024 * 1024


def tuples_at_least(path: Path) -> int:
    """A lower bound of the coordinate tuples in the file, from its bytes: half the commas
    inside ``<coordinates>`` elements (a tuple has one or two).  Counted a chunk at a time
    before the XML is parsed, because the parser holds a whole coordinate list as one
    string: an 83 MB list passed 336 MiB before it could be counted."""
    commas, inside, carry = 0, False, b""
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            data = carry + chunk
            cut = data.rfind(b"<")
            if cut >= 0 and data.find(b">", cut) < 0:  # a tag cut by the chunk's end
                data, carry = data[:cut], data[cut:]
            else:
                carry = b""
            at = 0
            for tag in _TAG.finditer(data):
                if inside:
                    commas += data.count(b",", at, tag.start())
                inside, at = not tag.group(1), tag.end()
            if inside:
                commas += data.count(b",", at)
    return commas // 2


class _Vertices:
    """The running count of coordinate tuples, checked before each list is parsed."""

    def __init__(self, cap: int) -> None:
        self.cap, self.seen = cap, 0

    def take(self, n: int) -> None:
        self.seen += n
        if self.seen > self.cap:
            raise TooManyVerticesError(
                f"The KML has more than {self.cap:,} coordinate tuples; at most {self.cap:,} "
                "vertices are accepted.", vi=f"Tệp KML có hơn {self.cap:,} đỉnh.",
                max_vertices=self.cap)


_SPACE: Final = np.frombuffer(b" \t\r\n", dtype=np.uint8)


def _tuples(text: str) -> int:
    """How many whitespace-separated tuples ``text`` holds, counted without splitting it."""
    b = np.frombuffer(text.encode("ascii", errors="replace"), dtype=np.uint8)
    space = np.isin(b, _SPACE)
    return int(np.count_nonzero(space[:-1] & ~space[1:])) + int(not space[0])


def _coords(elem: ET.Element | None, budget: _Vertices) -> np.ndarray:
    """The coordinate tuples of a ``<coordinates>`` element as an (n, 2|3) float array.

    Counted before parsing (a 5.6 MB coordinate list as Python tuples took 150 MB), then
    parsed by numpy at 16-24 bytes a vertex; a list that numpy cannot read as uniform
    tuples is read tuple by tuple to name the bad one.
    """
    text = elem.text.strip() if elem is not None and elem.text else ""
    if not text:
        return np.empty((0, 2))
    n = _tuples(text)
    budget.take(n)
    commas = text.count(",")
    try:
        with warnings.catch_warnings():  # numpy < 2.3 warned where it now raises
            warnings.simplefilter("error", DeprecationWarning)
            values = np.fromstring(text.replace(",", " "), sep=" ")
    except (ValueError, DeprecationWarning):
        values = np.empty(0)
    if len(values) == commas + n and commas in (n, 2 * n):
        return values.reshape(n, commas // n + 1)
    out = []
    for token in text.split():
        try:
            out.append(tuple(float(v) for v in token.split(",") if v != ""))
        except ValueError as exc:
            raise CorruptFileError(
                f"The KML coordinate {token[:40]!r} is not a number.",
                vi="Tọa độ trong KML không phải là số.",
            ) from exc
    if any(len(t) < 2 for t in out):
        raise CorruptFileError("A KML coordinate tuple needs a longitude and a latitude.",
                               vi="Tọa độ KML cần kinh độ và vĩ độ.")
    return np.asarray([t[:2] for t in out], dtype=float) if out else np.empty((0, 2))


def _child(elem: ET.Element, name: str) -> ET.Element | None:
    for c in elem:
        if _local(c.tag) == name:
            return c
    return None


def _ring_coords(boundary: ET.Element, budget: _Vertices) -> np.ndarray:
    ring = _child(boundary, "LinearRing")
    return _coords(_child(ring, "coordinates"), budget) if ring is not None else np.empty((0, 2))


def _geometry(elem: ET.Element, budget: _Vertices) -> list[BaseGeometry]:
    name = _local(elem.tag)
    if name == "Polygon":
        outer = _child(elem, "outerBoundaryIs")
        shell = _ring_coords(outer, budget) if outer is not None else np.empty((0, 2))
        holes = [_ring_coords(b, budget) for b in elem if _local(b.tag) == "innerBoundaryIs"]
        if len(shell) < 3:
            return [LineString(shell)] if len(shell) >= 2 else []
        return [Polygon(shell, [h for h in holes if len(h) >= 3])]
    if name in ("LineString", "LinearRing"):
        pts = _coords(_child(elem, "coordinates"), budget)
        if name == "LinearRing" and len(pts) >= 3:
            return [LinearRing(pts)]
        return [LineString(pts)] if len(pts) >= 2 else []
    if name == "Point":
        pts = _coords(_child(elem, "coordinates"), budget)
        return [Point(pts[0])] if len(pts) else []
    if name == "MultiGeometry":
        return [g for c in elem for g in _geometry(c, budget)]
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


def read_kml(path: Path, *, max_features: int, max_vertices: int = 1_000_000) -> RawFeatures:
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
    budget = _Vertices(max_vertices)
    budget.take(tuples_at_least(path))  # refused here, unparsed, when surely over the cap
    budget.seen = 0

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
                    parts = [g for c in elem for g in _geometry(c, budget)]
                except ReadError:
                    raise
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

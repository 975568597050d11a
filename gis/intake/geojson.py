"""GeoJSON features as parcels, parsed without GDAL, one feature at a time.

GDAL picks a driver by content, and several JSON dialects it knows open other
files (a GDAL pipeline, ``"type": "gdal_streamed_alg"``, runs commands on
arbitrary paths).  GeoJSON is simple enough to read ourselves, so only plain
GeoJSON is accepted and nothing else is ever opened.

A whole-document ``json.load`` costs about 130 bytes per coordinate pair (a list and
two floats): a 20 MB file of 3.3 million pairs took a gigabyte before any cap was
checked.  So the file is first counted at C speed (coordinate pairs and features, from
the bytes, without parsing) and refused when over the caps; only then are the
features streamed with ``ijson`` (yajl, in C), each turned into a shapely geometry
and dropped, so the parse holds one feature's JSON at a time.

Coordinates are WGS 84 longitude/latitude (RFC 7946) unless the file carries
the 2008-style ``"crs"`` member, which surveyors' tools still write for VN-2000.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Final

import ijson
import numpy as np
from shapely.errors import GeometryTypeError, ShapelyError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from gis.crs import CRSError, epsg_of
from gis.intake.errors import (
    CorruptFileError,
    CRSUnknownError,
    ReadError,
    TooManyFeaturesError,
    TooManyVerticesError,
)
from gis.intake.types import RawFeatures

CHUNK: Final = 8 * 1024 * 1024
_WHITESPACE: Final = b" \t\r\n"
_NUMBER_START: Final = np.frombuffer(b"-+0123456789.", dtype=np.uint8)
"""What a position's first member starts with (a position is an array of numbers)."""
_FEATURE: Final = b'"Feature"'
_JSON_ERRORS = (ijson.JSONError, UnicodeDecodeError, RecursionError)


def _crs_member(member: Any) -> int | None:
    if not isinstance(member, dict):
        return None
    props = member.get("properties") or {}
    name = props.get("name") if isinstance(props, dict) else None
    if not isinstance(name, str):
        return None
    if name.upper().endswith("CRS84"):
        return 4326  # longitude/latitude on WGS 84, the GeoJSON default spelled out
    try:
        return epsg_of(name)
    except CRSError as exc:
        raise CRSUnknownError(
            f"The GeoJSON names the CRS {name[:80]!r}, which has no EPSG code; give the CRS "
            "explicitly (e.g. 9214).", crs=name[:120],
        ) from exc


def _geometry(obj: Any, index: int) -> BaseGeometry | None:
    if obj is None:
        return None
    try:
        return shape(obj)
    except (GeometryTypeError, ShapelyError, KeyError, TypeError, ValueError,
            IndexError, AttributeError, RecursionError) as exc:
        raise CorruptFileError(
            f"Feature {index + 1} has a malformed geometry.",
            vi=f"Đối tượng {index + 1} có hình học không hợp lệ.", feature=index,
        ) from exc


def _corrupt() -> CorruptFileError:
    return CorruptFileError(
        "The file is not valid JSON; it may be cut off or damaged.",
        vi="Tệp không phải JSON hợp lệ (có thể bị cắt hoặc hỏng).",
    )


def count_file(path: Path) -> tuple[int, int]:
    """(coordinate positions, ``"Feature"`` tokens) in the file, counted from its bytes.

    Both are upper bounds (a string that looks like a position or names "Feature" counts
    too): enough to refuse a file over the caps before it is parsed.  ``bytes.count``
    finds the usual file's ``[`` count at memory speed; only a file with more brackets
    than positions allowed is counted exactly, by a regular expression in C.
    """
    brackets = features = 0
    tail = b""
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            brackets += chunk.count(b"[")
            features += (tail + chunk[:len(_FEATURE)]).count(_FEATURE) + chunk.count(_FEATURE)
            tail = chunk[-len(_FEATURE) + 1:]
    return brackets, features


def _positions(path: Path) -> int:
    """Coordinate positions in the file: a ``[`` whose next character, whitespace aside, starts
    a number.  Counted a chunk at a time by numpy (a regular expression's ``subn`` held a
    piece per match: 340 MiB for 3.3 million pairs)."""
    found = 0
    last = b""
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            data = np.frombuffer(last + chunk.translate(None, _WHITESPACE), dtype=np.uint8)
            if len(data):
                opens = np.flatnonzero(data[:-1] == ord("["))
                found += int(np.count_nonzero(np.isin(data[opens + 1], _NUMBER_START)))
                last = data[-1:].tobytes()
    return found


def check_caps(path: Path, *, max_features: int, max_vertices: int) -> None:
    """Refuse a file with more coordinate pairs or features than the caps, unparsed."""
    brackets, features = count_file(path)
    if features > max_features:
        raise TooManyFeaturesError(
            f"The file has about {features:,} features; at most {max_features:,} are "
            "accepted.", vi=f"Tệp có khoảng {features:,} đối tượng, tối đa {max_features:,}.",
            features=features, max_features=max_features)
    if brackets <= max_vertices:
        return
    positions = _positions(path)
    if positions > max_vertices:
        raise TooManyVerticesError(
            f"The file has {positions:,} coordinate pairs; at most {max_vertices:,} vertices "
            "are accepted.", vi=f"Tệp có {positions:,} đỉnh, tối đa {max_vertices:,}.",
            vertices=positions, max_vertices=max_vertices)


def _first(f: BinaryIO, prefix: str) -> Any:
    """The first value at ``prefix`` (a top-level member), or None; parsed in C."""
    f.seek(0)
    return next(ijson.items(f, prefix, use_float=True), None)


def _features(f: BinaryIO, kind: str) -> Iterator[Any]:
    f.seek(0)
    if kind == "FeatureCollection":
        yield from ijson.items(f, "features.item", use_float=True)
    elif kind == "Feature":
        yield from ijson.items(f, "", use_float=True)
    else:
        yield {"type": "Feature", "geometry": next(ijson.items(f, "", use_float=True)),
               "properties": {}}


def _has_feature_list(f: BinaryIO) -> bool:
    f.seek(0)
    for prefix, event, _ in ijson.parse(f):
        if prefix == "features":
            return event == "start_array"
    return False


def read_geojson(path: Path, *, max_features: int,
                 max_vertices: int = 1_000_000) -> RawFeatures:
    """Features of a GeoJSON FeatureCollection, Feature or bare geometry, in file order."""
    check_caps(path, max_features=max_features, max_vertices=max_vertices)
    geometries: list[BaseGeometry | None] = []
    attributes: list[dict[str, Any]] = []
    with path.open("rb") as f:
        try:
            kind = _first(f, "type")
            if not isinstance(kind, str):
                raise CorruptFileError("The JSON is not GeoJSON: it has no 'type' member.",
                                       vi="Tệp JSON không phải là GeoJSON.")
            epsg = _crs_member(_first(f, "crs"))
            for i, feat in enumerate(_features(f, kind)):
                if i >= max_features:
                    raise TooManyFeaturesError(
                        f"The file has more than {max_features:,} features.",
                        vi=f"Tệp có hơn {max_features:,} đối tượng.", max_features=max_features)
                if not isinstance(feat, dict):
                    raise CorruptFileError(f"Feature {i + 1} is not a JSON object.", feature=i)
                props = feat.get("properties")
                geometries.append(_geometry(feat.get("geometry"), i))
                attributes.append(dict(props) if isinstance(props, dict) else {})
            if kind == "FeatureCollection" and not geometries and not _has_feature_list(f):
                raise CorruptFileError("The FeatureCollection has no 'features' list.",
                                       vi="GeoJSON thiếu danh sách 'features'.")
        except ReadError:
            raise
        except _JSON_ERRORS as exc:
            raise _corrupt() from exc
    return RawFeatures(
        format="geojson", layer=None, geometries=geometries, attributes=attributes,
        layers=[None] * len(geometries), crs=epsg or 4326,
        crs_origin="file" if epsg else "default",
    )

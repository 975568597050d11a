"""GeoJSON features as parcels, parsed without GDAL.

GDAL picks a driver by content, and several JSON dialects it knows open other
files (a GDAL pipeline, ``"type": "gdal_streamed_alg"``, runs commands on
arbitrary paths).  GeoJSON is simple enough to read with the json module, so
only plain GeoJSON is accepted and nothing else is ever opened.

Coordinates are WGS 84 longitude/latitude (RFC 7946) unless the file carries
the 2008-style ``"crs"`` member, which surveyors' tools still write for VN-2000.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shapely.errors import GeometryTypeError, ShapelyError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from gis.crs import CRSError, epsg_of
from gis.intake.errors import CorruptFileError, CRSUnknownError, TooManyFeaturesError
from gis.intake.types import RawFeatures


def _crs_member(doc: dict[str, Any]) -> int | None:
    member = doc.get("crs")
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
            IndexError, AttributeError) as exc:
        raise CorruptFileError(
            f"Feature {index + 1} has a malformed geometry.",
            vi=f"Đối tượng {index + 1} có hình học không hợp lệ.", feature=index,
        ) from exc


def read_geojson(path: Path, *, max_features: int) -> RawFeatures:
    """Features of a GeoJSON FeatureCollection, Feature or bare geometry, in file order."""
    try:
        with path.open("rb") as f:
            doc = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise CorruptFileError(
            "The file is not valid JSON; it may be cut off or damaged.",
            vi="Tệp không phải JSON hợp lệ (có thể bị cắt hoặc hỏng).",
        ) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("type"), str):
        raise CorruptFileError("The JSON is not GeoJSON: it has no 'type' member.",
                               vi="Tệp JSON không phải là GeoJSON.")
    kind = doc["type"]
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise CorruptFileError("The FeatureCollection has no 'features' list.",
                                   vi="GeoJSON thiếu danh sách 'features'.")
    elif kind == "Feature":
        features = [doc]
    else:
        features = [{"type": "Feature", "geometry": doc, "properties": {}}]
    if len(features) > max_features:
        raise TooManyFeaturesError(
            f"The file has {len(features):,} features; at most {max_features:,} are accepted.",
            vi=f"Tệp có {len(features):,} đối tượng, tối đa {max_features:,}.",
            features=len(features), max_features=max_features,
        )
    geometries: list[BaseGeometry | None] = []
    attributes: list[dict[str, Any]] = []
    for i, feat in enumerate(features):
        if not isinstance(feat, dict):
            raise CorruptFileError(f"Feature {i + 1} is not a JSON object.", feature=i)
        props = feat.get("properties")
        geometries.append(_geometry(feat.get("geometry"), i))
        attributes.append(dict(props) if isinstance(props, dict) else {})
    epsg = _crs_member(doc)
    return RawFeatures(
        format="geojson", layer=None, geometries=geometries, attributes=attributes,
        layers=[None] * len(geometries), crs=epsg or 4326,
        crs_origin="file" if epsg else "default",
    )

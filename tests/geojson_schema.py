"""GeoJSON (RFC 7946) checks for what the service answers.

The JSON Schema is ``tests/fixtures/geojson.schema.json`` (see its ``$comment`` and
``tests/fixtures/README.md``); what a JSON Schema cannot say is checked here: every
linear ring is closed (RFC 7946 §3.1.6) and every position is a WGS 84 longitude,
latitude pair in range (§4), so that a northing-first or metric answer fails too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SCHEMA_PATH = Path(__file__).parent / "fixtures" / "geojson.schema.json"
KINDS = ("GeoJSON", "Geometry", "Feature", "FeatureCollection")
"""``GeoJSON`` is any of them (or a bare geometry of any type)."""


@cache
def validator(kind: str) -> Draft202012Validator:
    """A validator for one GeoJSON object kind (``Feature``, ``FeatureCollection``, …)."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    if kind not in schema["$defs"]:
        raise KeyError(f"{kind!r} is not a GeoJSON kind of {SCHEMA_PATH.name}")
    registry = Registry().with_resource(schema["$id"], Resource.from_contents(schema))
    return Draft202012Validator({"$ref": f"{schema['$id']}#/$defs/{kind}"}, registry=registry)


def geojson_errors(doc: Any, kind: str) -> list[str]:
    """What makes ``doc`` not a valid GeoJSON ``kind``, where it is (empty when valid)."""
    found = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
             for e in validator(kind).iter_errors(doc)]
    return found or list(_rfc7946_errors(doc))


def assert_geojson(doc: Any, kind: str) -> None:
    errors = geojson_errors(doc, kind)
    assert not errors, errors[:5]


def _geometries(doc: dict[str, Any], where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    kind = doc.get("type")
    if kind == "FeatureCollection":
        for i, f in enumerate(doc["features"]):
            yield from _geometries(f, f"{where}/features/{i}")
    elif kind == "Feature":
        if doc["geometry"] is not None:
            yield from _geometries(doc["geometry"], f"{where}/geometry")
    elif kind == "GeometryCollection":
        for i, g in enumerate(doc["geometries"]):
            yield from _geometries(g, f"{where}/geometries/{i}")
    else:
        yield where, doc


def _rings(geom: dict[str, Any]) -> list[list[list[float]]]:
    if geom["type"] == "Polygon":
        return list(geom["coordinates"])
    if geom["type"] == "MultiPolygon":
        return [ring for poly in geom["coordinates"] for ring in poly]
    return []


def _positions(coords: Any) -> Iterator[list[float]]:
    if coords and isinstance(coords[0], int | float):
        yield coords
    else:
        for c in coords:
            yield from _positions(c)


def _rfc7946_errors(doc: dict[str, Any]) -> Iterator[str]:
    for where, geom in _geometries(doc, ""):
        for k, ring in enumerate(_rings(geom)):
            if ring[0] != ring[-1]:
                yield f"{where or '(root)'}: ring {k} is not closed ({ring[0]} … {ring[-1]})"
        for lon, lat, *_ in _positions(geom["coordinates"]):
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                yield f"{where or '(root)'}: ({lon}, {lat}) is not WGS 84 longitude, latitude"
                break

"""Every GeoJSON answer of the service is valid GeoJSON (RFC 7946), route by route.

Each route that answers ``application/geo+json`` has a scenario here that makes a real
record and calls it; the answer must match the GeoJSON schema of
``tests/fixtures/geojson.schema.json`` (see ``tests/geojson_schema.py``) and carry at
least one feature with a geometry, so that an empty collection cannot pass for a valid
one.  A GeoJSON route added later without a scenario fails
``test_every_geojson_route_has_a_scenario``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import shapely
from fastapi.routing import APIRoute
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.responses import GeoJSONResponse
from certificates.applications import Intake, receive
from db.audit import Actor
from gis import crs as gcrs
from parcels import registry
from projects import corridors as pc
from projects.records import CorridorSpec, ElementSpec, ProjectSpec, SectionSpec
from tests.conftest import WARD
from tests.factories import X0, Y0, geojson_wgs84, rect, spec
from tests.geojson_schema import assert_geojson, geojson_errors
from tests.gis.builders import A, B, geojson, wgs

FC, FEATURE = "FeatureCollection", "Feature"
SHEET = 970  # no other test draws on this sheet


@dataclass
class Ctx:
    client: Any
    auth: Callable[[str], dict[str, str]]
    session: Session
    actor: Actor
    tmp: Path

    @property
    def officer(self) -> dict[str, str]:
        return self.auth("land_officer")

    def lot(self, number: int, x: float, w: float = 10.0) -> int:
        """A registered w × 20 m lot on the scenario sheet, x metres east of the origin."""
        v = registry.register_parcel(self.session, actor=self.actor, reason="fixture",
                                     spec=spec(SHEET, number, rect(x, 300, w, 20)))
        self.session.commit()
        return v.parcel_id


Call = tuple[Any, str]  # (response, the GeoJSON kind it must be)


def _bbox(x: float = -10, y: float = 290, w: float = 120, h: float = 40) -> str:
    return ",".join(map(str, gcrs.to_wgs84(rect(x, y, w, h)).bounds))


def _part(number: int, geom: shapely.Polygon) -> dict[str, Any]:
    """A parcel body in VN-2000 metres (srid 9214), so that parts cover a parent exactly."""
    return {"former_unit": "kim_long", "sheet_no": SHEET, "parcel_no": number,
            "land_use": "ODT", "geometry": json.loads(shapely.to_geojson(geom)),
            "srid": gcrs.WARD}


# --------------------------------------------------------------------- parcels


def list_parcels(c: Ctx) -> list[Call]:
    c.lot(1, 0)
    c.lot(2, 10)
    return [(c.client.get("/api/v1/parcels", params={"bbox": _bbox()},
                          headers=c.auth("official")), FC)]


def get_parcel(c: Ctx) -> list[Call]:
    return [(c.client.get(f"/api/v1/parcels/{c.lot(1, 0)}", headers=c.auth("surveyor")),
             FEATURE)]


def parcel_history(c: Ctx) -> list[Call]:
    pid = c.lot(1, 0)
    c.client.post(f"/api/v1/parcels/{pid}/versions", headers=c.officer,
                  json={"land_use": "CLN", "reason": "đổi mục đích"})
    return [(c.client.get(f"/api/v1/parcels/{pid}/history", headers=c.auth("official")), FC)]


def register_parcel(c: Ctx) -> list[Call]:
    body = _part(1, rect(0, 300, 10, 20)) | {"reason": "đăng ký lần đầu"}
    return [(c.client.post("/api/v1/parcels", headers=c.officer, json=body), FEATURE)]


def amend_parcel(c: Ctx) -> list[Call]:
    pid = c.lot(1, 0)
    body = {"geometry": geojson_wgs84(rect(0, 300, 12, 20)), "reason": "đo lại ranh giới"}
    return [(c.client.post(f"/api/v1/parcels/{pid}/versions", headers=c.officer, json=body),
             FEATURE)]


def split_parcel(c: Ctx) -> list[Call]:
    pid = c.lot(1, 0, w=20)
    registry.register_parcel(c.session, actor=c.actor, reason="lane: road access for the parts",
                             spec=spec(SHEET, 90, rect(0, 294, 20, 6), land_use="DGT"))
    c.session.commit()
    body = {"parts": [_part(11, rect(0, 300, 10, 20)), _part(12, rect(10, 300, 10, 20))],
            "reason": "tách thửa"}
    return [(c.client.post(f"/api/v1/parcels/{pid}/split", headers=c.officer, json=body), FC)]


def merge_parcels(c: Ctx) -> list[Call]:
    ids = [c.lot(1, 0), c.lot(2, 10)]
    body = {"parcel_ids": ids, "sheet_no": SHEET, "parcel_no": 3, "reason": "hợp thửa"}
    return [(c.client.post("/api/v1/parcels/merge", headers=c.officer, json=body), FEATURE)]


def retire_parcel(c: Ctx) -> list[Call]:
    pid = c.lot(1, 0)
    return [(c.client.post(f"/api/v1/parcels/{pid}/retire", headers=c.officer,
                           json={"reason": "thu hồi đất"}), FEATURE)]


# --------------------------------------------------------------------- surveys


def _batch(c: Ctx) -> int:
    """A surveyor's GeoJSON of parcels A and B, overlapping a registered lot: findings."""
    registry.register_parcel(c.session, actor=c.actor, reason="fixture",
                             spec=spec(9, 1, shapely.box(559_010, 1_820_005, 559_030,
                                                         1_820_030)))
    c.session.commit()
    props = [{"to": 5, "so_thua": 12, "loai_dat": "ODT"}, {"to": 5, "so_thua": 13,
                                                          "loai_dat": "CLN"}]
    path = geojson(c.tmp / "thua.geojson", [wgs(A), wgs(B)], props)
    with path.open("rb") as fh:
        r = c.client.post("/api/v1/surveys", headers=c.auth("surveyor"),
                          data={"former_unit": "kim_long"},
                          files={"file": ("thua.geojson", fh, "application/geo+json")})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def survey_features(c: Ctx) -> list[Call]:
    bid = _batch(c)
    return [(c.client.get(f"/api/v1/surveys/{bid}/features", headers=c.auth("surveyor")), FC)]


def survey_findings(c: Ctx) -> list[Call]:
    bid = _batch(c)
    return [(c.client.get(f"/api/v1/surveys/{bid}/findings", headers=c.officer), FC)]


def _open_error(c: Ctx, bid: int) -> int:
    found = c.client.get(f"/api/v1/surveys/{bid}/findings", params={"severity": "error"},
                         headers=c.officer).json()["features"]
    return next(f["id"] for f in found if f["properties"]["open"])


def override_finding(c: Ctx) -> list[Call]:
    """A parcel 0.5 m beyond the test ward's northern edge: an error an officer may accept
    (an overlap with a registered parcel may not be overridden)."""
    north = 1_823_000.5
    path = geojson(c.tmp / "bien.geojson", [wgs(shapely.box(559_000, north - 15, 559_020,
                                                            north))],
                   [{"to": 5, "so_thua": 14, "loai_dat": "ODT"}])
    with path.open("rb") as fh:
        r = c.client.post("/api/v1/surveys", headers=c.auth("surveyor"),
                          data={"former_unit": "kim_long"},
                          files={"file": ("bien.geojson", fh, "application/geo+json")})
    assert r.status_code == 201, r.text
    bid = int(r.json()["id"])
    return [(c.client.post(f"/api/v1/surveys/{bid}/findings/{_open_error(c, bid)}/override",
                           headers=c.officer, json={"reason": "ranh giới đã đo lại"}), FEATURE)]


def amend_neighbour(c: Ctx) -> list[Call]:
    bid = _batch(c)
    fid = _open_error(c, bid)
    body = {"reason": "thửa bên cạnh nhường phần chồng lấn"}
    return [(c.client.post(f"/api/v1/surveys/{bid}/findings/{fid}/amend-neighbour",
                           headers=c.officer, json=body), FEATURE)]


def dispute_finding(c: Ctx) -> list[Call]:
    bid = _batch(c)
    fid = _open_error(c, bid)
    body = {"claimant": "Hộ ông Lê Văn B", "description": "chưa thống nhất ranh giới"}
    return [(c.client.post(f"/api/v1/surveys/{bid}/findings/{fid}/dispute", headers=c.officer,
                           json=body), FEATURE)]


# ------------------------------------------------------------------------- OGC


def _ogc_records(c: Ctx) -> dict[str, int]:
    """One record in each collection, all inside :func:`_bbox`: id by collection."""
    parcel = c.lot(1, 0)
    zone = c.session.execute(text(
        "INSERT INTO zone (ward_code, zone_key, kind, name, geom) VALUES (:w, 'geojson-test', "
        "'river_corridor', 'Hành lang sông Hương', ST_Multi(ST_GeomFromWKB(:g, 9214))) "
        "RETURNING id"), {"w": WARD, "g": shapely.to_wkb(rect(30, 300, 20, 20))}).scalar_one()
    segment = c.session.execute(text(
        "SELECT id FROM project_segment WHERE ward_code = :w AND project_code = :p"),
        {"w": WARD, "p": _road(c)}).scalar_one()
    claim = receive(c.session, actor=c.actor, intake=Intake(
        procedure="first_certificate", applicant_name="Lê Thị B", channel="online",
        declared_area=200.0, declared_land_use="ODT", geometry=rect(60, 300, 10, 20),
        srid=gcrs.WARD))
    c.session.commit()
    return {"parcels": parcel, "zones": zone, "corridors": segment,
            "pending_applications": claim.id}


def _road(c: Ctx) -> str:
    """A road project whose 12 m corridor runs along y = 295, taking a 1 m strip of the
    scenario lots' southern edges: its code."""
    pc.create_project(c.session, actor=c.actor, reason="GeoJSON test", spec=ProjectSpec(
        code="GJ1", name_vi="Đường thử", name_en="Test road",
        sections=[SectionSpec("S1", "Đoạn 1")],
        corridor=CorridorSpec(elements=[ElementSpec(
            section_code="S1", centreline=shapely.LineString([(X0, Y0 + 295),
                                                              (X0 + 100, Y0 + 295)]),
            left_width_m=6, right_width_m=6)])))
    c.session.commit()
    return "GJ1"


def impact_export(c: Ctx) -> list[Call]:
    c.lot(1, 0)
    c.lot(2, 10)
    code = _road(c)
    return [(c.client.get(f"/api/v1/projects/{code}/impact/export",
                          params={"format": "geojson"}, headers=c.auth("official")), FC)]


def ogc_items(c: Ctx) -> list[Call]:
    _ogc_records(c)
    return [(c.client.get(f"/ogc/collections/{cid}/items", params={"bbox": _bbox()},
                          headers=c.officer), FC)
            for cid in ("parcels", "zones", "corridors", "pending_applications")]


def ogc_item(c: Ctx) -> list[Call]:
    return [(c.client.get(f"/ogc/collections/{cid}/items/{fid}", headers=c.officer), FEATURE)
            for cid, fid in _ogc_records(c).items()]


SCENARIOS: dict[tuple[str, str], Callable[[Ctx], list[Call]]] = {
    ("GET", "/api/v1/parcels"): list_parcels,
    ("GET", "/api/v1/parcels/{parcel_id}"): get_parcel,
    ("GET", "/api/v1/parcels/{parcel_id}/history"): parcel_history,
    ("POST", "/api/v1/parcels"): register_parcel,
    ("POST", "/api/v1/parcels/{parcel_id}/versions"): amend_parcel,
    ("POST", "/api/v1/parcels/{parcel_id}/split"): split_parcel,
    ("POST", "/api/v1/parcels/merge"): merge_parcels,
    ("POST", "/api/v1/parcels/{parcel_id}/retire"): retire_parcel,
    ("GET", "/api/v1/surveys/{batch_id}/features"): survey_features,
    ("GET", "/api/v1/surveys/{batch_id}/findings"): survey_findings,
    ("POST", "/api/v1/surveys/{batch_id}/findings/{finding_id}/override"): override_finding,
    ("POST", "/api/v1/surveys/{batch_id}/findings/{finding_id}/amend-neighbour"):
        amend_neighbour,
    ("POST", "/api/v1/surveys/{batch_id}/findings/{finding_id}/dispute"): dispute_finding,
    ("GET", "/ogc/collections/{collection_id}/items"): ogc_items,
    ("GET", "/ogc/collections/{collection_id}/items/{feature_id}"): ogc_item,
    ("GET", "/api/v1/projects/{code}/impact/export"): impact_export,
}
CHOSEN_AT_RUN_TIME = {("GET", "/api/v1/projects/{code}/impact/export")}
"""GeoJSON routes whose handler picks the media type from a parameter (the impact export's
``format``), which the walk over the annotations cannot see."""


def _api_routes(routes: Any, prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """(path, route) of every API route, also inside the routers FastAPI includes lazily."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif (inner := getattr(route, "original_router", None)) is not None:
            context = getattr(route, "include_context", None)
            yield from _api_routes(inner.routes, prefix + (getattr(context, "prefix", "") or ""))


def _answers_geojson(route: APIRoute) -> bool:
    """The handler answers a GeoJSONResponse (by its annotation or in its body)."""
    returns = inspect.signature(route.endpoint).return_annotation
    return returns in (GeoJSONResponse, "GeoJSONResponse") or \
        "GeoJSONResponse(" in inspect.getsource(route.endpoint)


def test_every_geojson_route_has_a_scenario(app) -> None:
    """A route that answers GeoJSON and has no scenario here fails: add one.  (The walk
    over the routes must find every operation of the OpenAPI document, or it proves
    nothing.)"""
    routes = [((m, path), r) for path, r in _api_routes(app.routes) for m in r.methods]
    documented = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    served = {key for key, _ in routes}
    assert documented <= served
    assert served >= CHOSEN_AT_RUN_TIME, "a route named in CHOSEN_AT_RUN_TIME is gone"
    geojson_routes = {key for key, r in routes if _answers_geojson(r)} | CHOSEN_AT_RUN_TIME
    assert geojson_routes == set(SCENARIOS)


@pytest.mark.parametrize("route", list(SCENARIOS), ids=[f"{m} {p}" for m, p in SCENARIOS])
def test_geojson_answer_matches_the_schema(client, auth, session, actor, tmp_path,
                                           route: tuple[str, str]) -> None:
    """The route's answer is application/geo+json, valid against the GeoJSON schema, with
    at least one feature that has a polygon or line in WGS 84."""
    calls = SCENARIOS[route](Ctx(client, auth, session, actor, tmp_path))
    for response, kind in calls:
        assert 200 <= response.status_code < 300, (route, response.text[:300])
        assert response.headers["content-type"].startswith("application/geo+json"), route
        doc = response.json()
        assert_geojson(doc, kind)
        feats = doc["features"] if kind == FC else [doc]
        assert feats and all(f["geometry"] for f in feats), (route, json.dumps(doc)[:300])


# ------------------------------------------------------- the schema can fail


def _good_feature() -> dict[str, Any]:
    return {"type": "Feature", "id": 7, "properties": {"sheet_no": 5},
            "geometry": geojson_wgs84(rect(0, 0, 10, 20))}


def _broken(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    doc = _good_feature()
    change(doc)
    return doc


@pytest.mark.parametrize(("label", "doc"), [
    ("no type", _broken(lambda d: d.pop("type"))),
    ("no properties member", _broken(lambda d: d.pop("properties"))),
    ("properties a list", _broken(lambda d: d.update(properties=[1]))),
    ("id an object", _broken(lambda d: d.update(id={"n": 7}))),
    ("geometry without coordinates", _broken(lambda d: d["geometry"].pop("coordinates"))),
    ("unknown geometry type", _broken(lambda d: d["geometry"].update(type="Polygone"))),
    ("one-number position", _broken(lambda d: d["geometry"]["coordinates"][0].__setitem__(
        0, [107.55]))),
    ("ring of three positions", _broken(lambda d: d["geometry"].update(
        coordinates=[d["geometry"]["coordinates"][0][:3]]))),
    ("ring not closed", _broken(lambda d: d["geometry"]["coordinates"][0].__setitem__(
        -1, [107.0, 16.0]))),
    ("metres, not degrees", _broken(lambda d: d.update(
        geometry=json.loads(shapely.to_geojson(rect(0, 0, 10, 20)))))),
    ("latitude first", _broken(lambda d: d["geometry"].update(coordinates=[
        [[lat, lon] for lon, lat in d["geometry"]["coordinates"][0]]]))),
])
def test_the_schema_refuses_what_is_not_geojson(label: str, doc: dict[str, Any]) -> None:
    """The validator is not vacuous: each broken Feature is refused, the good one passes."""
    assert_geojson(_good_feature(), FEATURE)
    assert geojson_errors(doc, FEATURE), label
    assert geojson_errors({"type": "FeatureCollection", "features": [doc]}, FC), label

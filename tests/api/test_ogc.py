"""OGC API – Features: the JSON shapes, and GDAL's own OAPIF driver reading a live server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pyogrio
import pytest
import shapely
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.common import served
from db.audit import Actor
from gis import crs as gcrs
from parcels import registry
from tests.conftest import PASSWORD, WARD, require_external
from tests.factories import rect, sign_in, spec

SHEET = 950
AREA = rect(2500, -2000, 60, 40)  # committed parcels live here, away from other tests


@pytest.fixture(scope="module")
def committed_parcels(engine) -> list[int]:
    """Three 20 × 40 m lots committed for the live-server tests (module scope)."""
    ids = []
    with Session(engine) as s, s.begin():
        for n in range(3):
            v = registry.register_parcel(
                s, actor=Actor(username="ogc-test", ward_code=WARD),
                spec=spec(SHEET, n + 1, rect(2500 + 20 * n, -2000, 20, 40), land_use="CLN",
                          legal_area=800.0),
                reason="OGC test fixture")
            ids.append(v.parcel_id)
    return ids


@pytest.fixture(scope="module")
def live_url(settings, engine, committed_parcels) -> Iterator[str]:
    """A real uvicorn on 127.0.0.1 in its own process, serving the test database."""
    with served(settings) as url:
        yield url


def _bbox_wgs84() -> tuple[float, float, float, float]:
    return gcrs.to_wgs84(AREA.buffer(-1)).bounds


def test_gdal_reads_parcels_through_oapif(live_url, tmp_path, engine) -> None:
    """GDAL's OGC API Features driver lists the collections and reads the three lots in the
    storage CRS the collection advertises (Part 2): EPSG:9214, the stored coordinates.

    The OAPIF driver sends its own Accept header, so GDAL_HTTP_HEADERS is ignored;
    a header file (GDAL_HTTP_HEADER_FILE) carries the bearer token, as QGIS users would.
    """
    header_file = tmp_path / "headers.txt"
    token = sign_in(live_url, "official", PASSWORD)
    header_file.write_text(f"Authorization: Bearer {token}\n")
    pyogrio.set_gdal_config_options({"GDAL_HTTP_HEADER_FILE": str(header_file)})
    try:
        source = f"OAPIF:{live_url}/ogc"
        layers = {name for name, _ in pyogrio.list_layers(source)}
        assert {"parcels", "zones", "corridors"} <= layers
        df = pyogrio.read_dataframe(source, layer="parcels", bbox=AREA.buffer(-1).bounds)
    finally:
        pyogrio.set_gdal_config_options({"GDAL_HTTP_HEADER_FILE": None})
    assert sorted(df["parcel_no"]) == [1, 2, 3]
    assert set(df["sheet_no"]) == {SHEET}
    assert list(df["measured_area_m2"]) == pytest.approx([800.0, 800.0, 800.0], abs=0.01)
    assert set(df["land_use"]) == {"CLN"}
    assert df.crs.to_epsg() == 9214
    with Session(engine) as s:
        stored = dict(s.execute(text(
            "SELECT parcel_no, ST_AsBinary(geom) FROM parcel_version "
            "WHERE sheet_no = :s AND valid_to IS NULL"), {"s": SHEET}).all())
    for no, geom in zip(df["parcel_no"], df.geometry, strict=True):
        got = shapely.get_coordinates(geom)
        want = shapely.get_coordinates(shapely.from_wkb(stored[no]))
        assert got.shape == want.shape and abs(got - want).max() < 0.001  # the millimetre


def test_gdal_without_token_reads_nothing(live_url) -> None:
    """GDAL without a token gets the server's 401 problem document, not some other failure
    (a server that is down or answers 500 also makes GDAL fail)."""
    with pytest.raises(pyogrio.errors.DataSourceError) as info:
        pyogrio.list_layers(f"OAPIF:{live_url}/ogc")
    message = str(info.value)
    assert message.startswith("HTTP error code : 401"), message
    body = json.loads(re.search(r"\{.*\}", message)[0])  # type: ignore[index]
    assert (body["status"], body["type"]) == (401, "/problems/unauthorized"), body


@pytest.fixture(scope="module")
def ogc_schemas() -> dict[str, Any]:
    path = require_external("ogcapi-features-openapi", "ogcapi-features-1.yaml")
    return yaml.safe_load(path.read_text())


def _validate(doc: dict[str, Any], schema_name: str, response: dict[str, Any]) -> None:
    """Validate a response against a schema of the official OGC OpenAPI building blocks."""
    reg = Registry().with_resource(
        "urn:ogc", Resource.from_contents(doc, default_specification=DRAFT202012))
    schema = {"$ref": f"urn:ogc#/components/schemas/{schema_name}"}
    errors = list(Draft202012Validator(schema, registry=reg).iter_errors(response))
    assert not errors, [e.message for e in errors[:3]]


def test_responses_match_the_ogc_schemas(client, auth, committed_parcels, ogc_schemas) -> None:
    h = auth("surveyor")
    _validate(ogc_schemas, "landingPage", client.get("/ogc", headers=h).json())
    _validate(ogc_schemas, "confClasses", client.get("/ogc/conformance", headers=h).json())
    _validate(ogc_schemas, "collections", client.get("/ogc/collections", headers=h).json())
    items = client.get("/ogc/collections/parcels/items", headers=h,
                       params={"bbox": ",".join(map(str, _bbox_wgs84()))})
    assert items.headers["content-type"].startswith("application/geo+json")
    _validate(ogc_schemas, "featureCollectionGeoJSON", items.json())
    one = client.get(f"/ogc/collections/parcels/items/{committed_parcels[0]}", headers=h)
    _validate(ogc_schemas, "featureGeoJSON", one.json())


def test_paging_links_walk_the_whole_collection(client, auth, committed_parcels) -> None:
    seen: list[int] = []
    url: str | None = "/ogc/collections/parcels/items?limit=2&bbox=" + ",".join(
        map(str, _bbox_wgs84()))
    while url:
        body = client.get(url, headers=auth("official")).json()
        seen += [f["id"] for f in body["features"]]
        url = next((lk["href"] for lk in body["links"] if lk["rel"] == "next"), None)
    assert sorted(seen) == sorted(committed_parcels)


def test_datetime_is_the_registry_as_of(client, auth, session, actor) -> None:
    """Before a parcel existed the collection does not show it; an interval is refused."""
    v = registry.register_parcel(session, actor=actor, spec=spec(951, 1, rect(2700, -2000, 10, 10)),
                                 reason="r")
    session.commit()
    box = ",".join(map(str, gcrs.to_wgs84(rect(2690, -2010, 30, 30)).bounds))
    now = client.get("/ogc/collections/parcels/items", params={"bbox": box},
                     headers=auth("official")).json()
    assert [f["id"] for f in now["features"]] == [v.parcel_id]
    before = client.get("/ogc/collections/parcels/items", headers=auth("official"),
                        params={"bbox": box, "datetime": "2020-01-01T00:00:00Z"}).json()
    assert before["features"] == []
    bad = client.get("/ogc/collections/parcels/items", headers=auth("official"),
                     params={"datetime": "2020-01-01T00:00:00Z/.."})
    assert bad.status_code == 400 and bad.json()["type"] == "/problems/invalid_input"


def test_unknown_collection_and_feature_are_404(client, auth) -> None:
    assert client.get("/ogc/collections/nothing", headers=auth("official")).status_code == 404
    r = client.get("/ogc/collections/parcels/items/999999999", headers=auth("official"))
    assert r.status_code == 404 and r.json()["type"] == "/problems/parcel_not_found"


def test_pending_applications_are_for_officers_only(client, auth, session) -> None:
    """Officers see the pending claims as a collection; officials and surveyors do not."""
    from certificates.applications import Intake, receive

    app = receive(session, actor=Actor(username="land_officer", role="land_officer",
                                       ward_code=WARD),
                  intake=Intake(procedure="first_certificate", applicant_name="Lê Thị B",
                                channel="online", declared_area=300.0, declared_land_use="ODT",
                                geometry=rect(2800, -2000, 15, 20), srid=gcrs.WARD))
    session.commit()
    box = ",".join(map(str, gcrs.to_wgs84(rect(2790, -2010, 40, 40)).bounds))
    got = client.get("/ogc/collections/pending_applications/items", params={"bbox": box},
                     headers=auth("land_officer")).json()
    assert [(f["id"], f["properties"]["declared_area_m2"]) for f in got["features"]] == [
        (app.id, 300.0)]
    ids = {c["id"] for c in client.get("/ogc/collections",
                                        headers=auth("land_officer")).json()["collections"]}
    assert "pending_applications" in ids
    for role in ("official", "surveyor"):
        listed = {c["id"] for c in client.get("/ogc/collections",
                                               headers=auth(role)).json()["collections"]}
        assert "pending_applications" not in listed
        r = client.get("/ogc/collections/pending_applications/items", headers=auth(role))
        assert r.status_code == 404

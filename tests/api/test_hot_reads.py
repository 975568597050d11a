"""A parcel by id through a server that owns its engine: awaited on the asynchronous pool.

The rest of the suite runs on one rolled-back connection, where the same route falls
back to a session in a thread; these tests commit their parcels and check that the
asynchronous read answers exactly what the synchronous query does, now and as of a
past instant, with holders, and that it refuses what it should.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.app import create_app
from config import clock
from db.audit import Actor
from parcels import queries, registry
from parcels.rights import PartyDetails, grant_use_right
from parcels.schemas import feature
from tests.conftest import WARD
from tests.factories import rect, spec

SHEET = 977
ACTOR = Actor(username="hot-read-test", role="land_officer", ward_code=WARD)


@pytest.fixture(scope="module")
def committed(engine: Engine) -> dict[str, Any]:
    """Two committed lots (far from other tests), the first with a holder and later
    amended, so it has a past version and a past holder list."""
    with Session(engine) as s, s.begin():
        a = registry.register_parcel(s, actor=ACTOR, spec=spec(SHEET, 1, rect(3000, -2500, 20, 30),
                                                             land_use="ODT", legal_area=600.0),
                                     reason="hot read fixture")
        b = registry.register_parcel(s, actor=ACTOR, spec=spec(SHEET, 2, rect(3020, -2500, 20, 30),
                                                             land_use="CLN"),
                                     reason="hot read fixture")
        ids = a.parcel_id, b.parcel_id
    time.sleep(0.01)
    with Session(engine) as s, s.begin():
        before = clock.now()
        grant_use_right(s, ward_code=WARD, parcel_id=ids[0],
                        holder=PartyDetails(full_name="Trần Thị Bình"), party_id=None,
                        certificate_no="CS 009951", issued_on=date(2025, 3, 4), source_id=None,
                        recorded_by="test")
        registry.amend_parcel(s, actor=ACTOR, parcel_id=ids[0],
                              amendment=registry.Amendment(geometry=rect(3000, -2500, 20, 31)),
                              reason="re-measured")
    return {"a": ids[0], "b": ids[1], "before": before}


@pytest.fixture(scope="module")
def server_app(settings) -> Iterator[TestClient]:
    """The app as `cadastre serve` builds it (its own engine; lifespan opens the pool)."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.app.state.async_pool is not None  # type: ignore[attr-defined]
        yield client


def _expected(engine: Engine, parcel_id: int, as_of: datetime | None = None) -> Any:
    with Session(engine) as s:
        rec = queries.get_parcel(s, ward_code=WARD, parcel_id=parcel_id, as_of=as_of)
    return orjson.loads(orjson.dumps(feature(rec)))


def test_the_pooled_read_answers_what_the_session_read_does(
        server_app: TestClient, engine: Engine, committed: dict[str, Any], auth) -> None:
    for pid in (committed["a"], committed["b"]):
        r = server_app.get(f"/api/v1/parcels/{pid}", headers=auth("official"))
        assert r.status_code == 200
        assert r.json() == _expected(engine, pid)
    now = server_app.get(f"/api/v1/parcels/{committed['a']}", headers=auth("surveyor")).json()
    assert now["properties"]["version"] == 2
    assert now["properties"]["measured_area_m2"] == pytest.approx(620.0, abs=0.01)
    assert [(h["name"], h["certificate_no"], h["issued_on"]) for h in
            now["properties"]["holders"]] == [("Trần Thị Bình", "CS 009951", "2025-03-04")]


def test_the_pooled_read_as_of_a_past_instant(server_app: TestClient, engine: Engine,
                                              committed: dict[str, Any], auth) -> None:
    before = committed["before"]
    r = server_app.get(f"/api/v1/parcels/{committed['a']}",
                       params={"as_of": before.isoformat()}, headers=auth("land_officer"))
    assert r.status_code == 200
    body = r.json()
    assert body == _expected(engine, committed["a"], before)
    assert body["properties"]["version"] == 1
    assert body["properties"]["measured_area_m2"] == pytest.approx(600.0, abs=0.01)
    assert body["properties"]["holders"] == []


def test_the_pooled_read_refuses_what_it_should(server_app: TestClient,
                                                committed: dict[str, Any], auth) -> None:
    missing = server_app.get("/api/v1/parcels/999999999", headers=auth("official"))
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["type"].endswith("/parcel_not_found")
    early = server_app.get(f"/api/v1/parcels/{committed['b']}",
                           params={"as_of": "2001-01-01T00:00:00Z"}, headers=auth("official"))
    assert early.status_code == 404
    assert server_app.get(f"/api/v1/parcels/{committed['b']}",
                          headers=auth("admin")).status_code == 403
    assert server_app.get(f"/api/v1/parcels/{committed['b']}").status_code == 401


def test_the_pooled_listing_answers_what_the_session_listing_does(
        server_app: TestClient, engine: Engine, committed: dict[str, Any], auth) -> None:
    from gis import crs as gcrs
    from parcels.schemas import feature_collection, features

    bbox = gcrs.to_wgs84(rect(2990, -2510, 60, 50)).bounds
    for as_of in (None, committed["before"]):
        params = {"bbox": ",".join(map(str, bbox)), "limit": 1}
        if as_of is not None:
            params["as_of"] = as_of.isoformat()
        r = server_app.get("/api/v1/parcels", params=params, headers=auth("official"))
        assert r.status_code == 200
        body = r.json()
        with Session(engine) as s:
            page = queries.list_parcels(s, ward_code=WARD, bbox=bbox, as_of=as_of, limit=1)
        expected = orjson.loads(orjson.dumps(feature_collection(features(page.items))))
        assert body["features"] == expected["features"]
        assert [f["id"] for f in body["features"]] == [committed["a"]]
        assert [link["rel"] for link in body["links"]] == ["next"]  # b is on the next page
        nxt = server_app.get(body["links"][0]["href"], headers=auth("official")).json()
        assert [f["id"] for f in nxt["features"]] == [committed["b"]]
        assert nxt["links"] == []
    bad = server_app.get("/api/v1/parcels", params={"bbox": "1,2,3"}, headers=auth("official"))
    assert bad.status_code == 400 and bad.json()["type"] == "/problems/invalid_input"


def test_the_pooled_ogc_items_answer_what_the_session_read_does(
        server_app: TestClient, engine: Engine, committed: dict[str, Any], auth, users) -> None:
    from api.ogc import COLLECTIONS, Window, _features
    from api.ogc_crs import DEFAULT
    from gis import crs as gcrs

    bbox = gcrs.to_wgs84(rect(2990, -2510, 60, 50)).bounds
    official = users["official"][0]
    with Session(engine) as s:
        rows, more, matched, _ = COLLECTIONS["parcels"].fetch(
            s, official, Window(bbox, gcrs.WGS84), None, None, 10, 0)
        expected = _features(rows, DEFAULT)
        one_row, _, _, _ = COLLECTIONS["parcels"].fetch(s, official, None, None,
                                                        committed["a"], 1, 0)
        single = _features(one_row, DEFAULT)
    r = server_app.get("/ogc/collections/parcels/items",
                       params={"bbox": ",".join(map(str, bbox))}, headers=auth("official"))
    assert r.status_code == 200 and not more
    assert r.json()["features"] == orjson.loads(orjson.dumps(expected))
    assert r.json()["numberMatched"] == matched == 2
    assert [f["id"] for f in r.json()["features"]] == [committed["a"], committed["b"]]
    one = server_app.get(f"/ogc/collections/parcels/items/{committed['a']}",
                         headers=auth("official")).json()
    assert {k: v for k, v in one.items() if k != "links"} == orjson.loads(orjson.dumps(single[0]))
    assert [h["name"] for h in one["properties"]["holders"]] == ["Trần Thị Bình"], \
        "the single item carries the holders the list leaves out"
    gone = server_app.get("/ogc/collections/parcels/items/999999999", headers=auth("official"))
    assert gone.status_code == 404 and gone.json()["type"] == "/problems/parcel_not_found"


def test_pooled_connections_are_set_up_like_the_engines(server_app: TestClient, settings) -> None:
    """The asynchronous reads run as the service role (no rewriting history), with the
    statement timeout, in UTC, without a transaction left open."""
    pool = server_app.app.state.async_pool  # type: ignore[attr-defined]

    async def probe() -> tuple[Any, ...]:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT current_user, (SELECT setting FROM pg_settings "
                "WHERE name = 'statement_timeout'), current_setting('TimeZone')")
            row = await cur.fetchone()
            return (*row, conn.autocommit)

    # the pool belongs to the app's event loop (the TestClient portal), not to a new one
    user, timeout, zone, autocommit = server_app.portal.call(probe)  # type: ignore[union-attr]
    assert user == settings.db.app_role == "cadastre_app"
    assert int(timeout) == settings.db.statement_timeout_ms
    assert zone == "UTC" and autocommit is True

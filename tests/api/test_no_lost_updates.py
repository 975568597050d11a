"""No lost updates: a change states the version it was based on; a stale one gets 412.

Reads answer an ``ETag``; a change sent with ``If-Match`` (or the body's
``expected_version``) lands only on that version, else 412 ``/problems/stale_version``
with the current version and its ETag, and nothing is written.  Two officers amending one
parcel at once on two real connections: exactly one lands.
"""

from __future__ import annotations

import io
import json
import threading
import time
from typing import Any

import pytest
from shapely.geometry import mapping
from sqlalchemy import Engine, text

from certificates import applications as apps
from db.audit import Actor
from db.engine import transaction
from db.errors import StaleVersion
from gis import crs as gcrs
from gis.crs import transform
from parcels import registry, surveys
from parcels.registry import Amendment
from tests.certificates.conftest import intake
from tests.conftest import WARD, counts
from tests.factories import committed_ward, rect, spec

PROBLEM = "application/problem+json"
SHEET = 870


@pytest.fixture()
def lot(session, actor) -> int:
    v = registry.register_parcel(session, actor=actor, spec=spec(SHEET, 1, rect(0, 0, 20, 10)),
                                 reason="fixture")
    session.commit()
    return v.parcel_id


def _stale(r: Any, current_etag: str) -> None:
    assert r.status_code == 412, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"] == "/problems/stale_version"
    assert r.headers["etag"] == current_etag


def test_an_amendment_on_a_stale_version_is_refused(client, auth, session, lot) -> None:
    """Read (ETag v1), amend with it (v2, new ETag), amend again with the old one: 412 with
    version 2 named, nothing written; the body field works the same way."""
    officer = auth("land_officer")
    read = client.get(f"/api/v1/parcels/{lot}", headers=officer)
    assert read.headers["etag"] == f'"parcel-{lot}-v1"'
    ok = client.post(f"/api/v1/parcels/{lot}/versions",
                     json={"land_use": "CLN", "reason": "đổi mục đích"},
                     headers={**officer, "If-Match": read.headers["etag"]})
    assert ok.status_code == 201, ok.text
    assert ok.headers["etag"] == f'"parcel-{lot}-v2"'
    before = counts(session)
    late = client.post(f"/api/v1/parcels/{lot}/versions", json={"land_use": "ONT",
                       "reason": "đổi mục đích"},
                       headers={**officer, "If-Match": read.headers["etag"]})
    _stale(late, f'"parcel-{lot}-v2"')
    assert late.json()["current_version"] == 2 and late.json()["expected_version"] == 1
    by_field = client.post(f"/api/v1/parcels/{lot}/versions", json={
        "land_use": "ONT", "reason": "đổi mục đích", "expected_version": 1}, headers=officer)
    _stale(by_field, f'"parcel-{lot}-v2"')
    assert counts(session) == before
    assert client.get(f"/api/v1/parcels/{lot}", headers=officer).json()["properties"][
        "land_use"] == "CLN"


def test_split_retire_and_merge_on_a_stale_version_write_nothing(client, auth, session,
                                                                 actor) -> None:
    officer = auth("land_officer")
    a = registry.register_parcel(session, actor=actor, spec=spec(SHEET, 2, rect(0, 20, 10, 10)),
                                 reason="fixture").parcel_id
    b = registry.register_parcel(session, actor=actor, spec=spec(SHEET, 3, rect(10, 20, 10, 10)),
                                 reason="fixture").parcel_id
    registry.amend_parcel(session, actor=actor, parcel_id=a, amendment=Amendment(address="1"),
                          reason="fixture")
    session.commit()
    before = counts(session)
    halves = [{"former_unit": "kim_long", "sheet_no": SHEET, "parcel_no": 10 + i,
               "land_use": "ODT", "srid": gcrs.WARD, "geometry": mapping(g)}
              for i, g in enumerate((rect(0, 20, 5, 10), rect(5, 20, 5, 10)))]
    split = client.post(f"/api/v1/parcels/{a}/split", json={"parts": halves, "reason": "tách"},
                        headers={**officer, "If-Match": f'"parcel-{a}-v1"'})
    _stale(split, f'"parcel-{a}-v2"')
    retire = client.post(f"/api/v1/parcels/{a}/retire", json={"reason": "thu hồi",
                         "expected_version": 1}, headers=officer)
    _stale(retire, f'"parcel-{a}-v2"')
    merge = client.post("/api/v1/parcels/merge", json={"parcel_ids": [a, b], "reason": "hợp"},
                        headers={**officer, "If-Match": f'"parcel-{a}-v1", "parcel-{b}-v1"'})
    _stale(merge, f'"parcel-{a}-v2"')
    assert counts(session) == before
    merged = client.post("/api/v1/parcels/merge", json={"parcel_ids": [a, b], "reason": "hợp"},
                         headers={**officer, "If-Match": f'"parcel-{a}-v2", "parcel-{b}-v1"'})
    assert merged.status_code == 201, merged.text


@pytest.mark.parametrize("header", ['parcel-1-v1', '"parcel-1-v1" junk', '"'])
def test_a_malformed_if_match_is_a_400_and_writes_nothing(client, auth, session, lot,
                                                          header) -> None:
    before = counts(session)
    r = client.post(f"/api/v1/parcels/{lot}/versions", json={"land_use": "CLN",
                    "reason": "đổi"}, headers={**auth("land_officer"), "If-Match": header})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == PROBLEM
    assert counts(session) == before


def test_if_match_star_and_no_header_are_not_checked(client, auth, lot) -> None:
    """``If-Match: *`` (any current version) and no header at all: the change lands."""
    officer = auth("land_officer")
    for headers in ({"If-Match": "*"}, {}):
        r = client.post(f"/api/v1/parcels/{lot}/versions", json={
            "address": f"kiệt {len(headers)}", "reason": "sửa địa chỉ"},
            headers={**officer, **headers})
        assert r.status_code == 201, r.text


def test_a_decision_on_a_stale_application_is_refused(client, auth, session, actor) -> None:
    """The application's ETag moves with every act; a decision sent with the tag read before
    the field check gets 412 and the application stays where it was."""
    officer = auth("land_officer")
    app_id = apps.receive(session, actor=actor, intake=intake(rect(0, 60, 20, 20), sheet=SHEET,
                                                              number=30, name="Lê Thị Mai")).id
    apps.verify(session, actor=actor, application_id=app_id)
    session.commit()
    read = client.get(f"/api/v1/applications/{app_id}", headers=officer)
    tag = read.headers["etag"]
    assert tag == f'"application-{app_id}-r{read.json()["version"]}"'
    checked = client.post(f"/api/v1/applications/{app_id}/field-check",
                          json={"notes": "mốc ranh giới khớp"}, headers={**officer,
                                                                         "If-Match": tag})
    assert checked.status_code == 201, checked.text
    before = counts(session)
    late = client.post(f"/api/v1/applications/{app_id}/decision", json={
        "decision": "reject", "reason": "không đủ điều kiện"}, headers={**officer,
                                                                      "If-Match": tag})
    now = client.get(f"/api/v1/applications/{app_id}", headers=officer)
    _stale(late, now.headers["etag"])
    assert now.json()["state"] == "field_check" and counts(session) == before


def test_a_commit_on_a_batch_changed_since_it_was_read_is_refused(
        client, auth, session, settings) -> None:
    """An officer reads the batch, another settles its overlap with the neighbour (an
    overlap is never overridden: the commit amends the neighbour): the first one's commit,
    sent with the tag of the batch they read, gets 412; with the new tag it commits."""
    officer = Actor(username="land_officer", role="land_officer", ward_code=WARD)
    geom = rect(0, 100, 20, 20)
    registry.register_parcel(session, actor=officer, spec=spec(SHEET, 40, rect(15, 100, 20, 20)),
                             reason="fixture")
    doc = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": mapping(
        transform(geom, gcrs.WARD, 4326)), "properties": {"to": SHEET, "so_thua": 41,
                                                          "loai_dat": "ODT"}}]}
    staged = surveys.stage_upload(session, actor=officer, stream=io.BytesIO(
        json.dumps(doc).encode()), filename="thua.geojson",
        options=surveys.UploadOptions(former_unit="kim_long"), settings=settings)
    session.commit()
    batch = staged.batch["id"]
    headers = auth("land_officer")
    read = client.get(f"/api/v1/surveys/{batch}", headers=headers)
    tag = read.headers["etag"]
    errors = surveys.batch_findings(session, actor=officer, batch_id=batch, severity="error",
                                    rule=None)["features"]
    assert [f["properties"]["rule"] for f in errors] == ["overlap"]
    ok = client.post(f"/api/v1/surveys/{batch}/findings/{errors[0]['id']}/amend-neighbour",
                     json={"reason": "thửa 40 nhường phần chồng lấn"},
                     headers={**headers, "If-Match": tag})
    assert ok.status_code == 200, ok.text
    before = counts(session)
    late = client.post(f"/api/v1/surveys/{batch}/commit", json={},
                       headers={**headers, "If-Match": tag})
    now = client.get(f"/api/v1/surveys/{batch}", headers=headers)
    _stale(late, now.headers["etag"])
    assert now.json()["state"] == "validated" and counts(session) == before
    done = client.post(f"/api/v1/surveys/{batch}/commit", json={},
                       headers={**headers, "If-Match": now.headers["etag"]})
    assert done.status_code == 200, done.text


# ---------------------------------------------------------------- two real connections


class Amendments:
    """Two officers amend one parcel, each on a connection of their own, both based on
    version 1.  Officer 1 is held after writing, before commit; officer 2 is then seen
    waiting on the ward's lock; officer 1 commits; officer 2 goes on."""

    def __init__(self, engine: Engine, ward: str, parcel_id: int, *, checked: bool) -> None:
        self.engine, self.ward, self.parcel_id, self.checked = engine, ward, parcel_id, checked
        self.results: dict[int, str] = {}
        self.pids: dict[int, int] = {}
        self.written, self.release = threading.Event(), threading.Event()

    def amend(self, k: int) -> None:
        officer = Actor(username=f"officer{k}", role="land_officer", ward_code=self.ward)
        try:
            with transaction(self.engine) as s:
                self.pids[k] = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
                registry.amend_parcel(s, actor=officer, parcel_id=self.parcel_id,
                                      amendment=Amendment(address=f"officer {k}'s address"),
                                      reason=f"officer {k}",
                                      expected_version=1 if self.checked else None)
                if k == 1:
                    self.written.set()
                    assert self.release.wait(30)
            self.results[k] = "landed"
        except StaleVersion as exc:
            self.results[k] = f"stale: current {exc.extra['current_version']}"

    def waiting(self, k: int) -> bool:
        with self.engine.connect() as c:
            return bool(c.execute(text("SELECT count(*) FROM pg_locks WHERE pid = :p AND "
                                       "NOT granted"), {"p": self.pids.get(k, -1)}).scalar_one())

    def run(self) -> None:
        first = threading.Thread(target=self.amend, args=(1,))
        second = threading.Thread(target=self.amend, args=(2,))
        first.start()
        assert self.written.wait(30)
        second.start()
        deadline = time.monotonic() + 30
        while not self.waiting(2):
            assert time.monotonic() < deadline, "officer 2 never waited for officer 1"
            time.sleep(0.01)
        self.release.set()
        first.join(30)
        second.join(30)


def _versions(engine: Engine, parcel_id: int) -> list[tuple[int, str]]:
    with engine.connect() as c:
        return [(int(v), str(r)) for v, r in c.execute(text(
            "SELECT version, reason FROM parcel_version WHERE parcel_id = :p ORDER BY version"),
            {"p": parcel_id})]


@pytest.mark.parametrize("checked", [True, False], ids=["based on version 1", "unchecked"])
def test_two_officers_amend_one_parcel_at_once(engine: Engine, checked: bool) -> None:
    """Both based on version 1: exactly one lands and the other is told version 2 is
    current.  The control, without the stated version, lets both land: officer 2's change
    silently follows officer 1's, the lost update this check prevents."""
    ward = committed_ward(engine, "lost update ward")
    with transaction(engine) as s:
        pid = registry.register_parcel(s, actor=Actor(username="clerk", role="land_officer",
                                                      ward_code=ward),
                                       spec=spec(1, 1, rect(0, 0, 20, 10)),
                                       reason="đăng ký").parcel_id
    run = Amendments(engine, ward, pid, checked=checked)
    run.run()
    if checked:
        assert run.results == {1: "landed", 2: "stale: current 2"}
        assert [v for v, _ in _versions(engine, pid)] == [1, 2]
    else:
        assert run.results == {1: "landed", 2: "landed"}
        assert _versions(engine, pid)[1:] == [(2, "officer 1"), (3, "officer 2")]

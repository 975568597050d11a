"""Long work as jobs: 202 and a job URL, progress, the result; a job never writes twice.

Real processes: the requests go to an app with its own engine (committed, as in
production) and the jobs run in real ``cadastre worker`` processes on the suite's
database.  Each test works in a ward of its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.app import create_app
from api.auth import issue_token
from api.jobs import run_job
from api.users import add_user
from certificates import applications as apps
from config.settings import Settings
from db import jobs as records
from db.audit import Actor
from db.audit_chain import verify as verify_chain
from db.engine import transaction
from parcels import registry
from tests.certificates.conftest import intake
from tests.factories import committed_ward, rect, spec
from tests.processes import Worker, wait_for_file

QUICK = {"CADASTRE_JOBS_HEARTBEAT_SECONDS": "0.5", "CADASTRE_JOBS_STALLED_SECONDS": "2"}
"""A worker that says it is alive twice a second, and takes over a silent one's jobs after
2 s (production: 5 s and 30 s)."""


@dataclass
class Office:
    ward: str
    officer: Actor
    headers: dict[str, str]
    client: TestClient


@pytest.fixture()
def office(engine: Engine, settings: Settings) -> Iterator[Office]:
    """A committed ward with a land officer, and an app that commits as production does."""
    ward = committed_ward(engine, "jobs test ward")
    officer = Actor(username=f"officer-{ward.lower()}", role="land_officer", ward_code=ward)
    with transaction(engine) as s:
        user = add_user(s, actor=officer, username=officer.username, role="land_officer",
                        password="jobs-test-password-1")
    token = issue_token(settings.auth, user, 0)[0]
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Office(ward, officer, {"Authorization": f"Bearer {token}"}, client)


def _backlog(engine: Engine, office: Office, n: int) -> list[int]:
    """``n`` received, never verified claims side by side."""
    ids = []
    with transaction(engine) as s:
        for k in range(n):
            ids.append(apps.receive(s, actor=office.officer, intake=intake(
                rect(30 * k, 0, 20, 20), sheet=4, number=k + 1, name=f"Chủ hồ sơ {k}")).id)
    return ids


def _follow(office: Office, href: str, until: tuple[str, ...] = records.DONE,
            timeout: float = 90.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = office.client.get(href, headers=office.headers)
        assert r.status_code == 200, r.text
        if r.json()["state"] in until:
            return dict(r.json())
        assert time.monotonic() < deadline, f"the job is still {r.json()}"
        time.sleep(0.2)


def _verifications(engine: Engine, ids: list[int]) -> tuple[int, int]:
    """Reports stored and 'verify' audit events for these applications."""
    with engine.connect() as c:
        reports = c.execute(text("SELECT count(*) FROM verification_report WHERE "
                                 "application_id = ANY(:i)"), {"i": ids}).scalar_one()
        events = c.execute(text("SELECT count(*) FROM audit_event WHERE entity = 'application' "
                                "AND action = 'verify' "
                                "AND CAST(entity_ids ->> 0 AS bigint) = ANY(:i)"),
                           {"i": ids}).scalar_one()
    return int(reports), int(events)


def test_the_backlog_is_verified_by_a_job(engine: Engine, settings: Settings, office: Office,
                                          tmp_path: Path) -> None:
    """202 at once with the job's URL; a worker verifies each received claim once; the job
    shows its result, and the audit trail has one verification per claim."""
    ids = _backlog(engine, office, 3)
    r = office.client.post("/api/v1/jobs/verify-backlog", headers=office.headers)
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["state"] == "queued" and r.headers["location"] == job["href"]
    with Worker(settings, tmp_path) as worker:
        done = _follow(office, job["href"])
    assert done["state"] == "succeeded", (done, worker.output())
    assert done["result"]["verified"] == 3 and done["attempts"] == 1
    assert [a["application_id"] for a in done["result"]["applications"]] == ids
    assert done["progress"]["step"] == "done"
    assert _verifications(engine, ids) == (3, 3)
    with engine.connect() as c:
        states = c.execute(text("SELECT state FROM application WHERE id = ANY(:i)"),
                           {"i": ids}).scalars().all()
    assert set(states) == {"verifying"}


def test_a_worker_killed_mid_job_leaves_nothing_and_another_finishes_it_once(
        engine: Engine, settings: Settings, office: Office, tmp_path: Path) -> None:
    """The first worker is held inside the job's transaction (after the first claim's
    report is written) and killed with SIGKILL: nothing of the job is stored and it shows
    ``running``.  A second worker takes it over once the first's heartbeat is stale, and
    verifies every claim exactly once; the job counts two attempts."""
    ids = _backlog(engine, office, 3)
    job = office.client.post("/api/v1/jobs/verify-backlog", headers=office.headers).json()
    marker = tmp_path / "paused"
    doomed = Worker(settings, tmp_path, CADASTRE_TEST_PAUSE_AT="application:verify",
                    CADASTRE_TEST_PAUSE_FILE=str(marker), **QUICK)
    try:
        wait_for_file(marker, finished=lambda: doomed.proc.poll())
        assert _follow(office, job["href"], until=("running",))["attempts"] == 1
        doomed.kill9()
    finally:
        doomed.stop()
    assert _verifications(engine, ids) == (0, 0)
    with Worker(settings, tmp_path, **QUICK) as rescuer:
        done = _follow(office, job["href"])
    assert done["state"] == "succeeded", (done, rescuer.output())
    assert done["attempts"] == 2 and done["result"]["verified"] == 3
    assert _verifications(engine, ids) == (3, 3)
    with engine.connect() as c:
        from sqlalchemy.orm import Session
        assert verify_chain(Session(bind=c), ward_code=office.ward).intact


def _audits(engine: Engine, ward: str) -> int:
    with engine.connect() as c:
        return int(c.execute(text("SELECT count(*) FROM audit_event WHERE ward_code = :w AND "
                                  "action = 'audit'"), {"w": ward}).scalar_one())


def test_a_job_delivered_twice_at_once_writes_once(engine: Engine, settings: Settings,
                                                   office: Office) -> None:
    """Two runners take the same ward audit at the same moment (a queue that delivered it
    twice): one does the work, the other waits for it and then finds it done.  An audit
    run is not idempotent by itself (each run records an 'audit' event), so a second run
    would show."""
    with transaction(engine) as s:
        registry.register_parcel(s, actor=office.officer, spec=spec(6, 1, rect(0, 0, 20, 20)),
                                 reason="đăng ký")
        from api.jobs import submit
        job = submit(s, settings=settings, actor=office.officer, kind="ward_audit", params={})
    runners = [threading.Thread(target=run_job, args=(settings, engine, job.id))
               for _ in range(2)]
    for t in runners:
        t.start()
    for t in runners:
        t.join(60)
    assert _audits(engine, office.ward) == 1
    run_job(settings, engine, job.id)  # and a third delivery, after the fact
    assert _audits(engine, office.ward) == 1
    with transaction(engine) as s:
        assert records.get(s, job_id=job.id).state == "succeeded"


def test_the_ward_audit_runs_as_a_job(engine: Engine, settings: Settings, office: Office,
                                      tmp_path: Path) -> None:
    """Two registered parcels overlapping by 20 m²: the audit job finds the overlap and
    records one 'audit' event."""
    with transaction(engine) as s:
        for k, geom in enumerate((rect(0, 0, 20, 20), rect(19, 0, 20, 20))):
            registry.register_parcel(s, actor=office.officer, spec=spec(6, k + 1, geom),
                                     reason="đăng ký")
    r = office.client.post("/api/v1/jobs/ward-audit", json={}, headers=office.headers)
    assert r.status_code == 202, r.text
    with Worker(settings, tmp_path) as worker:
        done = _follow(office, r.json()["href"])
    assert done["state"] == "succeeded", (done, worker.output())
    assert done["result"]["parcels"] == 2
    assert done["result"]["counts"].get("overlap") == 1, done["result"]["counts"]
    assert _audits(engine, office.ward) == 1


def test_a_job_for_a_project_that_does_not_exist_is_refused_and_nothing_queued(
        engine: Engine, office: Office) -> None:
    with engine.connect() as c:
        before = c.execute(text("SELECT count(*) FROM job")).scalar_one()
    r = office.client.post("/api/v1/jobs/impact", json={"code": "NO_SUCH_ROAD"},
                           headers=office.headers)
    assert r.status_code == 404, r.text
    assert r.headers["content-type"] == "application/problem+json"
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM job")).scalar_one() == before


def test_another_wards_job_is_not_found(engine: Engine, settings: Settings,
                                        office: Office) -> None:
    with transaction(engine) as s:
        from api.jobs import submit
        job = submit(s, settings=settings, actor=office.officer, kind="verify_backlog",
                     params={})
    other = committed_ward(engine, "another jobs ward")
    stranger = Actor(username=f"officer-{other.lower()}", role="land_officer", ward_code=other)
    with transaction(engine) as s:
        user = add_user(s, actor=stranger, username=stranger.username, role="land_officer",
                        password="jobs-test-password-2")
    headers = {"Authorization": f"Bearer {issue_token(settings.auth, user, 0)[0]}"}
    r = office.client.get(f"/api/v1/jobs/{job.id}", headers=headers)
    assert r.status_code == 404 and r.json()["type"] == "/problems/job_not_found"


def _grid(n: int) -> bytes:
    """A survey of ``n`` new 10 × 10 m parcels on a grid (GeoJSON, WGS 84)."""
    import json as _json

    from shapely.geometry import mapping as _mapping

    from gis.crs import transform

    side = int(n ** 0.5) + 1
    feats = []
    for k in range(n):
        geom = rect(-900 + 12 * (k % side), -900 + 12 * (k // side), 10, 10)
        feats.append({"type": "Feature", "geometry": _mapping(transform(geom, 9214, 4326)),
                      "properties": {"to": 8, "so_thua": k + 1, "loai_dat": "ODT"}})
    return _json.dumps({"type": "FeatureCollection", "features": feats}).encode()


def test_a_large_upload_answers_202_and_a_job_validates_it(
        engine: Engine, settings: Settings, office: Office) -> None:
    """Above the inline limit the upload stages the batch (``received``) and answers 202
    with the validation job; run, the job validates the batch as the upload would have,
    the surveyor follows it, and the officer can then commit."""
    small_limit = settings.model_copy(update={"intake": settings.intake.model_copy(
        update={"validate_inline_up_to": 1})})
    surveyor = Actor(username=f"surveyor-{office.ward.lower()}", role="surveyor",
                     ward_code=office.ward)
    with transaction(engine) as s:
        user = add_user(s, actor=surveyor, username=surveyor.username, role="surveyor",
                        password="jobs-test-password-3")
    as_surveyor = {"Authorization": f"Bearer {issue_token(settings.auth, user, 0)[0]}"}
    with TestClient(create_app(small_limit), raise_server_exceptions=False) as client:
        r = client.post("/api/v1/surveys", headers=as_surveyor, data={"former_unit": "kim_long"},
                        files={"file": ("grid.geojson", _grid(4), "application/geo+json")})
        assert r.status_code == 202, r.text
        body = r.json()
        assert body["state"] == "received" and body["feature_count"] == 4
        assert r.headers["location"] == body["job"]["href"]
        assert not body["can_commit"]
        run_job(small_limit, engine, body["job"]["id"])
        done = client.get(body["job"]["href"], headers=as_surveyor).json()
        assert done["state"] == "succeeded", done
        assert done["result"]["matches"]["new"] == 4 and done["result"]["state"] == "validated"
        commit = client.post(f"/api/v1/surveys/{body['id']}/commit", json={},
                             headers=office.headers)
        assert commit.status_code == 200, commit.text
        assert commit.json()["state"] == "committed"

"""Crash safety with real processes: a write killed half-way leaves nothing half-written.

A real ``cadastre serve`` takes the request and is held inside its transaction, after every
statement of the write has run and before the commit (db/testhooks.py: the audit event
that closes the write flushes the session and waits).  Then the test kills the server with
SIGKILL, or kills PostgreSQL itself with SIGKILL (every process of the embedded cluster)
and starts it again.  Afterwards the ward is exactly as before the request: no version, no
lineage, no right, no audit event, the application and the batch in their old state, and
the audit chain intact.  The same request, sent again, then succeeds, and the audit trail
matches what was written.

Each test works in a ward of its own (committed rows, a fresh code per run).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from shapely.geometry import mapping
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from api.auth import issue_token
from api.users import add_user
from certificates import applications as apps
from config.settings import Settings
from db.audit import Actor
from db.audit_chain import verify as verify_chain
from db.cluster import Cluster
from db.engine import transaction
from parcels import registry, surveys
from tests.certificates.conftest import intake, to_obligations_met
from tests.factories import committed_ward, rect, spec
from tests.gis.builders import A, B, geojson, wgs
from tests.processes import Server, wait_for_file

WARD_TABLES = ("parcel", "parcel_version", "parcel_lineage", "parcel_right", "party",
               "source_document", "application", "application_event", "verification_report",
               "survey_batch", "survey_feature")


@dataclass
class Ward:
    code: str
    officer: Actor
    headers: dict[str, str]


@pytest.fixture()
def ward(engine: Engine, settings: Settings) -> Ward:
    code = committed_ward(engine, "crash test ward")
    officer = Actor(username=f"officer-{code.lower()}", role="land_officer", ward_code=code)
    with transaction(engine) as s:
        user = add_user(s, actor=officer, username=officer.username, role="land_officer",
                        password="crash-test-password-1")
    token = issue_token(settings.auth, user, 0)[0]
    return Ward(code, officer, {"Authorization": f"Bearer {token}"})


def ward_state(engine: Engine, code: str) -> dict[str, Any]:
    """Everything a write could leave behind in the ward, counted."""
    with Session(engine) as s:
        rows = {t: s.execute(text(f"SELECT count(*) FROM {t} WHERE ward_code = :w"),
                             {"w": code}).scalar_one() for t in WARD_TABLES}
        actions = Counter(dict(s.execute(text(
            "SELECT entity || ':' || action, count(*) FROM audit_event WHERE ward_code = :w "
            "GROUP BY 1"), {"w": code}).all()))
        states = sorted(s.execute(text("SELECT state FROM application WHERE ward_code = :w "
                                       "UNION ALL SELECT 'batch ' || state FROM survey_batch "
                                       "WHERE ward_code = :w"), {"w": code}).scalars())
        current = sorted(s.execute(text(
            "SELECT sheet_no * 1000 + parcel_no FROM parcel_version WHERE ward_code = :w "
            "AND valid_to IS NULL AND status = 'registered'"), {"w": code}).scalars())
        chain = verify_chain(s, ward_code=code)
    assert chain.intact, chain.broken
    assert chain.events == sum(actions.values())
    return {"rows": rows, "audit": dict(actions), "states": states, "current": current}


@dataclass
class Write:
    """A request to crash in, where to pause it, and what the retry must leave."""

    pause_at: str
    method: str
    path: str
    body: dict[str, Any] | None
    check: Callable[[Engine, Ward, dict[str, Any], dict[str, Any]], None]


def _split(engine: Engine, ward: Ward) -> Write:
    with transaction(engine) as s:
        lot = registry.register_parcel(s, actor=ward.officer, spec=spec(9, 1, rect(0, 0, 20, 10)),
                                       reason="đăng ký")
        registry.register_parcel(s, actor=ward.officer, reason="lối đi",  # the parts' road
                                 spec=spec(9, 90, rect(0, -6, 20, 6), land_use="DGT"))
    parts = [{"former_unit": "kim_long", "sheet_no": 9, "parcel_no": n, "land_use": "ODT",
              "geometry": mapping(rect(x, 0, 10, 10)), "srid": 9214} for n, x in ((2, 0), (3, 10))]

    def check(engine: Engine, ward: Ward, before: dict[str, Any], after: dict[str, Any]) -> None:
        assert after["current"] == [9002, 9003, 9090]
        assert after["rows"]["parcel_lineage"] == 2
        assert after["rows"]["parcel_version"] == before["rows"]["parcel_version"] + 3
        assert after["audit"]["parcel:split"] == 1
        with Session(engine) as s:
            ids = s.execute(text("SELECT entity_ids FROM audit_event WHERE ward_code = :w AND "
                                 "action = 'split'"), {"w": ward.code}).scalar_one()
            children = s.execute(text("SELECT child_parcel_id FROM parcel_lineage WHERE "
                                      "parent_parcel_id = :p ORDER BY 1"),
                                 {"p": lot.parcel_id}).scalars().all()
        assert ids == [lot.parcel_id, *children]

    return Write("parcel:split", "POST", f"/api/v1/parcels/{lot.parcel_id}/split",
                 {"parts": parts, "reason": "tách thửa"}, check)


def _approval(engine: Engine, ward: Ward) -> Write:
    with transaction(engine) as s:
        app_id = apps.receive(s, actor=ward.officer, intake=intake(
            rect(0, 40, 20, 20), sheet=9, number=7, name="Trần Văn Crash")).id
    with transaction(engine) as s:
        apps.verify(s, actor=ward.officer, application_id=app_id)
        apps.record_field_check(s, actor=ward.officer, application_id=app_id,
                                check=apps.FieldCheck(notes="đã đo"))
        to_obligations_met(s, ward.officer, app_id)

    def check(engine: Engine, ward: Ward, before: dict[str, Any], after: dict[str, Any]) -> None:
        assert after["states"] == ["approved"]
        assert after["rows"]["parcel_right"] == 1 and after["current"] == [9007]
        assert after["audit"]["application:approve"] == 1
        assert after["audit"]["parcel:register"] == 1

    return Write("application:approve", "POST", f"/api/v1/applications/{app_id}/decision",
                 {"decision": "approve", "reason": "đủ điều kiện", "override_warnings": True},
                 check)


def _survey_commit(engine: Engine, ward: Ward, folder: Path, settings: Settings) -> Write:
    path = geojson(folder / "thua.geojson", [wgs(A), wgs(B)],
                   [{"to": 5, "so_thua": 12, "loai_dat": "ODT"},
                    {"to": 5, "so_thua": 13, "loai_dat": "CLN"}])
    with Session(engine) as s, path.open("rb") as fh:  # stage_upload runs its transactions
        staged = surveys.stage_upload(s, actor=ward.officer, stream=fh, filename=path.name,
                                      options=surveys.UploadOptions(former_unit="kim_long"),
                                      settings=settings)
        s.commit()
    assert staged.batch["state"] == "validated" and staged.batch["can_commit"]
    batch = staged.batch["id"]

    def check(engine: Engine, ward: Ward, before: dict[str, Any], after: dict[str, Any]) -> None:
        assert after["states"] == ["batch committed"]
        assert after["current"] == [5012, 5013]
        assert after["audit"]["survey_batch:commit"] == 1
        with Session(engine) as s:
            unwritten = s.execute(text("SELECT count(*) FROM survey_feature WHERE batch_id = :b "
                                       "AND committed_parcel_id IS NULL"),
                                  {"b": batch}).scalar_one()
        assert unwritten == 0

    return Write("survey_batch:commit", "POST", f"/api/v1/surveys/{batch}/commit", {}, check)


class InFlight:
    """The request, sent from a thread so the test can kill its server meanwhile."""

    def __init__(self, url: str, write: Write, headers: dict[str, str]) -> None:
        self.result: httpx.Response | Exception | None = None
        self._t = threading.Thread(target=self._send, args=(url, write, headers), daemon=True)
        self._t.start()

    def _send(self, url: str, write: Write, headers: dict[str, str]) -> None:
        try:
            self.result = httpx.request(write.method, url + write.path, json=write.body,
                                        headers=headers, timeout=120)
        except Exception as exc:
            self.result = exc

    def join(self) -> httpx.Response | Exception | None:
        self._t.join(120)
        return self.result


def _write(kind: str, engine: Engine, ward: Ward, folder: Path, settings: Settings) -> Write:
    if kind == "split":
        return _split(engine, ward)
    if kind == "approval":
        return _approval(engine, ward)
    return _survey_commit(engine, ward, folder, settings)


@pytest.mark.parametrize("kind", ["split", "approval", "survey commit"])
def test_a_server_killed_inside_the_write_leaves_nothing_and_the_retry_lands(
        engine: Engine, settings: Settings, ward: Ward, tmp_path: Path, kind: str) -> None:
    """kill -9 of the server while its transaction holds every row of the write: nothing
    of it is stored; a new server takes the same request and it lands once."""
    write = _write(kind, engine, ward, tmp_path, settings)
    before = ward_state(engine, ward.code)
    marker = tmp_path / "paused"
    with Server(settings, tmp_path, CADASTRE_TEST_PAUSE_AT=write.pause_at,
                CADASTRE_TEST_PAUSE_FILE=str(marker)) as doomed:
        request = InFlight(doomed.url, write, ward.headers)
        wait_for_file(marker, finished=lambda: request.result)
        assert ward_state(engine, ward.code) == before  # written, but not committed
        doomed.kill9()
        assert isinstance(request.join(), httpx.HTTPError)  # no answer: the process died
    _backend_gone(engine, doomed.proc.pid)
    assert ward_state(engine, ward.code) == before
    with Server(settings, tmp_path) as fresh:
        r = httpx.request(write.method, fresh.url + write.path, json=write.body,
                          headers=ward.headers, timeout=120)
    assert r.status_code in (200, 201), r.text
    after = ward_state(engine, ward.code)
    write.check(engine, ward, before, after)


def _backend_gone(engine: Engine, client_pid: int, timeout: float = 30.0) -> None:
    """Wait until PostgreSQL has noticed the dead client and rolled its transaction back
    (its locks are then free; the ward's state below is the committed one either way)."""
    deadline = time.monotonic() + timeout
    with engine.connect() as c:
        while c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE state = "
                             "'idle in transaction' AND backend_type = 'client backend' "
                             "AND query LIKE '%audit_event%'")).scalar_one():
            assert time.monotonic() < deadline, "a dead client's transaction is still open"
            time.sleep(0.1)
            c.rollback()


def _kill_postgres(settings: Settings) -> None:
    """SIGKILL to the postmaster and every server process of the embedded cluster: no
    shutdown checkpoint, no clean exit, as in a power cut."""
    info = Cluster(settings.db.state_dir).info()
    assert info is not None
    postmaster = int(Path(info.data_dir, "data", "postmaster.pid").read_text().split()[0])
    children = [int(p) for p in os.listdir("/proc") if p.isdigit() and _ppid(int(p)) == postmaster]
    for pid in [postmaster, *children]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{p}").exists() and _ppid(p) in (postmaster, 1)
              and _is_postgres(p) for p in [postmaster, *children]):
        assert time.monotonic() < deadline, "PostgreSQL processes survived SIGKILL"
        time.sleep(0.05)


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def _is_postgres(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip().startswith("postgres")
    except OSError:
        return False


@pytest.fixture()
def embedded(settings: Settings) -> Iterator[Cluster]:
    if settings.db.url:
        pytest.skip("kills the embedded cluster; TEST_DATABASE_URL names another server")
    yield Cluster(settings.db.state_dir)


@pytest.mark.parametrize("kind", ["split", "approval"])
def test_postgresql_killed_inside_the_write_loses_it_whole_and_the_retry_lands(
        engine: Engine, settings: Settings, ward: Ward, tmp_path: Path, embedded: Cluster,
        kind: str) -> None:
    """kill -9 of PostgreSQL itself while the request's transaction is open: after crash
    recovery nothing of it is there; the server, still running, answers that request 503
    (it was not completed), and the same request sent again lands once."""
    write = _write(kind, engine, ward, tmp_path, settings)
    before = ward_state(engine, ward.code)
    marker = tmp_path / "paused"
    with Server(settings, tmp_path, CADASTRE_TEST_PAUSE_AT=write.pause_at,
                CADASTRE_TEST_PAUSE_FILE=str(marker)) as server:
        request = InFlight(server.url, write, ward.headers)
        wait_for_file(marker, finished=lambda: request.result)
        _kill_postgres(settings)
        embedded.up(settings.db.database)  # crash recovery replays the WAL
        engine.dispose()  # the suite's pooled connections died with the server
        marker.unlink()  # let the paused request go on: its connection is gone
        answer = request.join()
        assert isinstance(answer, httpx.Response), answer
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert ward_state(engine, ward.code) == before
        r = httpx.request(write.method, server.url + write.path, json=write.body,
                          headers=ward.headers, timeout=120)
    assert r.status_code in (200, 201), r.text
    write.check(engine, ward, before, ward_state(engine, ward.code))

"""The audit trail is a hash chain per ward: tampering by the database owner shows.

The owner can disable the history guards (``ALTER TABLE … DISABLE TRIGGER``) and then edit,
delete or reorder events; each test does that inside its rolled-back transaction and checks
that :func:`db.audit_chain.verify` names the first broken link.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time
import uuid

import pytest
from shapely.geometry import MultiPolygon, box
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from config.settings import Settings
from db import audit
from db.audit import Actor
from db.audit_chain import GENESIS, check_anchor, link_hash, verify
from db.engine import transaction
from gis import crs as gcrs
from gis.convert import to_ewkb
from parcels import registry
from parcels.registry import Amendment
from tests.factories import X0, Y0, committed_ward, rect, spec
from tests.scratch import cli_env


@pytest.fixture()
def ward(connection: Connection) -> str:
    """A ward of this test's own (so its chain starts at 1), inside the test's transaction."""
    code = "C" + uuid.uuid4().hex[:8]
    connection.execute(text("INSERT INTO ward (code, name, boundary, synthetic) VALUES "
                            "(:c, 'chain test ward', ST_GeomFromEWKB(:g), true)"),
                       {"c": code, "g": to_ewkb(MultiPolygon([box(
                           X0 - 500, Y0 - 500, X0 + 500, Y0 + 500)]), gcrs.WARD)})
    connection.execute(text("INSERT INTO former_unit (ward_code, code, name) VALUES "
                            "(:w, 'kim_long', 'Kim Long')"), {"w": code})
    return code


@pytest.fixture()
def history(session: Session, ward: str) -> int:
    """Six audited registry writes: register ×3 (the last a lane the split's parts front),
    amend, split, retire."""
    officer = Actor(username="officer", role="land_officer", ward_code=ward)
    a = registry.register_parcel(session, actor=officer, spec=spec(3, 1, rect(0, 0, 20, 10)),
                                 reason="đăng ký")
    b = registry.register_parcel(session, actor=officer, spec=spec(3, 2, rect(30, 0, 10, 10)),
                                 reason="đăng ký")
    registry.register_parcel(session, actor=officer, reason="lối đi",
                             spec=spec(3, 90, rect(0, -6, 20, 6), land_use="DGT"))
    registry.amend_parcel(session, actor=officer, parcel_id=b.parcel_id, reason="đổi mục đích",
                          amendment=Amendment(land_use="CLN"))
    registry.split_parcel(session, actor=officer, parcel_id=a.parcel_id, reason="tách thửa",
                          children=[spec(3, 3, rect(0, 0, 10, 10)),
                                    spec(3, 4, rect(10, 0, 10, 10))])
    registry.retire_parcel(session, actor=officer, parcel_id=b.parcel_id, reason="thu hồi")
    session.flush()
    # The chain's head moves at commit (a deferred trigger); the test never commits, so
    # run the deferred work now, as a commit would.
    session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    return 6


def _as_owner_unguarded(connection: Connection) -> None:
    """What the owner can do: leave the service role and switch the guards off (until the
    test's rollback)."""
    connection.execute(text("SET LOCAL ROLE NONE"))
    connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_immutable"))


def _ids(connection: Connection, ward: str) -> dict[int, int]:
    return {int(s): int(i) for s, i in connection.execute(text(
        "SELECT seq, id FROM audit_event WHERE ward_code = :w"), {"w": ward})}


def test_an_untouched_chain_verifies(session: Session, ward: str, history: int) -> None:
    """Every write appended one link; the walk recomputes each hash and ends at the head."""
    report = verify(session, ward_code=ward)
    assert report.intact, report.broken
    assert report.events == history == report.head_seq
    rows = session.execute(text("SELECT seq, action, prev_hash, hash FROM audit_event "
                                "WHERE ward_code = :w ORDER BY seq"), {"w": ward}).all()
    assert [r.action for r in rows] == ["register", "register", "register", "amend", "split",
                                            "retire"]
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5, 6]
    assert bytes(rows[0].prev_hash) == GENESIS
    assert all(bytes(r.prev_hash) == bytes(p.hash) for p, r in itertools.pairwise(rows))


TAMPERING = {
    "edit an event": (
        "UPDATE audit_event SET reason = 'nothing happened' WHERE ward_code = :w AND seq = 3",
        3, "no longer matches its hash"),
    "edit an event's detail": (
        "UPDATE audit_event SET detail = detail || '{\"version\": 9}' "
        "WHERE ward_code = :w AND seq = 3", 3, "no longer matches its hash"),
    "delete an event": (
        "DELETE FROM audit_event WHERE ward_code = :w AND seq = 2", 2, "missing (deleted)"),
    "delete the last event": (
        "DELETE FROM audit_event WHERE ward_code = :w AND seq = 6", 6,
        "removed from the end"),
    "swap two events' places": (
        "UPDATE audit_event SET seq = -seq WHERE ward_code = :w AND seq IN (2, 4); "
        "UPDATE audit_event SET seq = CASE seq WHEN -2 THEN 4 ELSE 2 END "
        "WHERE ward_code = :w AND seq IN (-2, -4)", 2, "does not follow the event before it"),
    "edit an event and give it a matching hash": (
        "UPDATE audit_event SET actor = 'someone else', hash = sha256(prev_hash || convert_to("
        "jsonb_build_array(ward_code, seq, (extract(epoch FROM at) * 1000000)::bigint, "
        "'someone else', role, action, entity, entity_ids, reason, detail, address, "
        "request_id)::text, 'UTF8')) WHERE ward_code = :w AND seq = 3", 4,
        "does not follow the event before it"),
}


@pytest.mark.parametrize("how", list(TAMPERING))
def test_tampering_by_the_owner_names_the_first_broken_link(
        connection: Connection, session: Session, ward: str, history: int, how: str) -> None:
    """With the guard trigger off, the owner edits, deletes or reorders events: the walk
    stops at the first link that does not hold and says what is wrong there."""
    statement, seq, problem = TAMPERING[how]
    ids = _ids(connection, ward)
    _as_owner_unguarded(connection)
    for one in statement.split("; "):
        assert connection.execute(text(one), {"w": ward}).rowcount >= 1
    report = verify(session, ward_code=ward)
    assert report.broken is not None, "the tampering went unnoticed"
    assert report.broken.seq == seq
    assert problem in report.broken.problem
    if report.broken.event_id is not None and "deleted" not in problem:
        assert report.broken.event_id in ids.values()
    assert f"broken at event {seq}" in report.broken.message(ward)


def test_a_rewritten_chain_shows_against_an_anchor(connection: Connection, session: Session,
                                                   ward: str, history: int) -> None:
    """The owner edits event 2 and recomputes every hash after it and the head: the chain
    is consistent again, but the head recorded earlier (a backup's manifest) no longer is."""
    head = verify(session, ward_code=ward)
    anchor = (head.head_seq, head.head_hash)
    _as_owner_unguarded(connection)
    connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_chain"))
    connection.execute(text("UPDATE audit_event SET actor = 'someone else' "
                            "WHERE ward_code = :w AND seq = 2"), {"w": ward})
    from db.audit_chain import CONTENT
    rows = connection.execute(text(f"SELECT id, {CONTENT} AS c FROM audit_event e "
                                   "WHERE ward_code = :w ORDER BY seq"), {"w": ward}).all()
    prev = GENESIS
    for r in rows:
        h = link_hash(prev, r.c)
        connection.execute(text("UPDATE audit_event SET prev_hash = :p, hash = :h WHERE id = :i"),
                           {"p": prev, "h": h, "i": r.id})
        prev = h
    connection.execute(text("UPDATE audit_chain_head SET hash = :h WHERE ward_code = :w"),
                       {"h": prev, "w": ward})
    assert verify(session, ward_code=ward).intact  # consistent in itself …
    differs = check_anchor(session, ward_code=ward, seq=anchor[0], hash_hex=anchor[1])
    assert differs is not None and "rewritten" in differs  # … but not with the anchor


def test_the_service_role_cannot_move_the_chain_head(connection: Connection, ward: str,
                                                     history: int) -> None:
    """Only the trigger (running as the owner) writes the head; the service may read it."""
    assert connection.execute(text("SELECT seq FROM audit_chain_head WHERE ward_code = :w"),
                              {"w": ward}).scalar_one() == history
    nested = connection.begin_nested()
    with pytest.raises(DBAPIError, match="permission denied"):
        connection.execute(text("UPDATE audit_chain_head SET seq = 1 WHERE ward_code = :w"),
                           {"w": ward})
    nested.rollback()


def test_concurrent_writers_chain_one_after_the_other(engine: Engine) -> None:
    """Six connections append audit events to one ward at once, each holding its
    transaction open a moment after its event: one chain, no two events in one place, no
    fork, every link verified."""
    ward = committed_ward(engine, "chain concurrency ward")
    per_thread, threads = 15, 6
    errors: list[BaseException] = []

    def write(k: int) -> None:
        try:
            for n in range(per_thread):
                with transaction(engine) as s:
                    audit.record(s, actor=Actor(username=f"clerk{k}", role="land_officer",
                                                ward_code=ward),
                                 action="probe", entity="test", entity_ids=[k, n])
                    s.flush()
                    time.sleep(0.005)  # hold the head until commit: the others must wait
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=write, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert not errors, errors
    with Session(engine) as s:
        report = verify(s, ward_code=ward)
    assert report.intact, report.broken
    assert report.events == report.head_seq == per_thread * threads


def test_the_command_names_the_broken_link(engine: Engine, settings: Settings,
                                           service_env: None) -> None:
    """``cadastre audit-log verify`` as an operator runs it: exit 0 and the head while the
    chain holds; after the owner deletes an event, exit 3 naming the ward and the event."""
    ward = committed_ward(engine, "chain command ward")
    with transaction(engine) as s:
        for n in range(3):
            audit.record(s, actor=Actor(username="clerk", role="land_officer", ward_code=ward),
                         action="probe", entity="test", entity_ids=[n])

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "api.cli", "audit-log", "verify",
                               "--ward", ward], env=cli_env(settings), capture_output=True,
                              text=True, timeout=60, check=False)

    ok = run()
    assert ok.returncode == 0, ok.stderr
    assert f"ward {ward}: 3 events, chain intact; head event 3" in ok.stdout
    from db.engine import make_engine
    owner = make_engine(settings.db, as_owner=True)
    try:
        with owner.begin() as c:
            c.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_immutable"))
            c.execute(text("DELETE FROM audit_event WHERE ward_code = :w AND seq = 2"),
                      {"w": ward})
            c.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_immutable"))
    finally:
        owner.dispose()
    broken = run()
    assert broken.returncode == 3, (broken.stdout, broken.stderr)
    assert f"ward {ward}: the audit chain is broken at event 2" in broken.stderr
    assert "missing (deleted)" in broken.stderr

"""Two officers approve two overlapping claims at the same moment: the ward lock lets one through.

Real concurrency: two threads, each with its own pooled connection and its own committed
transaction.  The interleaving is not left to the scheduler: the approvals are held at
``certificates.approval.approval_checked``, the point where an approval has passed its
re-verification and has written nothing yet.

- With the lock, officer 1 is held there while officer 2's approval is seen waiting on the
  ward's advisory lock, before its own checks; released, officer 1 certifies the parcel
  and officer 2 gets the conflict naming it.
- The control takes the approval's lock away: both approvals pass their checks before
  either writes, and both land — two certified parcels over the same 20 m².  So the first
  test passes because of the lock, not because one thread happened to come second.

The rows are committed, so each test works in a ward of its own (a fresh code each run)
that nothing else reads.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import Engine, text

from certificates import applications as apps
from certificates import approval
from certificates.errors import ApprovalConflict
from db.audit import Actor
from db.engine import transaction
from tests.certificates.conftest import intake, to_obligations_met
from tests.factories import committed_ward, rect

WAIT_S = 30.0
OVERLAP_M2 = 20.0
"""The claims are 21 × 20 m and 20 × 20 m, one metre apart at the seam: 1 m × 20 m shared."""


class Approvals:
    """Two approvals in threads, each held at the seam until :meth:`release`."""

    def __init__(self, engine: Engine, officers: list[Actor], ids: list[int]) -> None:
        self.engine, self.officers, self.ids = engine, officers, ids
        self.checked = {i: threading.Event() for i in ids}
        self.pids: dict[int, int] = {}
        self.connected = [threading.Event(), threading.Event()]
        self.results: dict[int, Any] = {}
        self._release = threading.Event()
        self._threads = [threading.Thread(target=self._approve, args=(k,), daemon=True)
                         for k in (0, 1)]

    def seam(self, application_id: int) -> None:
        """Installed as ``apps.approval_checked``: say we got here, then wait."""
        self.checked[application_id].set()
        if not self._release.wait(WAIT_S):
            raise TimeoutError("the test never released the approval")

    def start(self, k: int) -> None:
        self._threads[k].start()
        assert self.connected[k].wait(WAIT_S)

    def release(self) -> None:
        self._release.set()
        for t in self._threads:
            if t.is_alive() or t.ident is not None:
                t.join(WAIT_S)

    def _approve(self, k: int) -> None:
        try:
            with transaction(self.engine) as s:
                self.pids[k] = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
                self.connected[k].set()
                app = apps.decide(s, actor=self.officers[k], application_id=self.ids[k],
                                  decision=apps.Decision(approve=True, reason="đủ điều kiện",
                                                         override_warnings=True))
                self.results[k] = ("approved", app.parcel_id)
        except ApprovalConflict as exc:
            self.results[k] = ("conflict", exc.extra["conflicting_parcels"])
        except Exception as exc:  # pragma: no cover - reported by the assertions
            self.results[k] = ("error", repr(exc))
        finally:
            self.connected[k].set()


def _two_reviewed_claims(engine: Engine) -> tuple[str, list[Actor], list[int]]:
    """Two overlapping claims, each verified and field-checked (verdict review: they
    overlap each other as pending claims), posted, eligible and with their obligations met,
    in a committed ward of their own."""
    ward = committed_ward(engine, "race test ward")
    officers = [Actor(username=f"officer{k}", role="land_officer", ward_code=ward)
                for k in (1, 2)]
    ids = []
    for k, geom in enumerate((rect(0, 0, 21, 20), rect(20, 0, 20, 20))):
        with transaction(engine) as s:
            a = apps.receive(s, actor=officers[k],
                             intake=intake(geom, sheet=1, number=k + 1, name=f"Chủ {k}"))
            ids.append(a.id)
    for k, i in enumerate(ids):
        with transaction(engine) as s:
            apps.verify(s, actor=officers[k], application_id=i)
            r = apps.record_field_check(s, actor=officers[k], application_id=i,
                                        check=apps.FieldCheck(notes="đã đo"))
            assert r.verdict == "review"  # overlap_pending: a warning, approved with override
            to_obligations_met(s, officers[k], i)
    return ward, officers, ids


def _advisory_locks(engine: Engine, pid: int, *, granted: bool) -> int:
    with engine.connect() as c:
        return int(c.execute(text(
            "SELECT count(*) FROM pg_locks WHERE pid = :p AND locktype = 'advisory' "
            "AND granted = :g"), {"p": pid, "g": granted}).scalar_one())


def _registry(engine: Engine, ward: str, ids: list[int]) -> tuple[list[str], int, int, float]:
    """States of the two applications, rights, parcel versions, and the area certified twice."""
    with engine.connect() as c:
        states = c.execute(text("SELECT state FROM application WHERE id = ANY(:i) ORDER BY id"),
                           {"i": ids}).scalars().all()
        rights = c.execute(text("SELECT count(*) FROM parcel_right WHERE ward_code = :w"),
                           {"w": ward}).scalar_one()
        versions = c.execute(text("SELECT count(*) FROM parcel_version WHERE ward_code = :w"),
                             {"w": ward}).scalar_one()
        twice = c.execute(text(
            "SELECT coalesce(sum(ST_Area(ST_Intersection(a.geom, b.geom))), 0) "
            "FROM parcel_version a JOIN parcel_version b ON a.id < b.id "
            "AND ST_Intersects(a.geom, b.geom) WHERE a.ward_code = :w AND b.ward_code = :w "
            "AND a.valid_to IS NULL AND b.valid_to IS NULL"), {"w": ward}).scalar_one()
    return list(states), rights, versions, float(twice)


def test_the_ward_lock_makes_the_second_approval_wait_and_fail(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Officer 1 has passed every check and holds the ward lock; officer 2's approval waits
    on that lock before checking anything; released, officer 1 certifies the parcel and
    officer 2 is refused with the conflict naming it.  One parcel, one right."""
    ward, officers, ids = _two_reviewed_claims(engine)
    run = Approvals(engine, officers, ids)
    monkeypatch.setattr(approval, "approval_checked", run.seam)
    try:
        run.start(0)
        assert run.checked[ids[0]].wait(WAIT_S), run.results
        assert _advisory_locks(engine, run.pids[0], granted=True) >= 1
        run.start(1)
        deadline = time.monotonic() + WAIT_S
        while _advisory_locks(engine, run.pids[1], granted=False) == 0:
            assert not run.checked[ids[1]].is_set(), \
                "officer 2 passed the checks while officer 1 was about to write"
            assert 1 not in run.results, run.results
            assert time.monotonic() < deadline, "officer 2 never waited on the ward lock"
            time.sleep(0.01)
    finally:
        run.release()
    first, second = run.results[0], run.results[1]
    assert first[0] == "approved", run.results
    assert second == ("conflict", [first[1]]), run.results
    assert not run.checked[ids[1]].is_set()
    assert _registry(engine, ward, ids) == (["approved", "obligations_met"], 1, 1, 0.0)


def test_without_the_lock_both_approvals_land(engine: Engine,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: the approval's lock taken away, both officers pass their checks before
    either writes, and both claims are certified over the same 20 m² — the failure the
    lock exists to prevent (the lock the registry write takes later does not help)."""
    ward, officers, ids = _two_reviewed_claims(engine)
    run = Approvals(engine, officers, ids)
    monkeypatch.setattr(approval, "approval_checked", run.seam)
    monkeypatch.setattr(approval, "lock_ward", lambda _session, _ward: None)
    try:
        run.start(0)
        assert run.checked[ids[0]].wait(WAIT_S), run.results
        run.start(1)
        assert run.checked[ids[1]].wait(WAIT_S), run.results
    finally:
        run.release()
    assert [run.results[k][0] for k in (0, 1)] == ["approved", "approved"], run.results
    states, rights, versions, twice = _registry(engine, ward, ids)
    assert (states, rights, versions) == (["approved", "approved"], 2, 2)
    assert twice == pytest.approx(OVERLAP_M2, abs=0.01)

"""Two officers approve two overlapping claims at the same moment: exactly one succeeds.

Real concurrency: two threads, each with its own pooled connection and its own
committed transaction, released together by a barrier.  The rows are committed, so the
test works in a ward of its own (a fresh code each run) that nothing else reads.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine, text

from certificates import applications as apps
from certificates.errors import ApprovalConflict
from db.audit import Actor
from db.engine import transaction
from tests.certificates.conftest import intake
from tests.factories import committed_ward, rect


def test_overlapping_approvals_race_and_one_gets_a_conflict(engine: Engine) -> None:
    """Both claims passed review; released together, one is certified, the other is refused."""
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
            assert r.verdict == "review"  # they overlap each other: overlap_pending

    barrier = threading.Barrier(2, timeout=30)
    results: dict[int, Any] = {}

    def approve(k: int) -> None:
        try:
            with transaction(engine) as s:
                s.execute(text("SELECT 1"))  # hold a connection before the start signal
                barrier.wait()
                app = apps.decide(s, actor=officers[k], application_id=ids[k],
                                  decision=apps.Decision(approve=True, reason="đủ điều kiện",
                                                         override_warnings=True))
                results[k] = ("approved", app.parcel_id)
        except ApprovalConflict as exc:
            results[k] = ("conflict", exc.extra["conflicting_parcels"])
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            results[k] = ("error", repr(exc))

    threads = [threading.Thread(target=approve, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    outcomes = sorted(results.values(), key=lambda r: r[0])
    assert [o[0] for o in outcomes] == ["approved", "conflict"], results
    winner_parcel = outcomes[0][1]
    assert outcomes[1][1] == [winner_parcel]
    with engine.connect() as c:
        states = c.execute(text("SELECT state FROM application WHERE id = ANY(:i) ORDER BY id"),
                           {"i": ids}).scalars().all()
        rights = c.execute(text("SELECT count(*) FROM parcel_right WHERE ward_code = :w"),
                           {"w": ward}).scalar_one()
        parcels = c.execute(text("SELECT count(*) FROM parcel_version WHERE ward_code = :w"),
                            {"w": ward}).scalar_one()
    assert sorted(states) == ["approved", "field_check"]
    assert (rights, parcels) == (1, 1)

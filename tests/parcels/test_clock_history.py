"""A registry change under a clock started in the past keeps versions in order.

The demo runs the ward's clock from 26 August 2025 while its registry is loaded on any
later day: the loader stamps the registry at 1 August 2024 (``data.load.RECORDED_AT``), so
a change made while the demo runs closes versions that began before it.  A clock earlier
than the version a change would close is refused (409) and writes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from sqlalchemy import text

from config import clock
from data.load import RECORDED_AT
from parcels import registry
from parcels.errors import ClockBeforeVersion
from parcels.registry import Amendment
from tests.conftest import counts
from tests.factories import rect, spec

DEMO_TODAY = datetime.fromisoformat("2025-08-26T08:00:00+07:00")


def test_a_change_while_the_demo_clock_runs_follows_the_loaded_version(session, actor) -> None:
    with clock.running_at(RECORDED_AT):
        v1 = registry.register_parcel(session, actor=actor, reason="demo load",
                                      spec=spec(880, 1, rect(0, 0, 10, 10)))
    assert abs(v1.valid_from - RECORDED_AT) < timedelta(seconds=5)  # the clock runs on
    with clock.running_at(DEMO_TODAY):
        v2 = registry.amend_parcel(session, actor=actor, parcel_id=v1.parcel_id,
                                   amendment=Amendment(land_use="CLN"), reason="đính chính")
    rows = session.execute(text(
        "SELECT version, valid_from, valid_to FROM parcel_version WHERE parcel_id = :p "
        "ORDER BY version"), {"p": v1.parcel_id}).all()
    (a, b) = rows
    assert a.valid_to == b.valid_from and b.valid_to is None
    assert a.valid_from < a.valid_to and abs(b.valid_from - DEMO_TODAY) < timedelta(seconds=5)
    assert v2.version == 2


def test_a_clock_before_the_version_is_refused_and_writes_nothing(session, actor) -> None:
    v1 = registry.register_parcel(session, actor=actor, reason="loaded now",
                                  spec=spec(880, 2, rect(20, 0, 10, 10)))
    before = counts(session)
    with time_machine.travel(datetime(2024, 1, 1, 2, 0), tick=False), \
            pytest.raises(ClockBeforeVersion) as err:
        registry.amend_parcel(session, actor=actor, parcel_id=v1.parcel_id,
                              amendment=Amendment(land_use="CLN"), reason="đính chính")
    assert err.value.extra["version_valid_from"] == v1.valid_from.isoformat()
    session.rollback()
    assert counts(session)["parcel_version"] <= before["parcel_version"]

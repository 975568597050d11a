"""Stable paging: following ``next`` shows the registry of one instant, each parcel once.

A clerk pages through the parcel listing (and QGIS through the OGC items, an
administrator through the audit log) while officers split and retire parcels between
the pages.  The first page pins the registry instant; every page after it shows that
instant, so the union of the pages is exactly the parcels in force then, each once.  The
control pages by offset without the pin and misses a parcel.

Committed rows in a ward of the test's own; the app has its own engine and pools, as in
production.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from api.auth import issue_token
from api.users import add_user
from config.settings import Settings
from db import audit
from db.audit import Actor
from db.engine import transaction
from parcels import registry
from parcels.registry import ParcelSpec
from tests.factories import committed_ward, rect, spec

N = 23
PAGE = 5


@dataclass
class Registry:
    ward: str
    officer: Actor
    ids: list[int]
    headers: dict[str, str]
    admin: dict[str, str]
    client: TestClient
    engine: Engine
    lane: int
    """The road the parcels front (sheet 3): the ward's only other parcel."""

    def split(self, parcel_id: int) -> None:
        with transaction(self.engine) as s:
            v = registry.current_version(s, parcel_id)
            x = self.ids.index(parcel_id)
            registry.split_parcel(s, actor=self.officer, parcel_id=parcel_id, reason="tách",
                                  children=[ParcelSpec(former_unit="kim_long", sheet_no=2,
                                                       parcel_no=1000 + 2 * x + k,
                                                       land_use=v.land_use,
                                                       geometry=rect(30 * x + 5 * k, 0, 5, 10))
                                            for k in (0, 1)])

    def retire(self, parcel_id: int) -> None:
        with transaction(self.engine) as s:
            registry.retire_parcel(s, actor=self.officer, parcel_id=parcel_id, reason="thu hồi")


@pytest.fixture()
def ward(engine: Engine, settings: Settings) -> Iterator[Registry]:
    code = committed_ward(engine, "paging test ward")
    officer = Actor(username=f"officer-{code.lower()}", role="land_officer", ward_code=code)
    with transaction(engine) as s:
        user = add_user(s, actor=officer, username=officer.username, role="land_officer",
                        password="paging-password-1")
        admin = add_user(s, actor=officer, username=f"admin-{code.lower()}", role="admin",
                         password="paging-password-2")
        # shops (no minimum area) along a lane on another sheet, so that a split's 5 m × 10 m
        # parts are lots
        ids = [registry.register_parcel(s, actor=officer, spec=spec(
            1, k + 1, rect(30 * k, 0, 10, 10), land_use="TMD"), reason="đăng ký").parcel_id
            for k in range(N)]
        lane = registry.register_parcel(s, actor=officer, reason="lối đi", spec=spec(
            3, 1, rect(0, -6, 30 * N, 6), land_use="DGT")).parcel_id
    bearer = {"Authorization": f"Bearer {issue_token(settings.auth, user, 0)[0]}"}
    admin_bearer = {"Authorization": f"Bearer {issue_token(settings.auth, admin, 0)[0]}"}
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Registry(code, officer, ids, bearer, admin_bearer, client, engine, lane)


def _walk(r: Registry, first: str, ids_of: Callable[[dict[str, Any]], list[int]],
          between: Callable[[int], None], headers: dict[str, str] | None = None) -> list[int]:
    """Follow ``next`` from ``first``, calling ``between(page_number)`` after each page."""
    seen: list[int] = []
    url: str | None = first
    k = 0
    while url is not None:
        page = r.client.get(url, headers=headers or r.headers)
        assert page.status_code == 200, page.text
        body = page.json()
        seen += ids_of(body)
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        between(k)
        k += 1
        assert k < 50, "paging never ended"
    return seen


def _changes(r: Registry) -> Callable[[int], None]:
    """Between the pages: split a parcel already seen and one not seen yet, retire one
    seen and one not seen yet (the registry moves under the pages)."""
    plan = {0: lambda: (r.split(r.ids[1]), r.retire(r.ids[2])),
            1: lambda: (r.split(r.ids[N - 2]), r.retire(r.ids[N - 1])),
            2: lambda: r.retire(r.ids[12])}
    return lambda k: plan[k]() if k in plan else None


def _ids(body: dict[str, Any]) -> list[int]:
    return [int(f["id"]) for f in body["features"]]


def test_paging_the_listing_while_the_registry_changes_shows_each_parcel_once(
        ward: Registry) -> None:
    first = f"/api/v1/parcels?sheet_no=1&limit={PAGE}"
    seen = _walk(ward, first, _ids, _changes(ward))
    assert sorted(seen) == sorted(ward.ids) and len(seen) == len(set(seen)) == N
    # the registry did change: now two parcels are split and four gone from sheet 1
    now = _walk(ward, f"/api/v1/parcels?sheet_no=1&limit={N}", _ids, lambda _k: None)
    assert len(now) == N - 5


def test_the_next_link_pins_the_instant_and_pages_by_id(ward: Registry) -> None:
    body = ward.client.get(f"/api/v1/parcels?sheet_no=1&limit={PAGE}",
                           headers=ward.headers).json()
    [nxt] = [link["href"] for link in body["links"] if link["rel"] == "next"]
    assert f"after={ward.ids[PAGE - 1]}" in nxt and "as_of=" in nxt and "offset" not in nxt


def test_the_control_without_the_pin_misses_a_parcel(ward: Registry) -> None:
    """Paging by offset over the registry now: a parcel retired on page 1 shifts the rest
    and one parcel is never shown; the pinned walk above does not lose it."""
    seen: list[int] = []
    for k in range(0, N, PAGE):
        page = ward.client.get(f"/api/v1/parcels?sheet_no=1&limit={PAGE}&offset={k}",
                               headers=ward.headers).json()
        seen += _ids(page)
        if k == 0:
            ward.retire(ward.ids[1])
    assert set(ward.ids) - set(seen) == {ward.ids[PAGE]}  # shifted onto page 1: never shown


def test_paging_the_ogc_items_while_the_registry_changes_shows_each_parcel_once(
        ward: Registry) -> None:
    seen = _walk(ward, f"/ogc/collections/parcels/items?limit={PAGE}", _ids, _changes(ward))
    assert sorted(seen) == sorted([*ward.ids, ward.lane]) and len(seen) == len(set(seen)) == N + 1


def test_paging_the_audit_log_while_events_are_written_shows_each_once(
        ward: Registry) -> None:
    """The first page pins the newest event; events written between pages are not shown
    and do not push older ones onto the next page."""
    with ward.engine.connect() as c:
        from sqlalchemy import text
        before = c.execute(text("SELECT count(*) FROM audit_event WHERE ward_code = :w"),
                           {"w": ward.ward}).scalar_one()

    def write(_k: int) -> None:
        with transaction(ward.engine) as s:
            audit.record(s, actor=ward.officer, action="probe", entity="test")

    seen = _walk(ward, "/api/v1/audit?limit=4", lambda b: [e["id"] for e in b["events"]],
                 write, headers=ward.admin)
    assert len(seen) == len(set(seen)) == before

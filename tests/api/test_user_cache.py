"""The per-worker user cache: it answers only while listening, and a committed change to
an account reaches every worker before the user can do anything more."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.user_cache import MISS, UserCache
from api.users import User, add_user, set_disabled, set_role
from bench.common import served
from db.engine import libpq_url
from tests.conftest import PASSWORD, SYSTEM, WARD
from tests.factories import sign_in

ALICE = User(id=10_001, username="alice", role="official", ward_code=WARD)


def _committed_user(engine: Engine, username: str, role: str = "official") -> User:
    with Session(engine) as s, s.begin():
        return add_user(s, actor=SYSTEM, username=username, role=role, password=PASSWORD)


def _wait_for(predicate, seconds: float = 3.0) -> float:
    """Seconds until ``predicate()`` held; fails the test after ``seconds``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > seconds:
            pytest.fail(f"not within {seconds} s")
        time.sleep(0.005)
    return time.monotonic() - start


@pytest.fixture()
def listening(engine: Engine) -> Iterator[UserCache]:
    cache = UserCache(libpq_url(engine))
    cache.start()
    assert cache.wait_listening(10), "the listener did not connect"
    yield cache
    cache.stop()


def test_without_a_listener_nothing_is_remembered() -> None:
    cache = UserCache(None)
    cache.put(ALICE.id, 0, ALICE, cache.generation())
    assert cache.get(ALICE.id, 0) is MISS


def test_an_answer_read_before_a_change_is_not_kept(listening: UserCache) -> None:
    """The row was read, then a change was heard: storing the read would undo the change."""
    generation = listening.generation()
    listening.forget(str(ALICE.id))
    listening.put(ALICE.id, 0, ALICE, generation)
    assert listening.get(ALICE.id, 0) is MISS
    listening.put(ALICE.id, 0, ALICE, listening.generation())
    assert listening.get(ALICE.id, 0) == ALICE
    assert listening.get(ALICE.id, 1) is MISS, "another token epoch is another question"


def test_entries_expire_after_ttl(engine: Engine) -> None:
    now = [100.0]
    cache = UserCache(libpq_url(engine), ttl=30, clock=lambda: now[0])
    cache.start()
    try:
        assert cache.wait_listening(10)
        cache.put(ALICE.id, 0, ALICE, cache.generation())
        now[0] += 29
        assert cache.get(ALICE.id, 0) == ALICE
        now[0] += 2
        assert cache.get(ALICE.id, 0) is MISS
    finally:
        cache.stop()


def test_a_committed_change_is_heard_and_a_rolled_back_one_is_not(
        engine: Engine, listening: UserCache) -> None:
    user = _committed_user(engine, "cache-listener")
    listening.put(user.id, 0, user, listening.generation())
    with Session(engine) as s, s.begin():
        set_role(s, actor=SYSTEM, username=user.username, role="land_officer")
        s.rollback()
    time.sleep(0.3)
    assert listening.get(user.id, 0) == user, "a rolled-back change must not be announced"
    with Session(engine) as s, s.begin():
        set_disabled(s, actor=SYSTEM, username=user.username, disabled=True)
    delay = _wait_for(lambda: listening.get(user.id, 0) is MISS)
    assert delay < 1.0


def test_no_answers_while_the_listener_is_away(engine: Engine) -> None:
    cache = UserCache(libpq_url(engine))
    cache.start()
    assert cache.wait_listening(10)
    cache.put(ALICE.id, 0, ALICE, cache.generation())
    cache.stop()
    assert cache.get(ALICE.id, 0) is MISS


def test_a_disabled_user_is_refused_by_a_running_server(settings, engine: Engine) -> None:
    """Through a real uvicorn with two workers (each with its own cache): the token works,
    the account is disabled from another process, and the very next requests fail."""
    user = _committed_user(engine, "cache-server")
    token = ""

    def status() -> int:
        req = urllib.request.Request(f"{url}/api/v1/parcels?limit=1",
                                     headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return int(r.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    with served(settings, workers=2) as url:
        token = sign_in(url, user.username, PASSWORD)
        for _ in range(20):  # both workers have answered and remember the user
            assert status() == 200
        with Session(engine) as s, s.begin():
            set_disabled(s, actor=SYSTEM, username=user.username, disabled=True)
        # Both workers refuse well before the cache's own 30 s would have run out: the
        # notification reached each of them (on a busy machine it may take a second).
        delay = _wait_for(lambda: all(status() == 401 for _ in range(6)), seconds=5.0)
        assert all(status() == 401 for _ in range(20))
    assert delay < 5.0 < settings.server.user_cache_seconds

"""Signed-in users, remembered between requests only while we are sure to hear of changes.

Every request used to re-read its user row (disabled? token epoch still current?):
a round trip and about half a millisecond of CPU, the largest single cost of a
parcel read.  Instead each worker keeps the answer per user and listens on a
dedicated connection for ``cadastre_app_user`` notifications, which a trigger
on ``app_user`` sends on every committed change (migration 0004_user_notify),
whoever makes it: the CLI, another worker, a psql session.  A notification drops
that user's entry, so a disabled user or a revoked token is refused from the
next request once the commit's notification has arrived (milliseconds).

The cache answers only while the listener is connected: before it starts, after
it loses its connection and until it has listened again, every lookup misses and
the row is read as before.  Reconnecting clears everything (notifications sent
while we were away are lost).  A generation counter keeps a row read before a
change from being stored after the change's notification was applied.  Entries
also expire after ``ttl`` seconds as a last guard.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Final

import psycopg

from api.users import User

log = logging.getLogger("cadastre.api.users")

CHANNEL: Final = "cadastre_app_user"
EVERYONE: Final = "*"
"""Payload meaning "forget every user" (a TRUNCATE of app_user)."""


class _Miss:
    """Nothing cached: read the row."""


MISS: Final = _Miss()

Answer = User | None
"""The user a token names, or None when disabled, deleted or re-keyed."""


class UserCache:
    """Per-process answers to "who is behind (user id, token epoch)?"."""

    def __init__(self, conninfo: str | None, *, ttl: float = 30.0,
                 clock: Callable[[], float] = time.monotonic,
                 application_name: str = "cadastre-user-cache") -> None:
        self._conninfo = conninfo
        self._application_name = application_name
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[int, tuple[int, Answer, float]] = {}
        self._generation = 0
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._subscribers: list[Callable[[str], None]] = []

    def subscribe(self, forget: Callable[[str], None]) -> None:
        """Pass every change heard to ``forget`` as well (a user id, or ``*``): the cache of
        verified credentials (api/credentials.py) keeps its entries by user too."""
        self._subscribers.append(forget)

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    def generation(self) -> int:
        """Read before loading a row; pass to :meth:`put`."""
        return self._generation

    def get(self, user_id: int, epoch: int) -> Answer | _Miss:
        if not self._listening.is_set():
            return MISS
        entry = self._entries.get(user_id)
        if entry is None or entry[0] != epoch or self._clock() - entry[2] > self._ttl:
            return MISS
        return entry[1]

    def put(self, user_id: int, epoch: int, answer: Answer, generation: int) -> None:
        """Remember an answer read from the database, unless a change was heard since
        ``generation`` was taken (the row read may predate it)."""
        with self._lock:
            if self._listening.is_set() and generation == self._generation:
                self._entries[user_id] = (epoch, answer, self._clock())

    def forget(self, payload: str) -> None:
        with self._lock:
            self._generation += 1
            if payload.isdigit():
                self._entries.pop(int(payload), None)
            else:
                self._entries.clear()
            for forget in self._subscribers:
                forget(payload)

    def start(self) -> None:
        """Listen in a daemon thread; the cache answers once LISTEN has succeeded."""
        if self._conninfo is None or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._listen, name="user-cache-listener",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._listening.clear()

    def wait_listening(self, timeout: float) -> bool:
        return self._listening.wait(timeout)

    def _listen(self) -> None:
        assert self._conninfo is not None
        backoff = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True,
                                     application_name=self._application_name) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.forget(EVERYONE)  # whatever changed while we were not listening
                    self._listening.set()
                    backoff = 0.5
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self.forget(note.payload)
            except psycopg.Error as exc:
                log.warning("user cache listener lost its connection (%s); reading users "
                            "from the database until it is back", exc)
            finally:
                self._listening.clear()
                self.forget(EVERYONE)
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 10.0)

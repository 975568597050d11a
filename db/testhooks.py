"""A pause inside a write's transaction, for the crash tests only (tests/crash/).

With ``CADASTRE_TEST_PAUSE_AT=<entity>:<action>`` (e.g. ``parcel:split``) in a process's
environment, the first audit event of that kind it records flushes everything its
transaction has written so far, writes ``CADASTRE_TEST_PAUSE_FILE`` (its process id), and
sleeps there, transaction open, until that file is removed or
``CADASTRE_TEST_PAUSE_SECONDS`` (default 60) pass.  The test then kills the server or the
database and checks that nothing of the half-done write survives.

Read once at import: a process without the variable pays one ``is None`` test per audited
write.  Refused in production, where no one may hold a write open on purpose.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Final

from sqlalchemy.orm import Session

PAUSE_AT: Final = os.environ.get("CADASTRE_TEST_PAUSE_AT") or None
if PAUSE_AT is not None and os.environ.get("CADASTRE_ENVIRONMENT") == "production":
    raise RuntimeError("CADASTRE_TEST_PAUSE_AT is a test hook; it is refused in production")
_paused = False


def pause_point(session: Session, key: str) -> None:
    """Pause here, inside the transaction, when ``key`` is the one the test asked for."""
    global _paused
    if key != PAUSE_AT or _paused:
        return
    _paused = True  # once per process: the retried request must go through
    session.flush()
    marker = Path(os.environ["CADASTRE_TEST_PAUSE_FILE"])
    marker.write_text(str(os.getpid()))
    deadline = time.monotonic() + float(os.environ.get("CADASTRE_TEST_PAUSE_SECONDS", "60"))
    while marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)

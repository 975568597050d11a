"""Real processes for the crash tests: a ``cadastre serve`` of its own, killed with SIGKILL.

The server runs the command an operator runs, on 127.0.0.1 at a free port, against the
suite's database, signing tokens with the suite's secret (so the suite's tokens work).
Its standard error goes to a file in the test's folder, shown when it fails to start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from config.settings import Settings
from db.cluster import free_port
from tests.scratch import cli_env

ROOT = Path(__file__).resolve().parents[1]


class Server:
    """One ``cadastre serve`` process; ``env`` adds variables (the test hook's)."""

    def __init__(self, settings: Settings, folder: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"server-{self.port}.log"
        self._log = self.log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port),
             "--no-access-log"],
            env=cli_env(settings, CADASTRE_AUTH_SECRET=settings.auth.secret,
                        CADASTRE_AUTH_TOKEN_MINUTES=str(settings.auth.token_minutes), **env),
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=self._log)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.2)

    def kill9(self) -> None:
        """SIGKILL: no handler runs, no transaction is rolled back by the process itself."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class Worker:
    """One ``cadastre worker`` process (the job queue's), for the suite's database."""

    def __init__(self, settings: Settings, folder: Path, **env: str) -> None:
        self.log = folder / f"worker-{time.monotonic_ns()}.log"
        self._log = self.log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "worker"], cwd=ROOT, stdout=self._log,
            stderr=subprocess.STDOUT, env=cli_env(settings, **env))

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def wait_for_file(path: Path, timeout: float = 60.0,
                  finished: Callable[[], object] | None = None) -> None:
    """Wait for the paused process's marker; fail at once if the request ``finished``
    (returns its answer) without reaching the pause."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        done = finished() if finished else None
        if done is not None:
            raise AssertionError(f"the request ended before the pause: {done!r} "
                                 f"{getattr(done, 'text', '')[:500]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared: the request never reached the pause")
        time.sleep(0.05)

"""Read an untrusted upload in a separate, limited process.

A survey file is parsed by GDAL, SQLite, expat and our own readers: code that a hostile
file can make burn CPU (a GeoPackage view with a recursive query) or memory (a DXF
whose arcs GDAL tessellates into millions of vertices) before any of our caps is
checked.  So :func:`read_isolated` runs :func:`gis.intake.upload.read_upload` in a child
process with hard limits set by the kernel, whatever the file does:

* CPU: ``RLIMIT_CPU`` (the kernel stops the child at the limit);
* memory: ``RLIMIT_AS`` at the child's address space when it starts plus the budget, so
  an allocation past it fails (``MemoryError`` in Python, an error or an abort in C);
* wall time: the parent waits at most ``wall_seconds`` and then kills the child;
* the child holds no database connection, and runs as the service's user (``cadastre
  serve`` started as root switches to it before it serves: ``api.cli.serve``).

Children are forked from a *fork server* (multiprocessing's ``forkserver``), a small
single-threaded process started once that has already imported the readers: a fork
costs milliseconds, where a fresh interpreter would spend a second importing GDAL and
geopandas, and a fork of the server's own multi-threaded process could inherit a lock
another thread held.

The child reports what it cost (CPU seconds, peak resident memory above its start), so
the caller and ``bench/hostile.py`` can see each read's bound.  A read stopped by a limit
raises :class:`gis.intake.errors.UploadTooCostlyError`; every ``ReadError`` of the reader
comes back as itself.
"""

from __future__ import annotations

import math
import multiprocessing
import resource
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Final

from gis.errors import DomainError
from gis.intake.errors import UploadTooCostlyError
from gis.intake.types import ReadResult

MiB: Final = 1024 * 1024


@dataclass(frozen=True)
class Budget:
    """What one read may cost the server; sized so that a file at every cap fits."""

    cpu_seconds: float = 20.0
    memory_bytes: int = 512 * MiB
    """Above the worker's own size when it starts (the readers already imported)."""
    wall_seconds: float = 60.0


@dataclass(frozen=True)
class Cost:
    """What one read cost, measured in the worker."""

    cpu_seconds: float
    peak_bytes: int
    """Peak resident memory above the worker's resident size when it started."""
    wall_seconds: float
    limit: str | None = None
    """``cpu``, ``memory`` or ``time`` when the read was stopped at that limit."""


_context: Any = None
_starting = threading.Lock()


def _forkserver() -> Any:
    """The fork-server context, created once per process with the readers preloaded."""
    global _context
    if _context is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["gis.intake.worker", "gis.intake.upload"])
        _context = ctx
    return _context


def read_isolated(path: str | Path, *, workdir: str | Path, budget: Budget,
                  **read_kwargs: Any) -> tuple[ReadResult, Cost]:
    """``read_upload(path, workdir=workdir, **read_kwargs)`` in a limited child process.

    Returns the result and what it cost; raises the reader's ``ReadError`` as the
    reader raised it, or ``UploadTooCostlyError`` when a limit stopped the read.
    """
    ctx = _forkserver()
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, name="cadastre-upload-reader",
                        args=(sender, str(path), str(workdir), budget, read_kwargs),
                        daemon=True)
    started = time.monotonic()
    with _without_main_script():
        child.start()
    sender.close()
    message: tuple[Any, ...] | None = None
    try:
        if receiver.poll(budget.wall_seconds):
            try:
                message = receiver.recv()
            except (EOFError, OSError):
                message = None  # the child died before it could answer: a limit
    finally:
        receiver.close()
        if message is None and child.is_alive():
            child.kill()
        child.join(5)
        if child.is_alive():  # pragma: no cover - a child that ignores SIGKILL
            child.kill()
            child.join()
    wall = time.monotonic() - started
    if message is None:
        limit = ("time" if wall >= budget.wall_seconds else
                 "cpu" if child.exitcode in (-signal.SIGXCPU, -signal.SIGKILL) else "memory")
        cost = Cost(cpu_seconds=math.nan, peak_bytes=-1, wall_seconds=wall, limit=limit)
        raise _with_cost(_too_costly(cost, budget), cost)
    kind, payload, cost = message
    cost = Cost(cpu_seconds=cost.cpu_seconds, peak_bytes=cost.peak_bytes, wall_seconds=wall,
                limit=cost.limit)
    if kind == "ok":
        return payload, cost
    if kind == "crash":
        raise RuntimeError(f"the upload reader failed: {payload}")
    raise _with_cost(_rebuilt(*payload) if kind == "error" else _too_costly(cost, budget), cost)


def _with_cost(err: DomainError, cost: Cost) -> DomainError:
    err._worker_cost = cost  # type: ignore[attr-defined]
    return err


def cost_of(exc: BaseException) -> Cost | None:
    """What the read that raised ``exc`` cost, when the worker measured it."""
    cost = getattr(exc, "_worker_cost", None)
    return cost if isinstance(cost, Cost) else None


@contextmanager
def _without_main_script() -> Iterator[None]:
    """Start a child without it running the main script again.

    multiprocessing has each child import the parent's ``__main__`` by its path (the
    command line, a benchmark, pytest): about 0.8 s of CPU per upload, and code the
    reader does not need.  Python 3.11's fork server cannot preload it instead (it looks
    for a ``main_path`` that the preparation data never has), so the path is hidden while
    the child's preparation data is taken; the child imports what it runs by module name.
    """
    main = sys.modules["__main__"]
    with _starting:
        path = main.__dict__.pop("__file__", None)
        try:
            yield
        finally:
            if path is not None:
                main.__file__ = path


def _too_costly(cost: Cost, budget: Budget) -> UploadTooCostlyError:
    what = {"cpu": f"more than {budget.cpu_seconds:g} s of processor time",
            "memory": f"more than {budget.memory_bytes // MiB:,} MiB of memory",
            "time": f"more than {budget.wall_seconds:g} s"}[cost.limit or "memory"]
    return UploadTooCostlyError(
        f"Reading the file would take {what}, the limit for one upload; a survey file of "
        "this size should not. Export it again as plain polygons, or split it.",
        vi="Đọc tệp này vượt quá giới hạn tài nguyên cho một lần tải lên; hãy xuất lại tệp "
           "dạng vùng đơn giản hoặc chia nhỏ.",
        limit=cost.limit, max_cpu_seconds=budget.cpu_seconds,
        max_memory_mib=budget.memory_bytes // MiB)


def _rebuilt(cls: type[DomainError], detail: str, extra: Mapping[str, Any]) -> DomainError:
    """The reader's error as the reader raised it (exceptions with keyword facts do not
    survive pickling whole, so the class, sentence and facts travel instead)."""
    err = cls.__new__(cls)
    Exception.__init__(err, detail)
    err.detail, err.extra = detail, dict(extra)
    return err


# --------------------------------------------------------------------- the child


def _resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _address_space() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * resource.getpagesize()


def _reset_peak() -> None:
    """Forget the peak resident size inherited from the fork server (whose imports peaked
    higher than it now holds), so the peak measured is this read's (Linux 4.0+)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _peak_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # pragma: no cover


def _cost(start_rss: int, limit: str | None = None) -> Cost:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return Cost(cpu_seconds=usage.ru_utime + usage.ru_stime,
                peak_bytes=max(0, _peak_bytes() - start_rss), wall_seconds=0.0, limit=limit)


def _child(sender: Connection, path: str, workdir: str, budget: Budget,
           read_kwargs: dict[str, Any]) -> None:
    """Set the limits on ourselves, read, and send back the outcome and its cost."""
    _reset_peak()
    start_rss = _resident_bytes()
    cpu = max(1, math.ceil(budget.cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    space = _address_space() + budget.memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (space, space))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    from gis.intake.errors import ReadError
    from gis.intake.upload import read_upload

    try:
        result = read_upload(path, workdir=workdir, **read_kwargs)
        outcome: tuple[Any, ...] = ("ok", result, _cost(start_rss))
    except ReadError as exc:
        outcome = ("error", (type(exc), exc.detail, exc.extra), _cost(start_rss))
    except MemoryError:
        outcome = ("limit", None, _cost(start_rss, "memory"))
    except Exception:  # a bug, not the file: the caller answers 500 and logs it
        outcome = ("crash", traceback.format_exc(limit=20)[-4000:], _cost(start_rss))
    try:
        sender.send(outcome)
    except MemoryError:
        sender.send(("limit", None, _cost(start_rss, "memory")))
    sender.close()

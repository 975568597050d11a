"""Shared set-up and reporting for the benchmarks (not a test helper: they print figures)."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shapely.geometry import MultiPolygon, box
from sqlalchemy import Engine, text

from config.auth import AuthSettings
from config.database import DatabaseSettings
from config.settings import Settings
from data.people import UNIT_NAMES
from db.cluster import Cluster, free_port
from db.engine import make_engine
from db.migrate import upgrade
from gis.convert import to_ewkb
from gis.crs import WARD

BENCH_WARD_BOX = (545_000.0, 1_805_000.0, 575_000.0, 1_835_000.0)
FORMER_UNITS = UNIT_NAMES


def bench_engine(database: str) -> tuple[Engine, Settings]:
    """A freshly migrated database of its own: in the embedded cluster, or on the server
    ``BENCH_DATABASE_URL`` names (never ``DATABASE_URL``: a benchmark loads the demo ward)."""
    settings = Settings(environment="test",
                        db=DatabaseSettings(url=os.environ.get("BENCH_DATABASE_URL"),
                                            database=database, pool_size=16),
                        auth=AuthSettings(secret="bench-secret-" + "b" * 40))
    if not settings.db.url:
        cluster = Cluster(settings.db.state_dir)
        cluster.up("postgres")
        cluster.drop_database(database)
        cluster.up(database)
    owner = make_engine(settings.db, as_owner=True)
    upgrade(owner)
    owner.dispose()
    return make_engine(settings.db), settings


def demo_folder(size: str, seed: int) -> Path:
    """The generated demo ward for ``size`` and ``seed``, generated once and cached in the
    same folder ``cadastre demo`` uses (full size takes about a minute)."""
    import time

    from data.generate import cache_folder, generate
    from data.outline import find_outline, load_outline

    settings = Settings()
    folder = cache_folder(settings.db.state_dir, size, seed)
    if not (folder / "manifest.json").exists():
        source = find_outline(settings.data.external_data, settings.db.state_dir)
        t = time.perf_counter()
        generate(size=size, seed=seed, out=folder,  # type: ignore[arg-type]
                 outline=load_outline(source.path))
        print(f"generated the {size} demo ward in {time.perf_counter() - t:.1f} s")
    return folder


def analyze(settings: Settings) -> None:
    """VACUUM ANALYZE as the owner (the service role may not), so plans see the data."""
    owner = make_engine(settings.db, as_owner=True)
    with owner.connect() as c:
        c.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    owner.dispose()


def seeded_ward(engine: Engine, boundary: MultiPolygon | None = None, *, code: str) -> None:
    ward = boundary or MultiPolygon([box(*BENCH_WARD_BOX)])
    with engine.begin() as c:  # as the service role: INSERT is allowed
        c.execute(text("INSERT INTO ward (code, name, boundary, synthetic) VALUES "
                       "(:c, 'Benchmark ward (synthetic)', ST_GeomFromEWKB(:g), true) "
                       "ON CONFLICT DO NOTHING"), {"c": code, "g": to_ewkb(ward, WARD)})
        for unit, name in FORMER_UNITS.items():
            c.execute(text("INSERT INTO former_unit (ward_code, code, name) VALUES (:w, :c, :n) "
                           "ON CONFLICT DO NOTHING"), {"w": code, "c": unit, "n": name})


class WrongAnswer(SystemExit):
    """A benchmark measured a wrong answer: the run exits non-zero (bench/run_all.py and
    ``make bench-smoke`` fail), however fast it was."""


def expect(ok: bool, what: str) -> None:
    """Check an answer the benchmark prints; say so, or stop with a non-zero exit.

    The smoke run (``--size tiny``) is a test of the answers as well as a run of the code.
    """
    if not ok:
        raise WrongAnswer(f"WRONG ANSWER: {what}")
    print(f"  checked: {what}", flush=True)


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    """p50, p95, p99 (seconds)."""
    if len(samples) < 2:
        v = samples[0] if samples else float("nan")
        return v, v, v
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return statistics.median(samples), q[94], q[98]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def report_line(name: str, samples: list[float], note: str = "") -> str:
    p50, p95, p99 = percentiles(samples)
    tail = f"  ({note})" if note else ""
    return (f"{name}: n={len(samples)} p50 {ms(p50)} p95 {ms(p95)} p99 {ms(p99)} "
            f"~{len(samples) / sum(samples):,.0f} req/s sequential{tail}")


def peak_mb() -> float:
    """Peak resident memory of this process in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def served(settings: Settings, *, workers: int = 1,
           env: dict[str, str] | None = None) -> Iterator[str]:
    """A real ``cadastre serve`` on 127.0.0.1 in its own process, for ``settings``' database.

    Its own process: a client in this one (pyogrio, a benchmark) may hold the GIL while it
    waits for the answer.  Yields the base URL once /health answers.
    """
    port = free_port()
    # The server serves ``settings``' database and no other: a DATABASE_URL inherited from
    # the shell names the user's database, never the one a benchmark or a test loaded.
    child_env = {name: value for name, value in os.environ.items()
                 if name not in ("DATABASE_URL", "CADASTRE_DATABASE_URL")}
    child_env |= {"CADASTRE_DATABASE": settings.db.database,
                  "CADASTRE_AUTH_SECRET": settings.auth.secret, **(env or {})}
    if settings.db.url:
        child_env["DATABASE_URL"] = settings.db.url
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers",
         str(workers), "--no-access-log"],
        env=child_env, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
                    raise RuntimeError(f"the server did not start: {err}") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

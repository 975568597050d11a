"""Soak with a fault: mixed reads and writes at 16 connections, PostgreSQL restarted midway.

    .venv/bin/python bench/soak.py                 # 5 minutes
    .venv/bin/python bench/soak.py --size tiny     # CI smoke: 20 seconds

A real ``cadastre serve`` on 127.0.0.1 (one process, its own database
``cadastre_bench_soak`` on the embedded cluster) takes, from 16 client connections at
once, parcel reads by id, bbox listings, registrations of new parcels and amendments (each
connection amends its own parcels, sending If-Match with the ETag it last saw).  Halfway
through, PostgreSQL is stopped in immediate mode (no shutdown checkpoint: crash recovery
on start) and started again.  Every request loop is bounded in count and time, and only
127.0.0.1 is ever addressed.

Printed: requests by answer, acknowledged writes (201) and how many of them are found in
the database afterwards (must be all), writes answered 503 that committed anyway (the
client cannot know; reported, not counted as lost), answers other than 2xx or 503 (must be
none), p50/p95 before and after the restart, and the server's resident memory growth.
Exits 1 on a lost acknowledged write, an unexpected answer, or no recovery.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from shapely.geometry import box, mapping
from sqlalchemy import Engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.auth import issue_token
from api.users import add_user
from bench.common import bench_engine, expect, percentiles, seeded_ward
from config.settings import Settings
from db.audit import Actor
from db.cluster import Cluster, free_port
from db.engine import transaction
from gis.crs import WARD, transform
from parcels import registry
from parcels.registry import ParcelSpec

DATABASE = "cadastre_bench_soak"
WARD_CODE = "SOAK1"
SIZES = {"tiny": 20.0, "small": 90.0, "full": 300.0}
"""Seconds of load; PostgreSQL restarts at the middle."""
CONNECTIONS = 16
OWN_PARCELS = 4
"""Parcels each connection amends (nobody else touches them: no 412 by design)."""
MAX_REQUESTS = 200_000
"""A bound on the whole run's requests, whatever the duration."""


@dataclass
class Tally:
    answers: Counter[str] = field(default_factory=Counter)
    latencies: list[tuple[float, float]] = field(default_factory=list)
    registered: list[tuple[int, int]] = field(default_factory=list)
    """(sheet, number) of each registration answered 201."""
    amended: list[str] = field(default_factory=list)
    """The address each amendment answered 201 wrote."""
    unsure_registrations: list[tuple[int, int]] = field(default_factory=list)
    unsure_amendments: list[str] = field(default_factory=list)
    """Writes answered 503: not acknowledged; they may or may not have committed."""
    other: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop_at: float = 0.0
    """When the clients stop: moved on after the restart, so that the load goes on for
    half the run once PostgreSQL is back, however long its recovery took."""

    def note(self, what: str, status: int | str, started: float, seconds: float) -> None:
        with self.lock:
            self.answers[f"{what} {status}"] += 1
            self.latencies.append((started, seconds))
            if not (isinstance(status, int) and (200 <= status < 300 or status == 503)):
                self.other.append(f"{what} {status}")


def _setup(engine: Engine, settings: Settings) -> tuple[list[int], dict[str, str]]:
    """The ward, a land officer and each connection's own parcels; returns the parcels
    and the officer's request headers."""
    seeded_ward(engine, code=WARD_CODE)
    officer = Actor(username="soak-officer", role="land_officer", ward_code=WARD_CODE)
    with transaction(engine) as s:
        user = add_user(s, actor=officer, username=officer.username, role="land_officer",
                        password="soak-password-1")
        own = [registry.register_parcel(
            s, actor=officer, reason="soak fixture",
            spec=ParcelSpec(former_unit="kim_long", sheet_no=1, parcel_no=k + 1,
                            land_use="ODT", geometry=box(*_square(0, k)))).parcel_id
            for k in range(CONNECTIONS * OWN_PARCELS)]
    token = issue_token(settings.auth, user, 0)[0]
    return own, {"Authorization": f"Bearer {token}"}


def _square(strip: int, k: int) -> tuple[float, float, float, float]:
    x = 546_000.0 + 600.0 * strip + 12.0 * (k % 40)
    y = 1_806_000.0 + 12.0 * (k // 40)
    return x, y, x + 10.0, y + 10.0


class Client(threading.Thread):
    """One connection's loop: 60 % reads by id, 20 % bbox listings, 10 % registrations,
    10 % amendments of its own parcels."""

    def __init__(self, k: int, url: str, headers: dict[str, str], own: list[int],
                 tally: Tally, budget: int) -> None:
        super().__init__(daemon=True)
        self.k, self.url, self.headers, self.own, self.tally = k, url, headers, own, tally
        self.budget = budget
        self.rng = random.Random(k)
        self.etags: dict[int, str | None] = dict.fromkeys(own)
        self.n = 0

    def run(self) -> None:
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=30) as http:
            for _ in range(self.budget):
                if time.monotonic() >= self.tally.stop_at:
                    return
                roll = self.rng.random()
                if roll < 0.6:
                    self.read(http)
                elif roll < 0.8:
                    self.listing(http)
                elif roll < 0.9:
                    self.register(http)
                else:
                    self.amend(http)

    def _send(self, http: httpx.Client, what: str, method: str, path: str,
              **kw: object) -> httpx.Response | None:
        t = time.monotonic()
        try:
            r = http.request(method, path, **kw)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            self.tally.note(what, type(exc).__name__, t, time.monotonic() - t)
            return None
        self.tally.note(what, r.status_code, t, time.monotonic() - t)
        return r

    def read(self, http: httpx.Client) -> None:
        pid = self.rng.choice(self.own)
        r = self._send(http, "read", "GET", f"/api/v1/parcels/{pid}")
        if r is not None and r.status_code == 200:
            self.etags[pid] = r.headers.get("etag")

    def listing(self, http: httpx.Client) -> None:
        x0, y0, _, _ = _square(self.rng.randrange(CONNECTIONS + 1), 0)
        lon0, lat0, lon1, lat1 = transform(box(x0, y0, x0 + 480, y0 + 120), WARD, 4326).bounds
        self._send(http, "list", "GET", "/api/v1/parcels",
                   params={"bbox": f"{lon0},{lat0},{lon1},{lat1}", "limit": "50"})

    def register(self, http: httpx.Client) -> None:
        self.n += 1
        sheet, number = 9000 + self.k, self.n
        body = {"former_unit": "kim_long", "sheet_no": sheet, "parcel_no": number,
                "land_use": "ODT", "srid": WARD, "reason": "soak registration",
                "geometry": mapping(box(*_square(self.k + 1, self.n)))}
        r = self._send(http, "register", "POST", "/api/v1/parcels", json=body)
        if r is None or r.status_code == 503:
            self.tally.unsure_registrations.append((sheet, number))
        elif r.status_code == 201:
            self.tally.registered.append((sheet, number))

    def amend(self, http: httpx.Client) -> None:
        pid = self.rng.choice(self.own)
        if self.etags[pid] is None:
            self.read(http)
            if self.etags[pid] is None:
                return
        self.n += 1
        address = f"soak {self.k}-{self.n}"
        r = self._send(http, "amend", "POST", f"/api/v1/parcels/{pid}/versions",
                       json={"address": address, "reason": "soak amendment"},
                       headers={"If-Match": str(self.etags[pid])})
        if r is not None and r.status_code == 201:
            self.tally.amended.append(address)
            self.etags[pid] = r.headers.get("etag")
        else:  # unknown outcome: read the version again before the next amendment
            self.etags[pid] = None
            if r is None or r.status_code == 503:
                self.tally.unsure_amendments.append(address)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _serve(settings: Settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",
                                                            "CADASTRE_DATABASE_URL")}
    env |= {"CADASTRE_DATABASE": DATABASE, "CADASTRE_AUTH_SECRET": settings.auth.secret,
            "CADASTRE_HOME": str(settings.db.state_dir)}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--no-access-log"],
            env=env, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.DEVNULL,
            stderr=out)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"the server did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)


def _restart(cluster: Cluster) -> tuple[float, float]:
    """Stop PostgreSQL in immediate mode (crash-like) and start it again; (start, end)."""
    info = cluster.info()
    assert info is not None
    t0 = time.monotonic()
    as_user = ["runuser", "-u", info.run_as, "--"] if info.run_as else []
    subprocess.run([*as_user, str(Path(info.bin_dir) / "pg_ctl"), "stop", "-m", "immediate",
                    "-w", "-D", str(Path(info.data_dir, "data"))], check=True,
                   capture_output=True)
    cluster.up(DATABASE)
    return t0, time.monotonic()


def _found(engine: Engine, tally: Tally) -> tuple[int, int, int, int]:
    """(acknowledged registrations found, acknowledged amendments found, unsure
    registrations found, unsure amendments found)."""
    engine.dispose()  # its connections died with the restart
    with engine.connect() as c:
        numbers = {(int(a), int(b)) for a, b in c.execute(text(
            "SELECT sheet_no, parcel_no FROM parcel_version WHERE ward_code = :w "
            "AND sheet_no >= 9000 AND valid_to IS NULL"), {"w": WARD_CODE})}
        addresses = {str(a) for (a,) in c.execute(text(
            "SELECT address FROM parcel_version WHERE ward_code = :w AND address LIKE 'soak %'"),
            {"w": WARD_CODE})}
    return (sum(n in numbers for n in tally.registered),
            sum(a in addresses for a in tally.amended),
            sum(n in numbers for n in tally.unsure_registrations),
            sum(a in addresses for a in tally.unsure_amendments))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", choices=SIZES, default="full")
    args = ap.parse_args()
    seconds = SIZES[args.size]
    if os.environ.get("BENCH_DATABASE_URL"):
        raise SystemExit("bench/soak.py restarts the embedded cluster: unset BENCH_DATABASE_URL")
    engine, settings = bench_engine(DATABASE)
    own, headers = _setup(engine, settings)
    cluster = Cluster(settings.db.state_dir)
    port = free_port()
    log = settings.db.state_dir / "soak-server.log"
    server = _serve(settings, port, log)
    url = f"http://127.0.0.1:{port}"
    tally = Tally()
    print(f"soak: {CONNECTIONS} connections for {seconds:.0f} s against {url}, PostgreSQL "
          "restarted (immediate stop) at the middle", flush=True)
    try:
        warm = httpx.get(f"{url}/api/v1/parcels/{own[0]}", headers=headers, timeout=10)
        expect(warm.status_code == 200, f"the server answers a read ({warm.status_code})")
        rss0 = _rss_mb(server.pid)
        start = time.monotonic()
        tally.stop_at = start + 3600  # until the restart says otherwise
        clients = [Client(k, url, headers, own[k * OWN_PARCELS:(k + 1) * OWN_PARCELS], tally,
                          MAX_REQUESTS // CONNECTIONS) for k in range(CONNECTIONS)]
        for c in clients:
            c.start()
        time.sleep(seconds / 2)
        down, up = _restart(cluster)
        tally.stop_at = max(start + seconds, up + seconds / 2)
        for c in clients:
            c.join(seconds + 60)
        rss1 = _rss_mb(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
    regs, amends, unsure_regs, unsure_amends = _found(engine, tally)
    acknowledged = len(tally.registered) + len(tally.amended)
    found = regs + amends
    before = [s for t, s in tally.latencies if t < down]
    after = [s for t, s in tally.latencies if t > up + 1.0]
    total = sum(tally.answers.values())
    print(f"requests: {total:,} in {tally.stop_at - start:.0f} s; restart took "
          f"{up - down:.1f} s")
    for what, n in sorted(tally.answers.items()):
        print(f"  {what}: {n:,}")
    print(f"acknowledged writes: {acknowledged:,} ({len(tally.registered):,} registrations, "
          f"{len(tally.amended):,} amendments); found afterwards: {found:,}")
    unsure = len(tally.unsure_registrations) + len(tally.unsure_amendments)
    print(f"writes answered 503 or cut off: {unsure}, of which committed anyway: "
          f"{unsure_regs + unsure_amends}")
    for name, xs in (("before the restart", before), ("after the restart", after)):
        p50, p95, _ = percentiles(xs) if xs else (float("nan"),) * 3
        print(f"p50/p95 {name}: {p50 * 1000:.1f} / {p95 * 1000:.1f} ms ({len(xs):,} requests)")
    print(f"server resident memory: {rss0:.0f} MB → {rss1:.0f} MB ({rss1 - rss0:+.0f} MB)")
    expect(found == acknowledged, f"every acknowledged write found ({found} of {acknowledged})")
    expect(not tally.other, f"no answer other than 2xx or 503 ({len(tally.other)}: "
                            f"{Counter(tally.other).most_common(3)})")
    expect(acknowledged > 0 and bool(after), "writes acknowledged, and requests answered after "
                                             "the restart")
    expect(any(s.endswith(" 503") for s in tally.answers) or up - down < 0.5,
           "the restart was seen (503 while PostgreSQL was down)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

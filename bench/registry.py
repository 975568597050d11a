"""Benchmark the registry: bulk registration, reads through the ASGI app, and the DB driver.

    .venv/bin/python bench/registry.py                # 50,000 parcels
    .venv/bin/python bench/registry.py --size tiny    # CI smoke (1,000 parcels)

Runs on its own database (``cadastre_bench``) in the embedded cluster (or
BENCH_DATABASE_URL), dropped and rebuilt each run.  Prints bulk registration time,
p50/p95/p99 of parcel-by-id, ~100-parcel bbox and as-of queries through the ASGI
app, and a driver comparison (sync psycopg vs asyncpg vs async psycopg, one
query and 8-way concurrency) with ratios measured in the same run.  Wrong answers exit 1:
a parcel not registered, a bbox that does not find exactly the lots inside it, an as-of
read that does not give the version of that instant.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.users import User
from bench.common import (
    analyze,
    bench_engine,
    expect,
    ms,
    peak_mb,
    percentiles,
    report_line,
    seeded_ward,
)
from config import clock
from db.audit import Actor
from db.engine import transaction
from gis import crs as gcrs
from parcels.bulk import bulk_register
from parcels.queries import VERSION_BY_ID, current_totals

SIZES = {"tiny": 1_000, "small": 10_000, "full": 50_000}
LOT_W, LOT_H = 5.0, 20.0
X0, Y0 = 552_000.0, 1_812_000.0
COLS = 250


def lots(n: int) -> gpd.GeoDataFrame:
    """``n`` house lots 5 m × 20 m in rows of 250 (so ~100 lots fill 50 m × 200 m)."""
    i = np.arange(n)
    r, c = np.divmod(i, COLS)
    x, y = X0 + c * LOT_W, Y0 + r * LOT_H
    geoms = shapely.box(x, y, x + LOT_W, y + LOT_H)
    return gpd.GeoDataFrame({
        "former_unit": "kim_long", "sheet_no": 1 + r // 20, "parcel_no": 1 + (r % 20) * COLS + c,
        "land_use": "ODT", "legal_area": 100.0, "address": "bench",
    }, geometry=geoms, crs=gcrs.WARD)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", choices=SIZES, default="full")
    ap.add_argument("--requests", type=int, default=0, help="requests per read benchmark")
    args = ap.parse_args()
    n = SIZES[args.size]
    reqs = args.requests or (50 if args.size == "tiny" else 1000)
    engine, settings = bench_engine("cadastre_bench")
    ward = settings.data.ward_code
    seeded_ward(engine, code=ward)
    actor = Actor(username="bench", role="land_officer", ward_code=ward)
    frame = lots(n)

    t0 = time.perf_counter()
    with transaction(engine) as s:
        ids = bulk_register(s, actor=actor, parcels=frame, reason="benchmark load")
    load_s = time.perf_counter() - t0
    analyze(settings)
    print(f"bulk registration: {n} parcels in {load_s:.2f} s "
          f"({n / load_s:,.0f} parcels/s; target < 20 s for 50,000)")
    with Session(engine) as s:
        current = current_totals(s, ward_code=ward)
    expect((len(ids), current.parcels) == (n, n)
           and abs(current.area_m2 - n * LOT_W * LOT_H) < 1e-3 * n,
           f"{len(ids)} parcels registered, {current.parcels} current, "
           f"{current.area_m2:,.1f} m² ({n} lots of {LOT_W * LOT_H:.0f} m² expected)")

    # Amend 2% so that as-of reads see two versions.
    before = clock.now()
    with transaction(engine) as s:
        s.execute(text("SELECT pg_sleep(0.01)"))
        amended = random.Random(1).sample(ids, max(10, n // 50))
        from parcels.registry import Amendment, amend_parcel

        for pid in amended:
            amend_parcel(s, actor=actor, parcel_id=pid, amendment=Amendment(land_use="CLN"),
                         reason="benchmark amendment")

    from api.app import create_app
    from api.auth import issue_token

    _ensure_bench_user(engine, ward)
    app = create_app(settings, engine=engine)
    token, _ = issue_token(settings.auth, User(id=1, username="bench", role="official",
                                               ward_code=ward), 0)
    results = asyncio.run(_asgi(app, token, ids, amended, before, n, reqs))
    for line in results:
        print(line)
    _drivers(engine, ids, reqs)
    print(f"peak memory (this process): {peak_mb():.0f} MB")


async def _asgi(app, token: str, ids: list[int], amended: list[int], before, n: int,
                reqs: int) -> list[str]:
    """The read routes through the ASGI app (httpx2's in-process transport, no sockets)."""
    import httpx2

    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(42)
    rows = max(1, (n // COLS) - 5)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def timed(make, count: int) -> list[float]:
            await make()
            out = []
            for _ in range(count):
                t = time.perf_counter()
                r = await make()
                out.append(time.perf_counter() - t)
                if r.status_code != 200:
                    raise SystemExit(f"benchmark request failed: {r.status_code} {r.text[:200]}")
            return out

        def bbox_query():
            r0, c0 = rng.randrange(rows), rng.randrange(COLS - 10)
            box = shapely.box(X0 + c0 * LOT_W + 1, Y0 + r0 * LOT_H + 1,
                              X0 + (c0 + 10) * LOT_W - 1, Y0 + (r0 + min(10, rows)) * LOT_H - 1)
            b = gcrs.to_wgs84(box).bounds
            return client.get("/api/v1/parcels", params={"bbox": ",".join(map(str, b)),
                                                          "limit": 1000}, headers=headers)

        found = len((await bbox_query()).json()["features"])
        inside = 10 * min(10, rows)  # the box lies 1 m inside 10 columns x min(10, rows) lots
        expect(found == inside, f"a bbox 1 m inside {inside} lots finds {found} parcels")
        pid = amended[0]
        then = (await client.get(f"/api/v1/parcels/{pid}", params={"as_of": before.isoformat()},
                                 headers=headers)).json()["properties"]["land_use"]
        now = (await client.get(f"/api/v1/parcels/{pid}",
                                headers=headers)).json()["properties"]["land_use"]
        expect((then, now) == ("ODT", "CLN"),
               f"parcel {pid} as of before its amendment is {then}, now {now} (ODT, CLN)")
        health = await timed(lambda: client.get("/health"), reqs)
        by_id = await timed(lambda: client.get(f"/api/v1/parcels/{rng.choice(ids)}",
                                               headers=headers), reqs)
        bbox = await timed(bbox_query, max(10, reqs // 4))
        as_of = await timed(lambda: client.get(f"/api/v1/parcels/{rng.choice(amended)}",
                                               params={"as_of": before.isoformat()},
                                               headers=headers), reqs)
    return [
        report_line("GET /health (ASGI floor: framework only)", health),
        report_line("GET /parcels/{id} (ASGI)", by_id, "target p95 < 10 ms"),
        report_line(f"GET /parcels?bbox (~{found} parcels, ASGI)", bbox, "target p95 < 10 ms"),
        report_line("GET /parcels/{id}?as_of (ASGI)", as_of),
    ]


def _ensure_bench_user(engine, ward_code: str) -> None:
    from api.users import hash_password

    with engine.begin() as c:
        c.execute(text("INSERT INTO app_user (id, username, role, password_hash, ward_code) "
                       "VALUES (1, 'bench', 'official', :h, :w) ON CONFLICT DO NOTHING"),
                  {"h": hash_password("bench-password-not-used"), "w": ward_code})


def _timed(fn, count: int) -> list[float]:
    fn()  # warm up (prepared statements, caches)
    out = []
    for _ in range(count):
        t = time.perf_counter()
        r = fn()
        out.append(time.perf_counter() - t)
        if r.status_code != 200:
            raise SystemExit(f"benchmark request failed: {r.status_code} {r.text[:200]}")
    return out


QUERY = VERSION_BY_ID


def _drivers(engine, ids: list[int], reqs: int) -> None:
    """The same parcel-by-id query through each driver, alone and 8 at a time."""
    import asyncpg
    import psycopg

    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    rng = random.Random(7)
    pick = [rng.choice(ids) for _ in range(reqs)]

    # sync psycopg through the SQLAlchemy pool (what the service uses)
    def one_sync(pid: int) -> None:
        with engine.connect() as c:
            c.execute(text(QUERY.format(":p")), {"p": pid}).one()

    one_sync(pick[0])
    lat_sync = []
    for pid in pick:
        t = time.perf_counter()
        one_sync(pid)
        lat_sync.append(time.perf_counter() - t)
    t = time.perf_counter()
    with ThreadPoolExecutor(8) as ex:
        list(ex.map(one_sync, pick))
    rps_sync = len(pick) / (time.perf_counter() - t)

    async def run_asyncpg() -> tuple[list[float], float]:
        pool = await asyncpg.create_pool(url, min_size=8, max_size=8)
        q = QUERY.format("$1")
        lat = []
        for pid in pick:
            t = time.perf_counter()
            async with pool.acquire() as c:
                await c.fetchrow(q, pid)
            lat.append(time.perf_counter() - t)
        t = time.perf_counter()

        async def one(pid: int) -> None:
            async with pool.acquire() as c:
                await c.fetchrow(q, pid)

        await asyncio.gather(*(one(p) for p in pick))
        rps = len(pick) / (time.perf_counter() - t)
        await pool.close()
        return lat, rps

    async def run_psycopg_async() -> tuple[list[float], float]:
        from psycopg_pool import AsyncConnectionPool

        async with AsyncConnectionPool(url, min_size=8, max_size=8, open=False) as pool:
            await pool.open(wait=True)
            q = QUERY.format("%s")
            lat = []
            for pid in pick:
                t = time.perf_counter()
                async with pool.connection() as c:
                    await (await c.execute(q, (pid,))).fetchone()
                lat.append(time.perf_counter() - t)
            t = time.perf_counter()

            async def one(pid: int) -> None:
                async with pool.connection() as c:
                    await (await c.execute(q, (pid,))).fetchone()

            await asyncio.gather(*(one(p) for p in pick))
            return lat, len(pick) / (time.perf_counter() - t)

    lat_apg, rps_apg = asyncio.run(run_asyncpg())
    lat_pa, rps_pa = asyncio.run(run_psycopg_async())
    del psycopg
    p_sync, p_apg, p_pa = (percentiles(x)[1] for x in (lat_sync, lat_apg, lat_pa))
    print("driver comparison, parcel by id (one query / 8 concurrent):")
    print(f"  sync psycopg (SQLAlchemy pool): p95 {ms(p_sync)}  {rps_sync:,.0f} q/s")
    print(f"  asyncpg:                        p95 {ms(p_apg)}  {rps_apg:,.0f} q/s "
          f"(x{rps_apg / rps_sync:.2f} vs sync)")
    print(f"  async psycopg:                  p95 {ms(p_pa)}  {rps_pa:,.0f} q/s "
          f"(x{rps_pa / rps_sync:.2f} vs sync)")


if __name__ == "__main__":
    main()

"""The web pages' speed and weight on the demo ward, against a real uvicorn on 127.0.0.1.

    .venv/bin/python bench/pages.py                 # full ward (~47,000 parcels, 3,500 files)
    .venv/bin/python bench/pages.py --size tiny     # CI smoke: the small ward, few samples

A land officer signed in by cookie asks, one request at a time over a kept-alive
connection: the application queue (the default order, the overdue filter, a later page),
and application pages whose latest report has findings (verified here first).  Prints
p50/p95/p99 of each; targets on a 2-core machine: queue p95 < 100 ms, application page
p95 < 300 ms.  Then the queue page's cold-cache weight: the HTML and every stylesheet and
script it names, fetched once each (target < 300 KB).  The answers are checked: the
queue's count equals the database's, its rows are overdue when filtered so, the
application page shows its report's verdict and every finding, the assets are ours and
served with their types; a wrong answer exits 1 (``bench/run_all.py``).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import date
from pathlib import Path

import httpx
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.auth import CSRF_COOKIE, SESSION_COOKIE, issue_token, new_csrf_token
from api.users import add_user
from bench.common import analyze, bench_engine, demo_folder, expect, report_line, served
from certificates import applications as apps
from certificates import queue as q
from data.load import load_demo
from db.audit import Actor
from db.engine import transaction

SIZES = {"tiny": ("small", 11), "small": ("small", 11), "full": ("full", 2025)}
CLOCK_START = "2025-08-26T08:00:00+07:00"
"""The morning after the demo's intake period: the backlog and late files are overdue."""
TODAY = date(2025, 8, 26)
TARGETS_MS = {"queue": 100.0, "application": 300.0}
WEIGHT_KB = 300.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", choices=SIZES, default="full")
    ap.add_argument("--requests", type=int, default=0, help="samples per page")
    args = ap.parse_args()
    size, seed = SIZES[args.size]
    n = args.requests or (20 if args.size == "tiny" else 200)
    engine, settings = bench_engine("cadastre_bench_pages")
    t = time.perf_counter()
    print(load_demo(engine, demo_folder(size, seed)).message,
          f"({time.perf_counter() - t:.1f} s)")
    ward = settings.data.ward_code
    officer_actor = Actor(username="pages_officer", role="land_officer", ward_code=ward)
    with transaction(engine) as s:
        officer = add_user(s, actor=Actor(username="bench", role="admin", ward_code=ward),
                           username="pages_officer", role="land_officer",
                           password="pages-password-1", full_name="Nguyễn Thị Lan")
        backlog = [r[0] for r in s.execute(text(
            "SELECT a.id FROM application a JOIN demo_application_truth t "
            "ON t.application_id = a.id WHERE t.cohort = 'backlog' "
            "AND t.expected_rule NOT IN ('clean', 'outside_ward') ORDER BY a.id LIMIT 20"))]
    with transaction(engine) as s:  # reports to show: the planted cases, verified
        for app_id in backlog:
            apps.verify(s, actor=officer_actor, application_id=app_id)
    analyze(settings)
    with transaction(engine) as s:
        everything = q.queue(s, ward_code=ward, filters=q.QueueFilter(), today=TODAY)
        overdue = q.queue(s, ward_code=ward, filters=q.QueueFilter(overdue=True), today=TODAY)
        reports = {a: apps.latest_report(s, apps.get(s, ward_code=ward, application_id=a))
                   for a in backlog}
        findings = {a: [f["rule"] for f in r.findings] if r else [] for a, r in reports.items()}
        verdicts = {a: r.verdict if r else None for a, r in reports.items()}
    expect(everything.total > 0 and overdue.total > 0 and len(backlog) > 0,
           f"something to show: {everything.total} files, {overdue.total} overdue on "
           f"{TODAY:%d/%m/%Y}, {len(backlog)} verified planted cases")

    token = issue_token(settings.auth, officer, 0)[0]
    with served(settings, env={"CADASTRE_CLOCK_START": CLOCK_START,
                               "CADASTRE_AUTH_TOKEN_MINUTES": "60"}) as base, \
            httpx.Client(base_url=base, timeout=30.0) as client:
        client.cookies.set(SESSION_COOKIE, token)
        client.cookies.set(CSRF_COOKIE, new_csrf_token(settings.auth, session_token=token))
        _check_queue(client, everything.total, overdue.total)
        second_page = _next_link(client.get("/applications").text)
        expect(second_page is not None or everything.total <= 50,
               "the queue links to its next page")
        paths = {"queue (due date order)": ["/applications"],
                 "queue (overdue filter)": ["/applications?overdue=1"],
                 "queue (second page)": [second_page or "/applications"],
                 "application page (report, sketch, timeline)":
                     [f"/applications/{a}" for a in backlog]}
        _check_applications(client, backlog, verdicts, findings)
        p95 = {}
        for name, urls in paths.items():
            for url in urls[:3]:  # warm up: templates compiled, statements prepared
                client.get(url)
            samples = []
            for i in range(n):
                url = urls[i % len(urls)]
                t0 = time.perf_counter()
                r = client.get(url)
                samples.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    expect(False, f"{url} answered {r.status_code}")
            print(report_line(name, samples))
            p95[name] = sorted(samples)[max(0, int(0.95 * len(samples)) - 1)] * 1000
        weight = _cold_weight(base, token, settings)
    queue_p95 = max(v for k, v in p95.items() if k.startswith("queue"))
    app_p95 = p95["application page (report, sketch, timeline)"]
    print(f"queue page p95 {queue_p95:.1f} ms (target < {TARGETS_MS['queue']:.0f} ms); "
          f"application page p95 {app_p95:.1f} ms (target < {TARGETS_MS['application']:.0f} "
          f"ms); queue page cold-cache transfer {weight / 1024:.1f} KB (target < "
          f"{WEIGHT_KB:.0f} KB)")
    if args.size == "full":
        for label, value, target in (("queue", queue_p95, TARGETS_MS["queue"]),
                                     ("application", app_p95, TARGETS_MS["application"])):
            print(f"  {label}: {'within' if value < target else 'OVER'} target")
    expect(weight < WEIGHT_KB * 1024, f"the queue page weighs {weight / 1024:.1f} KB "
           f"cold (< {WEIGHT_KB:.0f} KB)")


def _check_queue(client: httpx.Client, total: int, overdue: int) -> None:
    page = client.get("/applications")
    shown = re.search(r'data-total="(\d+)"', page.text)
    expect(page.status_code == 200 and shown is not None and int(shown.group(1)) == total,
           f"the queue counts {total} files, as the database does")
    late = client.get("/applications?overdue=1").text
    shown = re.search(r'data-total="(\d+)"', late)
    rows = len(re.findall(r"<tr[^>]*data-id=", late))
    red = len(re.findall(r'<tr class="overdue"', late))
    expect(shown is not None and int(shown.group(1)) == overdue and rows == red ==
           min(overdue, 50), f"the overdue filter shows {overdue} files, every row red")


def _next_link(html: str) -> str | None:
    m = re.search(r'<a rel="next" href="([^"]+)"', html)
    return m.group(1).replace("&amp;", "&") if m else None


def _check_applications(client: httpx.Client, ids: list[int], verdicts: dict[int, str | None],
                        findings: dict[int, list[str]]) -> None:
    wrong = []
    for app_id in ids:
        html = client.get(f"/applications/{app_id}").text
        shown = re.search(r'data-verdict="(\w+)"', html)
        rules = re.findall(r'<li class="finding finding-\w+" data-rule="(\w+)"', html)
        if shown is None or shown.group(1) != verdicts[app_id] or rules != findings[app_id] \
                or '<svg class="sketch"' not in html:
            wrong.append(app_id)
    expect(not wrong, f"{len(ids)} application pages show their report's verdict, every "
           f"finding and the sketch (wrong: {wrong[:5]})")


def _cold_weight(base: str, token: str, settings: object) -> int:
    """Bytes of the queue page and every stylesheet and script it names, nothing cached."""
    with httpx.Client(base_url=base, timeout=30.0) as cold:
        cold.cookies.set(SESSION_COOKIE, token)
        page = cold.get("/applications", headers={"Accept-Encoding": "identity"})
        total = len(page.content)
        assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
        types = {".css": "text/css", ".js": "text/javascript"}
        for url in sorted(set(assets)):
            r = cold.get(url.replace("&amp;", "&"))
            suffix = Path(url.split("?")[0]).suffix
            expect(r.status_code == 200 and r.headers["content-type"].startswith(types[suffix])
                   and "immutable" in r.headers.get("cache-control", ""),
                   f"{url.split('?')[0]} is ours, typed and cacheable for a year")
            total += len(r.content)
        outside = re.findall(r'(?:href|src)="(https?://[^"]+)"', page.text)
        expect(not outside, "the queue page loads nothing from another site")
    return total


if __name__ == "__main__":
    main()

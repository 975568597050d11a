"""The ward centre's intake of 1 July - 25 August 2025, with decisions timed in working days.

Public figures (DESIGN.md): about 3,100 applications in eight weeks, about
95% online, more than 92% finished on time and about 2.3% late.  The figures
covered all procedures; the demo generates land procedures only.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Final

import numpy as np
from shapely.geometry import Polygon

from data.applications import HUE_TZ, STATUTORY_DAYS, Application
from data.calendar import add_working_days, working_days_in

INTAKE_FULL: Final = 3100
FIRST: Final = date(2025, 7, 1)
CUTOFF: Final = date(2025, 8, 25)
SHARES: Final = {"first_certificate": 0.30, "transfer": 0.40, "split_merge": 0.15,
                 "correction": 0.15}
ONLINE: Final = 0.95
LATE: Final = 0.023
IN_PROGRESS: Final = 0.057


def build_intake(
    rng: np.random.Generator, scale: float, *, pool: list[int], registered: list[int],
    geoms: list[Polygon], land_use: list[str], legal_area: np.ndarray,
    holder_name: dict[int, str], names: list[str],
) -> list[Application]:
    """Intake applications; first-time ones use distinct unregistered parcels while any remain."""
    n = max(40, round(INTAKE_FULL * scale))
    procedures = _exact(rng, n, SHARES)
    online = _exact(rng, n, {"online": ONLINE, "counter": 1 - ONLINE})
    pool_iter = iter(pool)
    apps: list[Application] = []
    for k in range(n):
        proc, channel = procedures[k], online[k]
        received = _received(rng, channel)
        if proc == "first_certificate":
            i = next(pool_iter, None)
            geom = geoms[i] if i is not None else None
            app = Application(
                procedure=proc, cohort="intake_2025", received_at=received, channel=channel,
                state="received", applicant_name=names[k % len(names)],
                declared_area=round(float(geom.area), 1) if geom is not None else None,
                declared_land_use=land_use[i] if i is not None else None, parcel=i,
                expected_rule="clean" if geom is not None else None,
                expected_verdict="pass" if geom is not None else None, geometry=geom)
        else:
            i = registered[int(rng.integers(len(registered)))]
            app = Application(
                procedure=proc, cohort="intake_2025", received_at=received, channel=channel,
                state="received", applicant_name=holder_name[i],
                declared_area=float(legal_area[i]), declared_land_use=land_use[i], parcel=i,
                expected_rule=None, expected_verdict=None, geometry=None)
        apps.append(app)
    _decide(rng, apps)
    return apps


def _exact(rng: np.random.Generator, n: int, shares: dict[str, float]) -> list[str]:
    """Labels in exactly the given proportions (largest remainders), shuffled."""
    raw = {k: v * n for k, v in shares.items()}
    counts = {k: int(v) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: -(raw[k] - counts[k]))[: n - sum(counts.values())]:
        counts[k] += 1
    labels = [k for k, c in counts.items() for _ in range(c)]
    return [labels[i] for i in rng.permutation(n)]


def _received(rng: np.random.Generator, channel: str) -> datetime:
    """Online files arrive any day and hour; counter files in office hours on working days."""
    if channel == "online":
        day = FIRST + timedelta(days=int(rng.integers(0, (CUTOFF - FIRST).days + 1)))
        minute = int(np.clip(rng.normal(14 * 60, 240), 0, 24 * 60 - 1))
    else:
        days = working_days_in(FIRST, CUTOFF)
        day = days[int(rng.integers(len(days)))]
        minute = _office_minute(rng)
    return datetime.combine(day, time(minute // 60, minute % 60), HUE_TZ)


def _office_minute(rng: np.random.Generator) -> int:
    if rng.random() < 0.55:
        return int(rng.integers(7 * 60 + 30, 11 * 60 + 30))
    return int(rng.integers(13 * 60 + 30, 17 * 60))


def _decide(rng: np.random.Generator, apps: list[Application]) -> None:
    """On time, late or in progress, in the published proportions, where the calendar allows."""
    n = len(apps)
    due = [add_working_days(a.received_at.date(), STATUTORY_DAYS[a.procedure]) for a in apps]
    ontime_days = [working_days_in(a.received_at.date() + timedelta(days=1), min(d, CUTOFF))
                   for a, d in zip(apps, due, strict=True)]
    late_days = [working_days_in(d + timedelta(days=1), CUTOFF) for d in due]
    n_late, n_prog = round(LATE * n), round(IN_PROGRESS * n)
    order = list(rng.permutation(n))
    late = [i for i in order if late_days[i]][:n_late]
    forced = [i for i in order if not ontime_days[i] and i not in late]
    # Files that came in last are the ones still open.
    recency = np.array([(a.received_at.date() - FIRST).days for a in apps], dtype=float)
    weight = np.exp(recency / 7.0)
    weight[late + forced] = 0.0
    extra = max(0, n_prog - len(forced))
    if extra:
        picked = rng.choice(n, size=min(extra, int((weight > 0).sum())), replace=False,
                            p=weight / weight.sum())
        forced += [int(i) for i in picked]
    progress = set(forced)
    late_set = set(late)
    for i, app in enumerate(apps):
        if i in progress:
            app.state = str(rng.choice(["received", "verifying", "field_check",
                                        "waiting_applicant"], p=[0.2, 0.35, 0.2, 0.25]))
            continue
        days = late_days[i] if i in late_set else ontime_days[i]
        day = days[int(rng.integers(len(days)))]
        minute = _office_minute(rng)
        app.decided_at = datetime.combine(day, time(minute // 60, minute % 60), HUE_TZ)
        app.state = str(rng.choice(["certificate_issued", "approved", "rejected"],
                                   p=[0.70, 0.26, 0.04]))

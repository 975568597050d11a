"""Load the demo's applications (inherited backlog + 2025 intake) with their ground truth.

The ``applications`` layer of ``ward.gpkg`` holds every application as the generator
made it; the ground truth (expected rule and verdict, the planted defect) goes to
``demo_application_truth``, beside the applications, so verification never sees it.
Due dates are computed by :mod:`certificates.deadlines`, exactly as on receipt.  The
inherited backlog is marked ``origin = 'inherited'``, received by the former Phú Xuân
district (its old receipt number is made from the demo key and says it is synthetic); a
decided intake file's result went back to the applicant the day it was decided
(``returned_at``); a file waiting for the applicant has the supplement request as its event.

A few clean backlog claims get an open dispute in the register over the parcel they
claim (every ``DISPUTE_EVERY``-th clean one, by key): their truth becomes
``dispute_open`` / ``fail``, so the dispute rule is scored like the planted geometry
defects.  Loading is idempotent: nothing happens when the demo's applications are loaded.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

import pandas as pd
import pyogrio
from sqlalchemy import text
from sqlalchemy.orm import Session

from certificates.deadlines import calendar
from gis.convert import to_ewkb
from gis.crs import WARD
from parcels.numbers import current_by_number

WARD_CODE: Final = "19774"
INHERITED_FROM: Final = "UBND quận Phú Xuân (cũ) / former Phú Xuân district (synthetic demo)"
LOADER: Final = "demo-loader"
DISPUTE_EVERY: Final = 20
FINISHED: Final = ("approved", "rejected", "certificate_issued")


def _iso(v: Any) -> datetime | None:
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NaT:
        return None
    return datetime.fromisoformat(str(v))


def _opt(v: Any) -> Any:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    return v


def load_applications(s: Session, gpkg: Path, *, ward_code: str = WARD_CODE) -> int:
    """Insert the applications layer (once); returns how many were added."""
    if s.execute(text("SELECT count(*) FROM application WHERE ward_code = :w "
                      "AND created_by = :by"), {"w": ward_code, "by": LOADER}).scalar_one():
        return 0
    if "applications" not in {name for name, _ in pyogrio.list_layers(gpkg)}:
        return 0
    apps = pyogrio.read_dataframe(gpkg, layer="applications")
    cal = calendar()
    rows: dict[str, list[Any]] = {k: [] for k in (
        "key", "proc", "name", "channel", "recv", "recv_on", "due", "state", "changed", "area",
        "use", "unit", "sheet", "no", "geom", "decided", "waiting", "origin", "from",
        "old_no", "old_on")}
    for r in apps.itertuples():
        received = _iso(r.received_at)
        assert received is not None
        decided = _iso(r.decided_at)
        received_on = cal.local_date(received)
        rows["key"].append(r.application_key)
        rows["proc"].append(r.procedure)
        rows["name"].append(r.applicant_name)
        rows["channel"].append(r.channel)
        rows["recv"].append(received)
        rows["recv_on"].append(received_on)
        rows["due"].append(cal.due_date(r.procedure, received_on))
        rows["state"].append(r.state)
        rows["changed"].append(decided or received)
        rows["area"].append(None if pd.isna(r.declared_area) else float(r.declared_area))
        rows["use"].append(_opt(r.declared_land_use))
        rows["unit"].append(_opt(r.former_unit))
        rows["sheet"].append(None if pd.isna(r.sheet_no) else int(r.sheet_no))
        rows["no"].append(None if pd.isna(r.parcel_no) else int(r.parcel_no))
        rows["geom"].append(None if r.geometry is None else to_ewkb(r.geometry, WARD))
        rows["decided"].append(decided if r.state in FINISHED else None)
        rows["waiting"].append(received if r.state == "waiting_applicant" else None)
        inherited = r.cohort == "backlog"
        rows["origin"].append("inherited" if inherited else "desk")
        rows["from"].append(INHERITED_FROM if inherited else None)
        rows["old_no"].append(f"PX-MÔ PHỎNG-{received_on:%Y%m%d}-{r.application_key[1:]}"
                              if inherited else None)
        rows["old_on"].append(received_on if inherited else None)
    s.execute(text("""
        INSERT INTO application (ward_code, application_key, procedure, applicant_name, channel,
            received_at, received_on, due_on, state, state_changed_at, declared_area,
            declared_land_use, former_unit, sheet_no, parcel_no, geom, geom_valid, claimed_srid,
            decided_at, returned_at, waiting_since, resume_state, parcel_id, origin,
            inherited_from, old_receipt_no, old_received_on, created_by)
        SELECT :w, t.key, t.proc, t.name, t.channel, t.recv, t.recv_on, t.due, t.state,
               t.changed, t.area, t.use, t.unit, t.sheet, t.no, g.geom,
               coalesce(ST_IsValid(g.geom), false),
               ST_SRID(g.geom),
               t.decided, t.decided, t.waiting,
               CASE WHEN t.state = 'waiting_applicant' THEN 'verifying' END,
               t.pid, t.origin, t.ifrom, t.old_no, t.old_on, :by
        FROM unnest(CAST(:key AS text[]), CAST(:proc AS text[]), CAST(:name AS text[]),
                    CAST(:channel AS text[]), CAST(:recv AS timestamptz[]),
                    CAST(:recv_on AS date[]), CAST(:due AS date[]), CAST(:state AS text[]),
                    CAST(:changed AS timestamptz[]), CAST(:area AS numeric[]),
                    CAST(:use AS text[]), CAST(:unit AS text[]), CAST(:sheet AS int[]),
                    CAST(:no AS int[]), CAST(:geom AS bytea[]), CAST(:decided AS timestamptz[]),
                    CAST(:waiting AS timestamptz[]), CAST(:pid AS bigint[]),
                    CAST(:origin AS text[]), CAST(:from AS text[]), CAST(:old_no AS text[]),
                    CAST(:old_on AS date[]))
             AS t(key, proc, name, channel, recv, recv_on, due, state, changed, area, use, unit,
                  sheet, no, wkb, decided, waiting, pid, origin, ifrom, old_no, old_on)
        CROSS JOIN LATERAL (SELECT ST_GeomFromEWKB(t.wkb) AS geom) g"""),
        {"w": ward_code, "by": LOADER, **rows,
         "pid": current_by_number(s, ward_code=ward_code, units=rows["unit"],
                                  sheets=rows["sheet"], numbers=rows["no"])})
    s.execute(text("""
        INSERT INTO application_event (application_id, ward_code, action, from_state, to_state,
                                       at, actor, detail)
        SELECT id, ward_code, 'receive', NULL, 'received', received_at, :by,
               jsonb_build_object('due_on', due_on, 'demo', true)
        FROM application WHERE ward_code = :w AND created_by = :by"""),
        {"w": ward_code, "by": LOADER})
    s.execute(text("""
        INSERT INTO application_event (application_id, ward_code, action, from_state, to_state,
                                       at, actor, reason, detail)
        SELECT id, ward_code, 'request_supplement', 'verifying', 'waiting_applicant',
               waiting_since, :by, 'bổ sung giấy tờ (dữ liệu mô phỏng)',
               jsonb_build_object('demo', true)
        FROM application WHERE ward_code = :w AND state = 'waiting_applicant'
          AND created_by = :by"""),
        {"w": ward_code, "by": LOADER})
    s.execute(text("""
        INSERT INTO demo_application_truth (application_id, cohort, parcel_key, expected_rule,
                                            expected_verdict, defect)
        SELECT a.id, t.cohort, t.pk, t.rule, t.verdict, t.defect
        FROM unnest(CAST(:key AS text[]), CAST(:cohort AS text[]), CAST(:pk AS text[]),
                    CAST(:rule AS text[]), CAST(:verdict AS text[]), CAST(:defect AS text[]))
             AS t(key, cohort, pk, rule, verdict, defect)
        JOIN application a ON a.ward_code = :w AND a.application_key = t.key"""),
        {"w": ward_code, "key": list(apps["application_key"]), "cohort": list(apps["cohort"]),
         "pk": [_opt(x) for x in apps["parcel_key"]],
         "rule": [_opt(x) for x in apps["expected_rule"]],
         "verdict": [_opt(x) for x in apps["expected_verdict"]],
         "defect": [_opt(x) for x in apps["defect"]]})
    _plant_disputes(s, ward_code)
    return len(apps)


def _plant_disputes(s: Session, ward_code: str) -> None:
    """Open disputes over the parcels of every DISPUTE_EVERY-th clean backlog claim."""
    picked = s.execute(text("""
        SELECT a.id, a.parcel_id, a.applicant_name, a.received_on FROM application a
        JOIN demo_application_truth t ON t.application_id = a.id
        WHERE a.ward_code = :w AND t.cohort = 'backlog' AND t.expected_rule = 'clean'
          AND a.parcel_id IS NOT NULL
        ORDER BY a.application_key"""), {"w": ward_code}).all()
    for k, row in enumerate(picked):
        if k % DISPUTE_EVERY != DISPUTE_EVERY // 2 and len(picked) > DISPUTE_EVERY // 2:
            continue
        if len(picked) <= DISPUTE_EVERY // 2 and k != len(picked) // 2:
            continue
        opened = max(row.received_on, date(2025, 3, 1))
        s.execute(text("""
            INSERT INTO dispute (ward_code, parcel_ids, claimant, respondent, description,
                                 opened_on, state, recorded_by)
            VALUES (:w, ARRAY[CAST(:p AS bigint)], :c, :r, :d, :o, 'open', :by)"""),
            {"w": ward_code, "p": row.parcel_id, "c": "Hộ liền kề (synthetic neighbour)",
             "r": row.applicant_name, "o": opened, "by": LOADER,
             "d": "Tranh chấp ranh giới (dữ liệu mô phỏng) / boundary dispute (synthetic demo)"})
        s.execute(text("UPDATE demo_application_truth SET expected_rule = 'dispute_open', "
                       "expected_verdict = 'fail', defect = 'planted open dispute' "
                       "WHERE application_id = :a"), {"a": row.id})

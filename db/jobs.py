"""The record of each long job (migration 0016_jobs): what was asked, by whom, how far it got.

A job's life: ``queued`` (the request's transaction wrote this row and queued the work),
``running`` (a worker took it; ``attempts`` counts the takes), then ``succeeded`` with a
result or ``failed`` with an error.  Progress is written on a connection of its own, in
autocommit, so the user sees it while the work's transaction is still open; the
``succeeded`` mark is written inside the work's transaction (:func:`finish`), so the
work's writes and the mark commit together or not at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from config import clock
from db.audit import Actor
from db.errors import NotFound

STATES = ("queued", "running", "succeeded", "failed")
DONE = ("succeeded", "failed")


class JobNotFound(NotFound):
    code = "job_not_found"
    title = "Job not found"


@dataclass(frozen=True)
class Job:
    id: int
    ward_code: str
    kind: str
    params: dict[str, Any]
    requested_by: str
    requested_role: str | None
    state: str
    progress: dict[str, Any]
    result: Any
    error: dict[str, Any] | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "state": self.state, "params": self.params,
                "requested_by": self.requested_by, "progress": self.progress,
                "result": self.result, "error": self.error, "attempts": self.attempts,
                "created_at": self.created_at.isoformat(),
                "started_at": self.started_at.isoformat() if self.started_at else None,
                "finished_at": self.finished_at.isoformat() if self.finished_at else None,
                "href": f"/api/v1/jobs/{self.id}"}


COLUMNS = ("id, ward_code, kind, params, requested_by, requested_role, state, progress, result, "
           "error, attempts, created_at, started_at, finished_at")


def create(session: Session, *, actor: Actor, kind: str, params: dict[str, Any]) -> int:
    """Write a queued job in the caller's transaction (the caller queues its work)."""
    return int(session.execute(text(
        "INSERT INTO job (ward_code, kind, params, requested_by, requested_role, created_at) "
        "VALUES (:w, :k, CAST(:p AS jsonb), :by, :role, :now) RETURNING id"),
        {"w": actor.ward_code, "k": kind, "p": json.dumps(params, ensure_ascii=False),
         "by": actor.username, "role": actor.role, "now": clock.now()}).scalar_one())


def set_queue_id(session: Session, job_id: int, queue_job_id: int) -> None:
    session.execute(text("UPDATE job SET queue_job_id = :q WHERE id = :i"),
                    {"q": queue_job_id, "i": job_id})


def get(session: Session, *, job_id: int, ward_code: str | None = None) -> Job:
    """One job (of ``ward_code`` when given: another ward's is "not found")."""
    row = session.execute(text(f"SELECT {COLUMNS} FROM job WHERE id = :i"),  # noqa: S608
                          {"i": job_id}).one_or_none()
    if row is None or (ward_code is not None and row.ward_code != ward_code):
        raise JobNotFound(f"no job {job_id}", job_id=job_id)
    return Job(**row._mapping)


def start(engine: Engine, job_id: int) -> Job | None:
    """A worker takes the job: ``running``, one more attempt; None when it is already done
    (a second delivery of a finished job does nothing)."""
    with engine.begin() as c:
        row = c.execute(text(
            f"UPDATE job SET state = 'running', attempts = attempts + 1, "  # noqa: S608
            "started_at = coalesce(started_at, :now) WHERE id = :i AND state NOT IN "
            f"('succeeded', 'failed') RETURNING {COLUMNS}"),
            {"i": job_id, "now": clock.now()}).one_or_none()
    return None if row is None else Job(**row._mapping)


def lock(session: Session, job_id: int) -> bool:
    """Inside the work's transaction: hold the job until commit (one runner at a time) and
    say whether it is still to do.  The state is read after the lock is granted, so a run
    that waited behind another sees that one's outcome."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext('job:' || :i))"),
                    {"i": str(job_id)})
    state = session.execute(text("SELECT state FROM job WHERE id = :i"),
                            {"i": job_id}).scalar_one()
    return state not in DONE


def progress(engine: Engine, job_id: int, step: str, done: int | None = None,
             total: int | None = None) -> None:
    """Say how far the job got, visible at once (its own short transaction)."""
    value = {"step": step, "done": done, "total": total, "at": clock.now().isoformat()}
    with engine.begin() as c:
        c.execute(text("UPDATE job SET progress = CAST(:p AS jsonb) WHERE id = :i"),
                  {"p": json.dumps(value, ensure_ascii=False), "i": job_id})


def finish(session: Session, job_id: int, result: Any) -> None:
    """Mark the job succeeded in the work's own transaction."""
    session.execute(text(
        "UPDATE job SET state = 'succeeded', result = CAST(:r AS jsonb), error = NULL, "
        "finished_at = :now, progress = progress || '{\"step\": \"done\"}'::jsonb "
        "WHERE id = :i"),
        {"r": json.dumps(result, ensure_ascii=False, default=str), "i": job_id,
         "now": clock.now()})


def fail(engine: Engine, job_id: int, error: dict[str, Any], *, final: bool = True) -> None:
    """Record an error: ``failed`` when it is final, back to ``queued`` when the queue
    will try again (a database that was briefly unreachable)."""
    with engine.begin() as c:
        c.execute(text(
            "UPDATE job SET state = :s, error = CAST(:e AS jsonb), "
            "finished_at = CASE WHEN :final THEN CAST(:now AS timestamptz) END "
            "WHERE id = :i AND state <> 'succeeded'"),
            {"s": "failed" if final else "queued", "final": final, "now": clock.now(),
             "e": json.dumps(error, ensure_ascii=False, default=str), "i": job_id})

"""Long work as jobs on procrastinate's PostgreSQL queue: the whole-ward audit, a large
impact analysis, verifying the inherited backlog (DESIGN.md, "Long work").

A request calls :func:`submit`: the job's row (db/jobs.py) and its place in the queue are
written in the request's own transaction, so a job exists exactly when the request
committed.  The request answers 202 with the job's URL.  ``cadastre worker`` runs
:func:`run_job` for each queued job:

1. it marks the job ``running`` (visible at once, with progress as the work goes on);
2. it does the work in one transaction that first takes the job's lock and re-reads its
   state, and writes the ``succeeded`` mark and the result in that same transaction.

A worker killed half-way loses its transaction with it: nothing of the job is written.
Another worker takes the job again once the dead one's heartbeat is older than
``CADASTRE_JOBS_STALLED_SECONDS`` and finds it still to do.  A job delivered twice finds
it done and does nothing.  So a job never writes twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any, BinaryIO

import procrastinate
import psycopg
from psycopg.conninfo import make_conninfo
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from config.settings import Settings
from db import jobs as records
from db.audit import Actor
from db.backup import libpq_params
from db.engine import database_url, make_engine, transaction
from gis.errors import DomainError
from parcels import surveys

log = logging.getLogger("cadastre.jobs")
TASK = "cadastre.run_job"
Say = Callable[..., None]
"""``say(step, done=None, total=None)``: the job's progress."""
Work = Callable[[Session, Settings, records.Job, Say], Any]
RETRY = procrastinate.RetryStrategy(
    max_attempts=5, wait=5, retry_exceptions={OperationalError, psycopg.OperationalError})
"""A job whose database went away is tried again (5 times, 5 s apart); any other error is
final and recorded on the job."""


# ------------------------------------------------------------------------ the work


def _actor(job: records.Job) -> Actor:
    return Actor(username=job.requested_by, role=job.requested_role, ward_code=job.ward_code,
                 request_id=f"job-{job.id}")


def ward_audit(session: Session, settings: Settings, job: records.Job, say: Say) -> Any:
    """The topology audit of the whole ward (or a sheet, a former unit)."""
    from gis.findings_io import report_document
    from gis.rules import load_ruleset
    from parcels.audit import audit_registry

    rules = load_ruleset(settings.data.rules_file)
    report = audit_registry(session, ward_code=job.ward_code, rules=rules,
                            sheet_no=job.params.get("sheet_no"),
                            former_unit=job.params.get("former_unit"),
                            progress=lambda step: say(step), actor=_actor(job))
    return {"parcels": report.feature_count, "counts": report.counts(),
            "report": report_document(report, {"job": job.id, "ward_code": job.ward_code})}


def impact(session: Session, settings: Settings, job: records.Job, say: Say) -> Any:
    """A road project's impact on every parcel its corridor meets."""
    from datetime import datetime

    from api.project_impact import project_impact
    from projects.schemas import impact_out

    p = job.params
    say("gathering the corridor and the parcels it meets")
    result = project_impact(session, ward_code=job.ward_code, code=p["code"],
                            alternative=p.get("alternative"), version=p.get("version"),
                            section=p.get("section"),
                            as_of=datetime.fromisoformat(p["as_of"]) if p.get("as_of") else None)
    say("shaping the result")
    return impact_out(result, include_noise=bool(p.get("include_noise")))


BACKLOG_STATES = ("received",)
"""The inherited backlog: files received and never verified."""


def verify_backlog(session: Session, settings: Settings, job: records.Job, say: Say) -> Any:
    """Verify every received, never verified application that has a claimed geometry."""
    from certificates import applications as apps

    ids = session.execute(text(
        "SELECT id FROM application WHERE ward_code = :w AND state = ANY(:s) "
        "AND geom IS NOT NULL ORDER BY received_at, id"),
        {"w": job.ward_code, "s": list(BACKLOG_STATES)}).scalars().all()
    verdicts: dict[str, int] = {}
    done = []
    for k, app_id in enumerate(ids):
        if k % 10 == 0:
            say("verifying", k, len(ids))
        report = apps.verify(session, actor=_actor(job), application_id=app_id)
        verdicts[report.verdict] = verdicts.get(report.verdict, 0) + 1
        done.append({"application_id": app_id, "report_id": report.id,
                     "verdict": report.verdict})
    say("verified", len(ids), len(ids))
    return {"verified": len(ids), "verdicts": verdicts, "applications": done}


def survey_validation(session: Session, settings: Settings, job: records.Job, say: Say) -> Any:
    """Validate a large uploaded survey batch against the registry (its upload only staged
    it); the uploader is the one who validates, as the upload would have."""
    batch = surveys.validate_batch(session, actor=_actor(job), batch_id=job.params["batch_id"],
                                   settings=settings, progress=lambda step: say(step))
    return {"batch_id": batch["id"], "state": batch["state"], "matches": batch["matches"],
            "findings": batch["findings"], "href": f"/api/v1/surveys/{batch['id']}"}


KINDS: dict[str, Work] = {"ward_audit": ward_audit, "impact": impact,
                          "verify_backlog": verify_backlog,
                          "survey_validation": survey_validation}


# ------------------------------------------------------------------------ the queue


def queue_conninfo(settings: Settings) -> str:
    return make_conninfo("", **libpq_params(database_url(settings.db)),
                         application_name=f"{settings.db.application_name}-jobs")


@lru_cache(maxsize=8)
def _queue(conninfo: str) -> procrastinate.App:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))
    app.task(name=TASK, pass_context=False, retry=RETRY)(_run_job_task)
    return app


def queue(settings: Settings) -> procrastinate.App:
    """The procrastinate app of this database (one per process and database)."""
    return _queue(queue_conninfo(settings))


def submit(session: Session, *, settings: Settings, actor: Actor, kind: str,
           params: dict[str, Any]) -> records.Job:
    """Record a job and queue it, both in the caller's transaction."""
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    job_id = records.create(session, actor=actor, kind=kind, params=params)
    raw = session.connection().connection.driver_connection
    task = queue(settings).tasks[TASK]
    queue_id = task.configure(connection=raw).defer(job_id=job_id, database=settings.db.database)
    records.set_queue_id(session, job_id, queue_id)
    return records.get(session, job_id=job_id)


def stage_survey(session: Session, *, settings: Settings, actor: Actor, stream: BinaryIO,
                 filename: str | None, options: surveys.UploadOptions
                 ) -> tuple[surveys.Staged, records.Job | None]:
    """Stage an uploaded survey file (the API's upload and the pages' form alike) and
    commit: a batch of more than ``CADASTRE_INTAKE_VALIDATE_INLINE_UP_TO`` features stays
    ``received`` and is validated by the ``survey_validation`` job returned with it.

    No ``session.begin()`` around it: :func:`parcels.surveys.stage_upload` ends its read
    transaction before the file is read (no pooled connection held meanwhile) and writes in
    a second one, committed here together with the job."""
    staged = surveys.stage_upload(session, actor=actor, stream=stream, filename=filename,
                                  options=options, settings=settings,
                                  validate_up_to=settings.intake.validate_inline_up_to)
    job = None
    if staged.created and staged.batch["state"] == "received":
        job = submit(session, settings=settings, actor=actor, kind="survey_validation",
                     params={"batch_id": staged.batch["id"]})
    session.commit()
    return staged, job


_worker_settings: dict[str, Settings] = {}
"""The worker process's settings, by database name (set by :func:`run_worker`)."""


@lru_cache(maxsize=8)
def _engine(database: str) -> Engine:
    return make_engine(_worker_settings[database].db)


def _run_job_task(job_id: int, database: str) -> None:
    settings = _worker_settings.get(database)
    if settings is None:
        raise RuntimeError(f"this worker does not serve database {database!r}")
    run_job(settings, _engine(database), job_id)


def run_job(settings: Settings, engine: Engine, job_id: int) -> None:
    """Do one job, once (see the module's docstring)."""
    job = records.start(engine, job_id)
    if job is None:
        log.info("job %s is already done; nothing to do", job_id)
        return
    work = KINDS[job.kind]

    def say(step: str, done: int | None = None, total: int | None = None) -> None:
        records.progress(engine, job_id, step, done, total)

    try:
        with transaction(engine) as session:
            if not records.lock(session, job_id):
                return
            result = work(session, settings, job, say)
            records.finish(session, job_id, result)
    except DomainError as exc:
        records.fail(engine, job_id, {"type": f"/problems/{exc.code}", "title": exc.title,
                                      "detail": exc.detail, **exc.extra})
    except (OperationalError, psycopg.OperationalError) as exc:
        # The database went away: nothing was written; the queue tries again later.
        log.warning("job %s: database unavailable (%s); it will be tried again", job_id,
                    str(exc).splitlines()[0][:200])
        with contextlib.suppress(OperationalError, psycopg.OperationalError):
            records.fail(engine, job_id, {"type": "/problems/database_unavailable",
                                          "detail": "the database was unreachable; the job "
                                          "will be tried again"}, final=False)
        raise
    except Exception:
        log.exception("job %s (%s) failed", job_id, job.kind)
        records.fail(engine, job_id, {"type": "/problems/internal_error",
                                      "detail": f"the job failed unexpectedly; quote job "
                                      f"{job_id} to the administrator"})


# ------------------------------------------------------------------------ the worker


async def _retry_stalled(app: procrastinate.App, settings: Settings) -> None:
    """Give the jobs of dead workers (no heartbeat for ``stalled_seconds``) to the living."""
    every = max(0.5, settings.jobs.stalled_seconds / 3)
    while True:
        try:
            for job in await app.job_manager.get_stalled_jobs(
                    seconds_since_heartbeat=settings.jobs.stalled_seconds):
                log.warning("job %s was left by a worker that stopped; taking it again",
                            job.id)
                await app.job_manager.retry_job(job)
        except Exception as exc:  # the database restarting: look again next round
            log.warning("could not look for stalled jobs: %s", exc)
        await asyncio.sleep(every)


async def run_worker(settings: Settings, *, concurrency: int | None = None) -> None:
    """Run jobs until stopped (SIGINT/SIGTERM finish the jobs in hand, then stop)."""
    _worker_settings[settings.db.database] = settings
    app = queue(settings)
    async with app.open_async():
        watcher = asyncio.create_task(_retry_stalled(app, settings))
        try:
            await app.run_worker_async(
                concurrency=concurrency or settings.jobs.concurrency,
                update_heartbeat_interval=settings.jobs.heartbeat_seconds,
                stalled_worker_timeout=settings.jobs.stalled_seconds,
                name=f"cadastre-worker-{settings.db.database}")
        finally:
            watcher.cancel()

"""Long work as jobs: procrastinate's queue and our record of each job.

Revision ID: 0016_jobs
Revises: 0015_audit_chain
Create Date: 2026-12-06

The queue is procrastinate's own schema (tables ``procrastinate_*``, functions and
triggers that NOTIFY waiting workers), installed from the package pinned in
requirements.lock, so no second server is needed.  A new procrastinate release may bring
migrations of its own (``procrastinate schema --migrations-path``): they become revisions
here when the pin moves.

``job`` is what a user sees of a job: its kind and parameters, who asked, its state
(queued → running → succeeded | failed), its progress and its result or error.  A job's
work and its ``succeeded`` mark commit in one transaction (api/jobs.py), so a job run again
after a crash either finds it done or finds nothing of it written.
"""

from alembic import op

revision = "0016_jobs"
down_revision = "0015_audit_chain"
branch_labels = None
depends_on = None

JOB = """
CREATE TABLE job (
    id              bigserial PRIMARY KEY,
    ward_code       text NOT NULL,
    kind            text NOT NULL,
    params          jsonb NOT NULL DEFAULT '{}'::jsonb,
    requested_by    text NOT NULL,
    requested_role  text,
    state           text NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    progress        jsonb NOT NULL DEFAULT '{}'::jsonb,
    result          jsonb,
    error           jsonb,
    attempts        integer NOT NULL DEFAULT 0,
    queue_job_id    bigint,
    created_at      timestamptz NOT NULL,
    started_at      timestamptz,
    finished_at     timestamptz
);
CREATE INDEX ix_job_ward_created ON job (ward_code, created_at);
"""


def upgrade() -> None:
    from procrastinate.schema import SchemaManager

    # psycopg reads % as a placeholder even without parameters: doubled, as procrastinate
    # itself applies its schema.
    op.get_bind().exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))
    op.execute(JOB)


def downgrade() -> None:
    op.execute("DROP TABLE job")
    op.execute("DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, "
               "procrastinate_jobs, procrastinate_workers CASCADE")
    op.execute("DROP TYPE IF EXISTS procrastinate_job_event_type, procrastinate_job_status "
               "CASCADE")

"""Failed sign-ins, shared by every worker of the service.

Revision ID: 0006_sign_in_failures
Revises: 0005_version_close_check
Create Date: 2026-11-27

The sign-in throttle counted failures in each process's memory, so N workers
allowed N times the attempts.  Counting them here makes the limit one limit.
Rows are working state, not history: they are deleted once outside the window
or when the user signs in.
"""

from alembic import op

revision = "0006_sign_in_failures"
down_revision = "0005_version_close_check"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE sign_in_failure (
    id   bigserial PRIMARY KEY,
    key  text NOT NULL CHECK (key ~ '^(user|addr):'),
    at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX ix_sign_in_failure_key ON sign_in_failure (key, at);
CREATE INDEX ix_sign_in_failure_at ON sign_in_failure (at);
""")


def downgrade() -> None:
    op.execute("DROP TABLE sign_in_failure")

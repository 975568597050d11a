"""A user's page preferences: the language of the web pages, remembered per user.

Revision ID: 0017_user_preference
Revises: 0016_jobs
Create Date: 2026-12-02

Pages are in Vietnamese unless the user switched to English; the choice follows the
user from one office PC to another (a cookie would stay on one browser).  A table of
its own rather than a column of ``app_user``: a change of preference is not a change
of the account, so it must not wake every worker's user cache (0004's trigger).
"""

from alembic import op

revision = "0017_user_preference"
down_revision = "0016_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE user_preference (
    user_id     bigint PRIMARY KEY REFERENCES app_user(id),
    language    text NOT NULL DEFAULT 'vi' CHECK (language IN ('vi', 'en')),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
""")


def downgrade() -> None:
    op.execute("DROP TABLE user_preference")

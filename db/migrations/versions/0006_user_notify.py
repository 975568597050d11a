"""Tell the service's workers when a user account changes.

Revision ID: 0004_user_notify
Revises: 0003_app_role
Create Date: 2026-11-27

Workers remember who is behind a token (api/user_cache.py) and must hear of
every committed change to ``app_user``, whatever makes it (the CLI, another
worker, psql): a trigger sends the user id on channel ``cadastre_app_user``
(``*`` for a TRUNCATE).  PostgreSQL delivers notifications only on commit, so a
rolled-back change is never announced.
"""

from alembic import op

revision = "0004_user_notify"
down_revision = "0003_app_role"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE FUNCTION app_user_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('cadastre_app_user', '*');
    ELSE
        PERFORM pg_notify('cadastre_app_user', OLD.id::text);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER app_user_changed AFTER UPDATE OR DELETE ON app_user
    FOR EACH ROW EXECUTE FUNCTION app_user_notify();
CREATE TRIGGER app_user_truncated AFTER TRUNCATE ON app_user
    FOR EACH STATEMENT EXECUTE FUNCTION app_user_notify();
""")


def downgrade() -> None:
    op.execute("DROP TRIGGER app_user_truncated ON app_user; "
               "DROP TRIGGER app_user_changed ON app_user; DROP FUNCTION app_user_notify();")

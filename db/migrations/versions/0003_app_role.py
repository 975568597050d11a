"""The database role the service runs as: it cannot change or delete history.

Revision ID: 0003_app_role
Revises: 0002_zones_projects
Create Date: 2026-11-27

The service connects with the owner's credentials and switches to
``cadastre_app`` on every connection (``SET ROLE``, see db/engine.py), so a bug
or an injected statement runs without UPDATE or DELETE on the audit table and
without DELETE on registered data; the triggers of 0001 stay as a second guard.
Tables created by later migrations get the default privileges below; each
migration revokes what its own history tables must not allow.  Where the
server does not let us create roles (a managed PostGIS), the migration does
nothing and the service runs as the connecting user.
"""

from alembic import op

revision = "0003_app_role"
down_revision = "0002_zones_projects"
branch_labels = None
depends_on = None

APP_ROLE = "cadastre_app"
HISTORY_TABLES = ("parcel", "parcel_version", "parcel_lineage", "parcel_right", "party",
                  "source_document", "ward", "former_unit", "map_sheet", "zone", "project",
                  "project_segment")


def upgrade() -> None:
    op.execute(f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        BEGIN
            CREATE ROLE {APP_ROLE} NOLOGIN;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'cannot create role {APP_ROLE}: the service runs as the connecting user';
            RETURN;
        END;
    END IF;
    EXECUTE 'GRANT {APP_ROLE} TO ' || quote_ident(current_user);
    EXECUTE 'GRANT USAGE ON SCHEMA public TO {APP_ROLE}';
    EXECUTE 'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}';
    EXECUTE 'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}';
    EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA public '
            'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}';
    EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA public '
            'GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}';
    EXECUTE 'REVOKE UPDATE, DELETE, TRUNCATE ON audit_event FROM {APP_ROLE}';
    EXECUTE 'REVOKE DELETE, TRUNCATE ON {", ".join(HISTORY_TABLES)} FROM {APP_ROLE}';
    EXECUTE 'REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON spatial_ref_sys, alembic_version '
            'FROM {APP_ROLE}';
END $$;
""")


def downgrade() -> None:
    op.execute(f"""
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        EXECUTE 'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE}';
        EXECUTE 'REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE}';
        EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {APP_ROLE}';
        EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {APP_ROLE}';
    END IF;
END $$;
""")

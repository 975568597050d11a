"""Check that an UPDATE only closes a parcel version without rendering it as JSON.

Revision ID: 0005_version_close_check
Revises: 0004_user_notify
Create Date: 2026-11-27

``cadastre_version_close_only`` compared ``to_jsonb(NEW)`` with ``to_jsonb(OLD)``,
which renders both geometries as GeoJSON for every closed version: 1.5 s of the
3.7 s it took a survey commit to close 10,000 versions.  The same rule now
compares the rows' binary images (``*=``, every column, the geometry byte for
byte) after copying the two columns that may differ, ``valid_to`` and the
generated ``measured_area`` (NULL in NEW of a BEFORE trigger), into NEW's copy.
A column added later is covered without touching the function, as before.
"""

from alembic import op

revision = "0005_version_close_check"
down_revision = "0004_user_notify"
branch_labels = None
depends_on = None

CHEAP = """
CREATE OR REPLACE FUNCTION cadastre_version_close_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    same parcel_version;
BEGIN
    same := NEW;
    same.valid_to := OLD.valid_to;
    same.measured_area := OLD.measured_area;
    IF OLD.valid_to IS NOT NULL OR NEW.valid_to IS NULL OR NOT (same *= OLD) THEN
        RAISE EXCEPTION 'parcel versions are immutable; only closing a current version is allowed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
"""

JSONB = """
CREATE OR REPLACE FUNCTION cadastre_version_close_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.valid_to IS NOT NULL OR NEW.valid_to IS NULL
       OR (to_jsonb(NEW) - 'valid_to' - 'measured_area')
          <> (to_jsonb(OLD) - 'valid_to' - 'measured_area') THEN
        RAISE EXCEPTION 'parcel versions are immutable; only closing a current version is allowed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
"""


def upgrade() -> None:
    op.execute(CHEAP)


def downgrade() -> None:
    op.execute(JSONB)

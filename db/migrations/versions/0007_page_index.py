"""An index that pages through the current parcels without touching the table.

Revision ID: 0004_page_index
Revises: 0004_user_notify
Create Date: 2026-11-27

Listing pages (the API's ``offset``, OGC API items) order the ward's current
parcels by id; with the version id included, the page's ids come from an
index-only scan and only the page's own rows are read (a deep page was 50 ms,
most of it encoding geometries of the rows it skipped).
"""

from alembic import op

revision = "0004_page_index"
down_revision = "0004_user_notify"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_parcel_version_current_order ON parcel_version "
               "(ward_code, parcel_id) INCLUDE (id) "
               "WHERE valid_to IS NULL AND status = 'registered'")


def downgrade() -> None:
    op.execute("DROP INDEX ix_parcel_version_current_order")

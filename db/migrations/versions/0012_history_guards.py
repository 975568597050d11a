"""History guards that hold for the owner too; one head again.

Revision ID: 0009_history_guards
Revises: 0003_certificates, 0004_page_index, 0008_ward_pieces
Create Date: 2026-12-04

The service runs as ``cadastre_app`` (0003_app_role), which has no DELETE or TRUNCATE
on history; but whoever holds the owner's credentials (migrations, set-up, a console)
was stopped only by the row triggers of 0001 and 0003_certificates.  Those left two
ways to erase history:

- DELETE of use rights, parties and source documents, which had no trigger;
- TRUNCATE, which fires no row trigger at all: ``TRUNCATE audit_event`` emptied the
  audit trail without a word.

This revision adds a row trigger refusing DELETE on ``parcel_right``, ``party`` and
``source_document``, and a statement trigger refusing TRUNCATE on every table whose
rows may never be deleted (a ``TRUNCATE … CASCADE`` reaching one of them fails too).
Both call ``cadastre_forbid_change()`` of 0001, which names the table in its error.

It is also the merge point of the three branches the migrations had grown (certificates,
page index, ward pieces), so ``alembic heads`` shows one head.
"""

from alembic import op

revision = "0009_history_guards"
down_revision = ("0003_certificates", "0004_page_index", "0008_ward_pieces")
branch_labels = None
depends_on = None

NO_DELETE = ("parcel_right", "party", "source_document")
"""History tables whose rows had no DELETE trigger."""
NO_TRUNCATE = ("audit_event", "parcel", "parcel_version", "parcel_lineage", "parcel_right",
               "party", "source_document", "application", "application_event",
               "verification_report")
"""Every table whose rows may never be deleted."""


def upgrade() -> None:
    for table in NO_DELETE:
        op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION cadastre_forbid_change()")
    for table in NO_TRUNCATE:
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION cadastre_forbid_change()")


def downgrade() -> None:
    for table in NO_TRUNCATE:
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
    for table in NO_DELETE:
        op.execute(f"DROP TRIGGER {table}_no_delete ON {table}")

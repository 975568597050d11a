"""A survey batch is the file as the uploader asked it to be read.

Revision ID: 0007_upload_options
Revises: 0006_sign_in_failures, 0003_surveys
Create Date: 2026-11-27

The same bytes uploaded twice returned the existing batch even when the second
upload named another CRS, layer, attribute mapping, former unit or axis order —
exactly what a surveyor does after the first batch showed a CRS mistake.  The
batch's identity is now the file and those options (``options_key``, a digest
of them).  Batches staged before this migration keep an empty key: a re-upload
of such a file makes a new batch.
"""

from alembic import op

revision = "0007_upload_options"
down_revision = ("0006_sign_in_failures", "0003_surveys")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
ALTER TABLE survey_batch ADD COLUMN options_key text NOT NULL DEFAULT '';
ALTER TABLE survey_batch DROP CONSTRAINT uq_survey_batch_file;
ALTER TABLE survey_batch ADD CONSTRAINT uq_survey_batch_file
    UNIQUE (ward_code, sha256, options_key);
""")


def downgrade() -> None:
    op.execute("""
ALTER TABLE survey_batch DROP CONSTRAINT uq_survey_batch_file;
ALTER TABLE survey_batch ADD CONSTRAINT uq_survey_batch_file UNIQUE (ward_code, sha256);
ALTER TABLE survey_batch DROP COLUMN options_key;
""")

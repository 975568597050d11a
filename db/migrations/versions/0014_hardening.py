"""Hardening after the outside penetration test (issue 20).

Revision ID: 0014_hardening
Revises: 0010_projects_corridors
Create Date: 2026-12-04

- ``sign_in_failure`` keys may also be ``pair:<address>|<username>`` (the throttle that
  stops one address guessing one account without locking the account for everyone) and
  ``throttled:<address>`` (so a throttled address is audited once per window, not once
  per refused attempt); every key is at most 200 characters (usernames are capped at 64
  before any database work, so no key can reach the b-tree's row limit again).
- ``survey_batch``'s identity includes who uploaded it: a surveyor's upload of bytes
  another surveyor sent before is a batch of their own, so the answer tells them nothing
  about the other's work.
- ``audit_event.client_request_id``: the ``X-Request-ID`` a client sent, kept apart from
  ``request_id``, which the server makes.
"""

from alembic import op

revision = "0014_hardening"
down_revision = "0010_projects_corridors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
ALTER TABLE sign_in_failure DROP CONSTRAINT IF EXISTS sign_in_failure_key_check;
DELETE FROM sign_in_failure WHERE length(key) > 200;
ALTER TABLE sign_in_failure ADD CONSTRAINT sign_in_failure_key_check
    CHECK (key ~ '^(user|addr|pair|throttled):' AND length(key) <= 200);

ALTER TABLE survey_batch DROP CONSTRAINT uq_survey_batch_file;
ALTER TABLE survey_batch ADD CONSTRAINT uq_survey_batch_file
    UNIQUE (ward_code, uploaded_by, sha256, options_key);

ALTER TABLE audit_event ADD COLUMN client_request_id text
    CHECK (length(client_request_id) <= 64);
""")


def downgrade() -> None:
    op.execute("""
ALTER TABLE audit_event DROP COLUMN client_request_id;
ALTER TABLE survey_batch DROP CONSTRAINT uq_survey_batch_file;
ALTER TABLE survey_batch ADD CONSTRAINT uq_survey_batch_file
    UNIQUE (ward_code, sha256, options_key);
DELETE FROM sign_in_failure WHERE key !~ '^(user|addr):';
ALTER TABLE sign_in_failure DROP CONSTRAINT sign_in_failure_key_check;
ALTER TABLE sign_in_failure ADD CONSTRAINT sign_in_failure_key_check
    CHECK (key ~ '^(user|addr):');
""")

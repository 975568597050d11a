"""How an officer settled a survey finding, and what each re-measured parcel changed.

Revision ID: 0019_finding_resolutions
Revises: 0018_access_tokens
Create Date: 2026-12-20

An override used to be the only way past an error finding, and overriding an overlap with
a registered neighbour put that overlap into the registry.  A finding is now settled in
one of three ways (``resolution``): ``override`` (accepted as it is, for errors that
leave the registry a clean coverage), ``amend_neighbour`` (the commit gives the
neighbour the surveyed boundary in the same act) or ``dispute`` (a dispute is entered on
both parcels, ``dispute_id``, and the batch waits).  Earlier overrides are ``override``.

``survey_feature.change`` holds what a re-measurement changes in the parcel it matches
(largest vertex displacement, area before and after, edges changed, neighbours touched),
written at validation so the surveyor sees it before the findings.
"""

from alembic import op

revision = "0019_finding_resolutions"
down_revision = "0018_access_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
ALTER TABLE survey_finding ADD COLUMN resolution text
    CHECK (resolution IN ('override', 'amend_neighbour', 'dispute'));
ALTER TABLE survey_finding ADD COLUMN dispute_id bigint REFERENCES dispute(id);
UPDATE survey_finding SET resolution = 'override' WHERE override_by IS NOT NULL;
ALTER TABLE survey_finding ADD CONSTRAINT ck_survey_finding_resolution CHECK (
    (resolution IS NULL) = (override_by IS NULL)
    AND coalesce(resolution = 'dispute', false) = (dispute_id IS NOT NULL));
ALTER TABLE survey_finding DROP CONSTRAINT ck_survey_finding_override_allowed;
ALTER TABLE survey_finding ADD CONSTRAINT ck_survey_finding_override_allowed CHECK (
    override_by IS NULL OR (severity = 'error' AND (overridable OR resolution <> 'override')));
ALTER TABLE survey_feature ADD COLUMN change jsonb;
""")


def downgrade() -> None:
    op.execute("""
ALTER TABLE survey_feature DROP COLUMN change;
ALTER TABLE survey_finding DROP CONSTRAINT ck_survey_finding_override_allowed;
ALTER TABLE survey_finding DROP CONSTRAINT ck_survey_finding_resolution;
ALTER TABLE survey_finding DROP COLUMN dispute_id;
ALTER TABLE survey_finding DROP COLUMN resolution;
ALTER TABLE survey_finding ADD CONSTRAINT ck_survey_finding_override_allowed CHECK (
    override_by IS NULL OR (overridable AND severity = 'error'));
""")

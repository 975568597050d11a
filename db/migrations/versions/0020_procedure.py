"""The first-certificate procedure as the law runs it; certificates' fields; the inherited backlog.

Revision ID: 0020_procedure
Revises: 0019_finding_resolutions
Create Date: 2026-12-20

- ``application.state`` gains the ward's steps: the survey extract ordered from a licensed
  surveyor (``survey_extract``), the clock stopped for an excluded period
  (``clock_stopped``), the public posting (``posting``) and its close (``posted``), the
  eligibility decision (``eligible``), the tax information sent and the financial
  obligations (``financial_obligations``) and their fulfilment (``obligations_met``).  The
  pending-claims index follows the new pending states.
- ``application.returned_at``: when the result went back to the applicant (the certificate
  handed over, or the refusal); the on-time rate is measured then.
- the inherited backlog: ``origin`` (``desk`` or ``inherited``), ``inherited_from`` (the
  former unit that received it), the old receipt number and date.
- ``application.co_applicants``: the other holders named on the file (a spouse), who are
  named on the certificate too.
- ``parcel_right`` gains the certificate's fields: serial (số phát hành), register number
  (số vào sổ cấp GCN), term of use, origin of use, form of use (riêng / chung).
- ``zone.planned_uses``: the land uses a planning zone allows (plan conformity).
"""

from alembic import op

revision = "0020_procedure"
down_revision = "0019_finding_resolutions"
branch_labels = None
depends_on = None

PENDING = ("'received', 'verifying', 'survey_extract', 'field_check', 'waiting_applicant', "
           "'clock_stopped', 'posting', 'posted', 'eligible', 'financial_obligations', "
           "'obligations_met'")
OLD_PENDING = "'received', 'verifying', 'field_check', 'waiting_applicant'"
LAND_USE = "'^[A-Z]{3}(\\+[A-Z]{3})*$'"

UP = f"""
ALTER TABLE application DROP CONSTRAINT application_state_check;
ALTER TABLE application ADD CONSTRAINT application_state_check CHECK (state IN ({PENDING},
    'approved', 'rejected', 'certificate_issued'));
ALTER TABLE application
    ADD COLUMN returned_at timestamptz,
    ADD COLUMN origin text NOT NULL DEFAULT 'desk' CHECK (origin IN ('desk', 'inherited')),
    ADD COLUMN inherited_from text,
    ADD COLUMN old_receipt_no text,
    ADD COLUMN old_received_on date,
    ADD COLUMN co_applicants jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD CONSTRAINT ck_application_inherited CHECK (origin = 'inherited'
        OR (inherited_from IS NULL AND old_receipt_no IS NULL AND old_received_on IS NULL));
UPDATE application SET returned_at = coalesce(certificate_issued_at, decided_at)
    WHERE state IN ('rejected', 'certificate_issued');
DROP INDEX ix_application_geom;
CREATE INDEX ix_application_geom ON application USING gist (geom)
    WHERE geom_valid AND state IN ({PENDING});
CREATE INDEX ix_application_origin ON application (ward_code, origin, received_on);

ALTER TABLE parcel_right
    ADD COLUMN serial text,
    ADD COLUMN register_no text,
    ADD COLUMN term_of_use text,
    ADD COLUMN use_origin text,
    ADD COLUMN use_form text CHECK (use_form IS NULL OR use_form IN ('rieng', 'chung'));
CREATE INDEX ix_parcel_right_register ON parcel_right (ward_code, register_no)
    WHERE register_no IS NOT NULL;

ALTER TABLE zone ADD COLUMN planned_uses text[] CHECK (planned_uses IS NULL
    OR array_to_string(planned_uses, '+') ~ {LAND_USE});
"""

DOWN = f"""
ALTER TABLE zone DROP COLUMN planned_uses;
DROP INDEX ix_parcel_right_register;
ALTER TABLE parcel_right DROP COLUMN serial, DROP COLUMN register_no, DROP COLUMN term_of_use,
    DROP COLUMN use_origin, DROP COLUMN use_form;
DROP INDEX ix_application_origin;
DROP INDEX ix_application_geom;
CREATE INDEX ix_application_geom ON application USING gist (geom)
    WHERE geom_valid AND state IN ({OLD_PENDING});
ALTER TABLE application DROP CONSTRAINT ck_application_inherited,
    DROP COLUMN returned_at, DROP COLUMN origin, DROP COLUMN inherited_from,
    DROP COLUMN old_receipt_no, DROP COLUMN old_received_on, DROP COLUMN co_applicants;
ALTER TABLE application DROP CONSTRAINT application_state_check;
ALTER TABLE application ADD CONSTRAINT application_state_check CHECK (state IN ({OLD_PENDING},
    'approved', 'rejected', 'certificate_issued'));
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)

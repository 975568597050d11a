"""First-time certificate applications, their state history, verification reports, disputes.

Revision ID: 0003_certificates
Revises: 0002_zones_projects
Create Date: 2026-11-27

An application's claimed geometry is stored as it was claimed (no validity check
constraint) so that an invalid claim can be reported on; ``geom_valid`` says whether
the spatial index and the neighbour checks may use it.  Reports and state events are
insert-only, like the audit trail.  ``demo_application_truth`` holds the synthetic demo's
ground truth (expected rule and verdict) beside, never inside, the applications.
"""

from alembic import op

revision = "0003_certificates"
down_revision = "0002_zones_projects"
branch_labels = None
depends_on = None

PENDING = "'received', 'verifying', 'field_check', 'waiting_applicant'"

SCHEMA = f"""
CREATE TABLE application (
    id                  bigserial PRIMARY KEY,
    ward_code           text NOT NULL REFERENCES ward(code),
    application_key     text,
    procedure           text NOT NULL CHECK (procedure IN ('first_certificate', 'transfer',
                            'split_merge', 'correction', 'exchange', 'reissue')),
    applicant_party_id  bigint REFERENCES party(id),
    applicant_name      text NOT NULL CHECK (length(applicant_name) > 0),
    applicant_id_number text,
    applicant_address   text,
    channel             text NOT NULL CHECK (channel IN ('online', 'counter')),
    received_at         timestamptz NOT NULL,
    received_on         date NOT NULL,
    due_on              date NOT NULL,
    paused_days         integer NOT NULL DEFAULT 0 CHECK (paused_days >= 0),
    waiting_since       timestamptz,
    resume_state        text,
    state               text NOT NULL CHECK (state IN ({PENDING}, 'approved', 'rejected',
                            'certificate_issued')),
    state_changed_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    declared_area       numeric(14, 1) CHECK (declared_area IS NULL OR declared_area > 0),
    declared_land_use   text CHECK (declared_land_use IS NULL
                            OR declared_land_use ~ '^[A-Z]{{3}}(\\+[A-Z]{{3}})*$'),
    former_unit         text,
    sheet_no            integer CHECK (sheet_no IS NULL OR sheet_no > 0),
    parcel_no           integer CHECK (parcel_no IS NULL OR parcel_no > 0),
    parcel_id           bigint REFERENCES parcel(id),
    geom                geometry(Geometry, 9214),
    geom_valid          boolean NOT NULL DEFAULT false,
    claimed_srid        integer,
    survey_batch_id     bigint,
    documents           jsonb NOT NULL DEFAULT '[]'::jsonb,
    field_check         jsonb,
    decided_at          timestamptz,
    decision_reason     text,
    certificate_no      text,
    certificate_issued_at timestamptz,
    created_by          text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT uq_application_key UNIQUE (ward_code, application_key),
    CONSTRAINT ck_application_geom_srid CHECK (geom IS NULL OR ST_SRID(geom) = 9214)
);
CREATE INDEX ix_application_geom ON application USING gist (geom)
    WHERE geom_valid AND state IN ({PENDING});
CREATE INDEX ix_application_state ON application (ward_code, state, due_on);
CREATE INDEX ix_application_received ON application (ward_code, received_at);
CREATE INDEX ix_application_parcel ON application (parcel_id);

CREATE TABLE application_event (
    id              bigserial PRIMARY KEY,
    application_id  bigint NOT NULL REFERENCES application(id),
    ward_code       text NOT NULL,
    action          text NOT NULL,
    from_state      text,
    to_state        text NOT NULL,
    at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor           text NOT NULL,
    reason          text,
    detail          jsonb NOT NULL DEFAULT '{{}}'::jsonb
);
CREATE INDEX ix_application_event_app ON application_event (application_id, at);

CREATE TABLE verification_report (
    id                  bigserial PRIMARY KEY,
    application_id      bigint NOT NULL REFERENCES application(id),
    ward_code           text NOT NULL,
    purpose             text NOT NULL CHECK (purpose IN ('verify', 'field_check', 'approval')),
    verdict             text NOT NULL CHECK (verdict IN ('pass', 'review', 'fail')),
    registry_version    bigint NOT NULL,
    checked_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by          text NOT NULL,
    settings_version    text NOT NULL,
    measured_area       double precision,
    declared_area       numeric(14, 1),
    subject_parcel_id   bigint,
    counts              jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    findings            jsonb NOT NULL DEFAULT '[]'::jsonb,
    geom                geometry(Geometry, 9214),
    elapsed_ms          double precision
);
CREATE INDEX ix_verification_report_app ON verification_report (application_id, id);

CREATE TABLE dispute (
    id              bigserial PRIMARY KEY,
    ward_code       text NOT NULL REFERENCES ward(code),
    parcel_ids      bigint[] NOT NULL CHECK (cardinality(parcel_ids) > 0),
    claimant        text NOT NULL,
    respondent      text,
    description     text NOT NULL,
    opened_on       date NOT NULL,
    state           text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'mediation',
                        'resolved', 'withdrawn')),
    closed_on       date,
    recorded_by     text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT ck_dispute_closed CHECK ((state IN ('open', 'mediation')) = (closed_on IS NULL))
);
CREATE INDEX ix_dispute_parcels ON dispute USING gin (parcel_ids)
    WHERE state IN ('open', 'mediation');

CREATE TABLE demo_application_truth (
    application_id      bigint PRIMARY KEY REFERENCES application(id),
    cohort              text NOT NULL,
    parcel_key          text,
    expected_rule       text,
    expected_verdict    text,
    defect              text
);

CREATE TRIGGER verification_report_immutable BEFORE UPDATE OR DELETE ON verification_report
    FOR EACH ROW EXECUTE FUNCTION cadastre_forbid_change();
CREATE TRIGGER application_event_immutable BEFORE UPDATE OR DELETE ON application_event
    FOR EACH ROW EXECUTE FUNCTION cadastre_forbid_change();
CREATE TRIGGER application_no_delete BEFORE DELETE ON application
    FOR EACH ROW EXECUTE FUNCTION cadastre_forbid_change();
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS demo_application_truth, dispute, verification_report, "
               "application_event, application CASCADE")

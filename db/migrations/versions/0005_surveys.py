"""Survey intake: uploaded batches, their staged features and validation findings.

Revision ID: 0003_surveys
Revises: 0002_zones_projects
Create Date: 2026-11-27

Staging is not the registry: a batch's features may be invalid shapes (that is
what validation reports), so their column is ``geometry(Geometry, 9214)``
without a validity check.  Features and findings are replaced when a batch is
validated again; the batch row itself only moves forward through its states
(a trigger refuses going back from committed or rejected).  The same file
(SHA-256) is one batch per ward.
"""

from alembic import op

revision = "0003_surveys"
down_revision = "0002_zones_projects"
branch_labels = None
depends_on = None

SCHEMA = """
CREATE TABLE survey_batch (
    id                  bigserial PRIMARY KEY,
    ward_code           text NOT NULL REFERENCES ward(code),
    uploaded_by         text NOT NULL,
    uploaded_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    file_name           text NOT NULL,
    sha256              text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes          bigint NOT NULL CHECK (size_bytes > 0),
    format              text NOT NULL,
    layer               text,
    source_crs          integer NOT NULL,
    crs_override        integer,
    swap_axes           boolean NOT NULL DEFAULT false,
    former_unit         text,
    mapping             jsonb NOT NULL DEFAULT '{}'::jsonb,
    feature_count       integer NOT NULL CHECK (feature_count >= 0),
    state               text NOT NULL DEFAULT 'received'
                            CHECK (state IN ('received', 'validated', 'committed', 'rejected')),
    warnings            jsonb NOT NULL DEFAULT '[]'::jsonb,
    extent              geometry(Polygon, 9214),
    validated_at        timestamptz,
    ruleset_version     text,
    registry_stamp      text,
    summary             jsonb NOT NULL DEFAULT '{}'::jsonb,
    decided_by          text,
    decided_at          timestamptz,
    decision_reason     text,
    source_document_id  bigint REFERENCES source_document(id),
    CONSTRAINT uq_survey_batch_file UNIQUE (ward_code, sha256),
    CONSTRAINT ck_survey_batch_decision CHECK (
        (state IN ('committed', 'rejected')) = (decided_by IS NOT NULL AND decided_at IS NOT NULL)),
    CONSTRAINT ck_survey_batch_committed_source CHECK (
        state <> 'committed' OR source_document_id IS NOT NULL)
);
CREATE INDEX ix_survey_batch_uploader ON survey_batch (ward_code, uploaded_by, uploaded_at);
CREATE INDEX ix_survey_batch_state ON survey_batch (ward_code, state, uploaded_at);

CREATE TABLE survey_feature (
    batch_id            bigint NOT NULL REFERENCES survey_batch(id),
    ward_code           text NOT NULL,
    idx                 integer NOT NULL CHECK (idx >= 0),
    source_index        integer NOT NULL,
    source_layer        text,
    geom                geometry(Geometry, 9214) NOT NULL,
    former_unit         text,
    sheet_no            text,
    parcel_no           text,
    land_use            text,
    declared_area       double precision,
    attributes          jsonb NOT NULL DEFAULT '{}'::jsonb,
    unit_code           text,
    sheet               integer,
    number              integer,
    match               text CHECK (match IN ('new', 'new_version', 'conflict')),
    matched_parcel_id   bigint REFERENCES parcel(id),
    matched_by          text CHECK (matched_by IN ('number', 'position')),
    conflict_parcel_ids bigint[] NOT NULL DEFAULT '{}',
    committed_parcel_id bigint REFERENCES parcel(id),
    PRIMARY KEY (batch_id, idx)
);
CREATE INDEX ix_survey_feature_geom ON survey_feature USING gist (geom);

CREATE TABLE survey_finding (
    id                  bigserial PRIMARY KEY,
    batch_id            bigint NOT NULL REFERENCES survey_batch(id),
    ward_code           text NOT NULL,
    rule                text NOT NULL,
    rule_version        integer NOT NULL,
    severity            text NOT NULL CHECK (severity IN ('error', 'warning', 'info')),
    band                text CHECK (band IN ('noise', 'review', 'conflict')),
    feature_idx         integer[] NOT NULL,
    parcel_ids          bigint[] NOT NULL DEFAULT '{}',
    figures             jsonb NOT NULL DEFAULT '{}'::jsonb,
    tolerance           jsonb NOT NULL DEFAULT '{}'::jsonb,
    message_vi          text NOT NULL,
    message_en          text NOT NULL,
    geom                geometry(Geometry, 9214),
    fix                 jsonb,
    overridable         boolean NOT NULL DEFAULT true,
    override_reason     text,
    override_by         text,
    override_at         timestamptz,
    CONSTRAINT ck_survey_finding_override CHECK (
        (override_reason IS NULL) = (override_by IS NULL)
        AND (override_by IS NULL) = (override_at IS NULL)),
    CONSTRAINT ck_survey_finding_override_allowed CHECK (
        override_by IS NULL OR (overridable AND severity = 'error'))
);
CREATE INDEX ix_survey_finding_batch ON survey_finding (batch_id, severity, rule);

-- A decided batch is final: no way back to received/validated, no second decision.
CREATE FUNCTION cadastre_survey_batch_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state IN ('committed', 'rejected') THEN
        RAISE EXCEPTION 'survey batch % is % and cannot change', OLD.id, OLD.state
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER survey_batch_final BEFORE UPDATE ON survey_batch
    FOR EACH ROW EXECUTE FUNCTION cadastre_survey_batch_final();
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS survey_finding, survey_feature, survey_batch CASCADE")
    op.execute("DROP FUNCTION IF EXISTS cadastre_survey_batch_final() CASCADE")

"""Road projects: status, sections/phases, and corridors versioned like parcels.

Revision ID: 0010_projects_corridors
Revises: 0009_history_guards
Create Date: 2026-12-01

0002 created ``project`` (one red line) and ``project_segment`` (centreline segments with
a width per side).  This extends them rather than duplicating them:

- ``project`` gains a status and the alternative it has adopted;
- ``project_section`` holds a project's sections and phases (Ring Road 3's Nguyễn Hoàng
  section, a later phase);
- ``corridor_version`` is one version of one alternative's corridor: the union of its red
  lines and its safety band, kept for the spatial index and for reading a past version
  whole; a new version closes the current one (``valid_to``), as parcel versions do, and
  a trigger refuses any other change;
- ``project_segment`` rows become the elements of a corridor version: a centreline with
  planned widths per side, or a red-line polygon (the approved plan's authoritative form),
  with the section it belongs to, whether it gives road access (a bridge deck does not)
  and its safety-corridor width.  Elements are never changed or deleted.

Existing rows (a database loaded before this revision) get version 1 of alternative A.
"""

from alembic import op

revision = "0010_projects_corridors"
down_revision = "0009_history_guards"
branch_labels = None
depends_on = None

CODE = "'^[A-Z0-9][A-Z0-9_-]{0,31}$'"

SCHEMA = f"""
ALTER TABLE project
    ADD COLUMN status text NOT NULL DEFAULT 'planned' CHECK (status IN
        ('proposed', 'planned', 'approved', 'under_construction', 'completed', 'suspended',
         'cancelled')),
    ADD COLUMN adopted_alternative text NOT NULL DEFAULT 'A',
    ADD COLUMN created_by text;
COMMENT ON COLUMN project.redline IS
    'as loaded with the demo; the corridor in force is corridor_version (adopted alternative)';

CREATE TABLE project_section (
    ward_code    text NOT NULL,
    project_code text NOT NULL,
    code         text NOT NULL CHECK (code ~ {CODE}),
    name_vi      text NOT NULL CHECK (length(name_vi) > 0),
    name_en      text,
    phase        integer NOT NULL DEFAULT 1 CHECK (phase > 0),
    description  text,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (ward_code, project_code, code),
    FOREIGN KEY (ward_code, project_code) REFERENCES project(ward_code, code)
);

CREATE TABLE corridor_version (
    id              bigserial PRIMARY KEY,
    ward_code       text NOT NULL,
    project_code    text NOT NULL,
    alternative     text NOT NULL CHECK (alternative ~ {CODE}),
    version         integer NOT NULL CHECK (version > 0),
    label           text,
    redline         geometry(MultiPolygon, 9214) NOT NULL,
    safety          geometry(MultiPolygon, 9214),
    valid_from      timestamptz NOT NULL,
    valid_to        timestamptz,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    recorded_by     text NOT NULL,
    reason          text NOT NULL,
    source_document text,
    FOREIGN KEY (ward_code, project_code) REFERENCES project(ward_code, code),
    CONSTRAINT uq_corridor_version UNIQUE (ward_code, project_code, alternative, version),
    CONSTRAINT ck_corridor_version_redline CHECK (ST_IsValid(redline) AND NOT ST_IsEmpty(redline)),
    CONSTRAINT ck_corridor_version_period CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX uq_corridor_version_current ON corridor_version
    (ward_code, project_code, alternative) WHERE valid_to IS NULL;
CREATE INDEX ix_corridor_version_redline ON corridor_version USING gist (redline);

ALTER TABLE project_segment
    ADD COLUMN corridor_version_id bigint REFERENCES corridor_version(id),
    ADD COLUMN section_code text,
    ADD COLUMN gives_access boolean NOT NULL DEFAULT true,
    ADD COLUMN safety_m double precision CHECK (safety_m IS NULL OR safety_m >= 0),
    ADD COLUMN redline geometry(MultiPolygon, 9214),
    ADD COLUMN redline_width_m double precision
        CHECK (redline_width_m IS NULL OR redline_width_m > 0),
    ALTER COLUMN centreline DROP NOT NULL,
    DROP CONSTRAINT uq_project_segment;

INSERT INTO corridor_version (ward_code, project_code, alternative, version, label, redline,
                              valid_from, recorded_by, reason)
SELECT p.ward_code, p.code, 'A', 1, 'loaded before corridor versions',
       coalesce(p.redline, (SELECT ST_Multi(ST_CollectionExtract(ST_Union(
           ST_Buffer(s.centreline, greatest((s.left_width_m + s.right_width_m) / 2, 0.5),
                     'endcap=flat')), 3))
           FROM project_segment s WHERE s.ward_code = p.ward_code AND s.project_code = p.code)),
       p.created_at, 'migration 0010', 'corridor of a project recorded before versions'
FROM project p
WHERE p.redline IS NOT NULL OR EXISTS (SELECT 1 FROM project_segment s
    WHERE s.ward_code = p.ward_code AND s.project_code = p.code);
UPDATE project_segment s SET corridor_version_id = c.id FROM corridor_version c
    WHERE c.ward_code = s.ward_code AND c.project_code = s.project_code;

ALTER TABLE project_segment
    ALTER COLUMN corridor_version_id SET NOT NULL,
    ADD CONSTRAINT uq_project_segment_element UNIQUE (corridor_version_id, segment_no),
    ADD CONSTRAINT ck_project_segment_form CHECK ((centreline IS NULL) <> (redline IS NULL)),
    ADD CONSTRAINT ck_project_segment_width CHECK (centreline IS NULL
        OR left_width_m + right_width_m > 0);
CREATE INDEX ix_project_segment_version ON project_segment (corridor_version_id);

CREATE FUNCTION cadastre_corridor_close_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    same corridor_version;
BEGIN
    same := NEW;
    same.valid_to := OLD.valid_to;
    IF OLD.valid_to IS NOT NULL OR NEW.valid_to IS NULL OR NOT (same *= OLD) THEN
        RAISE EXCEPTION 'corridor versions are immutable; only closing a current version is allowed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER corridor_version_close_only BEFORE UPDATE ON corridor_version
    FOR EACH ROW EXECUTE FUNCTION cadastre_corridor_close_only();
CREATE TRIGGER corridor_version_no_delete BEFORE DELETE ON corridor_version
    FOR EACH ROW EXECUTE FUNCTION cadastre_forbid_change();
CREATE TRIGGER project_segment_immutable BEFORE UPDATE OR DELETE ON project_segment
    FOR EACH ROW EXECUTE FUNCTION cadastre_forbid_change();
CREATE TRIGGER project_section_no_delete BEFORE DELETE ON project_section
    FOR EACH ROW EXECUTE FUNCTION cadastre_forbid_change();

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'cadastre_app') THEN
        EXECUTE 'REVOKE DELETE, TRUNCATE ON corridor_version, project_section FROM cadastre_app';
        EXECUTE 'REVOKE UPDATE, DELETE, TRUNCATE ON project_segment FROM cadastre_app';
    END IF;
END $$;
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    op.execute("""
DROP TRIGGER IF EXISTS project_segment_immutable ON project_segment;
DROP TRIGGER IF EXISTS project_section_no_delete ON project_section;
DELETE FROM project_segment WHERE centreline IS NULL;
ALTER TABLE project_segment DROP CONSTRAINT uq_project_segment_element,
    DROP CONSTRAINT ck_project_segment_form, DROP CONSTRAINT ck_project_segment_width,
    DROP COLUMN corridor_version_id, DROP COLUMN section_code, DROP COLUMN gives_access,
    DROP COLUMN safety_m, DROP COLUMN redline, DROP COLUMN redline_width_m,
    ALTER COLUMN centreline SET NOT NULL;
DROP TABLE corridor_version;
DROP FUNCTION cadastre_corridor_close_only();
DROP TABLE project_section;
ALTER TABLE project DROP COLUMN status, DROP COLUMN adopted_alternative, DROP COLUMN created_by;
""")

"""Zones that constrain parcels, and infrastructure projects with their corridors.

Revision ID: 0002_zones_projects
Revises: 0001_registry
Create Date: 2026-11-27
"""

from alembic import op

revision = "0002_zones_projects"
down_revision = "0001_registry"
branch_labels = None
depends_on = None

SCHEMA = """
CREATE TABLE zone (
    id           bigserial PRIMARY KEY,
    ward_code    text NOT NULL REFERENCES ward(code),
    zone_key     text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('river_corridor', 'heritage_1', 'heritage_2',
                                               'road_redline', 'planning')),
    name         text NOT NULL,
    project_code text,
    geom         geometry(MultiPolygon, 9214) NOT NULL,
    synthetic    boolean NOT NULL DEFAULT false,
    source       text,
    valid_from   timestamptz NOT NULL DEFAULT now(),
    valid_to     timestamptz,
    CONSTRAINT ck_zone_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    CONSTRAINT uq_zone_key UNIQUE (ward_code, zone_key)
);
CREATE INDEX ix_zone_geom ON zone USING gist (geom);

CREATE TABLE project (
    ward_code    text NOT NULL REFERENCES ward(code),
    code         text NOT NULL,
    name_vi      text NOT NULL,
    name_en      text NOT NULL,
    description  text,
    redline      geometry(MultiPolygon, 9214),
    synthetic    boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ward_code, code),
    CONSTRAINT ck_project_redline_valid CHECK (redline IS NULL OR ST_IsValid(redline))
);

CREATE TABLE project_segment (
    id               bigserial PRIMARY KEY,
    ward_code        text NOT NULL,
    project_code     text NOT NULL,
    segment_no       integer NOT NULL CHECK (segment_no > 0),
    name             text,
    left_width_m     double precision NOT NULL CHECK (left_width_m >= 0),
    right_width_m    double precision NOT NULL CHECK (right_width_m >= 0),
    existing_width_m double precision CHECK (existing_width_m IS NULL OR existing_width_m >= 0),
    centreline       geometry(LineString, 9214) NOT NULL,
    FOREIGN KEY (ward_code, project_code) REFERENCES project(ward_code, code),
    CONSTRAINT uq_project_segment UNIQUE (ward_code, project_code, segment_no)
);
CREATE INDEX ix_project_segment_centreline ON project_segment USING gist (centreline);
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS project_segment, project, zone CASCADE")

"""The parcel registry: ward, sheets, parcels and versions, parties, rights, sources, audit, users.

Revision ID: 0001_registry
Revises:
Create Date: 2026-11-27

Registered data is never updated in place or deleted: triggers allow only the
closing of a current version (``valid_to`` from NULL to a time) and refuse any
change to audit events.  Every table carries the ward code so that several
wards can share the schema (partitioned by ward later).
"""

from alembic import op

revision = "0001_registry"
down_revision = None
branch_labels = None
depends_on = None

# VN-2000 / TM-3 107-00 with the official datum shift (PostGIS's own SRID 4756 row
# uses the same +towgs84).  PostGIS 3.3 ships no row for 9214.
SRID_9214_PROJ4 = (
    "+proj=tmerc +lat_0=0 +lon_0=107 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 "
    "+towgs84=-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,"
    "0.252906278 +units=m +no_defs"
)
SRID_9214_WKT = (
    'PROJCS["VN-2000 / TM-3 107-00",GEOGCS["VN-2000",DATUM["Vietnam_2000",'
    'SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],'
    "TOWGS84[-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,"
    '0.252906278],AUTHORITY["EPSG","6756"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],'
    'UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4756"]],'
    'PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],'
    'PARAMETER["central_meridian",107],PARAMETER["scale_factor",0.9999],'
    'PARAMETER["false_easting",500000],PARAMETER["false_northing",0],'
    'UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],AXIS["Northing",NORTH],'
    'AUTHORITY["EPSG","9214"]]'
)

POLYGON_CHECK = (
    "ST_IsValid({col}) AND NOT ST_IsEmpty({col}) AND ST_SRID({col}) = 9214"
)

SCHEMA = f"""
CREATE TABLE ward (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    boundary    geometry(MultiPolygon, 9214) NOT NULL,
    synthetic   boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ck_ward_boundary_valid CHECK ({POLYGON_CHECK.format(col="boundary")})
);
CREATE INDEX ix_ward_boundary ON ward USING gist (boundary);

CREATE TABLE former_unit (
    ward_code   text NOT NULL REFERENCES ward(code),
    code        text NOT NULL,
    name        text NOT NULL,
    boundary    geometry(MultiPolygon, 9214),
    PRIMARY KEY (ward_code, code)
);

CREATE TABLE map_sheet (
    id          bigserial PRIMARY KEY,
    ward_code   text NOT NULL,
    former_unit text NOT NULL,
    sheet_no    integer NOT NULL CHECK (sheet_no > 0),
    scale       integer NOT NULL CHECK (scale IN (200, 500, 1000, 2000, 5000, 10000)),
    extent      geometry(Polygon, 9214),
    FOREIGN KEY (ward_code, former_unit) REFERENCES former_unit(ward_code, code),
    CONSTRAINT uq_map_sheet_identity UNIQUE (ward_code, former_unit, sheet_no)
);
CREATE INDEX ix_map_sheet_extent ON map_sheet USING gist (extent);

CREATE TABLE source_document (
    id          bigserial PRIMARY KEY,
    ward_code   text NOT NULL REFERENCES ward(code),
    kind        text NOT NULL,
    number      text,
    issued_on   date,
    issued_by   text,
    description text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL
);
CREATE INDEX ix_source_document_number ON source_document (ward_code, kind, number);

CREATE TABLE parcel (
    id          bigserial PRIMARY KEY,
    ward_code   text NOT NULL REFERENCES ward(code),
    geohash     text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE parcel_version (
    id                  bigserial PRIMARY KEY,
    parcel_id           bigint NOT NULL REFERENCES parcel(id),
    ward_code           text NOT NULL REFERENCES ward(code),
    version             integer NOT NULL CHECK (version > 0),
    former_unit         text NOT NULL,
    sheet_no            integer NOT NULL CHECK (sheet_no > 0),
    parcel_no           integer NOT NULL CHECK (parcel_no > 0),
    land_use            text NOT NULL CHECK (land_use ~ '^[A-Z]{{3}}(\\+[A-Z]{{3}})*$'),
    geom                geometry(Polygon, 9214) NOT NULL,
    measured_area       double precision GENERATED ALWAYS AS (ST_Area(geom)) STORED,
    legal_area          numeric(14, 1) CHECK (legal_area IS NULL OR legal_area > 0),
    address             text,
    status              text NOT NULL CHECK (status IN ('registered', 'retired')),
    change_kind         text NOT NULL CHECK (change_kind IN
                            ('register', 'amend', 'split', 'merge', 'retire', 'correct')),
    valid_from          timestamptz NOT NULL,
    valid_to            timestamptz,
    recorded_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    recorded_by         text NOT NULL,
    reason              text NOT NULL,
    source_document_id  bigint REFERENCES source_document(id),
    FOREIGN KEY (ward_code, former_unit) REFERENCES former_unit(ward_code, code),
    CONSTRAINT uq_parcel_version_number UNIQUE (parcel_id, version),
    CONSTRAINT ck_parcel_version_geom_valid CHECK ({POLYGON_CHECK.format(col="geom")}),
    CONSTRAINT ck_parcel_version_period CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX uq_parcel_version_current ON parcel_version (parcel_id)
    WHERE valid_to IS NULL;
CREATE UNIQUE INDEX uq_parcel_version_identity ON parcel_version
    (ward_code, former_unit, sheet_no, parcel_no)
    WHERE valid_to IS NULL AND status = 'registered';
CREATE INDEX ix_parcel_version_geom_current ON parcel_version USING gist (geom)
    WHERE valid_to IS NULL AND status = 'registered';
CREATE INDEX ix_parcel_version_geom ON parcel_version USING gist (geom);
CREATE INDEX ix_parcel_version_parcel_period ON parcel_version (parcel_id, valid_from);
CREATE INDEX ix_parcel_version_land_use ON parcel_version (ward_code, land_use)
    WHERE valid_to IS NULL AND status = 'registered';

CREATE TABLE parcel_lineage (
    parent_parcel_id    bigint NOT NULL REFERENCES parcel(id),
    child_parcel_id     bigint NOT NULL REFERENCES parcel(id),
    ward_code           text NOT NULL REFERENCES ward(code),
    kind                text NOT NULL CHECK (kind IN ('split', 'merge')),
    recorded_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    source_document_id  bigint REFERENCES source_document(id),
    PRIMARY KEY (parent_parcel_id, child_parcel_id),
    CHECK (parent_parcel_id <> child_parcel_id)
);
CREATE INDEX ix_parcel_lineage_child ON parcel_lineage (child_parcel_id);

CREATE TABLE party (
    id          bigserial PRIMARY KEY,
    ward_code   text NOT NULL REFERENCES ward(code),
    kind        text NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'organisation', 'state')),
    full_name   text NOT NULL,
    id_number   text,
    address     text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_party_id_number ON party (ward_code, id_number);

CREATE TABLE parcel_right (
    id                  bigserial PRIMARY KEY,
    ward_code           text NOT NULL REFERENCES ward(code),
    parcel_id           bigint NOT NULL REFERENCES parcel(id),
    party_id            bigint REFERENCES party(id),
    kind                text NOT NULL CHECK (kind IN
                            ('use_right', 'asset_ownership', 'restriction')),
    share               numeric(5, 4) NOT NULL DEFAULT 1 CHECK (share > 0 AND share <= 1),
    certificate_no      text,
    issued_on           date,
    source_document_id  bigint REFERENCES source_document(id),
    valid_from          timestamptz NOT NULL DEFAULT clock_timestamp(),
    valid_to            timestamptz,
    recorded_by         text NOT NULL
);
CREATE INDEX ix_parcel_right_parcel ON parcel_right (parcel_id) WHERE valid_to IS NULL;
CREATE INDEX ix_parcel_right_certificate ON parcel_right (ward_code, certificate_no);

CREATE TABLE app_user (
    id              bigserial PRIMARY KEY,
    username        text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9._-]{{2,64}}$'),
    full_name       text,
    role            text NOT NULL CHECK (role IN ('surveyor', 'land_officer', 'official', 'admin')),
    password_hash   text NOT NULL,
    disabled        boolean NOT NULL DEFAULT false,
    ward_code       text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    token_epoch     integer NOT NULL DEFAULT 0
);

CREATE TABLE audit_event (
    id          bigserial PRIMARY KEY,
    ward_code   text NOT NULL,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor       text NOT NULL,
    role        text,
    action      text NOT NULL,
    entity      text NOT NULL,
    entity_ids  jsonb NOT NULL DEFAULT '[]'::jsonb,
    reason      text,
    detail      jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    address     text,
    request_id  text
);
CREATE INDEX ix_audit_event_at ON audit_event (ward_code, at);
CREATE INDEX ix_audit_event_entity ON audit_event (entity, action);

CREATE FUNCTION cadastre_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never changed or deleted', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_event_immutable BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION cadastre_forbid_change();
CREATE TRIGGER parcel_version_no_delete BEFORE DELETE ON parcel_version
    FOR EACH ROW EXECUTE FUNCTION cadastre_forbid_change();
CREATE TRIGGER parcel_lineage_immutable BEFORE UPDATE OR DELETE ON parcel_lineage
    FOR EACH ROW EXECUTE FUNCTION cadastre_forbid_change();
CREATE TRIGGER parcel_no_delete BEFORE DELETE ON parcel
    FOR EACH ROW EXECUTE FUNCTION cadastre_forbid_change();

-- A version may only be closed: valid_to goes from NULL to a time, nothing else moves.
-- (measured_area is generated, so NULL in NEW of a BEFORE trigger: it follows geom.)
CREATE FUNCTION cadastre_version_close_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.valid_to IS NOT NULL OR NEW.valid_to IS NULL
       OR (to_jsonb(NEW) - 'valid_to' - 'measured_area')
          <> (to_jsonb(OLD) - 'valid_to' - 'measured_area') THEN
        RAISE EXCEPTION 'parcel versions are immutable; only closing a current version is allowed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER parcel_version_close_only BEFORE UPDATE ON parcel_version
    FOR EACH ROW EXECUTE FUNCTION cadastre_version_close_only();
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute(
        "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
        f"VALUES (9214, 'EPSG', 9214, '{SRID_9214_WKT}', '{SRID_9214_PROJ4}') "
        "ON CONFLICT (srid) DO UPDATE SET srtext = EXCLUDED.srtext, "
        "proj4text = EXCLUDED.proj4text"
    )
    op.execute(SCHEMA)


def downgrade() -> None:
    for table in ("audit_event", "app_user", "parcel_right", "party", "parcel_lineage",
                  "parcel_version", "parcel", "source_document", "map_sheet", "former_unit",
                  "ward"):
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    op.execute("DROP FUNCTION IF EXISTS cadastre_forbid_change() CASCADE")
    op.execute("DROP FUNCTION IF EXISTS cadastre_version_close_only() CASCADE")
    op.execute("DELETE FROM spatial_ref_sys WHERE srid = 9214")

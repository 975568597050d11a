"""Personal access tokens, and the credential every audited act was done with.

Revision ID: 0018_access_tokens
Revises: 0017_user_preference
Create Date: 2026-12-02

GIS clients (QGIS's own OGC API Features provider) cannot sign in with the OAuth2
password flow; they send HTTP Basic.  A personal access token is a long random secret a
user makes once, names ("QGIS văn phòng"), and gives to such a client as the Basic
password or a bearer token.  Only its SHA-256 is stored: the secret has 256 bits, so a
fast hash is as safe as a KDF and lets a request find its row by an indexed equality.

- ``access_token`` rows are never deleted: revoking stamps ``revoked_at`` once; a trigger
  lets only that and the last-use columns change (a token's owner, secret, scope and
  expiry are what was granted, and stay so).
- Revoking (or any change of scope or expiry) notifies ``cadastre_app_user`` with the
  owner's id, the channel the workers' user caches listen on (0004_user_notify), so every
  worker forgets what it remembered of that user's credentials before the next request.
- ``audit_event.credential`` says with what the actor acted: ``token:<id>`` for a
  personal access token, ``basic`` for a password sent as HTTP Basic, NULL for a
  signed-in session or the command line.
"""

from alembic import op

revision = "0018_access_tokens"
down_revision = "0017_user_preference"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE access_token (
    id                bigserial PRIMARY KEY,
    ward_code         text NOT NULL,
    user_id           bigint NOT NULL REFERENCES app_user(id),
    name              text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    token_hash        text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    prefix            text NOT NULL,
    scope             text NOT NULL DEFAULT 'read' CHECK (scope IN ('read', 'write')),
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by        text NOT NULL,
    expires_at        timestamptz NOT NULL,
    revoked_at        timestamptz,
    revoked_by        text,
    last_used_at      timestamptz,
    last_used_address text,
    CONSTRAINT ck_access_token_expiry CHECK (expires_at > created_at),
    CONSTRAINT ck_access_token_revoked CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE UNIQUE INDEX uq_access_token_live_name ON access_token (user_id, lower(name))
    WHERE revoked_at IS NULL;
CREATE INDEX ix_access_token_ward ON access_token (ward_code, user_id);

CREATE FUNCTION access_token_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.ward_code <> OLD.ward_code OR NEW.user_id <> OLD.user_id
       OR NEW.name <> OLD.name OR NEW.token_hash <> OLD.token_hash OR NEW.prefix <> OLD.prefix
       OR NEW.scope <> OLD.scope OR NEW.created_at <> OLD.created_at
       OR NEW.created_by <> OLD.created_by OR NEW.expires_at <> OLD.expires_at
       OR (OLD.revoked_at IS NOT NULL AND (NEW.revoked_at IS DISTINCT FROM OLD.revoked_at
                                           OR NEW.revoked_by IS DISTINCT FROM OLD.revoked_by))
    THEN
        RAISE EXCEPTION 'an access token is only ever revoked or stamped with its last use'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER access_token_guard BEFORE UPDATE ON access_token
    FOR EACH ROW EXECUTE FUNCTION access_token_guard();
CREATE TRIGGER access_token_no_delete BEFORE DELETE ON access_token
    FOR EACH ROW EXECUTE FUNCTION cadastre_forbid_change();
CREATE TRIGGER access_token_no_truncate BEFORE TRUNCATE ON access_token
    FOR EACH STATEMENT EXECUTE FUNCTION cadastre_forbid_change();

CREATE FUNCTION access_token_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cadastre_app_user', NEW.user_id::text);
    RETURN NULL;
END $$;
CREATE TRIGGER access_token_revoked AFTER UPDATE OF revoked_at ON access_token
    FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at)
    EXECUTE FUNCTION access_token_notify();

ALTER TABLE audit_event ADD COLUMN credential text;
COMMENT ON COLUMN audit_event.credential IS
    'token:<id> (a personal access token), basic (a password sent as HTTP Basic), '
    'NULL (a signed-in session, the command line)';

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'cadastre_app') THEN
        EXECUTE 'REVOKE DELETE, TRUNCATE ON access_token FROM cadastre_app';
    END IF;
END $$;
""")


def downgrade() -> None:
    op.execute("""
ALTER TABLE audit_event DROP COLUMN credential;
DROP TABLE access_token;
DROP FUNCTION access_token_notify();
DROP FUNCTION access_token_guard();
""")

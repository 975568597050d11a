"""A tamper-evident audit trail: each ward's events form a hash chain.

Revision ID: 0015_audit_chain
Revises: 0014_hardening
Create Date: 2026-12-06

The triggers of 0001 and 0009 refuse UPDATE, DELETE and TRUNCATE of audit events, for the
owner too; but the owner may disable triggers (``ALTER TABLE … DISABLE TRIGGER``,
``session_replication_role``) and then edit, delete or reorder events without a trace.
Now every event carries ``seq`` (its place in its ward's chain: 1, 2, 3 …), ``prev_hash``
(the hash of event ``seq - 1``, 32 zero bytes for the first) and ``hash`` =
SHA-256(``prev_hash`` ‖ the event's canonical text).  An edited event no longer matches its
hash, a deleted one leaves a gap in ``seq``, a reordered one no longer follows its
predecessor's hash; ``cadastre audit-log verify`` (db/audit_chain.py) recomputes the chain
in Python and names the first broken link.

The database computes the links, in a BEFORE INSERT trigger, so every writer (the service,
the command line, a console) chains its events and ``db.audit.record`` stays one INSERT.
Two transactions auditing in one ward take turns on a per-ward advisory lock held until
commit; under READ COMMITTED the second then reads the event the first committed (a
REPEATABLE READ writer that raced would pick a taken ``seq`` and fail on the unique index,
never fork the chain).  Writes to one ward's registry already queue on the ward lock, so
this adds no wait there.  ``audit_chain_head`` keeps each ward's last ``seq`` and ``hash``,
moved once per transaction at commit, so that events deleted from the end of the chain
show too.  The functions run as their owner (SECURITY DEFINER): the service role may read
the head but not write it.

The canonical text is a JSON array rendered by PostgreSQL's own ``jsonb`` output, and the
instant is in integer microseconds since 1970 UTC, so it does not depend on the session's
time zone.  Existing events are chained here in the order they were written (``at``, ``id``).
"""

from alembic import op

revision = "0015_audit_chain"
down_revision = "0014_hardening"
branch_labels = None
depends_on = None

APP_ROLE = "cadastre_app"
GENESIS = "'\\x" + "00" * 32 + "'::bytea"
CONTENT = ("jsonb_build_array({e}.ward_code, {e}.seq, "
           "(extract(epoch FROM {e}.at) * 1000000)::bigint, {e}.actor, {e}.role, {e}.action, "
           "{e}.entity, {e}.entity_ids, {e}.reason, {e}.detail, {e}.address, "
           "{e}.request_id)::text")
"""The event's canonical text; db/audit_chain.py renders the same expression to verify."""

UPGRADE = f"""
ALTER TABLE audit_event ADD COLUMN seq bigint, ADD COLUMN prev_hash bytea,
    ADD COLUMN hash bytea;

CREATE TABLE audit_chain_head (
    ward_code   text PRIMARY KEY,
    seq         bigint NOT NULL CHECK (seq >= 0),
    hash        bytea NOT NULL CHECK (length(hash) = 32)
);

CREATE FUNCTION cadastre_audit_chain() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    prev_seq bigint;
    prev bytea;
BEGIN
    -- One writer per ward's chain at a time, until commit.  Under READ COMMITTED the
    -- statement below takes a fresh snapshot after the lock is granted, so it sees the
    -- event the previous holder committed.
    PERFORM pg_advisory_xact_lock(hashtext('audit-chain:' || NEW.ward_code));
    SELECT seq, hash INTO prev_seq, prev FROM audit_event
        WHERE ward_code = NEW.ward_code ORDER BY seq DESC LIMIT 1;
    IF NOT FOUND THEN
        prev_seq := 0;
        prev := {GENESIS};
    END IF;
    NEW.seq := prev_seq + 1;
    NEW.prev_hash := prev;
    NEW.hash := sha256(prev || convert_to({CONTENT.format(e="NEW")}, 'UTF8'));
    RETURN NEW;
END $$;

-- The head moves once per ward and transaction, at commit (a row updated once per event
-- grew a chain of dead versions inside the transaction: 20,000 events in one transaction
-- went from 0.5 s to over 30 s).
CREATE FUNCTION cadastre_audit_chain_head() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.seq = (SELECT max(seq) FROM audit_event WHERE ward_code = NEW.ward_code) THEN
        INSERT INTO audit_chain_head (ward_code, seq, hash) VALUES (NEW.ward_code, NEW.seq, NEW.hash)
            ON CONFLICT (ward_code) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash;
    END IF;
    RETURN NULL;
END $$;

-- Chain the events written before this revision, in the order they were written.
ALTER TABLE audit_event DISABLE TRIGGER audit_event_immutable;
DO $$
DECLARE
    e audit_event;
    last_ward text := NULL;
    n bigint;
    prev bytea;
BEGIN
    FOR e IN SELECT * FROM audit_event ORDER BY ward_code, at, id LOOP
        IF last_ward IS DISTINCT FROM e.ward_code THEN
            IF last_ward IS NOT NULL THEN
                INSERT INTO audit_chain_head VALUES (last_ward, n, prev);
            END IF;
            last_ward := e.ward_code;
            n := 0;
            prev := {GENESIS};
        END IF;
        n := n + 1;
        e.seq := n;
        e.prev_hash := prev;
        e.hash := sha256(prev || convert_to({CONTENT.format(e="e")}, 'UTF8'));
        UPDATE audit_event SET seq = e.seq, prev_hash = e.prev_hash, hash = e.hash
            WHERE id = e.id;
        prev := e.hash;
    END LOOP;
    IF last_ward IS NOT NULL THEN
        INSERT INTO audit_chain_head VALUES (last_ward, n, prev);
    END IF;
END $$;
ALTER TABLE audit_event ENABLE TRIGGER audit_event_immutable;

ALTER TABLE audit_event ALTER COLUMN seq SET NOT NULL, ALTER COLUMN prev_hash SET NOT NULL,
    ALTER COLUMN hash SET NOT NULL;
CREATE UNIQUE INDEX uq_audit_event_chain ON audit_event (ward_code, seq);
CREATE TRIGGER audit_event_chain BEFORE INSERT ON audit_event
    FOR EACH ROW EXECUTE FUNCTION cadastre_audit_chain();
CREATE CONSTRAINT TRIGGER audit_event_chain_head AFTER INSERT ON audit_event
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION cadastre_audit_chain_head();
CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION cadastre_forbid_change();
CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head
    FOR EACH ROW EXECUTE FUNCTION cadastre_forbid_change();

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        EXECUTE 'REVOKE ALL ON audit_chain_head FROM {APP_ROLE}';
        EXECUTE 'GRANT SELECT ON audit_chain_head TO {APP_ROLE}';
    END IF;
END $$;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("""
DROP TRIGGER audit_event_chain ON audit_event;
DROP TRIGGER audit_event_chain_head ON audit_event;
DROP FUNCTION cadastre_audit_chain();
DROP FUNCTION cadastre_audit_chain_head();
DROP TABLE audit_chain_head;
DROP INDEX uq_audit_event_chain;
ALTER TABLE audit_event DROP COLUMN seq, DROP COLUMN prev_hash, DROP COLUMN hash;
""")

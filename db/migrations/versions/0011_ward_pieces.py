"""The ward outline cut into small indexed pieces, kept current by a trigger.

Revision ID: 0008_ward_pieces
Revises: 0007_upload_options
Create Date: 2026-11-27

Every verification clips the ward frame to a window around the claim.  Clipping
the whole outline (5,000 vertices for Kim Long) cost 1 ms of PostgreSQL per
claim: GEOS overlays every edge, and its prepared-geometry cache does not carry
from one statement to the next.  The pieces (``ST_Subdivide``, at most 128
vertices each) found through their index and clipped one by one cost a tenth of
that.  The pieces are derived data: the trigger rebuilds them from the ward row
in the same transaction whenever the boundary is written, so they can never
disagree with it; the ward row stays the record.
"""

from alembic import op

revision = "0008_ward_pieces"
down_revision = "0007_upload_options"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE ward_piece (
    id          bigserial PRIMARY KEY,
    ward_code   text NOT NULL REFERENCES ward(code),
    geom        geometry(Polygon, 9214) NOT NULL
);
CREATE INDEX ix_ward_piece_geom ON ward_piece USING gist (geom);
CREATE INDEX ix_ward_piece_ward ON ward_piece (ward_code);

CREATE FUNCTION cadastre_ward_pieces() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM ward_piece WHERE ward_code = NEW.code;
    INSERT INTO ward_piece (ward_code, geom)
        SELECT NEW.code, ST_Subdivide(NEW.boundary, 128);
    RETURN NULL;
END $$;
CREATE TRIGGER ward_pieces AFTER INSERT OR UPDATE OF boundary ON ward
    FOR EACH ROW EXECUTE FUNCTION cadastre_ward_pieces();

INSERT INTO ward_piece (ward_code, geom) SELECT code, ST_Subdivide(boundary, 128) FROM ward;
""")


def downgrade() -> None:
    op.execute("DROP TRIGGER ward_pieces ON ward")
    op.execute("DROP FUNCTION cadastre_ward_pieces()")
    op.execute("DROP TABLE ward_piece")

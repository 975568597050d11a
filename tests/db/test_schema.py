"""The schema as migrations leave it: roles, immutability, the SRID row."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from certificates import applications as apps
from config import clock
from db.migrate import current_revisions, head_revisions
from parcels import registry
from parcels.registry import Source
from tests.certificates.conftest import intake, to_obligations_met
from tests.factories import rect, spec

HISTORY = ("audit_event", "parcel", "parcel_version", "parcel_lineage", "parcel_right", "party",
           "source_document", "application", "application_event", "verification_report")
"""Tables whose rows are never deleted (migrations 0001, 0003_certificates, 0009)."""
ERASURES = [
    ("audit_event", "UPDATE audit_event SET actor = 'someone else'"),
    ("audit_event", "DELETE FROM audit_event"),
    ("parcel_version", "UPDATE parcel_version SET land_use = 'CLN'"),
    ("parcel_version", "DELETE FROM parcel_version"),
    ("parcel", "DELETE FROM parcel"),
    ("parcel_lineage", "UPDATE parcel_lineage SET kind = 'merge'"),
    ("parcel_lineage", "DELETE FROM parcel_lineage"),
    ("parcel_right", "DELETE FROM parcel_right"),
    ("party", "DELETE FROM party"),
    ("source_document", "DELETE FROM source_document"),
    ("application", "DELETE FROM application"),
    ("application_event", "DELETE FROM application_event"),
    ("verification_report", "DELETE FROM verification_report"),
    *[(t, f"TRUNCATE {t} CASCADE") for t in HISTORY],
]
"""(table, a statement that would change or erase its rows)."""


def test_one_migration_head() -> None:
    """The migrations form one line of history (DESIGN: one head); a branch is merged."""
    assert len(head_revisions()) == 1, f"several heads {head_revisions()}: add a merge revision"


def test_database_is_at_every_head(engine) -> None:
    """CI migrates from scratch: the test database sits at every migration head."""
    assert set(current_revisions(engine)) == set(head_revisions())


def test_service_role_cannot_rewrite_history(connection) -> None:
    """The role the service runs as has no UPDATE/DELETE on audit events, no DELETE on parcels."""
    assert connection.execute(text("SELECT current_user")).scalar_one() == "cadastre_app"
    for table, privilege, allowed in [
        ("audit_event", "INSERT", True),
        ("audit_event", "UPDATE", False),
        ("audit_event", "DELETE", False),
        ("parcel_version", "DELETE", False),
        ("parcel", "DELETE", False),
        ("parcel_version", "INSERT", True),
    ]:
        has = connection.execute(text("SELECT has_table_privilege(:t, :p)"),
                                 {"t": table, "p": privilege}).scalar_one()
        assert has is allowed, (table, privilege)


@pytest.fixture()
def history(session, actor) -> None:
    """A row in every history table: a parcel with its source document split in two
    (versions, lineage), and an approved first-time claim (party, use right, certificate,
    application events, verification reports), all audited."""
    registry.register_parcel(session, actor=actor, reason="lane",  # road access for the parts
                             spec=spec(60, 9, rect(0, -6, 20, 6), land_use="DGT"))
    lot = registry.register_parcel(
        session, actor=actor, spec=spec(60, 1, rect(0, 0, 20, 10)), reason="registration",
        source=Source(kind="decision", number="QĐ 12/2025", issued_on=date(2025, 7, 1)))
    registry.split_parcel(session, actor=actor, parcel_id=lot.parcel_id, reason="split",
                          children=[spec(60, 2, rect(0, 0, 10, 10)),
                                    spec(60, 3, rect(10, 0, 10, 10))])
    a = apps.receive(session, actor=actor,
                     intake=intake(rect(0, 40, 20, 20), sheet=60, number=4, name="Phan Thị C"))
    apps.verify(session, actor=actor, application_id=a.id)
    apps.record_field_check(session, actor=actor, application_id=a.id,
                            check=apps.FieldCheck(notes="mốc ranh giới khớp"))
    to_obligations_met(session, actor, a.id)
    apps.decide(session, actor=actor, application_id=a.id,
                decision=apps.Decision(approve=True, reason="đủ điều kiện"))
    session.commit()
    # The audit chain's head moves at a real commit (a deferred trigger); this one only
    # releases a savepoint, so run the deferred work now, as the commit would.
    session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))


def _rows(connection: Connection, table: str) -> int:
    return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _refused(connection: Connection, statement: str, match: str) -> None:
    nested = connection.begin_nested()  # the failed statement aborts only this savepoint
    with pytest.raises(DBAPIError, match=match):
        connection.execute(text(statement))
    nested.rollback()


@pytest.mark.parametrize(("table", "statement"), ERASURES, ids=[s for _, s in ERASURES])
def test_history_cannot_be_erased_by_the_service_nor_the_owner(
        connection, history, table, statement) -> None:
    """The service role is refused (no privilege, or the guard); so is the database owner
    the service connects as before it switches role (RESET ROLE): the guard's trigger
    names the table, and the rows are all still there."""
    before = _rows(connection, table)
    assert before > 0, f"nothing in {table} to erase: the probe would prove nothing"
    assert connection.execute(text("SELECT current_user")).scalar_one() == "cadastre_app"
    _refused(connection, statement, r"permission denied|never changed or deleted|immutable")
    assert _rows(connection, table) == before
    connection.execute(text("SET LOCAL ROLE NONE"))  # RESET ROLE until the test's rollback
    owner = connection.execute(text("SELECT tableowner FROM pg_tables WHERE tablename = :t"),
                               {"t": table}).scalar_one()
    assert connection.execute(text("SELECT current_user")).scalar_one() == owner
    guard = (r"parcel versions are immutable" if statement.startswith("UPDATE parcel_version")
             else rf"{table} rows are never changed or deleted")
    _refused(connection, statement, guard)
    assert _rows(connection, table) == before


def test_the_owner_may_still_append_and_close(connection, history) -> None:
    """The guards refuse erasure, not the writes history is made of: the owner closes a
    current version and appends an audit event."""
    connection.execute(text("SET LOCAL ROLE NONE"))
    closed = connection.execute(text(
        "UPDATE parcel_version SET valid_to = :now WHERE id = (SELECT max(id) "
        "FROM parcel_version WHERE valid_to IS NULL AND sheet_no = 60)"), {"now": clock.now()})
    assert closed.rowcount == 1
    before = _rows(connection, "audit_event")
    connection.execute(text("INSERT INTO audit_event (ward_code, actor, role, action, entity) "
                            "SELECT ward_code, 'owner', 'admin', 'probe', 'schema' "
                            "FROM parcel_version WHERE sheet_no = 60 LIMIT 1"))
    assert _rows(connection, "audit_event") == before + 1


def test_srid_9214_row(connection) -> None:
    row = connection.execute(text(
        "SELECT auth_name, auth_srid, proj4text FROM spatial_ref_sys WHERE srid = 9214")).one()
    assert (row.auth_name, row.auth_srid) == ("EPSG", 9214)
    assert "+lon_0=107" in row.proj4text and "+towgs84=-191.90441429" in row.proj4text

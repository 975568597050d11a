"""The schema as migrations leave it: roles, immutability, the SRID row."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from db.migrate import current_revisions, head_revisions


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


@pytest.mark.parametrize("sql", ["DELETE FROM audit_event", "UPDATE audit_event SET actor = 'x'",
                                 "TRUNCATE audit_event"])
def test_audit_events_cannot_be_erased(connection, sql) -> None:
    nested = connection.begin_nested()
    with pytest.raises(Exception, match="permission denied"):
        connection.execute(text(sql))
    nested.rollback()


def test_srid_9214_row(connection) -> None:
    row = connection.execute(text(
        "SELECT auth_name, auth_srid, proj4text FROM spatial_ref_sys WHERE srid = 9214")).one()
    assert (row.auth_name, row.auth_srid) == ("EPSG", 9214)
    assert "+lon_0=107" in row.proj4text and "+towgs84=-191.90441429" in row.proj4text

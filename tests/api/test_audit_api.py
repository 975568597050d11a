"""Every write is audited with who, role, address and request id; admins read the trail."""

from __future__ import annotations

from tests.conftest import counts
from tests.factories import geojson_wgs84, rect


def _register(client, auth, number: int, **extra):
    return client.post("/api/v1/parcels", headers={**auth("land_officer"), **extra}, json={
        "former_unit": "kim_long", "sheet_no": 30, "parcel_no": number, "land_use": "ODT",
        "geometry": geojson_wgs84(rect(1000 + 20 * number, 0, 10, 10)),
        "reason": "first registration"})


def test_write_is_audited_with_request_context(client, auth) -> None:
    """Issue 20, finding 9: the request id in the audit trail is the one the server made
    (and answered in ``X-Request-ID``); the id the client sent is kept apart as
    ``client_request_id``, so no caller can make its request pass for another's."""
    r = _register(client, auth, 1, **{"X-Request-ID": "req-abc-123"})
    ours = r.headers["x-request-id"]
    assert r.status_code == 201 and ours != "req-abc-123" and len(ours) == 32
    pid = r.json()["id"]
    events = client.get("/api/v1/audit", params={"entity": "parcel", "entity_id": pid},
                        headers=auth("admin")).json()["events"]
    assert len(events) == 1
    e = events[0]
    assert (e["actor"], e["role"], e["action"]) == ("land_officer", "land_officer", "register")
    assert e["request_id"] == ours and e["client_request_id"] == "req-abc-123"
    assert e["address"] == "testclient"
    assert e["reason"] == "first registration"


def test_failed_write_leaves_no_audit_row(client, auth, connection) -> None:
    """A refused registration (duplicate number) writes neither the parcel nor an audit event."""
    assert _register(client, auth, 2).status_code == 201
    before = counts(connection)
    assert _register(client, auth, 2).status_code == 409
    assert counts(connection) == before


def test_only_admins_read_the_audit_trail(client, auth) -> None:
    for role in ("surveyor", "land_officer", "official"):
        assert client.get("/api/v1/audit", headers=auth(role)).status_code == 403
    assert client.get("/api/v1/audit").status_code == 401


def test_audit_filters_and_paging(client, auth) -> None:
    for n in (3, 4, 5):
        _register(client, auth, n)
    page = client.get("/api/v1/audit", params={"action": "register", "limit": 2},
                      headers=auth("admin")).json()
    assert len(page["events"]) == 2 and page["links"][0]["rel"] == "next"
    ids = [e["entity_ids"][0] for e in page["events"]]
    assert ids == sorted(ids, reverse=True)  # newest first


def test_a_client_cannot_forge_the_request_id_of_another_request(client, auth,
                                                                 connection) -> None:
    """Two writes sending the same X-Request-ID get two ids of the server's; a value that is
    not a plain token is not recorded at all."""
    from sqlalchemy import text

    first = _register(client, auth, 6, **{"X-Request-ID": "victim-request"})
    second = _register(client, auth, 7, **{"X-Request-ID": "victim-request"})
    odd = _register(client, auth, 8, **{"X-Request-ID": "x" * 65})
    ids = {r.headers["x-request-id"] for r in (first, second, odd)}
    assert len(ids) == 3 and "victim-request" not in ids
    rows = connection.execute(text(
        "SELECT request_id, client_request_id FROM audit_event WHERE action = 'register' "
        "AND request_id = ANY(:ids) ORDER BY id"), {"ids": sorted(ids)}).all()
    assert [r.client_request_id for r in rows] == ["victim-request", "victim-request", None]

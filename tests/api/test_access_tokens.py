"""Personal access tokens: made once and shown once, stored hashed, read-only by default,
refused at once when revoked or expired, listed by owner and administrators without their
value, and every use traceable in the audit log."""

from __future__ import annotations

import base64
import time
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api import access_tokens
from api.auth import issue_token
from api.users import add_user, set_disabled
from bench.common import served
from config import clock
from tests.conftest import PASSWORD, SYSTEM, counts
from tests.factories import geojson_wgs84, rect


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()
                                                         ).decode()}


def make(client, auth, who: str = "official", **body: Any) -> dict[str, Any]:
    r = client.post("/api/v1/auth/access-tokens", json={"name": "QGIS văn phòng", **body},
                    headers=auth(who))
    assert r.status_code == 201, r.text
    return dict(r.json())


def new_parcel_body(k: int) -> dict[str, Any]:
    return {"former_unit": "kim_long", "sheet_no": 970, "parcel_no": k, "land_use": "ODT",
            "geometry": geojson_wgs84(rect(2950 + 30 * k, -2950, 20, 20)),
            "reason": "đăng ký mới"}


def test_a_token_is_shown_once_and_stored_only_as_its_hash(client, auth, connection) -> None:
    made = make(client, auth)
    value = made["token"]
    assert value.startswith(access_tokens.PREFIX) and len(value) > 40
    assert made["scope"] == "read" and made["state"] == "active"
    assert made["prefix"] == value[:access_tokens.SHOWN]
    row = connection.execute(text("SELECT * FROM access_token WHERE id = :i"),
                             {"i": made["id"]}).mappings().one()
    assert value not in {str(v) for v in row.values()}
    assert row["token_hash"] == access_tokens.digest(value)
    listed = client.get("/api/v1/auth/access-tokens", headers=auth("official"))
    assert [t["name"] for t in listed.json()["access_tokens"]] == ["QGIS văn phòng"]
    assert value not in listed.text and "token" not in listed.json()["access_tokens"][0]


def test_a_token_reads_as_bearer_and_as_the_basic_password(client, auth) -> None:
    value = make(client, auth)["token"]
    assert client.get("/api/v1/auth/me", headers=bearer(value)).json()["username"] == "official"
    assert client.get("/ogc/collections", headers=basic("official", value)).status_code == 200
    other = client.get("/ogc/collections", headers=basic("surveyor", value))
    assert other.status_code == 401, "a token is its owner's, not any username's"
    unknown = client.get("/ogc", headers=bearer(access_tokens.PREFIX + "x" * 43))
    assert unknown.status_code == 401 and unknown.headers["www-authenticate"] == "Bearer"


def test_a_read_only_token_cannot_write(client, auth, session) -> None:
    """The default token of a land officer reads, and its write is a 403 that writes nothing;
    a token made to write may, and the audit event names it."""
    read = make(client, auth, "land_officer")["token"]
    before = counts(session)
    r = client.post("/api/v1/parcels", json=new_parcel_body(1), headers=bearer(read))
    assert r.status_code == 403 and r.json()["type"] == "/problems/read_only_token"
    assert counts(session) == before
    assert client.get("/api/v1/parcels", params={"limit": 1},
                      headers=bearer(read)).status_code == 200

    writer = make(client, auth, "land_officer", name="bulk edits", scope="write")
    r = client.post("/api/v1/parcels", json=new_parcel_body(2), headers=bearer(writer["token"]))
    assert r.status_code == 201, r.text
    event = session.execute(text(
        "SELECT actor, credential FROM audit_event WHERE action = 'register' AND entity = 'parcel' "
        "AND entity_ids @> CAST(:id AS jsonb)"), {"id": f"[{r.json()['id']}]"}).one()
    assert (event.actor, event.credential) == ("land_officer", f"token:{writer['id']}")


def test_a_token_cannot_make_tokens(client, auth) -> None:
    writer = make(client, auth, "land_officer", scope="write")["token"]
    r = client.post("/api/v1/auth/access-tokens", json={"name": "another"},
                    headers=bearer(writer))
    assert r.status_code == 403 and r.json()["type"] == "/problems/password_sign_in_required"


def test_a_revoked_token_is_refused_at_once(client, auth, connection) -> None:
    made = make(client, auth)
    assert client.get("/ogc", headers=bearer(made["token"])).status_code == 200
    r = client.post(f"/api/v1/auth/access-tokens/{made['id']}/revoke", headers=auth("official"))
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    for header in (bearer(made["token"]), basic("official", made["token"])):
        refused = client.get("/ogc", headers=header)
        assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    again = client.post(f"/api/v1/auth/access-tokens/{made['id']}/revoke",
                        headers=auth("official"))
    assert again.json()["revoked_at"] == r.json()["revoked_at"], "revoked once, for good"
    assert connection.execute(text("SELECT count(*) FROM access_token WHERE id = :i"),
                              {"i": made["id"]}).scalar_one() == 1, "never deleted"


def test_an_expired_token_is_refused_at_once_even_when_remembered(client, auth, app,
                                                                  engine) -> None:
    """A token of one day works until the service clock passes its expiry, then not,
    whether or not the worker remembers having verified it."""
    from db.engine import libpq_url

    app.state.user_cache.stop()
    cache_started = app.state.user_cache
    cache_started._conninfo = libpq_url(engine)  # listen, so verified tokens are remembered
    cache_started.start()
    assert cache_started.wait_listening(10)
    try:
        value = make(client, auth, days=1)["token"]
        assert client.get("/ogc", headers=bearer(value)).status_code == 200
        key = "t:" + access_tokens.digest(value)
        assert app.state.credential_cache.get(key) is not None, "the token is remembered"
        with time_machine.travel(clock.now() + timedelta(days=1, seconds=1)):
            r = client.get("/ogc", headers=bearer(value))
            assert r.status_code == 401 and "expired" in r.json()["detail"]
            assert client.get("/api/v1/auth/access-tokens", headers=auth("official")).json()[
                "access_tokens"][0]["state"] == "expired"
    finally:
        cache_started.stop()


def test_owners_and_administrators_revoke_and_others_cannot(client, auth) -> None:
    made = make(client, auth, "surveyor")
    r = client.post(f"/api/v1/auth/access-tokens/{made['id']}/revoke", headers=auth("official"))
    assert r.status_code == 404 and r.json()["type"] == "/problems/access_token_not_found"
    assert client.get("/ogc", headers=bearer(made["token"])).status_code == 200
    r = client.post(f"/api/v1/auth/access-tokens/{made['id']}/revoke", headers=auth("admin"))
    assert r.status_code == 200 and r.json()["revoked_by"] == "admin"
    assert client.get("/ogc", headers=bearer(made["token"])).status_code == 401


def test_administrators_see_every_token_but_never_its_value(client, auth) -> None:
    a = make(client, auth, "surveyor", name="QGIS ngoài thực địa")
    b = make(client, auth, "land_officer", name="GDAL script")
    client.get("/ogc", headers=basic("land_officer", b["token"]))  # a use to show
    r = client.get("/api/v1/admin/access-tokens", headers=auth("admin"))
    assert r.status_code == 200
    listed = {t["id"]: t for t in r.json()["access_tokens"]}
    assert (listed[a["id"]]["name"], listed[a["id"]]["owner"]) == ("QGIS ngoài thực địa",
                                                                  "surveyor")
    assert listed[a["id"]]["last_used_at"] is None
    assert listed[b["id"]]["owner"] == "land_officer"
    assert listed[b["id"]]["last_used_at"] is not None
    assert listed[b["id"]]["last_used_address"] == "testclient"
    for value in (a["token"], b["token"]):
        assert value not in r.text and access_tokens.digest(value) not in r.text
    assert client.get("/api/v1/admin/access-tokens", headers=auth("official")).status_code == 403


def test_every_use_is_attributable_in_the_audit_log(client, auth, session) -> None:
    """Making, using and revoking a token are audit events naming the token and its owner;
    the use is written on first use (not per request: its row keeps the last use)."""
    made = make(client, auth, "official", name="QGIS phòng họp")
    for _ in range(3):
        assert client.get("/ogc", headers=bearer(made["token"])).status_code == 200
    client.post(f"/api/v1/auth/access-tokens/{made['id']}/revoke", headers=auth("official"))
    rows = session.execute(text(
        "SELECT action, actor, credential, detail FROM audit_event WHERE entity = "
        "'access_token' AND entity_ids @> CAST(:id AS jsonb) ORDER BY id"),
        {"id": f"[{made['id']}]"}).all()
    assert [(r.action, r.actor, r.credential) for r in rows] == [
        ("access_token.create", "official", None),
        ("access_token.use", "official", f"token:{made['id']}"),
        ("access_token.revoke", "official", None)]
    assert rows[1].detail == {"method": "GET", "path": "/ogc"}
    shown = client.get("/api/v1/audit", params={"action": "access_token.use"},
                       headers=auth("admin")).json()["events"]
    assert [(e["actor"], e["credential"]) for e in shown] == [
        ("official", f"token:{made['id']}")], "the audit trail shows the credential"


def test_bad_requests_write_nothing(client, auth, session) -> None:
    before = counts(session), session.execute(text("SELECT count(*) FROM access_token")
                                              ).scalar_one()
    for body in ({"name": ""}, {"name": "x", "scope": "admin"}, {"name": "x", "days": 0},
                 {"name": "x", "days": access_tokens.MAX_DAYS + 1}, {"name": "x" * 101}):
        r = client.post("/api/v1/auth/access-tokens", json=body, headers=auth("official"))
        assert r.status_code == 422, body
        assert r.headers["content-type"].startswith("application/problem+json")
    make(client, auth, "official", name="twice")
    r = client.post("/api/v1/auth/access-tokens", json={"name": "TWICE"},
                    headers=auth("official"))
    assert r.status_code == 409 and r.json()["type"] == "/problems/access_token_exists"
    after = counts(session), session.execute(text("SELECT count(*) FROM access_token")
                                             ).scalar_one()
    assert after[1] == before[1] + 1
    assert after[0]["audit_event"] == before[0]["audit_event"] + 1


def test_the_table_lets_a_token_only_be_revoked_or_stamped(session, users) -> None:
    """Granted is granted: the service cannot widen a token's scope, extend it, un-revoke
    it, nor delete it (the trigger and the role's missing DELETE)."""
    owner, _ = users["official"]
    made = access_tokens.create_token(session, actor=SYSTEM, owner=owner, name="guarded")
    session.flush()
    for statement, refusal in (
            ("UPDATE access_token SET scope = 'write' WHERE id = :i", "only ever revoked"),
            ("UPDATE access_token SET expires_at = expires_at + interval '9 years' "
             "WHERE id = :i", "only ever revoked"),
            ("DELETE FROM access_token WHERE id = :i", "permission denied")):
        with pytest.raises(DBAPIError, match=refusal), session.begin_nested():
            session.execute(text(statement), {"i": made.info.id})
    access_tokens.revoke_token(session, actor=SYSTEM, token_id=made.info.id, owner_id=None)
    with pytest.raises(DBAPIError, match="only ever revoked"), session.begin_nested():
        session.execute(text("UPDATE access_token SET revoked_at = NULL, revoked_by = NULL "
                             "WHERE id = :i"), {"i": made.info.id})


# ---------------------------------------------------------------- a real server, cached


def _status(url: str, headers: dict[str, str]) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _wait_for(predicate, seconds: float = 10.0) -> float:
    """Seconds from now to the start of the first call of ``predicate()`` that held (the
    refused request's own time on a busy machine is not counted)."""
    start = time.monotonic()
    while True:
        asked = time.monotonic()
        if predicate():
            return asked - start
        if asked - start > seconds:
            pytest.fail(f"not within {seconds} s")
        time.sleep(0.005)


def test_a_running_server_drops_a_revoked_token_at_once(settings, engine: Engine) -> None:
    """Two uvicorn workers remember the token; revoked from another process (the command
    line, a psql session), it is refused by both within milliseconds, and so are the tokens
    of a disabled account."""
    with Session(engine) as s, s.begin():
        user = add_user(s, actor=SYSTEM, username="token-server", role="official",
                        password=PASSWORD)
        first = access_tokens.create_token(s, actor=SYSTEM, owner=user, name="first")
        second = access_tokens.create_token(s, actor=SYSTEM, owner=user, name="second")
    assert issue_token(settings.auth, user, 0)  # the account is a normal one
    with served(settings, workers=2) as url:
        page = f"{url}/ogc/collections/parcels/items?limit=1"
        for _ in range(20):
            assert _status(page, bearer(first.value)) == 200
            assert _status(page, basic("token-server", second.value)) == 200
        with Session(engine) as s, s.begin():
            access_tokens.revoke_token(s, actor=SYSTEM, token_id=first.info.id, owner_id=user.id)
        assert _wait_for(lambda: _status(page, bearer(first.value)) == 401) < 0.5
        seen = [_status(page, bearer(first.value)) for _ in range(20)]
        assert seen == [401] * 20, seen
        assert _status(page, basic("token-server", second.value)) == 200, \
            "revoking one token leaves the others"
        with Session(engine) as s, s.begin():
            set_disabled(s, actor=SYSTEM, username="token-server", disabled=True)
        assert _wait_for(lambda: _status(page, basic("token-server", second.value)) == 401
                         ) < 0.5


# ---------------------------------------------------------------- the command line


def test_the_command_line_makes_lists_and_revokes_tokens(engine, service_env) -> None:
    """An administrator at the shell makes a token for a user (printed once), lists every
    token without its value, and revokes it; a bad request exits 2 and writes nothing."""
    from typer.testing import CliRunner

    from api.cli import app as cli

    with Session(engine) as s, s.begin():
        add_user(s, actor=SYSTEM, username="cli-token-owner", role="official",
                 password=PASSWORD)
    runner = CliRunner()
    made = runner.invoke(cli, ["tokens", "create", "cli-token-owner", "--name", "QGIS nhà"])
    assert made.exit_code == 0, made.output
    value = made.output.strip().splitlines()[-1]
    assert value.startswith(access_tokens.PREFIX)
    token_id = int(made.output.split()[1])
    listed = runner.invoke(cli, ["tokens", "list", "--user", "cli-token-owner"])
    assert listed.exit_code == 0 and "QGIS nhà" in listed.output and "active" in listed.output
    assert value not in listed.output and value[:access_tokens.SHOWN] in listed.output
    with Session(engine) as s:
        assert access_tokens.find_grant(s, token_hash=access_tokens.digest(value)) is not None
    revoked = runner.invoke(cli, ["tokens", "revoke", str(token_id)])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    with Session(engine) as s:
        assert access_tokens.find_grant(s, token_hash=access_tokens.digest(value)) is None
        before = s.execute(text("SELECT count(*) FROM access_token")).scalar_one()
    for args in (["tokens", "create", "nobody-at-all", "--name", "x"],
                 ["tokens", "create", "cli-token-owner", "--name", "x", "--days", "9999"],
                 ["tokens", "revoke", "999999999"]):
        bad = runner.invoke(cli, args)
        assert bad.exit_code == 2, (args, bad.output)
    with Session(engine) as s:
        assert s.execute(text("SELECT count(*) FROM access_token")).scalar_one() == before

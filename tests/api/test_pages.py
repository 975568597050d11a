"""Web pages: cookie session, CSRF on every form and on cookie-authenticated API writes."""

from __future__ import annotations

import re

from tests.conftest import PASSWORD
from tests.factories import geojson_wgs84, rect


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF field in the form"
    return m.group(1)


def _sign_in(client, username: str = "land_officer") -> str:
    page = client.get("/login")
    assert page.status_code == 200 and "Đăng nhập" in page.text and "Sign in" in page.text
    token = _csrf(page.text)
    r = client.post("/login", data={"username": username, "password": PASSWORD,
                                     "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "kl_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    return client.cookies["kl_csrf"]


def test_anonymous_home_redirects_to_login(client) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_login_form_without_csrf_is_refused(client) -> None:
    client.get("/login")
    r = client.post("/login", data={"username": "land_officer", "password": PASSWORD,
                                    "csrf_token": "forged.token"}, follow_redirects=False)
    assert r.status_code == 403 and "kl_session" not in r.headers.get("set-cookie", "")


def test_cookie_session_reads_and_needs_csrf_to_write(client) -> None:
    """Signed in by cookie: reads work; a write without the CSRF header is 403, with it 201."""
    csrf = _sign_in(client)
    home = client.get("/")
    assert home.status_code == 200 and "land_officer" in home.text
    assert client.get("/api/v1/auth/me").json()["username"] == "land_officer"
    body = {"former_unit": "kim_long", "sheet_no": 40, "parcel_no": 1, "land_use": "ODT",
            "geometry": geojson_wgs84(rect(1500, 500, 10, 10)), "reason": "via the web page"}
    r = client.post("/api/v1/parcels", json=body)
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = client.post("/api/v1/parcels", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201


def test_wrong_password_on_the_page_is_401_and_no_cookie(client) -> None:
    token = _csrf(client.get("/login").text)
    r = client.post("/login", data={"username": "official", "password": "wrong-password",
                                    "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 401 and "Wrong username or password" in r.text
    assert "kl_session=" not in r.headers.get("set-cookie", "")


def test_logout_needs_csrf_and_ends_the_session(client) -> None:
    csrf = _sign_in(client, "official")
    assert client.post("/logout", data={"csrf_token": "nope"},
                       follow_redirects=False).status_code == 403
    r = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303

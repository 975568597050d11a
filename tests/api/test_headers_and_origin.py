"""Links from the configured origin, no caching of tokens and records, a CSP on every page,
the API pages without a CDN, and the server's user (issue 20, findings 12, 13, 15, 16)."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.cli.serve import drop_privileges, readable_by, runtime_paths
from config.server import ServerSettings
from tests.conftest import PASSWORD

EVIL = {"Host": "evil.example"}


def _hrefs(body: object) -> list[str]:
    """The links of an answer (not the CRS identifiers, which name opengis.net)."""
    return [h for h in re.findall(r"https?://[^\"' ]+", str(body)) if "opengis.net" not in h]


# ------------------------------------------------------------------ finding 12


def test_links_and_redirects_ignore_the_host_header(client, auth) -> None:
    """``Host: evil.example`` once made the ``self``/``next`` links and a 307 point there;
    they are built from the public URL (unset: this server's address)."""
    landing = client.get("/ogc", headers={**auth("official"), **EVIL})
    assert landing.status_code == 200
    links = _hrefs(landing.json()["links"])
    assert links and all(h.startswith("http://127.0.0.1:8000/") for h in links), links
    moved = client.get("/api/v1/parcels/", headers={**auth("official"), **EVIL},
                       follow_redirects=False)
    assert moved.status_code == 307
    assert moved.headers["location"] == "http://127.0.0.1:8000/api/v1/parcels"
    assert "evil.example" not in landing.text + str(moved.headers)


def test_the_configured_public_url_is_the_origin_of_every_link(settings, engine, sessions,
                                                              auth) -> None:
    public = settings.model_copy(update={"server": ServerSettings(
        public_url="https://dia-chinh.example.vn")})
    with TestClient(create_app(public, engine=engine, sessions=sessions)) as c:
        body = c.get("/ogc/collections", headers={**auth("official"), **EVIL}).json()
    hrefs = _hrefs(body)
    assert hrefs and all(h.startswith("https://dia-chinh.example.vn/ogc/") for h in hrefs)


# ------------------------------------------------------------------ finding 13


def test_tokens_and_applicant_records_are_never_cached(client, auth) -> None:
    token = client.post("/api/v1/auth/token", data={"username": "land_officer",
                                                    "password": PASSWORD})
    assert token.status_code == 200 and token.headers["cache-control"] == "no-store"
    made = client.post("/api/v1/applications", headers=auth("land_officer"), json={
        "procedure": "transfer", "applicant_name": "Võ Thị Lan", "channel": "counter",
        "applicant_id_number": "046190000123"})
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    for path in (f"/api/v1/applications/{made.json()['id']}", "/api/v1/applications"):
        r = client.get(path, headers=auth("land_officer"))
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store", path
    refused = client.post("/api/v1/auth/token", data={"username": "x", "password": "y"})
    assert refused.headers["cache-control"] == "no-store"


# ------------------------------------------------------------------ finding 15


@pytest.mark.parametrize("path", ["/login", "/", "/docs", "/health", "/openapi.json",
                                  "/api/v1/parcels", "/no-such-page"])
def test_every_response_has_a_content_security_policy(client, path) -> None:
    r = client.get(path, follow_redirects=False)
    csp = r.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'" and directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"


def test_the_api_pages_load_nothing_from_elsewhere(client) -> None:
    """/docs once loaded Swagger UI from a CDN without integrity (and was blank offline):
    every script and style it names is ours, and none is inline."""
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sorted(sources) == ["/docs/init.js", "/docs/swagger-ui-bundle.js",
                               "/docs/swagger-ui.css"]
    assert not re.search(r"<script>(?!</script>)|<script[^>]*>[^<]+</script>", page.text)
    for src in sources:
        asset = client.get(src)
        assert asset.status_code == 200 and len(asset.content) > 300, src
        assert asset.headers["cache-control"] == "public, max-age=86400"
    assert "SwaggerUIBundle" in client.get("/docs/swagger-ui-bundle.js").text
    assert "/openapi.json" in client.get("/docs/init.js").text
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    assert client.get("/redoc").status_code == 404
    assert client.get("/docs/oauth2-redirect").status_code == 404


# ------------------------------------------------------------------ finding 16


def test_the_server_gives_up_root_when_the_service_user_can_run_it(monkeypatch) -> None:
    """Started as root, ``cadastre serve`` becomes the service user (a child process here,
    so that this test process keeps its own user); where that user cannot read the Python
    the server runs on, it stays root and says so."""
    if os.geteuid() != 0:
        assert drop_privileges("cadastre") is None  # nothing to give up
        return
    entry = pwd.getpwnam("cadastre")
    can = all(readable_by(entry, p) for p in runtime_paths())
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: switch, report the user, exit without pytest's clean-up
        try:
            drop_privileges("cadastre")
            os.write(write, str(os.geteuid()).encode())
        finally:
            os._exit(0)
    os.close(write)
    uid = int(os.read(read, 32) or b"-1")
    os.waitpid(pid, 0)
    assert uid == (entry.pw_uid if can else 0)


def test_readable_by_follows_every_folder_down() -> None:
    """A folder is readable only when every folder above it lets the user through."""
    me = pwd.getpwuid(os.getuid())
    top = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        inner = top / "inner"
        inner.mkdir(mode=0o755)
        top.chmod(0o700)
        assert readable_by(me, inner)
        top.chmod(0o600)  # no search bit: nothing below can be reached
        assert not readable_by(me, inner)
    finally:
        top.chmod(0o700)
        shutil.rmtree(top)

"""Every page, as each person who may open it, at 1366 px and at 375 px: axe-core finds no
serious or critical violation, nothing is asked of the internet, no console error, the
page is in Vietnamese (diacritics) unless its user chose English, and a screenshot of
each is kept under ``artefacts/screenshots/pages/``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from tests.pages import axe
from tests.pages.browser import WIDTHS, Browser, chromium, shoot, sign_in
from tests.pages.conftest import PASSWORD, Site

pytestmark = pytest.mark.browser
VIETNAMESE_LETTERS = "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"


def _ids(site: Site) -> dict[str, Any]:
    with site.engine.connect() as c:
        overlap = c.execute(text(
            "SELECT a.id FROM application a JOIN demo_application_truth t "
            "ON t.application_id = a.id WHERE t.expected_rule = 'overlap_registered' "
            "ORDER BY a.id LIMIT 1")).scalar_one()
        parcel = c.execute(text(
            "SELECT v.parcel_id FROM parcel_version v JOIN parcel_right r "
            "ON r.parcel_id = v.parcel_id AND r.valid_to IS NULL "
            "WHERE v.valid_to IS NULL ORDER BY v.parcel_id LIMIT 1")).scalar_one()
        project = c.execute(text("SELECT code FROM project ORDER BY code LIMIT 1")).scalar_one()
    return {"overlap": overlap, "parcel": parcel, "project": project}


@pytest.fixture(scope="module", params=list(WIDTHS))
def width(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def browser(width: str) -> Iterator[Browser]:
    with chromium(WIDTHS[width]) as b:
        yield b


def _pages(site: Site) -> list[tuple[str, str, str]]:
    """(who, name, path) of every page."""
    ids = _ids(site)
    return [
        ("lan", "home-officer", "/"),
        ("lan", "queue", "/applications"),
        ("lan", "queue-overdue", "/applications?overdue=1"),
        ("lan", "receive", "/applications/new"),
        ("lan", "application", f"/applications/{ids['overlap']}"),
        ("lan", "surveys", "/surveys"),
        ("lan", "parcel-search", "/parcels?q=Nguy%E1%BB%85n"),
        ("lan", "parcel", f"/parcels/{ids['parcel']}"),
        ("hoa", "projects", "/projects"),
        ("hoa", "project", f"/projects/{ids['project']}"),
        ("hoa", "stats", "/stats?from=2025-07-01&to=2025-08-25"),
        ("hoa", "tokens", "/tokens"),
        ("minh", "upload", "/surveys/new"),
        ("minh", "forbidden", f"/applications/{ids['overlap']}"),
        ("quan", "home-admin", "/"),
        ("quan", "tokens-admin", "/tokens"),
    ]


def test_every_page(site: Site, browser: Browser, width: str) -> None:
    """No serious accessibility violation, nothing off 127.0.0.1, Vietnamese text."""
    failures = []
    signed_in = None
    page = browser.page()
    for who, name, path in _pages(site):
        if who != signed_in:
            browser.context.clear_cookies()
            sign_in(page, site.url, who, PASSWORD)
            signed_in = who
        response = page.goto(site.url + path)
        assert response is not None
        expected = 403 if name == "forbidden" else 200
        assert response.status == expected, (name, response.status)
        body = page.inner_text("body")
        assert any(ch in body for ch in VIETNAMESE_LETTERS), name
        assert "Traceback" not in body and "SELECT" not in body
        shoot(page, f"{name}-{width}")
        found = axe.serious(axe.run(page))
        if found:
            failures.append(f"{name}: {found}")
    page.goto(site.url + "/login")
    browser.context.clear_cookies()
    page.goto(site.url + "/login")
    shoot(page, f"login-{width}")
    found = axe.serious(axe.run(page))
    if found:
        failures.append(f"login: {found}")
    assert not failures, "\n".join(failures)
    browser.watch.clean()

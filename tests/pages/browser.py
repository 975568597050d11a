"""Headless Chromium for the page tests: Debian's ``/usr/bin/chromium`` driven by Playwright.

Never a downloaded browser: Playwright launches the system binary through
``executable_path`` with a fresh profile folder.  Every request to anything but 127.0.0.1
(or a ``data:``/``blob:``/``about:`` URL) is aborted and remembered, so a page that tries
to reach the internet fails its test; so does a console error (a CSP refusal among them)
or an uncaught script error.  Screenshots go to the artefacts folder the README names
(``artefacts/screenshots/pages/``, or ``$CADASTRE_ARTEFACTS/screenshots/pages``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

CHROMIUM = Path(os.environ.get("CADASTRE_CHROMIUM", "/usr/bin/chromium"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTEFACTS = Path(os.environ.get("CADASTRE_ARTEFACTS",
                                Path(__file__).resolve().parents[2] / "artefacts"))
LOCAL_SCHEMES = ("data", "blob", "about")
WIDTHS = {"desktop": (1366, 900), "phone": (375, 812)}
"""The two widths every page is looked at: an office PC and a phone."""


def screenshot_dir() -> Path:
    path = ARTEFACTS / "screenshots" / "pages"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _local(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme in LOCAL_SCHEMES:
        return True
    return parsed.scheme in ("http", "https") and parsed.hostname == "127.0.0.1"


@dataclass
class Watch:
    """What the pages of one browser did wrong: console and script errors, refused requests."""

    console_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def clean(self) -> None:
        assert self.blocked == [], f"requests outside 127.0.0.1: {self.blocked}"
        assert self.console_errors == [], f"console errors: {self.console_errors}"


@dataclass
class Browser:
    context: Any
    watch: Watch

    def page(self) -> Any:
        page = self.context.new_page()

        def on_console(message: Any) -> None:
            # A page answered 4xx on purpose (the 403 page, a refused form) is logged by
            # Chromium as a failed resource: that is the test's point, not a fault.
            if message.type == "error" and "status of 4" not in message.text:
                self.watch.console_errors.append(message.text)

        page.on("console", on_console)
        page.on("pageerror", lambda e: self.watch.console_errors.append(str(e)))
        return page


@contextmanager
def chromium(viewport: tuple[int, int] = WIDTHS["desktop"]) -> Iterator[Browser]:
    """A fresh browser (own profile folder) that refuses every request off 127.0.0.1."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    watch = Watch()
    with tempfile.TemporaryDirectory(prefix="cadastre-pages-") as profile, \
            sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=FLAGS,
            viewport={"width": viewport[0], "height": viewport[1]}, accept_downloads=True,
            service_workers="block", locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")

        def route(r: Any) -> None:
            if _local(r.request.url):
                r.continue_()
            else:
                watch.blocked.append(r.request.url)
                r.abort()

        ctx.route("**/*", route)
        ctx.set_default_timeout(30_000)
        try:
            yield Browser(ctx, watch)
        finally:
            ctx.close()


def sign_in(page: Any, base: str, username: str, password: str) -> None:
    """Through the sign-in form, as a person would."""
    page.goto(f"{base}/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập / Sign in").click()
    page.wait_for_url(f"{base}/")


def shoot(page: Any, name: str) -> Path:
    """A full-page screenshot kept under the artefacts folder as ``name``.png."""
    path = screenshot_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

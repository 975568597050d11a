"""The page tests' browser (launched by :mod:`tests.browser`).

Every request to anything but 127.0.0.1 (or a ``data:``/``blob:``/``about:`` URL) is
aborted and remembered for the whole browser, so a page that tries to reach the internet
fails its test; so does a console error (a CSP refusal among them) or an uncaught script
error.  Screenshots go to ``artefacts/screenshots/pages/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.browser import is_local, launch, screenshot_dir

LOCAL_SCHEMES = ("data", "blob", "about")
WIDTHS = {"desktop": (1366, 900), "phone": (375, 812)}
"""The two widths every page is looked at: an office PC and a phone."""


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
    watch = Watch()
    with launch(viewport, accept_downloads=True, locale="vi-VN",
                timezone_id="Asia/Ho_Chi_Minh") as ctx:

        def route(r: Any) -> None:
            if is_local(r.request.url, LOCAL_SCHEMES):
                r.continue_()
            else:
                watch.blocked.append(r.request.url)
                r.abort()

        ctx.route("**/*", route)
        ctx.set_default_timeout(30_000)
        yield Browser(ctx, watch)


def sign_in(page: Any, base: str, username: str, password: str) -> None:
    """Through the sign-in form, as a person would."""
    page.goto(f"{base}/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập / Sign in").click()
    page.wait_for_url(f"{base}/")


def shoot(page: Any, name: str) -> Path:
    """A full-page screenshot kept under the artefacts folder as ``name``.png."""
    path = screenshot_dir("pages") / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

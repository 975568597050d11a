"""The map tests' visits in Chromium (launched by :mod:`tests.browser`).

Every request to anything but 127.0.0.1 (or a ``file:``/``data:``/``blob:`` URL: the
self-contained map is opened from disk) is aborted and remembered per page, with what the
page asked for, so a page that tries to reach the internet fails its test.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.browser import ARTEFACTS, is_local, launch, screenshot_dir

__all__ = ["ARTEFACTS", "chromium", "distinct_colours", "screenshot_dir", "shoot", "visit"]

LOCAL_SCHEMES = ("file", "data", "blob", "about")


@dataclass
class Visit:
    """What a page did: console errors, page errors, and requests we refused."""

    page: Any
    requested: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@contextmanager
def chromium(headers: dict[str, str] | None = None,
             viewport: tuple[int, int] = (1280, 860)) -> Iterator[Any]:
    """A fresh browser context (own profile folder) that blocks the network."""
    with launch(viewport, extra_http_headers=headers or {}) as ctx:
        yield ctx


def visit(ctx: Any, url: str, *, wait_for: str | None = "window.cadastre && cadastre.map",
          headers: dict[str, str] | None = None, timeout_ms: int = 30_000) -> Visit:
    """Open ``url`` in a new page of ``ctx`` with every non-local request aborted."""
    page = ctx.new_page()
    if headers:
        page.set_extra_http_headers(headers)
    seen = Visit(page)
    page.on("console", lambda m: seen.console_errors.append(m.text) if m.type == "error"
            else None)
    page.on("pageerror", lambda e: seen.console_errors.append(str(e)))
    page.on("requestfailed", lambda r: seen.failed.append(r.url))

    def route(r: Any) -> None:
        seen.requested.append(r.request.url)
        if is_local(r.request.url, LOCAL_SCHEMES):
            r.continue_()
        else:
            seen.blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="load", timeout=timeout_ms)
    if wait_for:
        _wait_for(page, wait_for, timeout_ms)
    return seen


def _wait_for(page: Any, expression: str, timeout_ms: int) -> None:
    """Poll ``expression`` with ``page.evaluate`` (run by the browser's debugging protocol):
    Playwright's ``wait_for_function`` evaluates its string inside the page, which the map
    pages' Content-Security-Policy rightly refuses."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(f"() => Boolean({expression})"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{expression!r} still false after {timeout_ms} ms")
        time.sleep(0.05)


def shoot(v: Visit, name: str) -> bytes:
    """A screenshot of the page, kept under the artefacts folder as ``name``.png."""
    png: bytes = v.page.screenshot(path=str(screenshot_dir() / f"{name}.png"))
    return png


def distinct_colours(png: bytes) -> int:
    """How many different colours a screenshot holds (a blank page has one or two)."""
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    return len(set(img.get_flattened_data()))

"""Headless Chromium for the tests that look at what people see: Debian's
``/usr/bin/chromium`` driven by Playwright through ``executable_path``, never a downloaded
browser, each run in a fresh profile folder.

The map tests (``tests/maps/browser.py``) and the page tests (``tests/pages/browser.py``)
build on this one launcher and refuse every request off 127.0.0.1 with :func:`is_local`, so
a page that tries to reach the internet fails its test.  Screenshots go to the artefacts
folder the README names (``artefacts/screenshots/``, or ``$CADASTRE_ARTEFACTS/screenshots``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

CHROMIUM = Path(os.environ.get("CADASTRE_CHROMIUM", "/usr/bin/chromium"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTEFACTS = Path(os.environ.get("CADASTRE_ARTEFACTS",
                                Path(__file__).resolve().parents[1] / "artefacts"))


def screenshot_dir(*parts: str) -> Path:
    """``artefacts/screenshots[/parts…]``, created."""
    path = ARTEFACTS.joinpath("screenshots", *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def is_local(url: str, schemes: tuple[str, ...]) -> bool:
    """A request the tests let through: one of ``schemes`` or HTTP(S) to 127.0.0.1."""
    parsed = urlparse(url)
    if parsed.scheme in schemes:
        return True
    return parsed.scheme in ("http", "https") and parsed.hostname == "127.0.0.1"


@contextmanager
def launch(viewport: tuple[int, int], **options: Any) -> Iterator[Any]:
    """A Playwright browser context of Debian's Chromium in a profile folder of its own;
    ``options`` go to ``launch_persistent_context`` (headers, locale, downloads…)."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with tempfile.TemporaryDirectory(prefix="cadastre-chromium-") as profile, \
            sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=FLAGS,
            viewport={"width": viewport[0], "height": viewport[1]}, service_workers="block",
            **options)
        try:
            yield ctx
        finally:
            ctx.close()

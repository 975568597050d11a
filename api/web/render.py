"""Rendering the web pages: templates, the page's language, number and date formats, CSRF.

Every page is a Jinja2 template under ``api/pages/`` extending ``base.html``.  A page is
Vietnamese unless its user chose English (``user_preference``); both languages are written
side by side where the text is, ``t("Hồ sơ", "Applications")``, so no catalogue drifts
out of step with the templates.  Dates are dd/mm/yyyy in the ward's time zone; numbers
follow the page's language (3.100,5 in Vietnamese, 3,100.5 in English) through Babel.

Pages run under a strict Content-Security-Policy: scripts and styles only from our own
``/static/`` files, no inline script, no inline style attribute (the SVG maps and charts
use presentation attributes and classes, which the policy allows).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy.orm import Session

from api.auth import CSRF_COOKIE, SESSION_COOKIE, csrf_matches, new_csrf_token
from api.preferences import DEFAULT_LANGUAGE, language_of
from api.users import User
from api.web import words
from config import clock
from config.settings import Settings
from parcels.ward import is_synthetic

PAGES: Final = Path(__file__).resolve().parent.parent / "pages"
STATIC: Final = PAGES / "static"
CSP: Final = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
              "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
              "frame-ancestors 'none'; form-action 'self'")
"""The pages' policy: nothing inline, nothing from another origin."""

LANG_COOKIE: Final = "kl_lang"
"""The language of the last page shown, for the pages that cannot read the user's choice
(an error page); ``user_preference`` is the record."""

templates = Jinja2Templates(directory=PAGES)


@dataclass(frozen=True)
class NavItem:
    href: str
    vi: str
    en: str
    roles: tuple[str, ...]


NAV: Final = (
    NavItem("/applications", "Hàng đợi hồ sơ", "Application queue", ("land_officer",)),
    NavItem("/applications/new", "Tiếp nhận hồ sơ", "Receive", ("land_officer",)),
    NavItem("/surveys", "Đo đạc", "Surveys", ("surveyor", "land_officer")),
    NavItem("/parcels", "Thửa đất", "Parcels", ("surveyor", "land_officer", "official")),
    NavItem("/projects", "Dự án", "Projects", ("land_officer", "official")),
    NavItem("/stats", "Thống kê", "Statistics", ("land_officer", "official")),
    NavItem("/tokens", "Mã truy cập", "Access tokens",
            ("surveyor", "land_officer", "official", "admin")),
)
"""The navigation, each link shown only to the roles whose pages it opens."""


def nav_for(role: str | None) -> list[NavItem]:
    return [n for n in NAV if role in n.roles]


# ------------------------------------------------------------------------- static files


@lru_cache(maxsize=64)
def static_version(name: str) -> str:
    """A short hash of a static file's content, so a changed file gets a new URL and a
    browser may keep every file for a year."""
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]


def static_url(name: str) -> str:
    return f"/static/{name}?v={static_version(name)}"


# ----------------------------------------------------------------------------- formats


def fmt_number(value: float | int | Decimal | None, lang: str, digits: int = 0) -> str:
    """3.100 / 3,100; ``digits`` decimals always shown (areas 0,0 m² stay 0,0)."""
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale="vi" if lang == "vi" else "en")


def fmt_percent(share: float | None, lang: str, digits: int = 0) -> str:
    """A share 0..1 as a percentage: 0.9531 → 95% (95,3% with one digit in Vietnamese)."""
    if share is None:
        return "—"
    return fmt_number(share * 100, lang, digits) + "%"


def fmt_date(day: date | datetime | None) -> str:
    """dd/mm/yyyy; an instant is shown as the ward's date."""
    if day is None:
        return "—"
    if isinstance(day, datetime):
        day = clock.ward_date(day)
    return day.strftime("%d/%m/%Y")


def parse_day(value: str | None) -> date | None:
    """A date typed as dd/mm/yyyy (the pages' format) or yyyy-mm-dd (links, the API);
    None when blank; ValueError when it is neither."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if "/" in text:
        day, month, year = (int(part) for part in text.split("/"))
        return date(year, month, day)
    return date.fromisoformat(text)


def fmt_datetime(moment: datetime | None) -> str:
    """dd/mm/yyyy HH:MM in the ward's time zone."""
    if moment is None:
        return "—"
    if moment.tzinfo is not None:
        moment = moment.astimezone(clock.WARD_TIMEZONE)
    return moment.strftime("%d/%m/%Y %H:%M")


def fmt_money(value: float | None, lang: str) -> str:
    if value is None:
        return "—"
    return fmt_number(round(value), lang) + " ₫"


# ------------------------------------------------------------------------------- CSRF


def csrf_token(request: Request, settings: Settings) -> str:
    """The browser's current CSRF token while it is still valid for this session (the
    sign-in form's: no session yet), else a new one (set with the page)."""
    current = request.cookies.get(CSRF_COOKIE)
    session_token = request.cookies.get(SESSION_COOKIE)
    if current and csrf_matches(settings.auth, current, current, session_token=session_token):
        return current
    return new_csrf_token(settings.auth, session_token=session_token)


def form_csrf_ok(request: Request, settings: Settings, submitted: str | None) -> bool:
    """The double-submit check of a page form: the field equals the cookie, and it is ours."""
    return csrf_matches(settings.auth, request.cookies.get(CSRF_COOKIE), submitted,
                        session_token=request.cookies.get(SESSION_COOKIE))


def set_cookie(response: Response, name: str, value: str, settings: Settings, *,
               http_only: bool = True, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=http_only, samesite="strict",
                        secure=settings.environment == "production", path="/")


# ------------------------------------------------------------------------------ pages


@dataclass(frozen=True)
class Frame:
    """What every page knows besides its own content: who, in which language, which ward."""

    user: User | None
    lang: str
    synthetic: bool


def frame(session: Session, settings: Settings, user: User | None) -> Frame:
    """The user's language and whether the ward's data is synthetic."""
    lang = language_of(session, user_id=user.id) if user else DEFAULT_LANGUAGE
    ward = user.ward_code if user else settings.data.ward_code
    return Frame(user=user, lang=lang, synthetic=is_synthetic(session, ward))


def translator(lang: str) -> Callable[[str, str], str]:
    return (lambda vi, en: vi) if lang == "vi" else (lambda vi, en: en)


def render(request: Request, name: str, *, frame: Frame, status: int = 200,
           **context: Any) -> HTMLResponse:
    """A page: its template with the frame, the CSRF token (cookie set alongside), the
    navigation for the user's role and the formatters bound to the page's language."""
    settings: Settings = request.app.state.settings
    csrf = csrf_token(request, settings)
    lang = frame.lang
    t = translator(lang)
    request.state.page_lang = lang
    values: dict[str, Any] = {
        "user": frame.user, "lang": lang, "synthetic": frame.synthetic, "csrf": csrf,
        "nav": nav_for(frame.user.role if frame.user else None), "path": request.url.path,
        "t": t, "word": lambda table, code: words.word(table, code, lang),
        "num": lambda v, digits=0: fmt_number(v, lang, digits),
        "pct": lambda v, digits=0: fmt_percent(v, lang, digits),
        "money": lambda v: fmt_money(v, lang), "date": fmt_date, "datetime": fmt_datetime,
        "static": static_url, "has_route": lambda path: has_route(request, path),
        "hidden_figures": words.HIDDEN_FIGURES,
        **context,
    }
    response = templates.TemplateResponse(request, name, values, status_code=status)
    set_cookie(response, CSRF_COOKIE, csrf, settings, http_only=False)
    if request.cookies.get(LANG_COOKIE) != lang and frame.user is not None:
        set_cookie(response, LANG_COOKIE, lang, settings)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    return response


def has_route(request: Request, path: str) -> bool:
    """Whether the app serves a GET route of this template (the maps of issue 16 link only
    once they are there, never as a dead link)."""
    known: set[str] | None = getattr(request.app.state, "get_routes", None)
    if known is None:
        known = {getattr(r, "path", "") for r in request.app.routes
                 if "GET" in (getattr(r, "methods", None) or ())}
        request.app.state.get_routes = known
    return path in known


def svg(markup: str) -> Markup:
    """Server-drawn SVG (built from numbers and escaped text only) marked safe for templates."""
    return Markup(markup)  # noqa: S704 - the drawing functions escape every text they place

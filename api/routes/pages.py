"""Web pages for people: sign-in with a cookie session, protected by CSRF tokens on forms."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    InvalidToken,
    csrf_matches,
    issue_token,
    new_csrf_token,
)
from api.deps import DbSession, SettingsDep, actor, sign_in, token_user
from api.users import User, end_sessions
from parcels.ward import is_synthetic

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "pages")


def _csrf(request: Request, settings: SettingsDep, session_token: str | None) -> str:
    """The page's CSRF token: the cookie's while it is still valid for this session (the
    sign-in form's: no session yet), a new one otherwise."""
    current = request.cookies.get(CSRF_COOKIE)
    if current and csrf_matches(settings.auth, current, current, session_token=session_token):
        return current
    return new_csrf_token(settings.auth, session_token=session_token)


def _page(request: Request, name: str, settings: SettingsDep, *, session_token: str | None,
          status: int = 200, **context: object) -> HTMLResponse:
    csrf = _csrf(request, settings, session_token)
    response = templates.TemplateResponse(request, name, {"csrf": csrf, **context},
                                          status_code=status)
    _set_cookie(response, CSRF_COOKIE, csrf, settings, http_only=False)
    return response


def _set_cookie(response: Response, name: str, value: str, settings: SettingsDep, *,
                http_only: bool = True, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=http_only, samesite="strict",
                        secure=settings.environment == "production", path="/")


def _synthetic(session: DbSession, ward_code: str) -> bool:
    synthetic = is_synthetic(session, ward_code)
    session.rollback()
    return synthetic


def _cookie_user(request: Request) -> User | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return token_user(request, token)
    except InvalidToken:
        return None


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, settings: SettingsDep, session: DbSession) -> HTMLResponse:
    return _page(request, "login.html", settings, session_token=None, user=None,
                 synthetic=_synthetic(session, settings.data.ward_code))


@router.post("/login")
def login(request: Request, settings: SettingsDep, session: DbSession,
          username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=256)],
          csrf_token: Annotated[str, Form(max_length=200)]) -> Response:
    if not csrf_matches(settings.auth, request.cookies.get(CSRF_COOKIE), csrf_token,
                        session_token=None):
        raise HTTPException(403, "the form's CSRF token is missing or wrong; reload the page")
    found = sign_in(request, session, username=username, password=password, via="page")
    if found is None:
        return _page(request, "login.html", settings, session_token=None, status=401,
                     user=None,
                     error="Sai tên đăng nhập hoặc mật khẩu / Wrong username or password")
    token, ttl = issue_token(settings.auth, found.user, found.epoch)
    response = RedirectResponse("/", status_code=303)
    _set_cookie(response, SESSION_COOKIE, token, settings, max_age=ttl)
    _set_cookie(response, CSRF_COOKIE, new_csrf_token(settings.auth, session_token=token),
                settings, http_only=False)
    return response


@router.post("/logout")
def logout(request: Request, settings: SettingsDep, session: DbSession,
           csrf_token: Annotated[str, Form(max_length=200)]) -> Response:
    """Sign out: the session's token, and every other token of the account, stop working
    on every worker (the token epoch moves on), not merely the cookie here."""
    token = request.cookies.get(SESSION_COOKIE)
    if not csrf_matches(settings.auth, request.cookies.get(CSRF_COOKIE), csrf_token,
                        session_token=token):
        raise HTTPException(403, "the form's CSRF token is missing or wrong; reload the page")
    user = _cookie_user(request)
    if user is not None:
        with session.begin():
            end_sessions(session, actor=actor(request, user), user_id=user.id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, settings: SettingsDep, session: DbSession) -> Response:
    user = _cookie_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return _page(request, "home.html", settings, session_token=request.cookies.get(SESSION_COOKIE),
                 user=user, synthetic=_synthetic(session, user.ward_code))

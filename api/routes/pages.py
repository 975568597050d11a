"""Web pages for people: sign-in with a cookie session, the home page, the language switch,
and the pages' own static files.

The pages of each domain are in ``pages_<domain>.py``; the rendering, the session check
and the error pages they share are in ``api/web/``.  Every form carries a CSRF token
(double submit, signed) checked against the cookie.
"""

from __future__ import annotations

import mimetypes
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from api.auth import CSRF_COOKIE, SESSION_COOKIE, InvalidToken, issue_token, new_csrf_token
from api.deps import ANY_ROLE, DbSession, SettingsDep, actor, sign_in, token_user
from api.preferences import set_language
from api.users import User, end_sessions
from api.web.access import form_user, page_user
from api.web.errors import PageRoute
from api.web.render import (
    LANG_COOKIE,
    STATIC,
    Frame,
    form_csrf_ok,
    frame,
    render,
    set_cookie,
    static_version,
)

router = APIRouter(include_in_schema=False, route_class=PageRoute)
SignedIn = Annotated[User, Depends(page_user(*ANY_ROLE))]
SignedInForm = Annotated[User, Depends(form_user(*ANY_ROLE))]
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}


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
    return render(request, "login.html", frame=Frame(None, "vi", frame(session, settings,
                                                                       None).synthetic))


@router.post("/login")
def login(request: Request, settings: SettingsDep, session: DbSession,
          username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=256)],
          csrf_token: Annotated[str, Form(max_length=200)]) -> Response:
    if not form_csrf_ok(request, settings, csrf_token):
        raise HTTPException(403, "the form's CSRF token is missing or wrong; reload the page")
    found = sign_in(request, session, username=username, password=password, via="page")
    if found is None:
        return render(request, "login.html", status=401,
                      frame=Frame(None, "vi", frame(session, settings, None).synthetic),
                      error="Sai tên đăng nhập hoặc mật khẩu / Wrong username or password")
    token, ttl = issue_token(settings.auth, found.user, found.epoch)
    response = RedirectResponse("/", status_code=303)
    set_cookie(response, SESSION_COOKIE, token, settings, max_age=ttl)
    set_cookie(response, CSRF_COOKIE, new_csrf_token(settings.auth, session_token=token),
               settings, http_only=False)
    return response


@router.post("/logout")
def logout(request: Request, settings: SettingsDep, session: DbSession,
           csrf_token: Annotated[str, Form(max_length=200)]) -> Response:
    """Sign out: the session's token, and every other token of the account, stop working
    on every worker (the token epoch moves on), not merely the cookie here."""
    if not form_csrf_ok(request, settings, csrf_token):
        raise HTTPException(403, "the form's CSRF token is missing or wrong; reload the page")
    user = _cookie_user(request)
    if user is not None:
        with session.begin():
            end_sessions(session, actor=actor(request, user), user_id=user.id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(LANG_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: SignedIn, settings: SettingsDep, session: DbSession) -> Response:
    """The user's start: the pages their role opens."""
    return render(request, "home.html", frame=frame(session, settings, user))


def _local_path(back: str | None) -> str:
    """Where to return after the switch: a path of ours, never another site."""
    if not back or not back.startswith("/") or back.startswith("//") or "\\" in back:
        return "/"
    return back


@router.post("/language")
def switch_language(request: Request, user: SignedInForm, session: DbSession,
                    settings: SettingsDep,
                    language: Annotated[str, Form(max_length=8)],
                    back: Annotated[str | None, Form(max_length=2000)] = None) -> Response:
    """Vietnamese or English pages for this user, on every computer they sign in from."""
    with session.begin():
        set_language(session, actor=actor(request, user), user_id=user.id, language=language)
    response = RedirectResponse(_local_path(back), status_code=303)
    set_cookie(response, LANG_COOKIE, language, settings)
    return response


@router.get("/static/{name}")
def static_file(name: str, v: str | None = None) -> Response:
    """The pages' stylesheet and scripts (ours, no CDN); cached for a year when asked for by
    the content-hashed URL the pages use."""
    path = (STATIC / name).resolve()
    if path.parent != STATIC.resolve() or not path.is_file():
        raise HTTPException(404, "no such file")
    media = STATIC_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or \
        "application/octet-stream"
    cache = ("public, max-age=31536000, immutable" if v == static_version(name)
             else "public, max-age=300")
    return FileResponse(path, media_type=media, headers={"Cache-Control": cache})

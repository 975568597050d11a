"""Who is on a page: the cookie session, the roles a page admits, the CSRF check of forms.

A page names its roles once, ``user: Annotated[User, Depends(page_user(...))]``.  Nobody
signed in is sent to ``/login`` (303); a signed-in user of another role gets the 403 page
(``api.web.errors``).  Forms post with a ``csrf_token`` field checked against the cookie
(double submit, signed): :func:`form_user` does both checks for a page's POST routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Form, Request
from starlette.concurrency import run_in_threadpool

from api.auth import SESSION_COOKIE, InvalidToken
from api.deps import token_user
from api.users import User
from api.web.render import form_csrf_ok


class SignInNeeded(Exception):
    """Nobody (or an expired or revoked session) is signed in: the page sends to /login."""


class PageForbidden(Exception):
    """The signed-in user's role may not open this page, or the form's CSRF token is wrong."""

    def __init__(self, message: str, *, csrf: bool = False) -> None:
        super().__init__(message)
        self.csrf = csrf


async def cookie_user(request: Request) -> User | None:
    """The active user of the session cookie, or None (no cookie, bad or expired token,
    disabled account)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        user = await run_in_threadpool(token_user, request, token)
    except InvalidToken:
        return None
    if user is not None:
        request.state.page_user = user
    return user


def _admit(user: User | None, roles: tuple[str, ...]) -> User:
    if user is None:
        raise SignInNeeded
    if user.role not in roles:
        raise PageForbidden(f"role {user.role!r} may not open this page; allowed: "
                            + ", ".join(roles))
    return user


def page_user(*roles: str) -> Callable[[Request], Awaitable[User]]:
    """A dependency admitting signed-in users of ``roles`` to a page (GET)."""

    async def check(request: Request) -> User:
        return _admit(await cookie_user(request), roles)

    check.roles = roles  # type: ignore[attr-defined]
    return check


def form_user(*roles: str) -> Callable[..., Awaitable[User]]:
    """A dependency for a page's form (POST): signed in, of ``roles``, with the CSRF field."""

    async def check(request: Request,
                    csrf_token: Annotated[str | None, Form(max_length=200)] = None) -> User:
        user = _admit(await cookie_user(request), roles)
        if not form_csrf_ok(request, request.app.state.settings, csrf_token):
            raise PageForbidden("the form's CSRF token is missing or wrong; reload the page",
                                csrf=True)
        return user

    check.roles = roles  # type: ignore[attr-defined]
    return check

"""The access-token page: a user makes, sees and revokes the personal access tokens their GIS
client (QGIS) signs in with; an administrator sees and revokes every token of the ward.

A new token is shown on the answer to the form that made it and never again (pages are
``no-store``); lists show its first characters only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api import access_tokens
from api.deps import ANY_ROLE, DbSession, Id, SettingsDep, actor
from api.errors import status_for
from api.users import User
from api.web.access import form_user, page_user
from api.web.errors import PageRoute, message_for
from api.web.render import frame, render
from config import clock
from config.settings import Settings
from gis.errors import DomainError

router = APIRouter(include_in_schema=False, route_class=PageRoute)
SignedIn = Annotated[User, Depends(page_user(*ANY_ROLE))]
SignedInForm = Annotated[User, Depends(form_user(*ANY_ROLE))]


def _page(request: Request, session: Session, settings: Settings, user: User, *,
          status: int = 200, made: access_tokens.NewToken | None = None,
          error: str | None = None, done: str | None = None) -> Response:
    ward_wide = user.role == "admin"
    rows = access_tokens.list_tokens(session, ward_code=user.ward_code,
                                     user_id=None if ward_wide else user.id)
    return render(request, "tokens.html", frame=frame(session, settings, user), status=status,
                  tokens=rows, now=clock.now(), made=made, error=error, done=done,
                  ward_wide=ward_wide, max_days=access_tokens.MAX_DAYS,
                  default_days=access_tokens.DEFAULT_DAYS, max_name=access_tokens.MAX_NAME)


@router.get("/tokens", response_class=HTMLResponse)
def tokens_page(request: Request, user: SignedIn, session: DbSession,
                settings: SettingsDep, done: str | None = None) -> Response:
    """Your access tokens (every token of the ward for administrators)."""
    return _page(request, session, settings, user,
                 done="revoked" if done == "revoked" else None)


@router.post("/tokens", response_class=HTMLResponse)
def make_token(request: Request, user: SignedInForm, session: DbSession,
               settings: SettingsDep,
               name: Annotated[str, Form(max_length=200)],
               scope: Annotated[str, Form(max_length=10)] = "read",
               days: Annotated[str, Form(max_length=10)] = str(access_tokens.DEFAULT_DAYS)
               ) -> Response:
    """Make a token; the answer shows it once.  The figures are checked by
    :func:`api.access_tokens.create_token`, so a bad one comes back on this page, named."""
    try:
        if not days.strip().isdigit():
            raise access_tokens.AccessTokenError(
                f"days: a token lives a whole number of days (1 to {access_tokens.MAX_DAYS}), "
                f"not {days!r}", field="days")
        with session.begin():
            made = access_tokens.create_token(session, actor=actor(request, user), owner=user,
                                              name=name, scope=scope,
                                              days=int(days))
    except DomainError as exc:
        session.rollback()
        return _page(request, session, settings, user, status=status_for(exc),
                     error=message_for(request, exc))
    return _page(request, session, settings, user, status=201, made=made)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: Id, user: SignedInForm, session: DbSession,
                 settings: SettingsDep) -> Response:
    """Revoke a token of yours (administrators: anyone's in the ward)."""
    try:
        with session.begin():
            access_tokens.revoke_token(session, actor=actor(request, user), token_id=token_id,
                                       owner_id=None if user.role == "admin" else user.id)
    except DomainError as exc:
        session.rollback()
        return _page(request, session, settings, user, status=status_for(exc),
                     error=message_for(request, exc))
    return RedirectResponse("/tokens?done=revoked", status_code=303)

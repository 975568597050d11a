"""Sign-in (OAuth2 password flow), sign-out and who-am-I."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from api.auth import issue_token
from api.deps import CurrentUser, DbSession, SettingsDep, actor, sign_in
from api.users import end_sessions

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/token")
def token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()],
          session: DbSession, settings: SettingsDep) -> dict[str, Any]:
    """Exchange username and password for a short-lived bearer token."""
    found = sign_in(request, session, username=form.username, password=form.password,
                    via="token")
    if found is None:
        raise HTTPException(401, "wrong username or password, or the account is disabled",
                            headers={"WWW-Authenticate": "Bearer"})
    access, ttl = issue_token(settings.auth, found.user, found.epoch)
    return {"access_token": access, "token_type": "bearer", "expires_in": ttl,
            "role": found.user.role, "username": found.user.username,
            "recent_failed_sign_ins": found.recent_failures}


@router.post("/logout", status_code=204)
def logout(request: Request, user: CurrentUser, session: DbSession) -> Response:
    """Sign out everywhere: this token, and every other one of the account, stop working."""
    with session.begin():
        end_sessions(session, actor=actor(request, user), user_id=user.id)
    return Response(status_code=204)


@router.get("/me")
def me(user: CurrentUser) -> dict[str, Any]:
    """The signed-in user and role."""
    return {"username": user.username, "role": user.role, "full_name": user.full_name,
            "ward_code": user.ward_code}

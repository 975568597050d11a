"""Sign-in (OAuth2 password flow) and who-am-I."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordRequestForm

from api.auth import issue_token
from api.deps import CurrentUser, DbSession, SettingsDep, sign_in

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/token")
def token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()],
          session: DbSession, settings: SettingsDep) -> dict[str, Any]:
    """Exchange username and password for a short-lived bearer token."""
    found = sign_in(request, session, username=form.username, password=form.password)
    if found is None:
        raise HTTPException(401, "wrong username or password, or the account is disabled",
                            headers={"WWW-Authenticate": "Bearer"})
    user, epoch = found
    access, ttl = issue_token(settings.auth, user, epoch)
    return {"access_token": access, "token_type": "bearer", "expires_in": ttl,
            "role": user.role, "username": user.username}


@router.get("/me")
def me(user: CurrentUser) -> dict[str, Any]:
    """The signed-in user and role."""
    return {"username": user.username, "role": user.role, "full_name": user.full_name,
            "ward_code": user.ward_code}

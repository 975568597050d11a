"""Personal access tokens over HTTP: make, list and revoke one's own; administrators see all."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from api import access_tokens
from api.deps import Admin, CurrentUser, DbSession, Id, actor
from config import clock

router = APIRouter(tags=["access tokens"])


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=access_tokens.MAX_NAME,
                      examples=["QGIS máy văn phòng"],
                      description="Where the token is used, to recognise it later")
    scope: Literal["read", "write"] = Field(
        default="read", description="read (the default): GET only; write: whatever your "
                                    "role may do")
    days: Annotated[int, Field(ge=1, le=access_tokens.MAX_DAYS)] = access_tokens.DEFAULT_DAYS


def _public(info: access_tokens.TokenInfo) -> dict[str, Any]:
    """A token as lists show it: never its value, only the first characters."""
    return {"id": info.id, "name": info.name, "owner": info.owner, "scope": info.scope,
            "prefix": info.prefix, "state": info.state(clock.now()),
            "created_at": info.created_at, "created_by": info.created_by,
            "expires_at": info.expires_at, "revoked_at": info.revoked_at,
            "revoked_by": info.revoked_by, "last_used_at": info.last_used_at,
            "last_used_address": info.last_used_address}


@router.post("/api/v1/auth/access-tokens", status_code=201)
def create(body: TokenIn, request: Request, response: Response, user: CurrentUser,
           session: DbSession) -> dict[str, Any]:
    """Make a personal access token for a GIS client; the token is in this answer only.

    Give it to QGIS as the password of a Basic authentication configuration (with your
    username), or send it as ``Authorization: Bearer``.  A token cannot make tokens:
    sign in with your password for this.
    """
    if getattr(request.state, "credential", None) is not None:
        raise access_tokens.PasswordSignInRequired(
            "access tokens are made from a password sign-in, not with another token")
    with session.begin():
        made = access_tokens.create_token(session, actor=actor(request, user), owner=user,
                                          name=body.name, scope=body.scope, days=body.days)
    response.headers["Cache-Control"] = "no-store"
    return {**_public(made.info), "token": made.value,
            "note": "Shown once: copy it now. It is stored only as a hash."}


@router.get("/api/v1/auth/access-tokens")
def mine(user: CurrentUser, session: DbSession) -> dict[str, Any]:
    """Your tokens, newest first: name, scope, expiry, last use; never the tokens."""
    rows = access_tokens.list_tokens(session, ward_code=user.ward_code, user_id=user.id)
    return {"access_tokens": [_public(t) for t in rows]}


@router.post("/api/v1/auth/access-tokens/{token_id}/revoke")
def revoke(token_id: Id, request: Request, user: CurrentUser,
           session: DbSession) -> dict[str, Any]:
    """Revoke one of your tokens (administrators: anyone's); it is refused from the next
    request on, by every worker."""
    with session.begin():
        info = access_tokens.revoke_token(
            session, actor=actor(request, user), token_id=token_id,
            owner_id=None if user.role == "admin" else user.id)
    return _public(info)


@router.get("/api/v1/admin/access-tokens")
def every_token(user: Admin, session: DbSession) -> dict[str, Any]:
    """Every token of the ward with its owner, scope, state and last use (administrators)."""
    rows = access_tokens.list_tokens(session, ward_code=user.ward_code)
    return {"access_tokens": [_public(t) for t in rows]}

"""Personal access tokens: long-lived, named, revocable secrets for GIS clients.

QGIS and GDAL cannot run the OAuth2 password flow; they send HTTP Basic or a fixed
header.  A user makes a token once (it is shown once), names it after where it is used,
and gives it to the client as the Basic password (with their username) or as a bearer
token.  Tokens read by default; a token that may write is asked for explicitly.  Only
the SHA-256 of a token is stored (table ``access_token``, migration 0011): 256 random
bits need no slow hash, and the digest finds the row by an index.  A token is never
deleted; revoking stamps it, and every worker hears of it at once (the migration's
notification, api/credentials.py).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from sqlalchemy import BigInteger, DateTime, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from api.users import AppUser, User
from config import clock
from db import audit
from db.audit import Actor
from db.base import Base, stamped
from db.engine import sql
from db.errors import Conflict, Forbidden, NotFound
from gis.errors import DomainError

PREFIX: Final = "klpat_"
"""Every token starts with this, so a bearer value or a Basic password is recognised as a
token without a database read (a password starting with it is never tried as one)."""
SHOWN: Final = len(PREFIX) + 6
"""Characters of a token kept in clear to recognise it in lists ("klpat_Ab3xYz…")."""
Scope = Literal["read", "write"]
SCOPES: Final = ("read", "write")
DEFAULT_DAYS: Final = 365
MAX_DAYS: Final = 730
"""A token lives at most two years (a project decision): long enough for a QGIS project
on an office machine, short enough that a forgotten one ends."""
MAX_NAME: Final = 100


class AccessTokenError(DomainError):
    code = "invalid_access_token"
    title = "Invalid access token request"


class AccessTokenNotFound(NotFound):
    code = "access_token_not_found"
    title = "Access token not found"


class AccessTokenExists(Conflict):
    code = "access_token_exists"
    title = "An access token of that name exists"


class ReadOnlyToken(Forbidden):
    code = "read_only_token"
    title = "This access token may only read"


class PasswordSignInRequired(Forbidden):
    code = "password_sign_in_required"
    title = "Sign in with your password to do this"


class AccessToken(Base):
    __tablename__ = "access_token"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ward_code: Mapped[str] = mapped_column(String)
    user_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String)
    token_hash: Mapped[str] = mapped_column(String)
    prefix: Mapped[str] = mapped_column(String)
    scope: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = stamped()
    created_by: Mapped[str] = mapped_column(String)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(String)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_address: Mapped[str | None] = mapped_column(String)


@dataclass(frozen=True)
class TokenInfo:
    """What anyone listing tokens sees: never the token itself."""

    id: int
    name: str
    owner: str
    scope: str
    prefix: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None
    last_used_at: datetime | None
    last_used_address: str | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"


@dataclass(frozen=True)
class NewToken:
    info: TokenInfo
    value: str
    """The token itself: shown to its owner this once, stored nowhere."""


@dataclass(frozen=True)
class Grant:
    """What a presented token grants, read from its row and its owner's."""

    token_id: int
    user_id: int
    username: str
    epoch: int
    scope: str
    expires_at: datetime


def looks_like_token(value: str) -> bool:
    return value.startswith(PREFIX)


def digest(value: str) -> str:
    """The stored form of a token (hex SHA-256)."""
    return hashlib.sha256(value.encode()).hexdigest()


def _info(row: AccessToken, owner: str) -> TokenInfo:
    return TokenInfo(id=row.id, name=row.name, owner=owner, scope=row.scope,
                     prefix=row.prefix, created_at=row.created_at, created_by=row.created_by,
                     expires_at=row.expires_at, revoked_at=row.revoked_at,
                     revoked_by=row.revoked_by, last_used_at=row.last_used_at,
                     last_used_address=row.last_used_address)


def create_token(session: Session, *, actor: Actor, owner: User, name: str,
                 scope: str = "read", days: int = DEFAULT_DAYS) -> NewToken:
    """A new token for ``owner``, valid ``days`` from now; the value is returned once."""
    name = " ".join(name.split())
    if not 1 <= len(name) <= MAX_NAME:
        raise AccessTokenError(f"a token needs a name of 1 to {MAX_NAME} characters",
                               field="name")
    if scope not in SCOPES:
        raise AccessTokenError(f"scope {scope!r} is not one of {', '.join(SCOPES)}",
                               field="scope")
    if not 1 <= days <= MAX_DAYS:
        raise AccessTokenError(f"a token lives 1 to {MAX_DAYS} days", field="days")
    value = PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    row = AccessToken(ward_code=owner.ward_code, user_id=owner.id, name=name,
                      token_hash=digest(value), prefix=value[:SHOWN], scope=scope,
                      created_at=now, created_by=actor.username,
                      expires_at=now + timedelta(days=days))
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise AccessTokenExists(f"{owner.username} already has a live token named {name!r}; "
                                "revoke it or choose another name", name=name) from exc
    audit.record(session, actor=actor, action="access_token.create", entity="access_token",
                 entity_ids=[row.id], detail={"name": name, "owner": owner.username,
                                              "scope": scope,
                                              "expires_at": row.expires_at.isoformat()})
    return NewToken(info=_info(row, owner.username), value=value)


def list_tokens(session: Session, *, ward_code: str,
                user_id: int | None = None) -> list[TokenInfo]:
    """Tokens of the ward (of one user when ``user_id`` is given), newest first."""
    q = (select(AccessToken, AppUser.username).join(AppUser, AppUser.id == AccessToken.user_id)
         .where(AccessToken.ward_code == ward_code)
         .order_by(AccessToken.created_at.desc(), AccessToken.id.desc()))
    if user_id is not None:
        q = q.where(AccessToken.user_id == user_id)
    return [_info(row, owner) for row, owner in session.execute(q).all()]


def revoke_token(session: Session, *, actor: Actor, token_id: int,
                 owner_id: int | None) -> TokenInfo:
    """Revoke a token of the actor's ward: only ``owner_id``'s, or any (``None``: an
    administrator).  Revoking a revoked token changes nothing (``revoked_at`` stays the
    first one)."""
    found = session.execute(
        select(AccessToken, AppUser.username).join(AppUser, AppUser.id == AccessToken.user_id)
        .where(AccessToken.id == token_id, AccessToken.ward_code == actor.ward_code)
        .with_for_update(of=AccessToken)).one_or_none()
    if found is None or (owner_id is not None and found[0].user_id != owner_id):
        # Another user's token is not shown to exist.
        raise AccessTokenNotFound(f"no access token {token_id}", token_id=token_id)
    row, owner = found
    if row.revoked_at is None:
        row.revoked_at, row.revoked_by = clock.now(), actor.username
        audit.record(session, actor=actor, action="access_token.revoke", entity="access_token",
                     entity_ids=[row.id], detail={"name": row.name, "owner": owner})
        session.flush()
    return _info(row, owner)


def user_for_token_owner(session: Session, *, username: str) -> User:
    """The active account a command-line administrator makes a token for."""
    from api.users import active_user_named

    user = active_user_named(session, username=username)
    if user is None:
        raise AccessTokenError(f"no active user {username!r}", field="user")
    return user


def find_grant(session: Session, *, token_hash: str) -> Grant | None:
    """What a presented token grants, or None when it is unknown or revoked (expiry is the
    caller's check: it is compared with the service clock on every request)."""
    row = session.execute(sql(
        "SELECT t.id, t.user_id, u.username, u.token_epoch, t.scope, t.expires_at "
        "FROM access_token t JOIN app_user u ON u.id = t.user_id "
        "WHERE t.token_hash = :h AND t.revoked_at IS NULL"), {"h": token_hash}).one_or_none()
    if row is None:
        return None
    return Grant(token_id=row.id, user_id=row.user_id, username=row.username,
                 epoch=row.token_epoch, scope=row.scope, expires_at=row.expires_at)


QUIET_USE: Final = timedelta(hours=1)
"""A token's use is written to the audit log on its first use, from a new address, or after
an hour without use; in between, the token's row keeps its last use."""


def record_use(session: Session, *, actor: Actor, token_id: int, at: datetime,
               method: str, path: str) -> None:
    """Stamp the token's last use; audit it when it is its first, from a new address, or
    after a quiet hour (so the audit log shows who used which token when and from where,
    without a row per map tile)."""
    prev = session.execute(sql(
        "SELECT last_used_at, last_used_address FROM access_token WHERE id = :id FOR UPDATE"),
        {"id": token_id}).one_or_none()
    if prev is None:
        return
    session.execute(sql("UPDATE access_token SET last_used_at = :at, last_used_address = :a "
                        "WHERE id = :id"), {"at": at, "a": actor.address, "id": token_id})
    if (prev.last_used_at is None or prev.last_used_address != actor.address
            or at - prev.last_used_at >= QUIET_USE):
        audit.record(session, actor=actor, action="access_token.use", entity="access_token",
                     entity_ids=[token_id], detail={"method": method, "path": path})

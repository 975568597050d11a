"""User accounts and roles; passwords hashed with Argon2id.

Roles (DESIGN.md): ``surveyor`` uploads survey data, ``land_officer`` verifies
and decides, ``official`` reads, ``admin`` manages users and settings.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import BigInteger, Boolean, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from config import clock
from db import audit
from db.audit import Actor
from db.base import Base, stamped
from db.errors import Conflict, NotFound
from gis.errors import DomainError

ROLES: Final = ("surveyor", "land_officer", "official", "admin")
MIN_PASSWORD = 10

_hasher = PasswordHasher()  # Argon2id, RFC 9106 low-memory profile defaults
# Verifying against this keeps sign-in time equal for unknown and known users.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0")


class UserError(DomainError):
    code = "invalid_user"
    title = "Invalid user data"


class UserNotFound(NotFound):
    code = "user_not_found"
    title = "User not found"


class UserExists(Conflict):
    code = "user_exists"
    title = "User already exists"


class AppUser(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str] = mapped_column(String, unique=True)
    full_name: Mapped[str | None] = mapped_column(String)
    role: Mapped[str] = mapped_column(String)
    password_hash: Mapped[str] = mapped_column(String)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    ward_code: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = stamped()
    updated_at: Mapped[datetime] = stamped()
    token_epoch: Mapped[int] = mapped_column(Integer, default=0)


@dataclass(frozen=True)
class User:
    """A signed-in user as the rest of the service sees it."""

    id: int
    username: str
    role: str
    ward_code: str
    full_name: str | None = None


def _public(u: AppUser) -> User:
    return User(id=u.id, username=u.username, role=u.role, ward_code=u.ward_code,
                full_name=u.full_name)


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; roles are {', '.join(ROLES)}", field="role")
    return role


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters", field="password")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def add_user(session: Session, *, actor: Actor, username: str, role: str, password: str,
             full_name: str | None = None) -> User:
    username = username.strip().lower()
    row = AppUser(username=username, role=_check_role(role),
                  password_hash=hash_password(_check_password(password)),
                  full_name=full_name, ward_code=actor.ward_code)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        if "app_user_username_key" in str(exc.orig):
            raise UserExists(f"user {username!r} already exists") from exc
        raise UserError(f"invalid username {username!r}: use 2-64 of a-z 0-9 . _ -",
                        field="username") from exc
    audit.record(session, actor=actor, action="user.add", entity="user", entity_ids=[row.id],
                 detail={"username": username, "role": role})
    return _public(row)


def _named(session: Session, username: str, *, for_update: bool = False) -> AppUser | None:
    """The account of that name (names are stored trimmed and lower-case)."""
    q = select(AppUser).where(AppUser.username == username.strip().lower())
    return session.execute(q.with_for_update() if for_update else q).scalar_one_or_none()


def _get(session: Session, username: str) -> AppUser:
    row = _named(session, username, for_update=True)
    if row is None:
        raise UserNotFound(f"no user {username!r}")
    return row


def set_role(session: Session, *, actor: Actor, username: str, role: str) -> User:
    row = _get(session, username)
    old, row.role = row.role, _check_role(role)
    row.token_epoch += 1  # tokens carry the role: old ones must stop working
    row.updated_at = clock.now()
    audit.record(session, actor=actor, action="user.set_role", entity="user",
                 entity_ids=[row.id], detail={"from": old, "to": role})
    session.flush()
    return _public(row)


def set_disabled(session: Session, *, actor: Actor, username: str, disabled: bool) -> User:
    row = _get(session, username)
    row.disabled = disabled
    row.token_epoch += 1
    row.updated_at = clock.now()
    audit.record(session, actor=actor, action="user.disable" if disabled else "user.enable",
                 entity="user", entity_ids=[row.id])
    session.flush()
    return _public(row)


def reset_password(session: Session, *, actor: Actor, username: str, password: str) -> User:
    row = _get(session, username)
    row.password_hash = hash_password(_check_password(password))
    row.token_epoch += 1
    row.updated_at = clock.now()
    audit.record(session, actor=actor, action="user.reset_password", entity="user",
                 entity_ids=[row.id])
    session.flush()
    return _public(row)


def list_users(session: Session) -> list[tuple[User, bool]]:
    rows = session.execute(select(AppUser).order_by(AppUser.username)).scalars().all()
    return [(_public(r), r.disabled) for r in rows]


def authenticate(session: Session, *, username: str, password: str) -> tuple[User, int] | None:
    """The user and token epoch when the password is right and the account enabled."""
    row = _named(session, username)
    try:
        _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled:
        return None
    return _public(row), row.token_epoch


def spend_a_password_check(password: str) -> None:
    """Verify ``password`` against a dummy hash: a refusal that costs what a real check
    does, so the time of an answer does not tell which names are accounts."""
    with contextlib.suppress(VerificationError, InvalidHashError):
        _hasher.verify(_DUMMY_HASH, password)


def end_sessions(session: Session, *, actor: Actor, user_id: int) -> None:
    """Sign the account out everywhere: every token issued before now stops working (the
    token epoch moves on, and every worker hears of it, api/user_cache.py)."""
    row = session.get(AppUser, user_id, with_for_update=True)
    if row is None:
        raise UserNotFound(f"no user {user_id}")
    row.token_epoch += 1
    row.updated_at = clock.now()
    audit.record(session, actor=actor, action="sign_out", entity="user", entity_ids=[row.id])
    session.flush()


def active_user_named(session: Session, *, username: str) -> User | None:
    """The enabled account of that name, or None: who the command line acts as (``--as``)."""
    row = _named(session, username)
    return None if row is None or row.disabled else _public(row)


def active_user(session: Session, *, user_id: int, epoch: int) -> User | None:
    """The user behind a token, or None when disabled, deleted or re-keyed since."""
    row = session.get(AppUser, user_id)
    if row is None or row.disabled or row.token_epoch != epoch:
        return None
    return _public(row)

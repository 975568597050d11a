"""What every ``cadastre`` command shares: settings, the engine, one transaction, failing.

Exit codes of every command: 0 success, 1 operational failure (database down, unusable
settings), 2 bad input (the message says what is wrong; nothing was written).  Command
modules import from here and never from each other's private helpers.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from config.settings import Settings
from db.audit import Actor
from db.cluster import ClusterError
from gis.errors import DomainError

if TYPE_CHECKING:
    from api.users import User

T = TypeVar("T")

CLI_ACTOR_NAME = "cli"


def load_settings() -> Settings:
    """The settings of this run, from the environment."""
    return Settings()


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` to standard error and exit with ``code``."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def open_engine(settings: Settings) -> Engine:
    """The service's engine; exit 1 when the database cannot be described (no cluster)."""
    from db.engine import make_engine

    try:
        return make_engine(settings.db)
    except ClusterError as exc:
        fail(str(exc), 1)


def cli_actor(settings: Settings) -> Actor:
    """The shell's user acting as an administrator of the ward in the settings."""
    return Actor(username=f"{CLI_ACTOR_NAME}:{getpass.getuser()}", role="admin",
                 ward_code=settings.data.ward_code)


def acting_user(session: Session, username: str, *, roles: Collection[str],
                refusal: str) -> User:
    """The active user named with ``--as``, whose role must be one of ``roles``.

    ``refusal`` is the message for another role, with ``{username}`` and ``{role}``.
    """
    from api.users import active_user_named  # Argon2 set-up: only for commands that need it

    user = active_user_named(session, username=username)
    if user is None:
        fail(f"no active user {username!r}")
    if user.role not in roles:
        fail(refusal.format(username=username, role=user.role))
    return user


def acting_officer(session: Session, username: str | None, *, acts_on: str) -> Actor:
    """The land officer named with ``--as`` (or ``CADASTRE_OFFICER``), as the audit names them.

    ``acts_on`` finishes the refusal for another role: "only a land officer {acts_on}".
    """
    if not username:
        fail("name the acting land officer with --as USERNAME (or CADASTRE_OFFICER)")
    user = acting_user(session, username, roles=("land_officer",),
                       refusal="{username} is a {role}; only a land officer " + acts_on)
    return Actor(username=f"{user.username} (cli)", role=user.role, ward_code=user.ward_code)


def run_domain(fn: Callable[[Session, Settings], T]) -> T:
    """Run ``fn(session, settings)`` in one transaction; domain errors exit 2, a database
    that cannot answer exits 1 (:func:`database_failure`); nothing is written either way."""
    from db.engine import transaction

    settings = load_settings()
    engine = open_engine(settings)
    try:
        with transaction(engine) as session:
            return fn(session, settings)
    except DomainError as exc:
        fail(exc.detail, 2)
    except OperationalError as exc:
        fail(database_failure(exc, settings), 1)
    finally:
        engine.dispose()


def database_failure(exc: BaseException, settings: Settings) -> str:
    """What to tell the user when the database did not answer (no traceback: the cause in
    one sentence, and what to do about it)."""
    import psycopg

    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).splitlines() or [type(cause).__name__])[0][:200]
    if isinstance(cause, psycopg.errors.QueryCanceled):
        return (f"the database did not answer within the statement timeout "
                f"({settings.db.statement_timeout_ms:,} ms, CADASTRE_STATEMENT_TIMEOUT_MS); "
                "nothing was written. Try a smaller --sheet/--unit, or raise the timeout.")
    if isinstance(cause, psycopg.errors.LockNotAvailable | psycopg.errors.DeadlockDetected
                  | psycopg.errors.SerializationFailure):
        return f"the registry is busy ({first}); nothing was written: try again."
    return (f"the database cannot be reached ({first}); nothing was written. "
            "`cadastre db status` says where it should be.")


def read_password(prompt: str = "Password: ") -> str:
    """From standard input when it is not a terminal, prompted (twice) otherwise."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("Again: ") != first:
        fail("the two passwords differ")
    return first

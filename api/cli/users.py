"""``cadastre users …``: accounts and roles, acted on by the shell's user as administrator."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.common import cli_actor, read_password, run_domain

users_app = typer.Typer(no_args_is_help=True, help="Users and roles")


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option("--role", help="surveyor | land_officer | official | admin")],
    full_name: Annotated[str | None, typer.Option("--name")] = None,
) -> None:
    """Add a user; the password is read from standard input, or prompted for."""
    from api import users

    password = read_password()
    u = run_domain(lambda s, st: users.add_user(s, actor=cli_actor(st), username=username,
                                                role=role, password=password,
                                                full_name=full_name))
    typer.echo(f"added {u.username} ({u.role})")


@users_app.command("list")
def users_list() -> None:
    """List users, roles and whether they are disabled."""
    from api import users

    for u, disabled in run_domain(lambda s, st: users.list_users(s)):
        typer.echo(f"{u.username:24} {u.role:14} {'disabled' if disabled else 'active'}")


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable a user; their tokens stop working at once."""
    from api import users

    run_domain(lambda s, st: users.set_disabled(s, actor=cli_actor(st), username=username,
                                                disabled=True))
    typer.echo(f"disabled {username}")


@users_app.command("enable")
def users_enable(username: str) -> None:
    """Enable a disabled user."""
    from api import users

    run_domain(lambda s, st: users.set_disabled(s, actor=cli_actor(st), username=username,
                                                disabled=False))
    typer.echo(f"enabled {username}")


@users_app.command("set-role")
def users_set_role(username: str, role: str) -> None:
    """Change a user's role (their earlier tokens stop working)."""
    from api import users

    u = run_domain(lambda s, st: users.set_role(s, actor=cli_actor(st), username=username,
                                                role=role))
    typer.echo(f"{u.username} is now {u.role}")


@users_app.command("reset-password")
def users_reset_password(username: str) -> None:
    """Set a new password (from standard input, or prompted)."""
    from api import users

    password = read_password("New password: ")
    run_domain(lambda s, st: users.reset_password(s, actor=cli_actor(st), username=username,
                                                  password=password))
    typer.echo(f"password of {username} reset")

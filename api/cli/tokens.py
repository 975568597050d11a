"""``cadastre tokens …``: personal access tokens, managed by the shell's user as administrator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.common import cli_actor, run_domain

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from api.access_tokens import NewToken, TokenInfo
    from config.settings import Settings

tokens_app = typer.Typer(no_args_is_help=True,
                         help="Personal access tokens for GIS clients (QGIS, GDAL)")


@tokens_app.command("create")
def tokens_create(
    username: Annotated[str, typer.Argument(help="the user the token acts as")],
    name: Annotated[str, typer.Option("--name", help="where it is used, e.g. 'QGIS văn phòng'")],
    write: Annotated[bool, typer.Option("--write", help="may also write (default: read only)")
                     ] = False,
    days: Annotated[int, typer.Option("--days", help="lifetime in days (1-730)")] = 365,
) -> None:
    """Make a token for a user; it is printed this once (only its hash is stored)."""
    from api import access_tokens

    def make(session: Session, settings: Settings) -> NewToken:
        owner = access_tokens.user_for_token_owner(session, username=username)
        return access_tokens.create_token(session, actor=cli_actor(settings), owner=owner,
                                          name=name, scope="write" if write else "read",
                                          days=days)

    made = run_domain(make)
    typer.echo(f"token {made.info.id} '{made.info.name}' for {made.info.owner} "
               f"({made.info.scope}, until {made.info.expires_at:%Y-%m-%d}); shown once:")
    typer.echo(made.value)


@tokens_app.command("list")
def tokens_list(
    username: Annotated[str | None, typer.Option("--user", help="only this user's")] = None,
) -> None:
    """Every token of the ward: id, owner, name, scope, state, expiry, last use (never the
    token itself)."""
    from api import access_tokens
    from config import clock

    def read(session: Session, settings: Settings) -> list[TokenInfo]:
        owner = (access_tokens.user_for_token_owner(session, username=username).id
                 if username else None)
        return access_tokens.list_tokens(session, ward_code=settings.data.ward_code,
                                         user_id=owner)

    now = clock.now()
    for t in run_domain(read):
        used = (f"last used {t.last_used_at:%Y-%m-%d %H:%M} from {t.last_used_address}"
                if t.last_used_at else "never used")
        typer.echo(f"{t.id:6} {t.owner:20} {t.name:30} {t.scope:5} {t.state(now):8} "
                   f"until {t.expires_at:%Y-%m-%d}  {t.prefix}…  {used}")


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument(help="the token's id (tokens list)")]
                  ) -> None:
    """Revoke a token: every worker refuses it from its next request."""
    from api import access_tokens

    info = run_domain(lambda s, st: access_tokens.revoke_token(
        s, actor=cli_actor(st), token_id=token_id, owner_id=None))
    typer.echo(f"token {info.id} '{info.name}' of {info.owner} revoked "
               f"({info.revoked_at:%Y-%m-%d %H:%M} by {info.revoked_by})")

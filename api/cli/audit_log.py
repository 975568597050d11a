"""``cadastre audit-log verify``: walk each ward's audit chain and name the first broken link.

(``cadastre audit`` is the registry's topology audit; this is the trail of who did what.)
Exit codes: 0 every chain checked is intact, 1 the database is unusable, 2 bad input (an
unreadable anchor file), 3 a chain is broken: the message names the ward, the event and
what is wrong there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import fail, load_settings, open_engine

audit_log_app = typer.Typer(no_args_is_help=True,
                            help="The audit trail (who did what): check its hash chain")
BROKEN = 3


@audit_log_app.command("verify")
def verify_command(
    ward: Annotated[str | None, typer.Option("--ward", help="only this ward's chain")] = None,
    anchor: Annotated[Path | None, typer.Option(
        "--anchor", help="a backup file: its manifest's chain heads must still be in the "
        "chain (catches a chain rewritten since that backup)")] = None,
) -> None:
    """Recompute every link of the audit chain; exit 3 at the first broken one."""
    from db.audit_chain import check_anchor, verify, wards
    from db.backup import BackupError, read_manifest
    from db.engine import session_factory

    heads = {}
    if anchor is not None:
        try:
            heads = read_manifest(anchor)["audit_heads"]
        except BackupError as exc:
            fail(str(exc), 2)
    engine = open_engine(load_settings())
    broken = False
    try:
        with session_factory(engine)() as session:
            for code in [ward] if ward else wards(session):
                report = verify(session, ward_code=code)
                if report.broken is not None:
                    typer.secho(report.broken.message(code), err=True, fg=typer.colors.RED)
                    broken = True
                    continue
                typer.echo(f"ward {code}: {report.events:,} events, chain intact; head "
                           f"event {report.head_seq} {report.head_hash}")
                if code in heads:
                    differs = check_anchor(session, ward_code=code, seq=heads[code]["seq"],
                                           hash_hex=heads[code]["hash"])
                    if differs:
                        typer.secho(differs, err=True, fg=typer.colors.RED)
                        broken = True
                    else:
                        typer.echo(f"ward {code}: event {heads[code]['seq']} matches the "
                                   f"anchor {anchor}")
    finally:
        engine.dispose()
    if broken:
        raise typer.Exit(BROKEN)

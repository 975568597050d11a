"""The ``cadastre`` command line: the same domain functions as the HTTP API.

This module is the table of contents: each command lives in a module of this package
named for what it acts on, and shares only ``api.cli.common`` (settings, the engine, one
transaction, failing with an exit code).  Exit codes: 0 success, 1 operational failure
(database down), 2 bad input (the message says what is wrong; nothing was written).
"""

from __future__ import annotations

import typer

from api.cli import procedure as _procedure  # noqa: F401 (registers the step commands)
from api.cli.audit import audit_command
from api.cli.audit_log import audit_log_app
from api.cli.backup import backup_command, restore_command
from api.cli.certificates import applications_app, stats_command, verify_command
from api.cli.database import db_app
from api.cli.demo import data_app, demo
from api.cli.maps import maps_app
from api.cli.parcels import parcels_app
from api.cli.projects import impact_command, projects_app
from api.cli.qgis import qgis_project_command
from api.cli.serve import serve
from api.cli.surveys import import_survey
from api.cli.tokens import tokens_app
from api.cli.users import users_app
from api.cli.worker import worker_command

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Kim Long land records / Sổ địa chính phường Kim Long")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(parcels_app, name="parcels")
app.add_typer(data_app, name="data")
app.command("demo")(demo)
app.command("serve")(serve)
app.command("worker")(worker_command)
app.command("audit")(audit_command)
app.command("import")(import_survey)
app.command("verify")(verify_command)
app.command("stats")(stats_command)
app.add_typer(applications_app, name="applications")
app.command("impact")(impact_command)
app.add_typer(projects_app, name="projects")
app.command("qgis-project")(qgis_project_command)
app.command("backup")(backup_command)
app.add_typer(audit_log_app, name="audit-log")
app.command("restore")(restore_command)
app.add_typer(maps_app, name="map")


def main() -> None:
    """The ``cadastre`` entry point: no command ends in a traceback, and every command reads
    "now" from the service clock, started at ``CADASTRE_CLOCK_START`` when that is set (the
    demo's "today").

    A database that does not answer, or any fault no command foresaw, is one ``error:``
    line on standard error and exit 1 (``CADASTRE_DEBUG=1`` shows the traceback).
    """
    import os

    from sqlalchemy.exc import OperationalError

    from api.cli.common import database_failure, load_settings
    from config import clock

    clock.start_from_environment()
    try:
        app()
    except OperationalError as exc:
        if os.environ.get("CADASTRE_DEBUG"):
            raise
        typer.secho(f"error: {database_failure(exc, load_settings())}", err=True,
                    fg=typer.colors.RED)
        raise SystemExit(1) from None
    except Exception as exc:  # the last line of defence: a message, not a traceback
        if os.environ.get("CADASTRE_DEBUG"):
            raise
        text = (str(exc).splitlines() or [""])[0][:300]
        typer.secho(f"error: {type(exc).__name__}: {text} (CADASTRE_DEBUG=1 shows the "
                    "traceback)", err=True, fg=typer.colors.RED)
        raise SystemExit(1) from None

"""``cadastre qgis-project``: the ready QGIS project of the ward, written to a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import fail, load_settings, run_domain

READER_ROLES = ("surveyor", "land_officer", "official")


def qgis_project_command(
    out: Annotated[Path, typer.Option("--out", help="the .qgz to write")],
    url: Annotated[str | None, typer.Option(
        "--url", help="the service's address as users reach it (default: "
                      "CADASTRE_SERVER_PUBLIC_URL, else http://HOST:PORT of the settings)")
    ] = None,
    role: Annotated[str, typer.Option(
        "--role", help="whose project: land_officer (with pending applications), official "
                       "or surveyor")] = "land_officer",
    authcfg: Annotated[str, typer.Option(
        "--authcfg", help="id of the QGIS authentication configuration the layers use")
    ] = "kimlong",
) -> None:
    """Write a QGIS project of the ward in EPSG:9214 with the /ogc layers, styled; open it
    in QGIS after making a Basic authentication configuration with id AUTHCFG."""
    from api.qgis import project_for
    from maps.qgis_project import AUTHCFG

    if role not in READER_ROLES:
        fail(f"role {role!r}: one of {', '.join(READER_ROLES)} (administrators do not read "
             "land records)")
    if not AUTHCFG.match(authcfg):
        fail(f"authcfg {authcfg!r} is not a QGIS authentication id (seven letters or digits)")
    settings = load_settings()
    base = url or settings.server.public_base_url()
    if not base.startswith(("http://", "https://")):
        fail(f"--url {base!r} is not an http(s) address")
    body = run_domain(lambda s, st: project_for(s, ward_code=st.data.ward_code, role=role,
                                                base_url=base, authcfg=authcfg))
    out.write_bytes(body)
    typer.echo(f"wrote {out} ({len(body):,} bytes): layers from {base.rstrip('/')}/ogc, "
               f"authentication configuration '{authcfg}'")

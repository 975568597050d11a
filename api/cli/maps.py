"""``cadastre map …``: the same map products as ``/maps`` and the extract routes, as files.

``map application ID --out FILE.html [--self-contained]`` writes the field map (with
``--self-contained`` one file that a phone opens with no server), ``map package ID --out
FILE.gpkg`` the QGIS/QField package, ``map extract --parcel ID | --application ID --out
FILE.pdf`` the cadastral extract, ``map project CODE --out FILE.html`` a project's impact
map.  Reads only; exit 2 on bad input (an unknown id), 1 when the database is down.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from sqlalchemy.orm import Session

from api.cli.common import fail, run_domain
from config.settings import Settings

T = TypeVar("T")
maps_app = typer.Typer(no_args_is_help=True,
                       help="Maps, field packages and extracts (bản đồ, trích lục)")
Out = Annotated[Path, typer.Option("--out", help="file to write")]


def _with_context(fn: Callable[..., T]) -> T:
    from maps.sources import context

    def run(session: Session, settings: Settings) -> T:
        ctx = context(session, ward_code=settings.data.ward_code, settings=settings.maps,
                      state_dir=settings.db.state_dir)
        return fn(session, ctx, settings)

    return run_domain(run)


def _write(out: Path, content: str | bytes, what: str) -> None:
    data = content.encode("utf-8") if isinstance(content, str) else content
    out.write_bytes(data)
    typer.echo(f"{what}: {out} ({len(data) / 1024:.0f} KiB)")


@maps_app.command("application")
def application_map(
    application_id: int, out: Out,
    self_contained: Annotated[bool, typer.Option(
        "--self-contained", help="inline Leaflet and every image: opens with no server")
    ] = False,
) -> None:
    """The field map of an application (HTML)."""
    from maps import pages

    page = _with_context(lambda s, ctx, st: pages.application_map(
        s, ctx, application_id=application_id, self_contained=self_contained))
    _write(out, page, "field map" + (" (self-contained)" if self_contained else ""))


@maps_app.command("package")
def application_package(application_id: int, out: Out) -> None:
    """The field package of an application (GeoPackage for QGIS/QField)."""
    from maps import pages

    content = _with_context(lambda s, ctx, st: pages.application_package(
        s, ctx, application_id=application_id))
    _write(out, content, "field package")


def _base_url(settings: Settings) -> str:
    return settings.server.public_base_url()


@maps_app.command("extract")
def extract(
    out: Out,
    parcel: Annotated[int | None, typer.Option("--parcel", help="a registered parcel's id")
                      ] = None,
    application: Annotated[int | None, typer.Option(
        "--application", help="an application's id (its claimed boundary)")] = None,
) -> None:
    """The cadastral map extract (PDF, one A4 page) of a parcel or an application."""
    from maps import pages

    if (parcel is None) == (application is None):
        fail("name one of --parcel ID or --application ID")
    if parcel is not None:
        content = _with_context(lambda s, ctx, st: pages.parcel_extract(
            s, ctx, parcel_id=parcel, base_url=_base_url(st)))
    else:
        assert application is not None
        content = _with_context(lambda s, ctx, st: pages.application_extract(
            s, ctx, application_id=application, base_url=_base_url(st)))
    _write(out, content, "extract")


@maps_app.command("project")
def project_map(
    code: str, out: Out,
    section: Annotated[str | None, typer.Option("--section", help="one section, e.g. NH")
                       ] = None,
    self_contained: Annotated[bool, typer.Option(
        "--self-contained", help="inline Leaflet and every image: opens with no server")
    ] = False,
) -> None:
    """A road project's impact map (HTML): parcels by share taken, failing remainders."""
    from maps import pages

    page = _with_context(lambda s, ctx, st: pages.project_map(
        s, ctx, code=code, section=section, self_contained=self_contained))
    _write(out, page, "impact map")

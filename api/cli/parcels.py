"""``cadastre parcels …``: the registry as a land officer reads it at the counter."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.common import fail, run_domain

parcels_app = typer.Typer(no_args_is_help=True, help="The parcel registry")


@parcels_app.command("show")
def parcels_show(
    ref: Annotated[str, typer.Argument(help="SHEET/NUMBER, e.g. 12/345")],
    former_unit: Annotated[str | None, typer.Option("--unit", help="kim_long, huong_long…")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="GeoJSON Feature(s) in WGS 84")] = False,
) -> None:
    """Show the parcel(s) with this sheet and number (one per former unit)."""
    import json

    from parcels import queries
    from parcels.schemas import feature

    try:
        sheet, number = (int(x) for x in ref.split("/"))
    except ValueError:
        fail(f"{ref!r} is not SHEET/NUMBER (e.g. 12/345)")
    found = run_domain(lambda s, st: queries.find_by_number(
        s, ward_code=st.data.ward_code, sheet_no=sheet, parcel_no=number,
        former_unit=former_unit))
    if not found:
        fail(f"no registered parcel sheet {sheet} number {number}"
             + (f" in {former_unit}" if former_unit else ""))
    for rec in found:
        if as_json:
            typer.echo(json.dumps(feature(rec), ensure_ascii=False))
            continue
        typer.echo(f"parcel {rec.parcel_id}: {rec.label} (version {rec.version})")
        typer.echo(f"  land use {rec.land_use}, measured {rec.measured_area:.1f} m² "
                   f"(EPSG:9214), legal {rec.legal_area or '-'} m²")
        typer.echo(f"  address {rec.address or '-'}; geohash {rec.geohash}")
        for h in rec.holders or ():
            typer.echo(f"  holder {h.full_name}: {h.right}, certificate {h.certificate_no or '-'}"
                       f" issued {h.issued_on or '-'}")

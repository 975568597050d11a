"""``cadastre import``: stage (and optionally commit) a survey file from the command line.

The same domain functions as ``POST /api/v1/surveys`` and ``…/commit``: the
file is copied into a private temporary folder, read, staged and validated in
one transaction; ``--commit`` then commits it in a second one, as the land
officer named with ``--as``.  Exit 2 on bad input (the reader's message, or
the findings that block the commit); nothing is written then.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.common import acting_user, cli_actor, fail, load_settings, open_engine
from config.settings import Settings
from db.audit import Actor

STAGES = ("receiving", "reading", "staging", "matching", "validating", "storing findings")


def import_survey(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="GeoJSON, zipped Shapefile, GeoPackage, KML/KMZ, "
                                              "DXF or CSV coordinate table")],
    crs: Annotated[str | None, typer.Option("--crs", help="EPSG code, e.g. 9214")] = None,
    layer: Annotated[str | None, typer.Option("--layer", help="layer, folder or CAD layer")] = None,
    mapping: Annotated[str | None, typer.Option(
        "--mapping", help='JSON, e.g. \'{"parcel_no": "SoThua"}\'')] = None,
    former_unit: Annotated[str | None, typer.Option(
        "--former-unit", help="former unit of features that do not name one")] = None,
    swap_axes: Annotated[bool, typer.Option(
        "--swap-axes", help="read the two coordinates the other way round; only when the "
        "service says the axes look swapped (a CSV table is already read as VN-2000 writes "
        "it: X = northing, Y = easting; a GeoJSON, Shapefile or GeoPackage as easting, "
        "northing)")] = False,
    commit: Annotated[bool, typer.Option("--commit", help="commit after validation")] = False,
    as_user: Annotated[str | None, typer.Option(
        "--as", help="the user recorded as uploader (a land officer for --commit)")] = None,
) -> None:
    """Upload a survey file: stage, validate, print the findings; --commit writes it."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from db.engine import session_factory, transaction
    from gis.errors import DomainError
    from gis.intake.errors import ReadError
    from parcels import surveys

    settings = load_settings()
    try:
        parsed = json.loads(mapping) if mapping else None
    except ValueError:
        fail("--mapping is not valid JSON")
    if parsed is not None and not isinstance(parsed, dict):
        fail('--mapping must be a JSON object, e.g. {"parcel_no": "SoThua"}')
    if commit and not as_user:
        fail("--commit needs --as USER: the land officer who commits")
    options = surveys.UploadOptions(crs=crs, layer=layer, mapping=parsed,
                                    former_unit=former_unit, swap_axes=swap_axes)
    engine = open_engine(settings)
    try:
        with transaction(engine) as s:
            who = _actor(s, settings, as_user)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      transient=True) as bar:
            task = bar.add_task("starting", total=None)

            def say(stage: str) -> None:
                bar.update(task, description=stage)

            # stage_upload ends its read transaction before the file is read, then writes
            # in a second one (committed here), so it gets a session, not a transaction.
            with session_factory(engine)() as s, file.open("rb") as stream:
                staged = surveys.stage_upload(s, actor=who, stream=stream, filename=file.name,
                                              options=options, settings=settings, progress=say)
                s.commit()
            batch = staged.batch
            if commit and batch["state"] == "validated":
                with transaction(engine) as s:
                    batch = surveys.commit_batch(s, actor=who, batch_id=batch["id"],
                                                 settings=settings, progress=say)
        with transaction(engine) as s:
            found = surveys.batch_findings(s, actor=who, batch_id=batch["id"])["features"]
    except ReadError as exc:
        fail(f"{exc.detail} ({exc.code})")
    except DomainError as exc:
        _print_blockers(exc)
        fail(exc.detail)
    finally:
        engine.dispose()
    _print_summary(batch, created=staged.created)
    _print_changes(batch)
    _print_findings(found)
    if commit and batch["state"] != "committed":
        fail(f"batch {batch['id']} is {batch['state']}: not committed")


def _actor(session: Any, settings: Settings, username: str | None) -> Actor:
    if username is None:
        base = cli_actor(settings)
        return Actor(username=base.username, role="surveyor", ward_code=base.ward_code)
    user = acting_user(session, username, roles=("surveyor", "land_officer"),
                       refusal="{username} is {role}: only surveyors and land officers "
                               "upload surveys")
    return Actor(username=user.username, role=user.role, ward_code=user.ward_code)


def _print_blockers(exc: Any) -> None:
    for f in exc.extra.get("findings", [])[:20]:
        typer.echo(f"  finding {f['id']} {f['rule']} (features {f['features']}): {f['message']}",
                   err=True)


def _print_summary(batch: dict[str, Any], *, created: bool) -> None:
    f = batch["findings"]
    m = batch["matches"]
    typer.echo(f"survey batch {batch['id']}{'' if created else ' (this file was already uploaded)'}"
               f": {batch['state']}")
    layer = f", layer {batch['layer']}" if batch["layer"] else ""
    typer.echo(f"  {batch['file_name']} ({batch['format']}, {batch['size_bytes']:,} bytes, "
               f"EPSG:{batch['source_crs']}{layer})")
    typer.echo(f"  {batch['feature_count']} features: {m['new']} new parcels, "
               f"{m['new_version']} new versions, {m['conflict']} conflicts")
    typer.echo(f"  findings: {f['error']} errors ({f['open_errors']} open, {f['overridden']} "
               f"overridden), {f['warning']} warnings, {f['info']} info")
    for w in batch["warnings"]:
        typer.echo(f"  warning {w['code']}: {w['message']}")
    if batch["state"] == "committed":
        typer.echo(f"  committed: {batch['committed_parcels']} parcels, source document "
                   f"{batch['source_document_id']}")


def _print_changes(batch: dict[str, Any]) -> None:
    """What each re-measured parcel changes, largest first: before any finding."""
    ch = batch.get("changes") or {}
    if not ch.get("remeasured"):
        return
    typer.echo(f"  đo lại / re-measured: {ch['remeasured']} thửa / parcels "
               f"({ch['unchanged']} không đổi / unchanged)")
    for c in ch["parcels"]:
        if not c["unchanged"]:
            typer.echo(f"    {c['message_vi']}")
            typer.echo(f"      {c['message_en']}")


INFO_SHOWN = 10


def _print_findings(features: list[dict[str, Any]]) -> None:
    """Every error and warning in full (which neighbour, where, how much), then the first
    notes; errors first, as the API lists them."""
    notes = 0
    for f in features:
        p = f["properties"]
        if p["severity"] == "info":
            notes += 1
            if notes > INFO_SHOWN:
                continue
        state = f" (đã quyết / settled: {p['resolution']})" if p.get("resolution") else ""
        typer.echo(f"  [{p['severity']}] {p['rule']} #{f['id']}{state}: {p['message_vi']}")
        typer.echo(f"      {p['message_en']}")
    if notes > INFO_SHOWN:
        typer.echo(f"  … {notes - INFO_SHOWN} more notes / thông tin khác "
                   "(GET /api/v1/surveys/{id}/findings)")

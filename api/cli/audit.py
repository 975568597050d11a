"""``cadastre audit``: the registry audit from the command line, with a progress bar.

The command's options, file output and printing live in this one short module
(``api/cli/__init__.py`` registers it in one line).  Exit codes as for every command:
0 the audit ran (whatever it found: findings are data, not a failure), 1 the database
or settings are unusable, 2 bad input (nothing was audited or written).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.common import cli_actor, fail, load_settings, run_domain
from config import clock

if TYPE_CHECKING:
    import geopandas as gpd
    from sqlalchemy.orm import Session

    from config.settings import Settings
    from gis.findings import Report

STEPS = ("fetch", "validity", "shape", "coverage", "neighbours", "frame", "zones", "report")
"""The audit's steps in order (``gis.audit`` reports them by name), one tick each."""


def _parse_as_of(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        d = datetime.fromisoformat(value)
    except ValueError:
        try:
            d = datetime.combine(date.fromisoformat(value), datetime.max.time())
        except ValueError:
            return None
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def _writable(path: Path | None, suffix: str, option: str) -> str | None:
    """Why ``path`` cannot be written (None when it can)."""
    if path is None:
        return None
    if path.suffix.lower() != suffix:
        return f"{option} {path}: the file name must end in {suffix}"
    if not path.parent.is_dir():
        return f"{option} {path}: folder {path.parent} does not exist"
    if path.is_dir():
        return f"{option} {path} is a folder"
    return None


def audit_command(
    sheet: Annotated[int | None, typer.Option("--sheet", help="only this map sheet (tờ)")] = None,
    unit: Annotated[str | None, typer.Option(
        "--unit", help="only this former unit (its code): kim_long, huong_long, huong_ho, "
                       "huong_tho")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="write findings as a GeoPackage for QGIS (EPSG:9214)")] = None,
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="write the report as JSON (geometry in WGS 84)")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="audit the registry as it stood then (ISO date or time)")] = None,
    top: Annotated[int, typer.Option(
        "--top", min=0, help="how many sheets and first findings the summary lists")] = 10,
) -> None:
    """Audit the registered parcels: overlaps, gaps, containment, validity, frame, zones.

    Prints a ranked summary (errors and warnings per 1,000 parcels, the rules and sheets
    with the most, the first findings to act on); --out writes every finding for QGIS.
    """
    from rich.progress import Progress

    from gis.audit_summary import lines, summarise
    from gis.findings_io import write_gpkg, write_json
    from gis.rules import RuleConfigError, load_ruleset
    from parcels.audit import affected_parcels, audit_registry

    if sheet is not None and sheet <= 0:
        fail(f"--sheet must be a positive sheet number, got {sheet}")
    when = _parse_as_of(as_of)
    if as_of is not None and when is None:
        fail(f"--as-of {as_of!r} is not an ISO date (2025-08-25) or time")
    for problem in (_writable(out, ".gpkg", "--out"), _writable(json_out, ".json", "--json")):
        if problem:
            fail(problem)
    settings = load_settings()
    try:
        rules = load_ruleset(settings.data.rules_file)
    except (OSError, RuleConfigError) as exc:
        fail(f"rule settings {settings.data.rules_file}: {exc}", 1)

    started = clock.now()
    t0 = time.perf_counter()
    with Progress(transient=False) as bar:
        task = bar.add_task("audit", total=len(STEPS))

        def progress(step: str) -> None:
            name = step.split(" ", 1)[0]
            done = STEPS.index(name) + 1 if name in STEPS else None
            bar.update(task, description=f"audit: {step}", completed=done)

        def run(s: Session, st: Settings) -> tuple[Report, gpd.GeoDataFrame | None]:
            report = audit_registry(s, ward_code=st.data.ward_code, rules=rules, sheet_no=sheet,
                                    former_unit=unit, as_of=when, progress=progress,
                                    actor=cli_actor(st))
            shapes = affected_parcels(s, ward_code=st.data.ward_code, report=report,
                                      as_of=when) if out is not None else None
            return report, shapes

        report, shapes = run_domain(run)
        bar.update(task, description="audit: done", completed=len(STEPS))
    seconds = time.perf_counter() - t0
    scope = "whole ward" if sheet is None and unit is None else ", ".join(
        x for x in (f"unit {unit}" if unit else "", f"sheet {sheet}" if sheet else "") if x)
    meta: dict[str, Any] = {
        "ward_code": settings.data.ward_code, "sheet_no": sheet, "former_unit": unit,
        "as_of": None if when is None else when.isoformat(), "started_at": started.isoformat(),
        "seconds": round(seconds, 3), "parcels": report.feature_count,
        "rules_file": str(settings.data.rules_file), "command": "cadastre audit",
    }
    typer.echo(f"{report.feature_count} parcels audited ({scope}) in {seconds:.1f} s; "
               f"rules {report.ruleset_version}; fingerprint {report.fingerprint[:16]}")
    for line in lines(summarise(report, top=top), scope=scope):
        typer.echo(line)
    if out is not None:
        rows = write_gpkg(report, out, metadata=meta, parcels=shapes)
        typer.echo(f"GeoPackage {out}: " + ", ".join(f"{k} {v}" for k, v in rows.items()))
    if json_out is not None:
        write_json(report, json_out, metadata=meta)
        typer.echo(f"JSON {json_out}: {len(report.findings)} findings")

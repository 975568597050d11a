"""``cadastre impact CODE`` and ``cadastre projects …``: road projects from the shell.

The same domain functions as ``/api/v1/projects``.  Writes are a land officer's: name one
with ``--as`` (or ``CADASTRE_OFFICER``).  Project and corridor files are JSON in the API's
request shapes.  Exit 2 on bad input (nothing written), 1 when the database is down.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from api.cli.common import acting_officer, fail, run_domain
from config.settings import Settings
from db.audit import Actor

projects_app = typer.Typer(no_args_is_help=True, help="Road projects (dự án giao thông)")
AsOfficer = Annotated[str | None, typer.Option(
    "--as", envvar="CADASTRE_OFFICER", help="land officer acting (username)")]
AsJson = Annotated[bool, typer.Option("--json", help="machine-readable JSON")]
EXPORTS = {".csv": "csv", ".xlsx": "xlsx", ".geojson": "geojson", ".json": "geojson",
           ".gpkg": "gpkg"}


def _officer(session: Session, settings: Settings, username: str | None) -> Actor:
    return acting_officer(session, username, acts_on="creates or amends projects")


def _echo(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def _as_of(value: str | None) -> datetime | None:
    """An ISO instant, or a date meaning the end of that day in the ward."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or len(value) == 10:
        try:
            from config.clock import WARD_TIMEZONE

            day = date.fromisoformat(value)
            return datetime.combine(day, datetime.max.time(), tzinfo=WARD_TIMEZONE)
        except ValueError:
            fail(f"--as-of {value!r} is not an ISO date (2026-01-15) or instant")
    assert moment is not None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _body(path: Path, model: Any) -> Any:
    from pydantic import ValidationError

    try:
        return model.model_validate_json(path.read_bytes())
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        fail(f"{path}: {where}: {first.get('msg')} ({exc.error_count()} problem(s))")


def _print_impact(out: dict[str, Any]) -> None:
    p, c, t = out["project"], out["corridor"], out["totals"]
    sec = f", section {out['section']}" if out["section"] else ""
    typer.echo(f"{p['code']} {p['name_vi']} — corridor {c['ref']}{sec}, registry of "
               f"{out['reference_date']}")
    for note in out["notice"].values():
        typer.echo(f"  ! {note}")
    typer.echo(f"  parcels affected {t['parcels_affected']} (full {t['full_takes']}, partial "
               f"{t['partial_takes']}, proposed for full acquisition "
               f"{t['proposed_full_acquisition']}), holders {t['holders_affected']}, "
               f"remainder parts {t['parts_created']}, only in the safety corridor "
               f"{t['safety_only_parcels']}, boundary noise {t['noise_parcels']}")
    typer.echo(f"  taken {t['taken_m2']:,.1f} m², proposed {t['proposed_m2']:,.1f} m²; "
               f"estimated cost {t['cost_taken']:,.0f} đ (taken), {t['cost_proposed']:,.0f} đ "
               f"(proposed); pending applications {t['pending_applications']}, open disputes "
               f"{t['open_disputes']}")
    for use, r in t["by_land_use"].items():
        typer.echo(f"    {use:8} {r['parcels']:5} parcels {r['taken_m2']:12,.1f} m² "
                   f"{r['cost_taken']:18,.0f} đ")
    typer.echo(f"  {'parcel':32} {'use':5} {'area':>9} {'taken':>9} {'rest':>9} parts "
               "proposal")
    for x in out["parcels"]:
        if x["take"] not in ("full", "partial"):
            continue
        flag = " FAILS " + ",".join(sorted({f for part in x["parts"] for f in part["failures"]})) \
            if x["fails_minimum"] else ""
        typer.echo(f"  {x['label']:32} {x['land_use']:5} {x['area_m2']:9.1f} "
                   f"{x['taken_m2']:9.1f} {x['remainder_m2']:9.1f} {x['remainder_parts']:5} "
                   f"{x['proposal']}{flag}")


def impact_command(
    code: Annotated[str, typer.Argument(help="project code, e.g. RING_ROAD_3")],
    section: Annotated[str | None, typer.Option(help="only this section, e.g. NH")] = None,
    alternative: Annotated[str | None, typer.Option(help="alternative (default adopted)")] = None,
    version: Annotated[int | None, typer.Option(help="corridor version (default in force)")]
    = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="the registry and corridor as they stood then (ISO date or time)")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="also write the impact: .csv, .xlsx, .geojson or .gpkg")] = None,
    as_json: AsJson = False,
) -> None:
    """What a road project takes from each parcel, what is left, and the estimated cost."""
    from api.project_impact import project_impact
    from projects import exports
    from projects.schemas import impact_out

    if version is not None and version < 1:
        fail("--version must be 1 or more")
    fmt = None
    if out is not None:
        fmt = EXPORTS.get(out.suffix.lower())
        if fmt is None:
            fail(f"--out {out}: the name must end in " + ", ".join(sorted(EXPORTS)))
        if not out.parent.is_dir():
            fail(f"--out {out}: folder {out.parent} does not exist")
    when = _as_of(as_of)

    def work(s: Session, st: Settings) -> tuple[dict[str, Any], bytes | None]:
        result = project_impact(s, ward_code=st.data.ward_code, code=code,
                                alternative=alternative, version=version, section=section,
                                as_of=when)
        return impact_out(result), exports.export(result, fmt) if fmt else None

    body, data = run_domain(work)
    if out is not None and data is not None:
        out.write_bytes(data)
    if as_json:
        _echo(body)
    else:
        _print_impact(body)
        if out is not None:
            typer.echo(f"written {out} ({len(data or b''):,} bytes)")


@projects_app.command("list")
def list_command(as_json: AsJson = False) -> None:
    """The ward's road projects, their sections and corridors in force."""
    from projects import reads
    from projects.schemas import project_out

    items = run_domain(lambda s, st: [project_out(p, geometry=False) for p in
                                reads.list_projects(s, ward_code=st.data.ward_code)])
    if as_json:
        _echo(items)
        return
    for p in items:
        typer.echo(f"{p['code']:16} {p['status']:18} {p['name_vi']}")
        for s in p["sections"]:
            typer.echo(f"    section {s['code']:8} phase {s['phase']}  {s['name_vi']}")
        for c in p["corridors"]:
            typer.echo(f"    corridor {c['ref']:8} {len(c['elements'])} elements, "
                       f"{c['redline_m2']:,.0f} m² red line, since {c['valid_from']}")


@projects_app.command("show")
def show_command(code: str, as_json: AsJson = True) -> None:
    """One project as JSON (corridor geometries in WGS 84)."""
    from projects import reads
    from projects.schemas import project_out

    _echo(run_domain(lambda s, st: project_out(reads.get_project(
        s, ward_code=st.data.ward_code, code=code))))


@projects_app.command("create")
def create_command(
    file: Annotated[Path, typer.Option("--file", help="JSON as POST /api/v1/projects")],
    as_user: AsOfficer = None,
) -> None:
    """Record a road project (and its first corridor) from a JSON file."""
    from projects import corridors
    from projects.schemas import ProjectIn

    body = _body(file, ProjectIn)
    p = run_domain(lambda s, st: corridors.create_project(s, actor=_officer(s, st, as_user),
                                                    spec=body.to_spec(), reason=body.reason))
    typer.echo(f"created project {p.code} with {len(p.corridors)} corridor(s)")


@projects_app.command("corridor")
def corridor_command(
    code: str,
    file: Annotated[Path, typer.Option("--file", help="JSON as POST …/corridors")],
    as_user: AsOfficer = None,
) -> None:
    """Record a new corridor version of one alternative (the one in force is closed)."""
    from projects import corridors
    from projects.schemas import NewCorridorIn

    body = _body(file, NewCorridorIn)
    c = run_domain(lambda s, st: corridors.new_corridor_version(
        s, actor=_officer(s, st, as_user), code=code, spec=body.to_spec(), reason=body.reason))
    typer.echo(f"corridor {c.ref} of {c.project_code}: {len(c.elements)} elements, "
               f"{c.redline.area:,.0f} m² red line")


@projects_app.command("status")
def status_command(
    code: str, status: str,
    reason: Annotated[str, typer.Option("--reason", help="why")],
    adopt: Annotated[str | None, typer.Option("--adopt", help="adopt this alternative")] = None,
    as_user: AsOfficer = None,
) -> None:
    """Change a project's status (and the alternative it adopts)."""
    from projects import corridors

    p = run_domain(lambda s, st: corridors.set_status(
        s, actor=_officer(s, st, as_user), code=code, status=status, reason=reason,
        adopted_alternative=adopt))
    typer.echo(f"{p.code}: {p.status}, alternative {p.adopted_alternative}")


@projects_app.command("compare")
def compare_command(
    code: str,
    a: Annotated[str, typer.Argument(help="A or A@2")] = "A",
    b: Annotated[str, typer.Argument(help="B or A@3")] = "B",
    section: Annotated[str | None, typer.Option(help="only this section")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of")] = None,
    as_json: AsJson = False,
) -> None:
    """Two alternatives or versions side by side against the same registry."""
    from api.project_impact import project_impact
    from projects.compare import compare
    from projects.schemas import parse_ref

    when = _as_of(as_of)

    def work(s: Session, st: Settings) -> dict[str, Any]:
        (aa, va), (ab, vb) = parse_ref(a, "a"), parse_ref(b, "b")
        left = project_impact(s, ward_code=st.data.ward_code, code=code, alternative=aa,
                              version=va, section=section, as_of=when)
        right = project_impact(s, ward_code=st.data.ward_code, code=code, alternative=ab,
                               version=vb, section=section, as_of=when)
        return compare(left, right)

    out = run_domain(work)
    if as_json:
        _echo(out)
        return
    for side in ("a", "b"):
        x = out[side]
        typer.echo(f"{side.upper()} {x['corridor']['ref']:8} parcels {x['parcels_affected']:5} "
                   f"holders {x['holders_affected']:5} taken {x['taken_m2']:12,.1f} m² "
                   f"full acquisition {x['proposed_full_acquisition']:4} "
                   f"cost {x['cost_proposed']:18,.0f} đ")
    d = out["difference_b_minus_a"]
    typer.echo(f"only in A: {len(out['only_a'])}, only in B: {len(out['only_b'])}, in both: "
               f"{out['in_both']}; B − A: {d['parcels_affected']:+.0f} parcels, "
               f"{d['taken_m2']:+,.1f} m², {d['cost_proposed']:+,.0f} đ")

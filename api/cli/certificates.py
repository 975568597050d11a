"""``cadastre verify``, ``cadastre stats`` and ``cadastre applications …`` from the shell.

The same domain functions as ``/api/v1/applications`` and ``/api/v1/stats``.  Acts
are a land officer's: name one with ``--as`` (or ``CADASTRE_OFFICER``); the user must
exist, be active and have that role.  Exit 2 on bad input (nothing written), 0 else.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from api.cli.common import acting_officer, fail, run_domain
from config.settings import Settings
from db.audit import Actor

applications_app = typer.Typer(no_args_is_help=True,
                               help="First-time certificate applications (hồ sơ cấp GCN)")
AsOfficer = Annotated[str | None, typer.Option(
    "--as", envvar="CADASTRE_OFFICER", help="land officer acting (username)")]
AsJson = Annotated[bool, typer.Option("--json", help="machine-readable JSON")]
AppRef = Annotated[str, typer.Argument(help="application id or receipt number (A000001)")]


def officer(session: Session, settings: Settings, username: str | None) -> Actor:
    """The land officer named with --as (or CADASTRE_OFFICER)."""
    return acting_officer(session, username, acts_on="acts on applications")


def echo(obj: dict[str, Any]) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def print_report(r: dict[str, Any]) -> None:
    typer.echo(f"report {r['id']} of application {r['application_id']}: {r['verdict'].upper()} "
               f"(registry version {r['registry_version']}, {r['elapsed_ms']:.0f} ms)")
    typer.echo(f"  measured {r['measured_area_m2']} m², declared {r['declared_area_m2']} m²")
    for f in r["findings"]:
        if f["severity"] == "info":
            continue
        typer.echo(f"  [{f['severity']}] {f['rule']}: {f['message_en']}")
        typer.echo(f"      {f['message_vi']}")


def verify_command(
    application_id: AppRef, as_user: AsOfficer = None, as_json: AsJson = False,
) -> None:
    """Verify an application against the registry now and store the report (an act: name
    the land officer with --as)."""
    from certificates import applications as apps
    from certificates.rules import load_settings
    from certificates.schemas import report_out

    out = run_domain(lambda s, st: report_out(apps.verify(
        s, actor=officer(s, st, as_user), application_id=application_id,
        settings=load_settings(st.data.rules_file))))
    if as_json:
        echo(out)
    else:
        print_report(out)


def stats_command(
    date_from: Annotated[str, typer.Option("--from", help="first day received, YYYY-MM-DD")],
    date_to: Annotated[str, typer.Option("--to", help="last day received, YYYY-MM-DD")],
    origin: Annotated[str | None, typer.Option(help="desk | inherited (both by default)")] = None,
    as_json: AsJson = False,
) -> None:
    """Received, online share, on time, late, pending, overdue: from the stored applications."""
    from certificates import stats

    try:
        a, b = date.fromisoformat(date_from), date.fromisoformat(date_to)
    except ValueError:
        fail("--from and --to are dates YYYY-MM-DD")
    out = run_domain(lambda s, st: stats.application_stats(
        s, ward_code=st.data.ward_code, date_from=a, date_to=b, origin=origin).as_dict())
    if as_json:
        echo(out)
        return
    typer.echo(f"applications received {out['from']} .. {out['to']}: {out['received']}")
    typer.echo(f"  online {out['online_share']:.1%}, finished {out['finished']}, "
               f"on time {out['on_time_rate']:.1%}, late {out['late_rate']:.1%}, "
               f"pending {out['pending']}, overdue {out['overdue']}, median "
               f"{out['median_processing_working_days']} working days")
    for proc, f in out["by_procedure"].items():
        typer.echo(f"  {proc:18} {f['received']:5}  on time {f['on_time_rate']:.1%}  "
                   f"late {f['late_rate']:.1%}  pending {f['pending']}")


@applications_app.command("list")
def list_command(
    state: Annotated[str | None, typer.Option(help="received, verifying, …")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="due date passed")] = False,
    due_within: Annotated[int | None, typer.Option(help="due within N working days")] = None,
    origin: Annotated[str | None, typer.Option(help="desk | inherited")] = None,
    sort: Annotated[str | None, typer.Option(help="id | due | received")] = None,
    limit: Annotated[int, typer.Option(help="at most this many")] = 50,
    as_json: AsJson = False,
) -> None:
    """The queue: how many match, and each file's working days left or overdue."""
    from certificates import applications as apps
    from certificates.schemas import application_out

    def read(s: Session, st: Settings) -> dict[str, Any]:
        page = apps.list_applications(s, ward_code=st.data.ward_code, state=state,
                                      overdue=overdue, due_within=due_within, origin=origin,
                                      sort=sort, limit=limit)
        return {"total": page.total, "items": [
            application_out(a, with_geometry=False, clock=page.clocks[a.id])
            for a in page.items]}

    out = run_domain(read)
    if as_json:
        echo(out)
        return
    typer.echo(f"{out['total']} applications match; showing {len(out['items'])}")
    for a in out["items"]:
        left = a["working_days_left"]
        when = ("clock stopped" if not a["clock_running"] else
                f"{-left} working days overdue" if left < 0 else f"{left} working days left")
        typer.echo(f"{a['id']:6} {a['application_key'] or '':16} {a['procedure']:17} "
                   f"{a['state']:21} received {a['received_on']} due {a['due_on']} ({when})  "
                   f"{a['applicant']['name']}")


@applications_app.command("show")
def show_command(application_id: AppRef, as_json: AsJson = False) -> None:
    """One application: its state, its clock, its latest verdict."""
    from certificates import applications as apps
    from certificates.schemas import application_out

    def read(s: Session, st: Settings) -> dict[str, Any]:
        app = apps.get(s, ward_code=st.data.ward_code, application_id=application_id)
        last = apps.latest_report(s, app)
        return {**application_out(app, clock=apps.clock_of(s, app)),
                "latest_verdict": last.verdict if last else None,
                "origin_assessment": apps.origin_assessment(s, app).as_dict(),
                "version": apps.version_of(s, application_id=app.id)}

    out = run_domain(read)
    if as_json:
        echo(out)
        return
    verdict = out["latest_verdict"] or "not verified yet / chưa kiểm tra"
    c = out["clock"]
    typer.echo(f"application {out['id']} ({out['application_key']}): {out['procedure']}, "
               f"{out['state']}, latest verdict {verdict}, version {out['version']}")
    typer.echo(f"  received {out['received_on']}, due {out['due_on']}: "
               + ("clock stopped (" + str(c["stopped_by"]) + ")" if not c["clock_running"] else
                  f"{c['working_days_left']} working days left" if c["working_days_left"] >= 0
                  else f"{-c['working_days_left']} working days overdue")
               + f"; {c['statutory_working_days']} working days ({c['statutory_source']})")
    for p in c["excluded_periods"]:
        typer.echo(f"  not counted: {p['kind']} {p['start']} → {p['end'] or 'open'} "
                   f"({p['working_days']} working days)")
    if out["origin"] == "inherited":
        typer.echo(f"  inherited from {out['inherited_from']}: receipt {out['old_receipt_no']} "
                   f"of {out['old_received_on']}")
    typer.echo(f"  applicant {out['applicant']['name']}, declared {out['declared_area_m2']} m² "
               f"{out['declared_land_use'] or '(no land use)'}, certificate "
               f"{out['certificate_no'] or '-'}")


@applications_app.command("receive")
def receive_command(
    geojson: Annotated[Path, typer.Option(exists=True, dir_okay=False,
                                          help="the claimed parcel: a GeoJSON Polygon/Feature")],
    applicant: Annotated[str, typer.Option(help="applicant's full name")],
    declared_area: Annotated[float, typer.Option(help="declared area, m²")],
    land_use: Annotated[str, typer.Option(help="declared land use, e.g. ODT")],
    channel: Annotated[str, typer.Option(help="online | counter")] = "counter",
    srid: Annotated[int, typer.Option(help="EPSG code of the coordinates")] = 4326,
    former_unit: Annotated[str | None, typer.Option(help="kim_long, huong_long, …")] = None,
    sheet_no: Annotated[int | None, typer.Option(help="map sheet number")] = None,
    parcel_no: Annotated[int | None, typer.Option(help="parcel number")] = None,
    complete: Annotated[bool, typer.Option("--complete/--incomplete",
                                           help="the file is complete at receipt")] = True,
    as_user: AsOfficer = None,
) -> None:
    """Receive a first-time certificate application; prints its id and due date."""
    from certificates import applications as apps
    from gis.geojson import GeoJSONError, geometry_from_geojson

    try:
        geom = geometry_from_geojson(json.loads(geojson.read_text(encoding="utf-8")))
    except (GeoJSONError, ValueError) as exc:
        fail(f"{geojson}: {exc}")
    intake = apps.Intake(procedure="first_certificate", applicant_name=applicant,
                         channel=channel, declared_area=declared_area,
                         declared_land_use=land_use, geometry=geom, srid=srid,
                         former_unit=former_unit, sheet_no=sheet_no, parcel_no=parcel_no,
                         complete=complete)
    app_id, due = run_domain(lambda s, st: (lambda a: (a.id, a.due_on))(
        apps.receive(s, actor=officer(s, st, as_user), intake=intake)))
    typer.echo(f"application {app_id} received; due {due.isoformat()}")


@applications_app.command("field-check")
def field_check_command(
    application_id: AppRef,
    notes: Annotated[str, typer.Option(help="what was found in the field")],
    geojson: Annotated[Path | None, typer.Option(exists=True, dir_okay=False,
                                                 help="re-measured boundary (GeoJSON)")] = None,
    srid: Annotated[int, typer.Option(help="EPSG code of the re-measured boundary")] = 4326,
    as_user: AsOfficer = None, as_json: AsJson = False,
) -> None:
    """Record the field check (and a re-measured boundary); re-verifies."""
    from certificates import applications as apps
    from certificates.rules import load_settings
    from certificates.schemas import report_out
    from gis.geojson import geometry_from_geojson

    geom = geometry_from_geojson(json.loads(geojson.read_text(encoding="utf-8"))) \
        if geojson else None
    check = apps.FieldCheck(notes=notes, geometry=geom, srid=srid)
    out = run_domain(lambda s, st: report_out(apps.record_field_check(
        s, actor=officer(s, st, as_user), application_id=application_id, check=check,
        settings=load_settings(st.data.rules_file))))
    if as_json:
        echo(out)
    else:
        print_report(out)


@applications_app.command("decide")
def decide_command(
    application_id: AppRef,
    reason: Annotated[str, typer.Option(help="why (recorded and audited)")],
    approve: Annotated[bool, typer.Option("--approve/--reject", help="the decision")] = True,
    override_warnings: Annotated[bool, typer.Option(
        "--override-warnings", help="approve despite warnings (never despite errors)")] = False,
    certificate_no: Annotated[str | None, typer.Option(help="certificate blank serial")] = None,
    expected_version: Annotated[int | None, typer.Option(
        "--expected-version", help="the version `applications show` gave: if another officer "
        "acted since, nothing is decided (exit 2)")] = None,
    as_user: AsOfficer = None,
) -> None:
    """Approve (parcel, right, certificate written atomically) or reject."""
    from certificates import applications as apps
    from certificates.rules import load_settings

    decision = apps.Decision(approve=approve, reason=reason,
                             override_warnings=override_warnings, certificate_no=certificate_no)

    def decide(s: Session, st: Settings) -> tuple[str, str | None, int | None]:
        me = officer(s, st, as_user)
        apps.require_version(s, actor=me, application_id=application_id,
                             expected=expected_version)
        a = apps.decide(s, actor=me, application_id=application_id, decision=decision,
                        settings=load_settings(st.data.rules_file))
        return a.state, a.certificate_no, a.parcel_id

    state, cert, parcel = run_domain(decide)
    typer.echo(f"application {application_id} {state}"
               + (f": parcel {parcel}, certificate {cert}" if cert else ""))


@applications_app.command("request-supplement")
def supplement_command(application_id: AppRef,
                       reason: Annotated[str, typer.Option(help="what the applicant must add")],
                       as_user: AsOfficer = None) -> None:
    """Ask the applicant for more: the statutory clock stops."""
    from certificates import applications as apps

    run_domain(lambda s, st: apps.request_supplement(s, actor=officer(s, st, as_user),
                                               application_id=application_id, reason=reason))
    typer.echo(f"application {application_id} waiting for the applicant")


@applications_app.command("supplement-received")
def resume_command(application_id: AppRef, as_user: AsOfficer = None) -> None:
    """The file is complete again: the clock restarts, the due date moves."""
    from certificates import applications as apps

    due = run_domain(lambda s, st: apps.supplement_received(
        s, actor=officer(s, st, as_user), application_id=application_id).due_on)
    typer.echo(f"application {application_id} resumed; due {due.isoformat()}")


@applications_app.command("issue")
def issue_command(application_id: AppRef, as_user: AsOfficer = None) -> None:
    """The certificate was handed over: the file is closed."""
    from certificates import applications as apps

    cert = run_domain(lambda s, st: apps.issue_certificate(
        s, actor=officer(s, st, as_user), application_id=application_id).certificate_no)
    typer.echo(f"certificate {cert} issued (application {application_id})")


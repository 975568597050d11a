"""``cadastre applications`` acts of the ward's steps: survey extract, evidence, posting,
complaints, eligibility, tax information, obligations, clock stops, and the backlog's
``verify-all`` and ``triage``.  The same domain functions as ``/api/v1/applications``."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from api.cli.certificates import (
    AppRef,
    AsJson,
    AsOfficer,
    applications_app,
    echo,
    officer,
    print_report,
)
from api.cli.common import fail, run_domain
from config.settings import Settings


def _act(application_id: str, as_user: str | None, fn: Any, **kw: Any) -> None:
    """Run one workflow act as the named officer; print the state and the due date."""
    from certificates import applications as apps

    def run(s: Session, st: Settings) -> tuple[int, str, str, int, bool]:
        app = fn(s, actor=officer(s, st, as_user), application_id=application_id, **kw)
        c = apps.clock_of(s, app)
        return app.id, app.state, c.due_on.isoformat(), c.left, c.running

    app_id, state, due, left, running = run_domain(run)
    typer.echo(f"application {app_id} {state}; due {due} ("
               + ("clock stopped" if not running else f"{left} working days left" if left >= 0
                  else f"{-left} working days overdue") + ")")


@applications_app.command("order-survey")
def order_survey_command(application_id: AppRef,
                         surveyor: Annotated[str, typer.Option(help="licensed surveyor")],
                         as_user: AsOfficer = None) -> None:
    """Order the survey extract from a licensed surveyor (due in 5 working days)."""
    from certificates import applications as apps

    _act(application_id, as_user, apps.order_survey, surveyor=surveyor)


@applications_app.command("survey-received")
def survey_received_command(
    application_id: AppRef, surveyor: Annotated[str, typer.Option()],
    extract_no: Annotated[str, typer.Option(help="the extract's number")],
    geojson: Annotated[Path | None, typer.Option(exists=True, dir_okay=False,
                                                 help="the extract's boundary")] = None,
    srid: Annotated[int, typer.Option()] = 4326, as_user: AsOfficer = None,
) -> None:
    """The survey extract is back: its boundary replaces the claim; verified again."""
    from certificates import applications as apps
    from certificates.rules import load_settings
    from certificates.schemas import report_out
    from gis.geojson import geometry_from_geojson

    geom = geometry_from_geojson(json.loads(geojson.read_text(encoding="utf-8"))) \
        if geojson else None
    out = run_domain(lambda s, st: report_out(apps.survey_received(
        s, actor=officer(s, st, as_user), application_id=application_id, surveyor=surveyor,
        extract_no=extract_no, geometry=geom, srid=srid,
        settings=load_settings(st.data.rules_file))))
    print_report(out)


@applications_app.command("evidence")
def evidence_command(
    application_id: AppRef,
    kind: Annotated[str, typer.Option(help="use (a dated document of use) | papers")],
    dated: Annotated[str, typer.Option(help="the document's date, YYYY-MM-DD")],
    title: Annotated[str, typer.Option(help="what the document is")],
    number: Annotated[str | None, typer.Option()] = None, as_user: AsOfficer = None,
) -> None:
    """Record a dated document of origin or stable use; prints the period it decides."""
    from certificates import applications as apps

    try:
        day = date.fromisoformat(dated)
    except ValueError:
        fail("--dated is a date YYYY-MM-DD")
    ev = apps.Evidence(kind=kind, dated=day, title=title, number=number)
    out = run_domain(lambda s, st: apps.origin_assessment(s, apps.add_evidence(
        s, actor=officer(s, st, as_user), application_id=application_id,
        evidence=ev)).as_dict())
    typer.echo(f"earliest evidence of use {out['earliest_evidence_on']}: {out['case']} — "
               f"{out['period_vi']} / {out['period_en']}")


@applications_app.command("post")
def post_command(application_id: AppRef,
                 place: Annotated[str, typer.Option(help="where the result is posted")],
                 as_user: AsOfficer = None) -> None:
    """Post the result publicly (form 17) for 15 days; the clock stops."""
    from certificates import applications as apps

    _act(application_id, as_user, apps.open_posting, place=place)


@applications_app.command("complaint")
def complaint_command(application_id: AppRef, complainant: Annotated[str, typer.Option()],
                      text: Annotated[str, typer.Option(help="what they object to")],
                      as_user: AsOfficer = None) -> None:
    """Record a complaint received during the posting."""
    from certificates import applications as apps

    _act(application_id, as_user, apps.record_complaint, complainant=complainant, text=text)


@applications_app.command("settle-complaint")
def settle_command(application_id: AppRef, complaint_no: int,
                   outcome: Annotated[str, typer.Option()],
                   upheld: Annotated[bool, typer.Option("--upheld/--dismissed")] = False,
                   as_user: AsOfficer = None) -> None:
    """Record how a complaint was settled."""
    from certificates import applications as apps

    _act(application_id, as_user, apps.settle_complaint, complaint_no=complaint_no,
         outcome=outcome, upheld=upheld)


@applications_app.command("close-posting")
def close_posting_command(application_id: AppRef, as_user: AsOfficer = None) -> None:
    """End the posting (after its 15th day, every complaint settled)."""
    from certificates import applications as apps

    _act(application_id, as_user, apps.close_posting)


@applications_app.command("eligibility")
def eligibility_command(
    application_id: AppRef, reason: Annotated[str, typer.Option()],
    eligible: Annotated[bool, typer.Option("--eligible/--not-eligible")] = True,
    override_warnings: Annotated[bool, typer.Option("--override-warnings")] = False,
    as_user: AsOfficer = None,
) -> None:
    """Decide eligibility (form 16); not eligible rejects the file."""
    from certificates import applications as apps

    _act(application_id, as_user, apps.decide_eligibility, eligible=eligible, reason=reason,
         override_warnings=override_warnings)


@applications_app.command("tax-info")
def tax_info_command(application_id: AppRef, tax_office: Annotated[str, typer.Option()],
                     as_user: AsOfficer = None) -> None:
    """Send the tax information (form 19): the clock stops for the financial obligations."""
    from certificates import applications as apps

    _act(application_id, as_user, apps.send_tax_info, tax_office=tax_office)


@applications_app.command("obligations-met")
def obligations_command(application_id: AppRef,
                        receipt: Annotated[str | None, typer.Option()] = None,
                        exempt_reason: Annotated[str | None, typer.Option()] = None,
                        as_user: AsOfficer = None) -> None:
    """The applicant paid (--receipt) or is exempt (--exempt-reason): the clock runs again."""
    from certificates import applications as apps

    _act(application_id, as_user, apps.obligations_met, receipt=receipt,
         exempt_reason=exempt_reason)


@applications_app.command("stop-clock")
def stop_clock_command(application_id: AppRef,
                       kind: Annotated[str, typer.Option(
                           help="violation_handling | expert_assessment | "
                                "inheritance_division")],
                       reason: Annotated[str, typer.Option()], as_user: AsOfficer = None) -> None:
    """Stop the statutory clock for an excluded period."""
    from certificates import applications as apps

    _act(application_id, as_user, apps.stop_clock, kind=kind, reason=reason)


@applications_app.command("resume-clock")
def resume_clock_command(application_id: AppRef, as_user: AsOfficer = None) -> None:
    """The excluded period is over: the clock runs again."""
    from certificates import applications as apps

    _act(application_id, as_user, apps.resume_clock)


@applications_app.command("verify-all")
def verify_all_command(
    origin: Annotated[str, typer.Option(help="inherited | desk")] = "inherited",
    as_user: AsOfficer = None, as_json: AsJson = False,
) -> None:
    """Verify every pending file of an origin (with a progress bar), then print the triage:
    verdict, first rule, age in working days, worst first."""
    from rich.progress import Progress

    from certificates import backlog
    from certificates.rules import load_settings

    with Progress(transient=True) as bar:
        task = bar.add_task(f"verifying {origin} files", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        def run(s: Session, st: Settings) -> tuple[backlog.VerifyAllResult, dict[str, Any]]:
            result = backlog.verify_all(s, actor=officer(s, st, as_user), origin=origin,
                                        settings=load_settings(st.data.rules_file),
                                        progress=tick)
            return result, backlog.triage(s, ward_code=st.data.ward_code,
                                          origin=origin).as_dict()

        result, table = run_domain(run)
    if as_json:
        echo({"verified": result.verified, "skipped": result.skipped, **table})
        return
    typer.echo(f"verified {result.verified} {origin} files ({result.skipped} not verifiable "
               f"in their state): {result.verdicts}")
    _print_triage(table)


@applications_app.command("triage")
def triage_command(origin: Annotated[str, typer.Option(help="inherited | desk")] = "inherited",
                   as_json: AsJson = False) -> None:
    """The stored verdicts of the pending files of an origin, worst first."""
    from certificates import backlog

    table = run_domain(lambda s, st: backlog.triage(s, ward_code=st.data.ward_code,
                                                    origin=origin).as_dict())
    if as_json:
        echo(table)
    else:
        _print_triage(table)


def _print_triage(table: dict[str, Any]) -> None:
    typer.echo(f"{table['total']} pending {table['origin']} files on {table['today']}: "
               + ", ".join(f"{k} {v}" for k, v in table["counts"].items()))
    typer.echo(f"{'key':10} {'old receipt':32} {'verdict':12} {'first rule':20} age (wd)")
    for r in table["items"]:
        typer.echo(f"{r['application_key'] or r['application_id']!s:10} "
                   f"{r['old_receipt_no'] or '-':32} {r['verdict']:12} "
                   f"{r['first_rule'] or '-':20} {r['age_working_days']:5}")

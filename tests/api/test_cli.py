"""The `cadastre` command line calls the same domain functions; bad input exits 2."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app
from db.audit import Actor
from parcels import registry
from tests.conftest import WARD
from tests.factories import rect, spec


@pytest.fixture()
def run(engine, service_env):
    """Invoke the CLI against the test database (committed writes: unique names per test)."""
    runner = CliRunner()
    return lambda *args, stdin=None: runner.invoke(app, list(args), input=stdin)


def test_db_status_names_the_cluster(run) -> None:
    r = run("db", "status")
    assert r.exit_code == 0, r.output
    assert ": up" in r.output


def test_users_add_reads_password_from_stdin(run) -> None:
    r = run("users", "add", "cli-clerk", "--role", "official", stdin="a-long-password-1\n")
    assert r.exit_code == 0, r.output
    assert "cli-clerk" in run("users", "list").output
    again = run("users", "add", "cli-clerk", "--role", "official", stdin="a-long-password-1\n")
    assert again.exit_code == 2 and "already exists" in again.output


@pytest.mark.parametrize(("args", "message"), [
    (("users", "add", "cli-x", "--role", "mayor"), "unknown role"),
    (("users", "add", "cli-y", "--role", "official"), "at least 10"),
    (("users", "disable", "nobody-at-all"), "no user"),
])
def test_bad_user_commands_exit_2(run, args, message) -> None:
    r = run(*args, stdin="short\n")
    assert r.exit_code == 2 and message in r.output


def test_parcels_show_finds_by_sheet_and_number(run, engine) -> None:
    with Session(engine) as s, s.begin():
        registry.register_parcel(
            s, actor=Actor(username="cli-test", ward_code=WARD),
            spec=spec(901, 17, rect(900, 900, 8, 25), legal_area=200.0), reason="cli test")
    r = run("parcels", "show", "901/17")
    assert r.exit_code == 0, r.output
    assert "tờ 901 thửa 17" in r.output and "measured 200.0 m²" in r.output
    feat = json.loads(run("parcels", "show", "901/17", "--json").output)
    assert feat["properties"]["measured_area_m2"] == 200.0


@pytest.mark.parametrize("ref", ["901-17", "abc", "999/999"])
def test_parcels_show_bad_or_unknown_exits_2(run, ref) -> None:
    r = run("parcels", "show", ref)
    assert r.exit_code == 2


def test_database_url_wins_over_the_embedded_cluster(run, engine, monkeypatch) -> None:
    """With DATABASE_URL set, every command uses that server, and `db status` says so."""
    url = engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    r = run("db", "status")
    assert r.exit_code == 0, r.output
    assert "external server (DATABASE_URL)" in r.output and ": up" in r.output
    assert engine.url.password not in r.output  # the password is never printed by status
    assert run("db", "url").output.strip() == url


def test_database_url_down_is_reported(run, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody:x@127.0.0.1:1/none")
    r = run("db", "status")
    assert r.exit_code == 1 and ": down" in r.output


def _committed_claim(engine, key: str, x: float, *, ward: str = WARD, y: float = 1700,
                     **kw) -> int:
    from certificates import applications as apps
    from tests.certificates.conftest import intake

    with Session(engine) as s, s.begin():
        a = apps.receive(s, actor=Actor(username="land_officer", role="land_officer",
                                        ward_code=ward),
                         intake=intake(rect(x, y, 20, 20), application_key=key, **kw))
        return a.id


@pytest.fixture()
def own_ward(engine, monkeypatch) -> tuple[str, str]:
    """A committed ward of its own, the command line pointed at it, and its land officer:
    for tests that commit acts at a set instant, so that no other test (the audit log's
    order, the demo's backlog) sees rows dated out of the clock's order."""
    from api.users import add_user
    from db.engine import transaction
    from tests.factories import committed_ward

    code = committed_ward(engine, "command-line procedure ward")
    username = f"officer-{code.lower()}"
    with transaction(engine) as s:
        add_user(s, actor=Actor(username=username, role="land_officer", ward_code=code),
                 username=username, role="land_officer", password="cli-ward-password-1")
    monkeypatch.setenv("CADASTRE_WARD_CODE", code)
    return code, username


def test_applications_show_by_receipt_number(run, engine) -> None:
    """An application is named by its receipt number as well as its id; an unverified one
    says so in words, not "None"."""
    app_id = _committed_claim(engine, "CLI-17-0001", 0)
    r = run("applications", "show", "CLI-17-0001")
    assert r.exit_code == 0, r.output
    assert f"application {app_id} (CLI-17-0001)" in r.output
    assert "not verified yet" in r.output and "None" not in r.output
    assert "working days left" in r.output
    assert run("applications", "show", str(app_id)).exit_code == 0
    missing = run("applications", "show", "CLI-NO-SUCH")
    assert missing.exit_code == 2 and "receipt number" in missing.output


def test_verify_names_the_officer_or_says_how(run, engine) -> None:
    app_id = _committed_claim(engine, "CLI-17-0002", 40)
    r = run("verify", str(app_id))
    assert r.exit_code == 2 and "--as" in r.output
    r = run("verify", "CLI-17-0002", "--as", "land_officer")
    assert r.exit_code == 0, r.output
    assert "PASS" in r.output or "REVIEW" in r.output


def test_verify_all_inherited_prints_the_triage(run, engine, own_ward) -> None:
    """The inherited files are verified in one command, then listed worst first; the file
    the former unit received on Mon 4 May 2026 is 9 working days old on Fri 15 May."""
    from datetime import date

    import time_machine

    ward, me = own_ward
    with time_machine.travel("2026-05-15T02:00:00+00:00", tick=False):
        _committed_claim(engine, "CLI-17-0003", 80, ward=ward, y=0, origin="inherited",
                         inherited_from="UBND quận Phú Xuân (cũ)", old_receipt_no="PX-2025-0007",
                         old_received_on=date(2026, 5, 4))
        r = run("applications", "verify-all", "--origin", "inherited", "--as", me)
        assert r.exit_code == 0, r.output
        assert "verified" in r.output and "first rule" in r.output
        line = next(x for x in r.output.splitlines() if x.startswith("CLI-17-0003"))
        assert "PX-2025-0007" in line and "pass" in line
        assert " 9 " in f" {line} ", line
        listed = run("applications", "list", "--origin", "inherited", "--sort", "received")
        assert listed.exit_code == 0 and "1 applications match" in listed.output, listed.output


def test_the_procedure_on_the_command_line_with_the_due_date_at_every_step(run, engine,
                                                                           own_ward) -> None:
    """Received Mon 4 May 2026: due 1 June (5–8, 11–15, 18–22, 25–29 May, 1 Jun); posted the
    same day, 5–19 May are not counted (11 working days): due 16 June (20–22, 25–29 May,
    1–5, 8–12, 15–16 Jun); the obligations met the day they were sent: still 16 June; the
    certificate handed over on 20 May."""
    import time_machine

    def at(day: str):
        return time_machine.travel(f"{day}T02:00:00+00:00", tick=False)

    with at("2026-05-04"):
        ward, officer = own_ward
        app_id = _committed_claim(engine, "CLI-17-0004", 120, ward=ward, y=0, sheet=905,
                                  number=4)
        key, me = "CLI-17-0004", ("--as", officer)
        steps = [("verify", key, *me),
                 ("applications", "order-survey", key, "--surveyor", "Công ty Đo đạc A", *me),
                 ("applications", "survey-received", key, "--surveyor", "Công ty Đo đạc A",
                  "--extract-no", "TĐ-7", *me),
                 ("applications", "field-check", key, "--notes", "khớp thực địa", *me)]
        for args in steps:
            r = run(*args)
            assert r.exit_code == 0, (args, r.output)
        r = run("applications", "post", key, "--place", "Nhà văn hóa tổ 5", *me)
        assert r.exit_code == 0 and "posting; due 2026-06-16 (clock stopped)" in r.output
        early = run("applications", "close-posting", key, *me)
        assert early.exit_code == 2 and "2026-05-19" in early.output
    with at("2026-05-20"):
        for args, state in [
                (("close-posting", key), "posted"),
                (("eligibility", key, "--reason", "đủ điều kiện"), "eligible"),
                (("tax-info", key, "--tax-office", "Thuế cơ sở Huế"), "financial_obligations"),
                (("obligations-met", key, "--receipt", "BL-7"), "obligations_met")]:
            r = run("applications", *args, *me)
            assert r.exit_code == 0 and f"{state}; due 2026-06-16" in r.output, r.output
        r = run("applications", "decide", key, "--reason", "đủ điều kiện", *me)
        assert r.exit_code == 0 and "approved" in r.output and "MÔ PHỎNG" in r.output, r.output
        r = run("applications", "issue", key, *me)
        assert r.exit_code == 0, r.output
        shown = run("applications", "show", str(app_id))
        assert "certificate_issued" in shown.output and "due 2026-06-16" in shown.output

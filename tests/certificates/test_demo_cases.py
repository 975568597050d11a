"""The demo ward's planted cases: every backlog claim gets its planted rule and verdict.

The generator labels each inherited application with the defect it planted (or
``clean``); the loader plants open disputes over a few clean claims.  A land officer
verifying the backlog must see exactly those: the planted rule among the findings, the
planted verdict, and no error the generator did not plant.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import text

from certificates import stats
from certificates.applications import claim_of, get
from certificates.rules import load_settings
from certificates.verification import run
from tests.certificates.conftest import Demo
from tests.conftest import WARD


def _backlog(demo: Demo) -> list[tuple[int, str, str, str | None]]:
    return [tuple(r) for r in demo.session.execute(text(
        "SELECT a.id, t.expected_rule, t.expected_verdict, t.defect FROM application a "
        "JOIN demo_application_truth t ON t.application_id = a.id "
        "WHERE t.cohort = 'backlog' ORDER BY a.id")).all()]


def test_every_planted_backlog_case_gets_its_rule_and_verdict(demo: Demo) -> None:
    """Each backlog claim's verdict is the planted one and its planted rule is reported."""
    settings = load_settings()
    rows = _backlog(demo)
    assert len(rows) >= 15
    wrong = []
    found: Counter[str] = Counter()
    for app_id, rule, verdict, defect in rows:
        app = get(demo.session, ward_code=WARD, application_id=app_id)
        outcome, _ = run(demo.session, ward_code=WARD, claim=claim_of(app), settings=settings)
        rules = outcome.rules()
        ok = outcome.verdict == verdict and ((rule == "clean" and not rules) or rule in rules)
        if rule != "clean" and verdict == "review":  # no error may hide behind a warning case
            ok = ok and not outcome.errors()
        if ok:
            found[rule] += 1
        else:
            wrong.append((app.application_key, rule, verdict, defect, outcome.verdict,
                          [(f.rule, str(f.severity), f.message_en) for f in outcome.findings]))
    assert not wrong, "\n".join(map(str, wrong))
    assert set(found) >= {"clean", "overlap_registered", "overlap_pending", "boundary_gap",
                          "area_mismatch", "road_redline", "protection_zone", "outside_ward",
                          "invalid_geometry", "already_registered", "dispute_open"}


def test_intake_statistics_reproduce_the_manifest(demo: Demo) -> None:
    """Stats of 1 Jul - 25 Aug 2025 equal the generator's published shares."""
    from datetime import date

    s = stats.application_stats(demo.session, ward_code=WARD, date_from=date(2025, 7, 1),
                                date_to=date(2025, 8, 25))
    m = demo.manifest["applications"]
    assert s.total.received == m["intake"]
    assert s.total.online_share == m["intake_online_share"]
    assert s.total.on_time_rate == m["intake_on_time_share"]
    assert s.total.late_rate == m["intake_late_share"]
    assert abs(s.total.online_share - 0.95) < 0.01
    assert abs(s.total.on_time_rate - 0.92) < 0.01
    assert abs(s.total.late_rate - 0.023) < 0.005


def test_the_inherited_backlog_verified_in_one_run_with_its_triage(demo: Demo) -> None:
    """verify-all --origin inherited verifies every backlog file that may be verified; the
    triage puts the failures first, each with its first rule and its age in working days,
    and the list and statistics filter by origin."""
    from datetime import date

    from certificates import applications as apps
    from certificates import backlog
    from certificates.deadlines import calendar
    from db.audit import Actor

    officer = Actor(username="land_officer", role="land_officer", ward_code=WARD)
    truth = {r[0]: (r[1], r[2]) for r in _backlog(demo)}
    seen: list[tuple[int, int]] = []
    result = backlog.verify_all(demo.session, actor=officer, origin="inherited",
                                progress=lambda done, total: seen.append((done, total)))
    pending = [a for a in truth if apps.get(demo.session, ward_code=WARD, application_id=a)
               .state in ("received", "verifying", "field_check")]
    assert result.verified == len(pending) and seen[-1][0] == seen[-1][1]
    table = backlog.triage(demo.session, ward_code=WARD, origin="inherited",
                           today=date(2025, 8, 26))
    assert table.rows and table.rows[0].verdict == "fail"
    order = [backlog.VERDICT_ORDER[r.verdict] for r in table.rows]
    assert order == sorted(order)
    for r in table.rows:
        rule, verdict = truth[r.application_id]
        if r.verdict != "not verified":
            assert r.verdict == verdict, (r, rule)
        if rule not in ("clean", "dispute_open") and verdict == "fail":
            assert r.first_rule == rule, (r, rule)
        assert r.old_receipt_no and r.old_receipt_no.startswith("PX-MÔ PHỎNG-")
        assert r.age_working_days == calendar().working_days_between(r.received_on,
                                                                     date(2025, 8, 26)) > 20
    page = apps.list_applications(demo.session, ward_code=WARD, origin="inherited", limit=1000)
    assert {a.id for a in page.items} >= set(truth) and page.total == len(page.items)
    assert all(a.origin == "inherited" for a in page.items)
    desk = apps.list_applications(demo.session, ward_code=WARD, origin="desk", limit=1000)
    assert not {a.id for a in desk.items} & set(truth)
    s = stats.application_stats(demo.session, ward_code=WARD, date_from=date(2024, 1, 1),
                                date_to=date(2025, 8, 25), origin="inherited")
    assert s.total.received == len(truth)

"""The statutory clock from events, pure: excluded periods, dated rows, a province's row."""

from __future__ import annotations

from datetime import date

from certificates.deadlines import calendar, calendar_from, read_settings
from certificates.timeline import Event, compute
from config.tables import CALENDAR_TABLE, CERTIFICATES_TABLE


def _cal(extra_rows: list[dict] | None = None):
    data = dict(read_settings(CERTIFICATES_TABLE))
    if extra_rows:
        dl = dict(data["deadlines"])
        dl["procedures"] = [*dl["procedures"], *extra_rows]
        data["deadlines"] = dl
    return calendar_from(data, calendar(CERTIFICATES_TABLE, CALENDAR_TABLE).days)


def test_a_posting_closed_late_excludes_only_its_15_days() -> None:
    """Received Mon 2 Mar 2026 (due 30 Mar: 3–6, 9–13, 16–20, 23–27, 30 Mar); posted Mon 9
    Mar: 10–24 Mar are not counted (11 working days); closed late on Fri 27 Mar: the days
    after the 24th still count.  Due: 30 Mar + 11 working days = 14 April."""
    cal = _cal()
    events = [Event("receive", date(2026, 3, 2)), Event("open_posting", date(2026, 3, 9)),
              Event("close_posting", date(2026, 3, 27))]
    c = compute(procedure="first_certificate", received_on=date(2026, 3, 2), events=events,
                today=date(2026, 3, 30), cal=cal)
    assert c.due_on == date(2026, 4, 14) and c.excluded_working_days == 11
    assert c.running and c.left == 20 - c.counted


def test_a_province_row_replaces_the_national_one() -> None:
    """Huế's own time (a row with level = province) wins from the day it is in force."""
    cal = _cal([{"procedure": "first_certificate", "working_days": 15, "level": "province",
                 "valid_from": date(2026, 7, 1), "source": "Huế decision (test row)"}])
    before = compute(procedure="first_certificate", received_on=date(2026, 6, 1),
                     events=[Event("receive", date(2026, 6, 1))], today=date(2026, 6, 1),
                     cal=cal)
    after = compute(procedure="first_certificate", received_on=date(2026, 7, 1),
                    events=[Event("receive", date(2026, 7, 1))], today=date(2026, 7, 1),
                    cal=cal)
    assert before.statutory.working_days == 20 and "Decree 151" in before.statutory.source
    assert after.statutory.working_days == 15 and after.statutory.level == "province"
    # 15 working days after Wed 1 July 2026: 2–3, 6–10, 13–17, 20–22 July
    assert after.due_on == date(2026, 7, 22)

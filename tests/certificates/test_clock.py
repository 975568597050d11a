"""The ward's dates come from the service clock in Asia/Ho_Chi_Minh, whatever the host's hour.

A file received at 16:59 UTC is received on the ward's same day (23:59 in Huế); at 17:00 UTC
it is the ward's next day.  Each test sets the clock (time-machine) and checks the dates a
land officer sees: received on, due on, decided on, the overdue list and the statistics.
Every expected date is worked out by hand in the test from the calendar of DOMAIN.md.
"""

from __future__ import annotations

import pytest

from config import clock
from tests.certificates.conftest import at
from tests.certificates.test_applications_api import body
from tests.factories import rect

OFFICER = "land_officer"


def stats(client, h, first: str, last: str) -> dict:
    r = client.get(f"/api/v1/stats/applications?from={first}&to={last}", headers=h)
    assert r.status_code == 200, r.text
    return r.json()


# (UTC instant of receipt and decision, the ward's date then, due date by hand)
CASES = [
    # Tue 10 March 2026, 23:59 in Huế: still the 10th; 20 working days: 11–13, 16–20, 23–27,
    # 30–31 March, 1–3 and 6–7 April
    ("2026-03-10T16:59:00", "2026-03-10", "2026-04-07"),
    # the same UTC day one minute later is Wednesday 11 March in Huế: one day later
    ("2026-03-10T17:00:00", "2026-03-11", "2026-04-08"),
    ("2026-03-10T23:30:00", "2026-03-11", "2026-04-08"),
    # New Year's Eve 23:30 UTC is 06:30 on 1 January 2027 in Huế, a public holiday: the count
    # starts on Monday 4 January; 20 working days: 4–8, 11–15, 18–22, 25–29 January
    ("2026-12-31T23:30:00", "2027-01-01", "2027-01-29"),
    # Friday 13 February 2026, the last working day before Tết (public servants off
    # 14–22 February): 20 working days are 23–27 February, 2–6, 9–13, 16–20 March
    ("2026-02-13T08:00:00", "2026-02-13", "2026-03-20"),
]


@pytest.mark.parametrize(("instant", "ward_day", "due"), CASES, ids=[c[0] for c in CASES])
def test_receive_decide_and_count_on_the_ward_date(client, settings, users, instant, ward_day,
                                                   due) -> None:
    """Received, due and decided dates are the ward's; the statistics count on the ward's day."""
    figures = ("received", "finished", "on_time", "late")
    utc_day = instant[:10]
    with at(instant, settings, users) as h:
        assert clock.today().isoformat() == ward_day
        # What other tests left on these days (a run on that very day receives there too)
        before = stats(client, h, ward_day, ward_day)
        before_utc = stats(client, h, utc_day, utc_day)
        app = client.post("/api/v1/applications", headers=h, json=body(rect(0, 0, 20, 20)))
        assert app.status_code == 201, app.text
        assert app.json()["received_on"] == ward_day and app.json()["due_on"] == due
        url = f"/api/v1/applications/{app.json()['id']}"
        r = client.post(f"{url}/decision", headers=h,
                        json={"decision": "reject", "reason": "hồ sơ không đủ điều kiện"})
        assert r.status_code == 200, r.text
        day = stats(client, h, ward_day, ward_day)
        assert tuple(day[k] - before[k] for k in figures) == (1, 1, 1, 0)
        if before["finished"] == 0:
            assert day["median_processing_working_days"] == 0
        if utc_day != ward_day:  # the host's date is the ward's yesterday: nothing added there
            assert stats(client, h, utc_day, utc_day)["received"] == before_utc["received"]


def test_a_decision_after_17_utc_falls_on_the_ward_next_day(client, settings, users) -> None:
    """Received at 16:59 UTC, decided a minute later: decided on the ward's next day."""
    with at("2026-03-10T16:59:00", settings, users) as h:
        app = client.post("/api/v1/applications", headers=h,
                          json=body(rect(0, 0, 20, 20))).json()
    with at("2026-03-10T17:00:30", settings, users) as h:
        client.post(f"/api/v1/applications/{app['id']}/decision", headers=h,
                    json={"decision": "reject", "reason": "không đủ điều kiện"})
        tenth = stats(client, h, "2026-03-10", "2026-03-10")
        assert (tenth["received"], tenth["finished"], tenth["pending"]) == (1, 0, 1)
        both = stats(client, h, "2026-03-10", "2026-03-11")
        assert (both["finished"], both["on_time"]) == (1, 1)
        assert both["median_processing_working_days"] == 1


def test_overdue_turns_at_the_ward_midnight(client, settings, users) -> None:
    """Due on Tuesday 7 April 2026: not overdue at 23:59 that day in Huế, overdue a minute on."""
    with at("2026-03-10T16:59:00", settings, users) as h:
        app = client.post("/api/v1/applications", headers=h,
                          json=body(rect(0, 0, 20, 20))).json()
    assert app["due_on"] == "2026-04-07"
    with at("2026-04-07T16:59:00", settings, users) as h:
        items = client.get("/api/v1/applications?overdue=true", headers=h).json()["items"]
        assert app["id"] not in [a["id"] for a in items]
    with at("2026-04-07T17:00:00", settings, users) as h:
        items = client.get("/api/v1/applications?overdue=true", headers=h).json()["items"]
        assert app["id"] in [a["id"] for a in items]


def test_waiting_across_tet_moves_the_due_date_by_the_working_days_waited(
        client, settings, users) -> None:
    """Asked for a supplement on Thu 12 Feb 2026, completed on Tue 24 Feb: 3 working days.

    Received Mon 2 Feb 2026, due 9 March (3–6 and 9–13 February, Tết 14–22, then 23–27
    February, 2–6 and 9 March).  Waiting from the 12th to the 24th: the 13th, the 23rd and the
    24th are working days (3), so the due date moves by three, to Thursday 12 March.
    """
    with at("2026-02-02T02:00:00", settings, users) as h:
        app = client.post("/api/v1/applications", headers=h,
                          json=body(rect(0, 0, 20, 20))).json()
    assert (app["received_on"], app["due_on"]) == ("2026-02-02", "2026-03-09")
    url = f"/api/v1/applications/{app['id']}"
    with at("2026-02-12T03:00:00", settings, users) as h:
        r = client.post(f"{url}/request-supplement", headers=h,
                        json={"reason": "thiếu giấy tờ nguồn gốc", "documents": ["mẫu 04"]})
        assert r.json()["state"] == "waiting_applicant"
    with at("2026-03-20T03:00:00", settings, users) as h:  # long past due, but waiting
        items = client.get("/api/v1/applications?overdue=true", headers=h).json()["items"]
        assert app["id"] not in [a["id"] for a in items]
    with at("2026-02-24T03:00:00", settings, users) as h:
        r = client.post(f"{url}/supplement-received", headers=h, json={"note": "đã bổ sung"})
        assert r.status_code == 200, r.text
        assert r.json()["paused_working_days"] == 3
        assert r.json()["due_on"] == "2026-03-12"

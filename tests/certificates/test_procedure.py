"""A first-time certificate goes through the ward's steps with the right due date at each one.

Every due date below is counted by hand in the comments from the statutory calendar (days
off 2026: 1 Jan; Tết 16–20 Feb; Hùng Kings 27 Apr (26th a Sunday); 30 Apr, 1 May; 31 Aug
(swapped with Saturday 22 Aug, a working day); 1–2 Sep) and Decree 151/2025's 20 working
days, counted from a complete file, leaving out the posting (15 calendar days from the day
after it opens) and the financial obligations.
"""

from __future__ import annotations

from sqlalchemy import text

from tests.certificates.conftest import at
from tests.certificates.test_applications_api import all_counts, body
from tests.factories import rect

APPS = "/api/v1/applications"


def _due(client, h, url: str) -> dict:
    r = client.get(url, headers=h)
    assert r.status_code == 200, r.text
    return r.json()


def test_friday_before_tet_with_posting_and_seven_days_of_tax(client, settings, users,
                                                              connection) -> None:
    """Received complete on Friday 13 February 2026, the last working day before Tết.

    - at receipt: 20 working days are 23–27 Feb, 2–6, 9–13, 16–20 Mar: due Fri 20 March;
    - posting opened Mon 2 Mar: 3–17 Mar are not counted (11 working days): due Mon 6 April;
    - tax information sent Thu 19 Mar, paid Thu 26 Mar (7 days): 20, 23–26 Mar not counted
      (5 working days): due Mon 13 April;
    - the certificate handed over Wed 1 April: returned on time.
    """
    with at("2026-02-13T02:00:00", settings, users) as h:
        app = client.post(APPS, json=body(rect(0, 0, 20, 20)), headers=h).json()
        assert (app["received_on"], app["due_on"]) == ("2026-02-13", "2026-03-20")
        url = f"{APPS}/{app['application_key']}"  # by receipt number, as the desk says it
        assert client.post(f"{url}/verify", headers=h).json()["verdict"] == "pass"
    with at("2026-02-24T02:00:00", settings, users) as h:
        r = client.post(f"{url}/survey/order", headers=h, json={"surveyor": "Công ty Đo đạc A"})
        assert r.status_code == 200 and r.json()["state"] == "survey_extract"
        # ordered Tue 24 Feb: 5 working days are 25–27 Feb, 2–3 Mar; the clock keeps running
        assert r.json()["clock"]["survey_due_on"] == "2026-03-03"
        assert r.json()["due_on"] == "2026-03-20"
    with at("2026-02-27T02:00:00", settings, users) as h:
        r = client.post(f"{url}/survey/received", headers=h, json={
            "surveyor": "Công ty Đo đạc A", "extract_no": "TĐ-12/2026"})
        assert r.status_code == 201 and r.json()["verdict"] == "pass"
        assert client.post(f"{url}/field-check", json={"notes": "khớp thực địa"},
                           headers=h).json()["verdict"] == "pass"
    with at("2026-03-02T02:00:00", settings, users) as h:
        r = client.post(f"{url}/posting", json={"place": "Nhà văn hóa tổ 5"}, headers=h)
        assert r.json()["state"] == "posting" and r.json()["due_on"] == "2026-04-06"
        assert r.json()["clock"]["posting_ends_on"] == "2026-03-17"
        assert r.json()["clock_running"] is False
        r = client.post(f"{url}/complaints", headers=h,
                        json={"complainant": "Lê Văn B", "text": "lấn ranh phía bắc"})
        assert r.status_code == 201
    with at("2026-03-17T08:00:00", settings, users) as h:  # 15:00 on the posting's last day
        early = client.post(f"{url}/posting/close", json={}, headers=h)
        assert early.status_code == 409 and early.json()["ends_on"] == "2026-03-17"
    with at("2026-03-18T02:00:00", settings, users) as h:
        before = all_counts(connection)
        r = client.post(f"{url}/posting/close", json={}, headers=h)
        assert r.status_code == 409 and r.json()["open_complaints"] == [1]
        assert all_counts(connection) == before
        client.post(f"{url}/complaints/1/settle", headers=h,
                    json={"outcome": "đo lại: ranh giới đúng", "upheld": False})
        r = client.post(f"{url}/posting/close", json={}, headers=h)
        assert r.json()["state"] == "posted" and r.json()["due_on"] == "2026-04-06"
    with at("2026-03-19T02:00:00", settings, users) as h:
        r = client.post(f"{url}/eligibility", headers=h,
                        json={"eligible": True, "reason": "đủ điều kiện"})
        assert r.json()["state"] == "eligible"
        r = client.post(f"{url}/tax-info", headers=h, json={"tax_office": "Thuế cơ sở 1 Huế"})
        assert r.json()["state"] == "financial_obligations" and r.json()["due_on"] == "2026-04-06"
    with at("2026-03-25T02:00:00", settings, users) as h:  # still waiting: 20, 23–25 not counted
        assert _due(client, h, url)["due_on"] == "2026-04-10"
        assert _due(client, h, url)["clock"]["clock_running"] is False
    with at("2026-03-26T02:00:00", settings, users) as h:
        r = client.post(f"{url}/obligations-met", headers=h, json={"receipt": "BL-2026-0042"})
        assert r.json()["state"] == "obligations_met" and r.json()["due_on"] == "2026-04-13"
    with at("2026-04-01T02:00:00", settings, users) as h:
        r = client.post(f"{url}/decision", headers=h,
                        json={"decision": "approve", "reason": "đủ điều kiện cấp GCN"})
        assert r.status_code == 200, r.text
        # a synthetic ward's certificate has a made-up serial that says so
        assert r.json()["certificate_no"].startswith("MÔ PHỎNG")
        r = client.post(f"{url}/issue", json={}, headers=h)
        got = _due(client, h, url)
    assert got["state"] == "certificate_issued" and got["due_on"] == "2026-04-13"
    assert got["clock"]["excluded_working_days"] == 16
    # 23–27 Feb, 2 Mar, 18, 19 Mar, 27, 30, 31 Mar, 1 Apr: 12 working days counted
    assert got["clock"]["counted_working_days"] == 12
    with at("2026-04-20T02:00:00", settings, users) as h:
        s = client.get("/api/v1/stats/applications?from=2026-02-13&to=2026-04-20",
                       headers=h).json()
        assert (s["finished"], s["on_time"], s["late"]) == (1, 1, 0)
        assert _due(client, h, url)["due_on"] == "2026-04-13"  # fixed when returned


def test_a_file_received_incomplete_counts_from_the_day_it_is_complete(client, settings,
                                                                        users) -> None:
    """Received incomplete on Mon 2 Feb 2026, completed Wed 4 Feb: the 20 working days are
    5–6, 9–13 Feb, 23–27 Feb, 2–6 and 9–11 Mar: due Wed 11 March (not 9 March)."""
    with at("2026-02-02T02:00:00", settings, users) as h:
        app = client.post(APPS, json=body(rect(0, 0, 20, 20), complete=False), headers=h).json()
        assert app["state"] == "waiting_applicant"
    with at("2026-02-04T02:00:00", settings, users) as h:
        r = client.post(f"{APPS}/{app['id']}/supplement-received", json={}, headers=h)
        assert r.json()["state"] == "received" and r.json()["due_on"] == "2026-03-11"
        assert r.json()["clock"]["complete_on"] == "2026-02-04"


def test_a_file_completed_on_a_swapped_working_saturday(client, settings, users) -> None:
    """Received incomplete on Thu 20 Aug 2026, completed on Saturday 22 August 2026, a
    working day given in exchange for Monday 31 August: the count starts then.  24–28 Aug,
    3–4, 7–11, 14–18, 21–23 Sep (31 Aug and 1–2 Sep off): due Wed 23 September.  A file
    complete the day before counts that Saturday."""
    with at("2026-08-20T02:00:00", settings, users) as h:
        app = client.post(APPS, json=body(rect(0, 0, 20, 20), complete=False), headers=h).json()
    with at("2026-08-22T02:00:00", settings, users) as h:
        r = client.post(f"{APPS}/{app['id']}/supplement-received", json={}, headers=h)
        assert r.json()["clock"]["complete_on"] == "2026-08-22"
        assert r.json()["due_on"] == "2026-09-23"
        same = client.post(APPS, json=body(rect(40, 0, 20, 20), parcel_no=14), headers=h).json()
        assert (same["received_on"], same["due_on"]) == ("2026-08-22", "2026-09-23")
    with at("2026-08-21T02:00:00", settings, users) as h:
        # complete on Friday 21 August: the swapped Saturday is its first working day, so
        # 22, 24–28 Aug, 3–4, 7–11, 14–18, 21–22 Sep: due Tuesday 22 September
        friday = client.post(APPS, json=body(rect(80, 0, 20, 20), parcel_no=15),
                             headers=h).json()
        assert friday["due_on"] == "2026-09-22"


def test_approval_without_a_land_use_is_refused(client, settings, users, session,
                                                connection) -> None:
    """No land use is ever assumed: eligibility (and so approval) is refused without one."""
    with at("2026-03-02T02:00:00", settings, users) as h:
        b = body(rect(0, 0, 20, 20))
        b.pop("declared_land_use")
        app = client.post(APPS, json=b, headers=h).json()
        url = f"{APPS}/{app['id']}"
        client.post(f"{url}/verify", headers=h)
        client.post(f"{url}/field-check", json={"notes": "khớp"}, headers=h)
        client.post(f"{url}/posting", json={"place": "UBND phường"}, headers=h)
    with at("2026-03-18T02:00:00", settings, users) as h:
        client.post(f"{url}/posting/close", json={}, headers=h)
        before = all_counts(connection)
        r = client.post(f"{url}/eligibility", headers=h,
                        json={"eligible": True, "reason": "đủ điều kiện"})
        assert r.status_code == 422 and r.json()["field"] == "declared_land_use"
        assert all_counts(connection) == before
        assert connection.execute(text("SELECT state FROM application WHERE id = :i"),
                                  {"i": app["id"]}).scalar_one() == "posted"


def test_not_eligible_rejects_and_returns_the_refusal(client, settings, users) -> None:
    """A file found not eligible is rejected; the refusal is the result returned."""
    with at("2026-03-02T02:00:00", settings, users) as h:
        app = client.post(APPS, json=body(rect(0, 0, 20, 20)), headers=h).json()
        url = f"{APPS}/{app['id']}"
        client.post(f"{url}/verify", headers=h)
        client.post(f"{url}/field-check", json={"notes": "khớp"}, headers=h)
        client.post(f"{url}/posting", json={"place": "UBND phường"}, headers=h)
    with at("2026-03-18T02:00:00", settings, users) as h:
        client.post(f"{url}/posting/close", json={}, headers=h)
        r = client.post(f"{url}/eligibility", headers=h, json={
            "eligible": False, "reason": "sử dụng đất từ sau ngày 01/7/2014"})
        assert r.json()["state"] == "rejected" and r.json()["returned_at"] is not None


def test_origin_evidence_decides_the_land_law_period(client, auth) -> None:
    """The earliest dated evidence of use decides the period of Land Law 2024 Art. 138."""
    h = auth("land_officer")
    app = client.post(APPS, json=body(rect(0, 0, 20, 20)), headers=h).json()
    url = f"{APPS}/{app['id']}/evidence"
    r = client.post(url, headers=h, json={"kind": "use", "dated": "1995-03-10",
                                          "title": "biên lai thuế nhà đất 1995"})
    assert r.json()["origin_assessment"]["case"] == "Land Law 2024 Art. 138(3)"
    r = client.post(url, headers=h, json={"kind": "use", "dated": "1979-06-01",
                                          "title": "sổ mục kê 1979"})
    got = r.json()["origin_assessment"]
    assert got["case"] == "Land Law 2024 Art. 138(1)" and got["earliest_evidence_on"] == \
        "1979-06-01" and got["recognised"] is True
    bad = client.post(url, headers=h, json={"kind": "rumour", "dated": "1979-06-01",
                                            "title": "lời kể"})
    assert bad.status_code == 422

"""A land officer takes an application from receipt to certificate over HTTP.

Also: the roles that may not act get 403, bad input gets a problem document and
writes nothing, and an approval that now conflicts with the registry gets 409 naming
the conflicting parcel.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import text

from certificates import applications as apps
from config import clock
from tests.certificates.conftest import at, to_obligations_met
from tests.conftest import counts
from tests.factories import geojson_wgs84, rect

OFFICER = "land_officer"
APPS = "/api/v1/applications"
PAPER = "hồ sơ giấy nhận tại quầy, nhập sau"
"""The reason a land officer gives for a back-dated receipt (a paper file entered later)."""


def body(geom, **kw):
    out = {"applicant_name": "Nguyễn Thị Hoa", "channel": "online", "declared_area": 400.0,
           "declared_land_use": "ODT", "geometry": geojson_wgs84(geom),
           "former_unit": "kim_long", "sheet_no": 7, "parcel_no": 12}
    out.update(kw)
    return out


def all_counts(conn) -> dict[str, int]:
    c = counts(conn)
    for t in ("application", "application_event", "verification_report", "dispute"):
        c[t] = conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
    return c


def test_receipt_to_certificate(client, settings, users, session, connection) -> None:
    """Receive, verify, field check, posting, eligibility, tax information, approve, issue:
    the parcel, right and certificate exist (both spouses named, the certificate's fields on
    each right and in the parcel's record), and every act is an event and an audit row."""
    with at("2025-07-01T02:00:00", settings, users) as h:
        r = client.post("/api/v1/applications", headers=h, json=body(
            rect(0, 0, 20, 20), co_applicants=[{"name": "Lê Văn Hùng", "id_number": "046080001"}]))
        assert r.status_code == 201, r.text
        app = r.json()
        assert app["state"] == "received" and app["due_on"] == "2025-07-29"  # 20 working days
        assert r.headers["location"] == f"/api/v1/applications/{app['id']}"
        url = f"/api/v1/applications/{app['id']}"
        rep = client.post(f"{url}/verify", headers=h)
        assert rep.status_code == 201 and rep.json()["verdict"] == "pass"
        assert rep.json()["measured_area_m2"] == pytest.approx(400.0, abs=0.05)
        early = client.post(f"{url}/decision", headers=h,
                            json={"decision": "approve", "reason": "đủ điều kiện"})
        assert early.status_code == 409 and early.json()["type"] == "/problems/wrong_state"
        fc = client.post(f"{url}/field-check", json={"notes": "mốc ranh giới khớp thực địa"},
                         headers=h)
        assert fc.status_code == 201 and fc.json()["purpose"] == "field_check"
        early = client.post(f"{url}/decision", headers=h,
                            json={"decision": "approve", "reason": "chưa niêm yết"})
        assert early.status_code == 409 and early.json()["state"] == "field_check"
        posted = client.post(f"{url}/posting", json={"place": "Nhà văn hóa tổ 5"}, headers=h)
        assert posted.status_code == 200 and posted.json()["state"] == "posting"
    with at("2025-07-17T02:00:00", settings, users) as h:
        r = client.post(f"{url}/posting/close", json={}, headers=h)
        assert r.status_code == 200 and r.json()["state"] == "posted"
        r = client.post(f"{url}/eligibility", headers=h,
                        json={"eligible": True, "reason": "đủ điều kiện cấp GCN"})
        assert r.status_code == 200 and r.json()["state"] == "eligible"
        r = client.post(f"{url}/tax-info", json={"tax_office": "Thuế cơ sở TP Huế"}, headers=h)
        assert r.json()["state"] == "financial_obligations"
        r = client.post(f"{url}/obligations-met", json={"receipt": "BL-0001"}, headers=h)
        assert r.json()["state"] == "obligations_met"
        dec = client.post(f"{url}/decision", headers=h, json={
            "decision": "approve", "reason": "đủ điều kiện cấp GCN",
            "certificate_no": "DX 123456"})
        assert dec.status_code == 200, dec.text
        approved = dec.json()
        assert approved["state"] == "approved" and approved["certificate_no"] == "DX 123456"
        parcel = client.get(f"/api/v1/parcels/{approved['parcel_id']}", headers=h).json()
        holder, spouse = parcel["properties"]["holders"]
        assert holder["certificate_no"] == "DX 123456" and holder["name"] == "Nguyễn Thị Hoa"
        assert spouse["name"] == "Lê Văn Hùng" and spouse["certificate_no"] == "DX 123456"
        assert re.fullmatch(r"CS\d{5}", holder["register_no"])
        assert spouse["register_no"] == holder["register_no"]
        # a married couple is one user: "sử dụng riêng" (Circular 23/2014 Art. 6, kept)
        assert (holder["term_of_use"], holder["use_form"]) == ("Lâu dài", "rieng")
        assert holder["use_origin"]
        assert parcel["properties"]["legal_area_m2"] == pytest.approx(400.0)
        src = connection.execute(text("SELECT kind, number FROM source_document WHERE id = :i"),
                                 {"i": parcel["properties"]["source_document_id"]}).one()
        assert tuple(src) == ("certificate", "DX 123456")
        right = connection.execute(text(
            "SELECT serial, register_no, term_of_use, use_origin, use_form FROM parcel_right "
            "WHERE parcel_id = :p ORDER BY id LIMIT 1"), {"p": approved["parcel_id"]}).one()
        assert right.serial == "DX 123456" and re.fullmatch(r"CS\d{5}", right.register_no)
        assert (right.term_of_use, right.use_form) == ("Lâu dài", "rieng")
        issued = client.post(f"{url}/issue", json={"note": "đã trao"}, headers=h)
        assert issued.status_code == 200 and issued.json()["state"] == "certificate_issued"
        full = client.get(url, headers=h).json()
    steps = ["receive", "verify", "field_check", "open_posting", "close_posting",
             "decide_eligibility", "send_tax_info", "obligations_met", "approve",
             "issue_certificate"]
    assert [e["action"] for e in full["events"]] == steps
    assert full["returned_at"] is not None
    audited = connection.execute(text(
        "SELECT action FROM audit_event WHERE entity = 'application' AND entity_ids @> "
        "CAST(:i AS jsonb) ORDER BY id"), {"i": f"[{app['id']}]"}).scalars().all()
    assert audited == steps


@pytest.mark.parametrize("role", ["surveyor", "official", "admin"])
def test_only_land_officers_act(client, auth, role) -> None:
    """Surveyors, officials and administrators are refused every application act."""
    r = client.post("/api/v1/applications", json=body(rect(0, 0, 20, 20)), headers=auth(role))
    assert r.status_code == 403
    assert client.get("/api/v1/applications", headers=auth(role)).status_code == 403


def test_officials_read_statistics_surveyors_do_not(client, auth) -> None:
    q = "/api/v1/stats/applications?from=2025-07-01&to=2025-08-25"
    assert client.get(q, headers=auth("official")).status_code == 200
    assert client.get(q, headers=auth("surveyor")).status_code == 403


BAD = [
    ("malformed GeoJSON", {"geometry": {"type": "Polygon", "coordinates": [[1, 2]]}}, 422),
    ("not a polygon", {"geometry": {"type": "LineString",
                                    "coordinates": [[107.55, 16.45], [107.56, 16.46]]}}, 422),
    ("unknown CRS", {"srid": 32648}, 400),
    ("zero area", {"declared_area": 0}, 422),
    ("negative area", {"declared_area": -5}, 422),
    ("area past what the register holds", {"declared_area": 1e27}, 422),
    ("area just past numeric(14, 1)", {"declared_area": 1e13}, 422),
    ("degrees as metres", {"srid": 9214}, 422),
    ("no geometry", {"geometry": None}, 422),
    ("bad channel", {"channel": "fax"}, 422),
    ("blank application key", {"application_key": "  "}, 422),
    ("unknown land-use code", {"declared_land_use": "XYZ"}, 422),
    ("unknown part of a mixed code", {"declared_land_use": "ODT+QQQ"}, 422),
    ("back-dated a month", {"received_at": "2020-01-01T09:00:00+07:00",
                            "received_at_reason": "nhập muộn"}, 422),
    ("back-dated without a reason", {"received_at": "BACKDATED"}, 422),
    ("inherited without the old receipt", {"origin": "inherited"}, 422),
    ("padded application key", {"application_key": " 000.19.H57-0001 "}, 422),
]


@pytest.mark.parametrize(("name", "change", "status"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused_and_nothing_written(client, auth, connection, name, change,
                                                  status) -> None:
    """Each bad request gets a problem document and leaves every table as it was."""
    before = all_counts(connection)
    if change.get("received_at") == "BACKDATED":  # an hour ago on the service clock
        change = {"received_at": (clock.now() - timedelta(hours=1)).isoformat()}
    r = client.post("/api/v1/applications", json=body(rect(0, 0, 20, 20), **change),
                    headers=auth(OFFICER))
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["detail"]
    assert all_counts(connection) == before
    if (name.startswith("unknown") and "land-use" in name) or "mixed" in name:
        assert r.json()["land_use"] in ("XYZ", "QQQ") and r.json()["land_use"] in r.json()[
            "detail"]


def test_a_receipt_number_used_twice_is_a_409_and_writes_nothing(client, auth,
                                                                 connection) -> None:
    """The desk's receipt number identifies one file: filing it again is refused, naming it."""
    key = "000.00.19.H57-250701-0001"
    first = client.post("/api/v1/applications", headers=auth(OFFICER),
                        json=body(rect(0, 0, 20, 20), application_key=key))
    assert first.status_code == 201 and first.json()["application_key"] == key
    before = all_counts(connection)
    again = client.post("/api/v1/applications", headers=auth(OFFICER),
                        json=body(rect(40, 0, 20, 20), application_key=key))
    assert again.status_code == 409, again.text
    problem = again.json()
    assert problem["type"] == "/problems/duplicate_application_key"
    assert problem["application_key"] == key and key in problem["detail"]
    assert all_counts(connection) == before


def test_wrong_state_and_unverified_approval_write_nothing(client, auth, connection) -> None:
    """Approving before field check, or without a verification, is refused; nothing moves."""
    h = auth(OFFICER)
    app = client.post("/api/v1/applications", json=body(rect(0, 0, 20, 20)), headers=h).json()
    url = f"/api/v1/applications/{app['id']}"
    before = all_counts(connection)
    r = client.post(f"{url}/decision", json={"decision": "approve", "reason": "vội"}, headers=h)
    assert r.status_code == 409 and r.json()["type"] == "/problems/wrong_state"
    r = client.post(f"{url}/field-check", json={"notes": "chưa kiểm tra"}, headers=h)
    assert r.status_code == 409
    r = client.post(f"{url}/issue", json={}, headers=h)
    assert r.status_code == 409
    assert all_counts(connection) == before
    assert client.get("/api/v1/applications/999999", headers=h).status_code == 404


def test_warnings_need_an_override_and_errors_cannot_be_overridden(client, auth, session,
                                                                    actor) -> None:
    """A review verdict is eligible only with override_warnings; a fail is never posted."""
    h = auth(OFFICER)
    warn = client.post("/api/v1/applications", json=body(rect(0, 0, 20, 20), declared_area=450),
                       headers=h).json()
    url = f"/api/v1/applications/{warn['id']}"
    client.post(f"{url}/verify", headers=h)
    assert client.post(f"{url}/field-check", json={"notes": "đo lại"}, headers=h).json()[
        "verdict"] == "review"
    assert client.post(f"{url}/posting", json={"place": "UBND phường"},
                       headers=h).status_code == 200
    session.flush()
    with time_machine.travel(clock.now() + timedelta(days=16), tick=False):
        apps.close_posting(session, actor=actor, application_id=warn["id"])
        session.flush()
        h = auth(OFFICER)
        r = client.post(f"{url}/eligibility", headers=h,
                        json={"eligible": True, "reason": "đủ điều kiện"})
        assert r.status_code == 409 and r.json()["type"] == "/problems/not_verified"
        r = client.post(f"{url}/eligibility", headers=h, json={
            "eligible": True, "reason": "diện tích đo được ghi theo Điều 135",
            "override_warnings": True})
        assert r.status_code == 200 and r.json()["state"] == "eligible"

    bow = {"type": "Polygon", "coordinates": [[[107.555, 16.455], [107.556, 16.456],
                                               [107.556, 16.455], [107.555, 16.456],
                                               [107.555, 16.455]]]}
    h = auth(OFFICER)
    bad = client.post("/api/v1/applications", json=body(rect(0, 0, 1, 1), geometry=bow,
                                                        parcel_no=13), headers=h)
    assert bad.status_code == 201 and bad.json()["geometry_valid"] is False
    url = f"/api/v1/applications/{bad.json()['id']}"
    assert client.post(f"{url}/verify", headers=h).json()["verdict"] == "fail"
    client.post(f"{url}/field-check", json={"notes": "ranh giới vẽ sai"}, headers=h)
    r = client.post(f"{url}/posting", json={"place": "UBND phường"}, headers=h)
    assert r.status_code == 409 and r.json()["verdict"] == "fail"
    r = client.post(f"{url}/decision", headers=h, json={"decision": "reject",
                                                        "reason": "ranh giới không hợp lệ"})
    assert r.status_code == 200 and r.json()["state"] == "rejected"
    assert r.json()["returned_at"] is not None


def test_approval_that_now_overlaps_a_certificate_is_a_409(client, auth, connection, session,
                                                           actor) -> None:
    """Two overlapping claims both reach approval; once one is certified the other gets 409."""
    h = auth(OFFICER)
    ids = []
    for geom, number in ((rect(0, 0, 21, 20), 12), (rect(20, 0, 20, 20), 13)):
        a = client.post("/api/v1/applications", json=body(geom, parcel_no=number,
                                                          declared_area=geom.area), headers=h)
        ids.append(a.json()["id"])
        client.post(f"/api/v1/applications/{ids[-1]}/verify", headers=h)
    for i in ids:
        assert client.post(f"/api/v1/applications/{i}/field-check", json={"notes": "đã đo"},
                           headers=h).json()["verdict"] == "review"  # overlap_pending
        to_obligations_met(session, actor, i)
    ok = client.post(f"/api/v1/applications/{ids[0]}/decision", headers=h, json={
        "decision": "approve", "reason": "nộp trước", "override_warnings": True})
    assert ok.status_code == 200, ok.text
    before = all_counts(connection)
    r = client.post(f"/api/v1/applications/{ids[1]}/decision", headers=h, json={
        "decision": "approve", "reason": "thử lại", "override_warnings": True})
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["type"] == "/problems/approval_conflict"
    assert problem["conflicting_parcels"] == [ok.json()["parcel_id"]]
    assert problem["findings"][0]["rule"] == "overlap_registered"
    assert problem["findings"][0]["figures"]["area_m2"] == pytest.approx(20.0, abs=0.01)
    assert all_counts(connection) == before


def test_queue_lists_overdue_and_due_soon(client, settings, users) -> None:
    """An old file is overdue; a file received today is due within its 20 working days."""
    with at("2025-07-01T02:00:00", settings, users) as h:
        old = client.post("/api/v1/applications", headers=h,
                          json=body(rect(0, 0, 20, 20))).json()
    with at("2025-09-15T03:00:00", settings, users) as h:
        new = client.post("/api/v1/applications", headers=h, json=body(
            rect(0, 40, 20, 20), parcel_no=99)).json()
        overdue = client.get("/api/v1/applications?overdue=true", headers=h).json()
        assert [a["id"] for a in overdue["items"]] == [old["id"]]
        # due 29 July 2025; by Monday 15 September: 30-31 July (2), the 21 weekdays of
        # August, 3-5, 8-12 and 15 September (9; 1-2 September are National Day): 32
        assert overdue["items"][0]["overdue_working_days"] == 32
        assert overdue["total"] == 1
        soon = client.get("/api/v1/applications?due_within=25", headers=h).json()["items"]
        assert [a["id"] for a in soon] == [new["id"]]
        assert soon[0]["working_days_left"] == 20
        between = client.get(
            "/api/v1/applications?received_from=2025-07-01&received_to=2025-07-02",
            headers=h).json()["items"]
        assert [a["id"] for a in between] == [old["id"]]
        bad = client.get("/api/v1/applications?state=lost", headers=h)
        assert bad.status_code == 422


def test_queue_total_and_sorting(client, settings, users, connection) -> None:
    """The page says how many files match in all (not the page size) and sorts by due date
    or receipt.  A received Tue 1 Jul 2025 (due 29 Jul); B received incomplete Wed 2 Jul and
    completed Thu 10 Jul (due Thu 7 Aug: 11–31 Jul are 15 working days, 1–7 Aug 5); C
    received Thu 3 Jul (due Thu 31 Jul); D entered on 10 Jul from a paper file received Fri
    27 Jun, before Decree 151/2025: Decree 101/2024's 23 working days (30 Jun, 1–4, 7–11,
    14–18, 21–25, 28–30 Jul): due Wed 30 Jul.  On Monday 15 September all four are overdue:
    A by 32 working days (see the test above), D by 31, C by 30, B by 25 (8–29 Aug 16, 3–15
    Sep 9)."""
    with at("2025-07-01T02:00:00", settings, users) as h:
        a = client.post(APPS, headers=h, json=body(rect(0, 0, 20, 20))).json()
    with at("2025-07-02T02:00:00", settings, users) as h:
        b = client.post(APPS, headers=h, json=body(rect(0, 40, 20, 20), parcel_no=13,
                                                   complete=False)).json()
    with at("2025-07-03T02:00:00", settings, users) as h:
        c = client.post(APPS, headers=h, json=body(rect(0, 80, 20, 20), parcel_no=14)).json()
    with at("2025-07-10T02:00:00", settings, users) as h:
        r = client.post(f"{APPS}/{b['id']}/supplement-received", json={}, headers=h)
        assert r.json()["due_on"] == "2025-08-07"
        d = client.post(APPS, headers=h, json=body(
            rect(0, 120, 20, 20), parcel_no=15, received_at="2025-06-27T09:00:00+07:00",
            received_at_reason=PAPER)).json()
        assert d["due_on"] == "2025-07-30"
    ids = {a["id"]: "A", b["id"]: "B", c["id"]: "C", d["id"]: "D"}
    with at("2025-09-15T03:00:00", settings, users) as h:
        mine = "received_to=2025-07-03"  # committed files of other tests came later
        page = client.get(f"{APPS}?overdue=true&limit=1&{mine}", headers=h).json()
        assert (page["total"], page["count"]) == (4, 1)
        assert [x["rel"] for x in page["links"]] == ["next"]
        assert ids[page["items"][0]["id"]] == "A"  # the most overdue first
        due = client.get(f"{APPS}?overdue=true&{mine}", headers=h).json()["items"]
        assert [(ids[x["id"]], x["overdue_working_days"]) for x in due] == \
            [("A", 32), ("D", 31), ("C", 30), ("B", 25)]
        got = client.get(f"{APPS}?sort=received&{mine}", headers=h).json()["items"]
        assert [ids[x["id"]] for x in got] == ["D", "A", "B", "C"]
        got = client.get(f"{APPS}?{mine}", headers=h).json()["items"]  # by id
        assert [ids[x["id"]] for x in got] == ["A", "B", "C", "D"]
        got = client.get(f"{APPS}?sort=due&{mine}", headers=h).json()
        assert [ids[x["id"]] for x in got["items"]] == ["A", "D", "C", "B"]
        assert got["total"] == 4
        before = all_counts(connection)
        bad = client.get(f"{APPS}?sort=soonest", headers=h)
        assert bad.status_code == 422 and bad.json()["field"] == "sort"
        assert all_counts(connection) == before


def test_triage_of_the_inherited_files_worst_first(client, settings, users) -> None:
    """GET /applications/triage: the inherited files, each with its latest verdict, first
    rule and age in working days since the former unit's receipt, worst verdict first.
    Received by the former unit on Thu 15 May 2025 and Mon 2 Jun 2025, handed to the ward on
    1 July; on Tuesday 26 August 2025 the first is 73 working days old (16–30 May 11, June
    21, July 23, 1–26 Aug 18; no day off in between), the second 61 (3–30 June 20)."""
    def inherited(geom, old_no, old_on, **kw):
        return body(geom, origin="inherited", inherited_from="UBND phường Kim Long (cũ)",
                    old_receipt_no=old_no, old_received_on=old_on, **kw)

    with at("2025-07-01T02:00:00", settings, users) as h:
        mism = client.post(APPS, headers=h, json=inherited(
            rect(0, 0, 20, 20), "KL-2025-0101", "2025-05-15", declared_area=300)).json()
        clean = client.post(APPS, headers=h, json=inherited(
            rect(0, 40, 20, 20), "KL-2025-0230", "2025-06-02", parcel_no=13)).json()
        waiting = client.post(APPS, headers=h, json=inherited(
            rect(0, 80, 20, 20), "KL-2025-0231", "2025-06-02", parcel_no=14)).json()
        desk = client.post(APPS, headers=h, json=body(rect(0, 120, 20, 20), parcel_no=15,
                                                      declared_area=300)).json()
        assert mism["received_on"] == "2025-05-15" and mism["origin"] == "inherited"
        for x in (mism, clean, desk):
            client.post(f"{APPS}/{x['id']}/verify", headers=h)
    with at("2025-08-26T03:00:00", settings, users) as h:
        t = client.get(f"{APPS}/triage", headers=h).json()
    mine = {mism["id"]: "mismatch", clean["id"]: "clean", waiting["id"]: "waiting"}
    rows = [(mine[r["application_id"]], r["verdict"], r["first_rule"], r["age_working_days"],
             r["old_receipt_no"]) for r in t["items"] if r["application_id"] in mine]
    assert rows == [("mismatch", "review", "area_mismatch", 73, "KL-2025-0101"),
                    ("waiting", "not verified", None, 61, "KL-2025-0231"),
                    ("clean", "pass", None, 61, "KL-2025-0230")]
    assert desk["id"] not in {r["application_id"] for r in t["items"]}
    assert t["today"] == "2025-08-26" and t["total"] == len(t["items"])


def test_statistics_from_stored_applications(client, settings, users) -> None:
    """On time, late and pending are counted from what is stored, per procedure, at the day
    the result went back to the applicant."""
    with at("2025-07-01T02:00:00", settings, users) as h:
        a = client.post("/api/v1/applications", headers=h, json=body(
            rect(0, 0, 20, 20), channel="counter")).json()
    with at("2025-07-02T03:00:00", settings, users) as h:
        client.post("/api/v1/applications", headers=h, json={
            "procedure": "transfer", "applicant_name": "Phan Văn Tư", "channel": "online"})
    with at("2025-09-15T03:00:00", settings, users) as h:  # Monday 15 September 2025, 10:00
        client.post(f"/api/v1/applications/{a['id']}/decision", headers=h,
                    json={"decision": "reject", "reason": "không đủ điều kiện"})
        q = "/api/v1/stats/applications?from=2025-07-01&to="
        s = client.get(q + "2025-07-31", headers=h).json()
        # on 31 July nothing was returned yet; both are overdue (due 29 and 14 July)
        assert (s["received"], s["online"], s["finished"], s["pending"]) == (2, 1, 0, 2)
        assert s["overdue"] == 2 and s["online_share"] == 0.5
        s = client.get(q + "2025-09-15", headers=h).json()
        # refused on 15 September, after its due date: late; the transfer is open and overdue
        assert (s["finished"], s["on_time"], s["late"], s["pending"], s["overdue"]) == \
            (1, 0, 1, 1, 1)
        assert s["late_rate"] == 0.5 and s["by_procedure"]["first_certificate"]["late"] == 1
        assert s["by_procedure"]["transfer"]["received"] == 1
        assert client.get(q + "2025-09-15&origin=inherited", headers=h).json()["received"] == 0
        bad = client.get("/api/v1/stats/applications?from=2025-08-01&to=2025-07-01", headers=h)
        assert bad.status_code == 422


def test_field_check_with_a_remeasured_boundary_reverifies(client, auth, session) -> None:
    """A corrected boundary replaces the claim; the new report judges the new shape."""
    h = auth(OFFICER)
    app = client.post("/api/v1/applications", headers=h,
                      json=body(rect(0, 0, 20, 20), declared_area=300)).json()
    url = f"/api/v1/applications/{app['id']}"
    assert client.post(f"{url}/verify", headers=h).json()["verdict"] == "review"
    fixed = client.post(f"{url}/field-check", headers=h, json={
        "notes": "đo lại: cạnh phía bắc 15 m", "geometry": geojson_wgs84(rect(0, 0, 20, 15))})
    assert fixed.status_code == 201 and fixed.json()["verdict"] == "pass"
    assert fixed.json()["measured_area_m2"] == pytest.approx(300.0, abs=0.05)
    got = client.get(url, headers=h).json()
    assert got["field_check"]["geometry_corrected"] is True


# ---------------------------------------------------- issue 20, findings 7 and 8


@pytest.mark.parametrize(("change", "field"), [
    ({"received_at": "9999-12-20T09:00:00+07:00", "received_at_reason": PAPER}, "received_at"),
    ({"received_at": "9999-12-31T23:59:59-12:00", "received_at_reason": PAPER}, "received_at"),
    ({"declared_area": 1e308}, "declared_area"),
    ({"declared_area": -1.0}, "declared_area"),
])
def test_extreme_values_on_receipt_are_422_and_write_nothing(client, auth, connection, change,
                                                             field) -> None:
    """Year 9999 and 1e308 were 500s (or stored, with a due date in 9999)."""
    before = all_counts(connection)
    r = client.post("/api/v1/applications", headers=auth(OFFICER),
                    json=body(rect(0, 0, 20, 20)) | change)
    assert r.status_code == 422, r.text
    assert r.json()["type"] in ("/problems/validation_error", "/problems/invalid_application")
    assert field in r.text
    assert all_counts(connection) == before


def test_infinity_is_not_an_area(client, auth, connection) -> None:
    """``Infinity`` (which Python's JSON reads) passed ``gt=0``: now 422, nothing written."""
    before = all_counts(connection)
    raw = json.dumps(body(rect(0, 0, 20, 20))).replace('"declared_area": 400.0',
                                                       '"declared_area": Infinity')
    r = client.post("/api/v1/applications", headers={**auth(OFFICER),
                                                     "Content-Type": "application/json"},
                    content=raw)
    assert r.status_code == 422 and "declared_area" in r.text
    assert all_counts(connection) == before


def test_a_receipt_is_dated_by_the_service_clock(client, auth, settings, users,
                                                 connection) -> None:
    """Without received_at the file is received now (the service clock), whatever the
    client's clock says; the due date counts from that day."""
    with at("2025-09-15T03:00:00", settings, users) as h:  # Monday 10:00 in Huế
        r = client.post("/api/v1/applications", headers=h, json=body(rect(0, 0, 20, 20)))
    assert r.status_code == 201
    app = r.json()
    assert app["received_on"] == "2025-09-15" and app["received_at"].startswith("2025-09-15T03:00")
    assert app["due_on"] == "2025-10-13"  # 20 working days
    assert connection.execute(text(
        "SELECT action FROM audit_event WHERE entity = 'application' AND entity_ids @> "
        "CAST(:i AS jsonb)"), {"i": f"[{app['id']}]"}).scalar_one() == "receive"


@pytest.mark.parametrize(("change", "expect"), [
    ({"received_at": "2025-09-01T09:00:00+07:00"}, "received_at_reason"),
    ({"received_at": "2025-09-16T09:00:00+07:00", "received_at_reason": PAPER}, "future"),
    ({"received_at": "2024-07-31T09:00:00+07:00", "received_at_reason": PAPER}, "2024-08-01"),
])
def test_a_back_dated_receipt_is_bounded_and_needs_a_reason(client, settings, users, connection,
                                                            change, expect) -> None:
    """A back-dated receipt (a paper file entered later) needs a reason, may not be in the
    future, nor before the settings' earliest receipt; refused ones write nothing."""
    with at("2025-09-15T03:00:00", settings, users) as h:
        before = all_counts(connection)
        r = client.post("/api/v1/applications", headers=h,
                        json=body(rect(0, 0, 20, 20)) | change)
    assert r.status_code == 422 and r.json()["type"] == "/problems/invalid_application"
    assert expect in r.json()["detail"]
    assert all_counts(connection) == before


def test_a_back_dated_receipt_is_audited_as_such(client, settings, users, connection) -> None:
    with at("2025-09-15T03:00:00", settings, users) as h:
        r = client.post("/api/v1/applications", headers=h, json=body(
            rect(0, 0, 20, 20), received_at="2025-09-01T09:00:00+07:00",
            received_at_reason=PAPER))
    assert r.status_code == 201 and r.json()["received_on"] == "2025-09-01"
    event = connection.execute(text(
        "SELECT action, actor, role, reason, detail FROM audit_event WHERE entity = "
        "'application' AND entity_ids @> CAST(:i AS jsonb)"), {"i": f"[{r.json()['id']}]"}).one()
    assert (event.action, event.actor, event.role, event.reason) == (
        "receive_backdated", "land_officer", "land_officer", PAPER)
    assert event.detail["received_at"] == "2025-09-01T09:00:00+07:00"
    assert event.detail["entered_at"].startswith("2025-09-15T03:00")


@pytest.mark.parametrize("area", [1e308, "Infinity"])
def test_extreme_legal_area_on_amend_is_422(client, auth, connection, area) -> None:
    """``legal_area: 1e308`` on an amendment was a 500."""
    h = auth(OFFICER)
    reg = client.post("/api/v1/parcels", headers=h, json={
        "former_unit": "kim_long", "sheet_no": 41, "parcel_no": 1, "land_use": "ODT",
        "geometry": geojson_wgs84(rect(2000, 0, 10, 10)), "reason": "đăng ký"})
    assert reg.status_code == 201
    before = all_counts(connection)
    raw = json.dumps({"legal_area": 0.5, "reason": "sửa diện tích"}).replace(
        "0.5", str(area))
    r = client.post(f"/api/v1/parcels/{reg.json()['id']}/versions",
                    headers={**h, "Content-Type": "application/json"}, content=raw)
    assert r.status_code == 422 and "legal_area" in r.text
    assert all_counts(connection) == before

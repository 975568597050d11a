"""The pages over HTTP on the test ward (ASGI app, one rolled-back transaction per test):
the queue's filters and its paging while files arrive, refused forms that write nothing,
the 403, 404 and 500 pages, the language switch, formats, the SVG drawings."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import pytest
from shapely.geometry import box
from sqlalchemy import text

from api.auth import CSRF_COOKIE, SESSION_COOKIE, new_csrf_token
from api.web import render, sketch
from certificates import applications as apps
from certificates import queue as q
from certificates import trends
from certificates.deadlines import calendar
from db.audit import Actor
from gis import crs as gcrs
from parcels import registry, search
from parcels.registry import Source
from tests.conftest import WARD, counts
from tests.factories import geojson_wgs84, rect, spec

HUE = ZoneInfo("Asia/Ho_Chi_Minh")
SHEET = 930
"""Sheet of the records built here (no other test uses it)."""
OFFICER = Actor(username="land_officer", role="land_officer", ward_code=WARD)


@pytest.fixture()
def signed(client: Any, tokens: dict[str, str], settings: Any) -> Any:
    """``signed("surveyor")`` signs the client in by cookie; returns the CSRF token."""
    def sign(role: str) -> str:
        client.cookies.clear()
        csrf = new_csrf_token(settings.auth, session_token=tokens[role])
        client.cookies.set(SESSION_COOKIE, tokens[role])
        client.cookies.set(CSRF_COOKIE, csrf)
        return csrf
    return sign


def _receive(session: Any, k: int, *, on: date, channel: str = "counter",
             procedure: str = "first_certificate", name: str | None = None) -> int:
    geom = rect(-2_500 + 40.0 * k, 2_800, 20, 20)
    app = apps.receive(session, actor=OFFICER, intake=apps.Intake(
        procedure=procedure, applicant_name=name or f"Lê Văn {k}", channel=channel,
        declared_area=400.0, declared_land_use="ODT", geometry=geom, srid=gcrs.WARD,
        former_unit="kim_long", sheet_no=SHEET, parcel_no=k,
        received_at=datetime.combine(on, time(9), tzinfo=HUE),
        received_at_reason="hồ sơ giấy nhận tại quầy, nhập sau"))
    return app.id


# ------------------------------------------------------------------------------ queue


def test_queue_paging_stays_stable_while_files_arrive(session: Any) -> None:
    """Seven files by due date, three a page: a file received meanwhile that sorts before
    the page boundary neither repeats a row on the next page nor pushes one off it."""
    days = [date(2025, 7, d) for d in (1, 2, 3, 7, 8, 9, 10)]
    ids = [_receive(session, k, on=d) for k, d in enumerate(days, start=1)]
    session.flush()
    flt = q.QueueFilter(received_from=date(2025, 7, 1), received_to=date(2025, 7, 31))
    first = q.queue(session, ward_code=WARD, filters=flt, limit=3, today=date(2025, 7, 15))
    assert [r.id for r in first.rows] == ids[:3] and first.total == 7
    assert first.prev_cursor is None and first.next_cursor is not None
    _receive(session, 20, on=date(2025, 7, 1))  # due first of all: before the boundary
    session.flush()
    second = q.queue(session, ward_code=WARD, filters=flt, limit=3, after=first.next_cursor,
                     today=date(2025, 7, 15))
    assert [r.id for r in second.rows] == ids[3:6] and second.total == 8
    back = q.queue(session, ward_code=WARD, filters=flt, limit=3, before=second.prev_cursor,
                   today=date(2025, 7, 15))
    assert [r.id for r in back.rows][-2:] == ids[1:3]  # the page before, as it is now
    third = q.queue(session, ward_code=WARD, filters=flt, limit=3, after=second.next_cursor,
                    today=date(2025, 7, 15))
    assert [r.id for r in third.rows] == ids[6:] and third.next_cursor is None


def test_queue_filters_and_days_left(session: Any) -> None:
    """Overdue, due within N working days and channel, counted by hand; days left from the
    ward's calendar (negative when overdue, none while waiting for the applicant)."""
    old = _receive(session, 1, on=date(2025, 6, 2), channel="online")
    recent = _receive(session, 2, on=date(2025, 7, 14))
    waiting = _receive(session, 3, on=date(2025, 6, 2))
    apps.request_supplement(session, actor=OFFICER, application_id=waiting,
                            reason="thiếu giấy tờ")
    session.flush()
    today = date(2025, 7, 15)
    mine = q.QueueFilter(received_from=date(2025, 6, 1), received_to=date(2025, 7, 31))

    def ids(**kw: Any) -> list[int]:
        flt = q.QueueFilter(**{**mine.__dict__, **kw})
        return [r.id for r in q.queue(session, ward_code=WARD, filters=flt, today=today).rows]

    cal = calendar()
    old_due = cal.due_date("first_certificate", date(2025, 6, 2))
    assert old_due < today and ids(overdue=True) == [old]
    assert ids(channel="online") == [old]
    due = cal.due_date("first_certificate", date(2025, 7, 14))
    within = cal.working_days_between(today, due)
    assert ids(due_within=within) == [recent] and ids(due_within=within - 1) == []
    rows = {r.id: r for r in q.queue(session, ward_code=WARD, filters=mine, today=today).rows}
    assert rows[old].working_days_left == -cal.working_days_between(old_due, today)
    assert rows[old].overdue and not rows[recent].overdue
    assert rows[waiting].working_days_left is None


def test_queue_page_shows_the_rows_and_refuses_a_bad_cursor(client: Any, signed: Any,
                                                           session: Any) -> None:
    """The page lists the filtered files with their days left; a forged page position is a
    422 page that says to start again, not a stack trace."""
    app_id = _receive(session, 1, on=date(2025, 6, 2), name="Hồ Thị Ngọc Ánh")
    session.commit()
    signed("land_officer")
    r = client.get("/applications", params={"text": "Ngọc Ánh"})
    assert r.status_code == 200 and r.headers["content-security-policy"].startswith(
        "default-src 'self'")
    assert f'href="/applications/{app_id}"' in r.text and "Hồ Thị Ngọc Ánh" in r.text
    assert 'data-total="1"' in r.text
    bad = client.get("/applications", params={"after": "bm90LWEtY3Vyc29y"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
    assert "Traceback" not in bad.text and "start from the first page" in bad.text


# --------------------------------------------------------------------- forms refused


def test_a_receipt_with_a_bad_area_is_refused_and_writes_nothing(client: Any, signed: Any,
                                                                 session: Any) -> None:
    csrf = signed("land_officer")
    before = counts(session)
    n = session.execute(text("SELECT count(*) FROM application")).scalar_one()
    r = client.post("/applications/new", data={
        "csrf_token": csrf, "applicant_name": "Nguyễn Văn Bình", "channel": "counter",
        "procedure": "first_certificate", "declared_area": "bốn trăm"})
    assert r.status_code == 422 and "declared_area" in r.text
    assert 'value="Nguyễn Văn Bình"' in r.text  # the form comes back filled in
    assert counts(session) == before
    assert session.execute(text("SELECT count(*) FROM application")).scalar_one() == n


def test_a_claim_file_with_two_parcels_is_refused(client: Any, signed: Any,
                                                   session: Any) -> None:
    csrf = signed("land_officer")
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": geojson_wgs84(rect(-2000, 0, 20, 20))},
        {"type": "Feature", "properties": {}, "geometry": geojson_wgs84(rect(-1900, 0, 20, 20))}]}
    n = session.execute(text("SELECT count(*) FROM application")).scalar_one()
    import json
    r = client.post("/applications/new", data={
        "csrf_token": csrf, "applicant_name": "Nguyễn Văn Bình", "channel": "counter",
        "declared_area": "400"},
        files={"geometry_file": ("hai_thua.geojson", json.dumps(doc).encode(),
                                 "application/geo+json")})
    assert r.status_code == 422 and "Tệp có 2 thửa" in r.text
    assert session.execute(text("SELECT count(*) FROM application")).scalar_one() == n


def test_a_form_without_its_csrf_token_is_a_403_page_and_writes_nothing(
        client: Any, signed: Any, session: Any) -> None:
    app_id = _receive(session, 1, on=date(2025, 7, 1))
    session.commit()
    signed("land_officer")
    r = client.post(f"/applications/{app_id}/decision",
                    data={"csrf_token": "forged.value", "decision": "reject",
                          "reason": "không đủ điều kiện"})
    assert r.status_code == 403 and "CSRF" in r.text
    assert apps.get(session, ward_code=WARD, application_id=app_id).state == "received"


def test_a_decision_without_a_reason_comes_back_with_the_reason(client: Any, signed: Any,
                                                                session: Any) -> None:
    app_id = _receive(session, 1, on=date(2025, 7, 1))
    session.commit()
    csrf = signed("land_officer")
    r = client.post(f"/applications/{app_id}/decision",
                    data={"csrf_token": csrf, "decision": "reject", "reason": "   "})
    assert r.status_code == 422 and "a decision needs a reason" in r.text
    assert "<details class=\"action\" open>" in r.text  # the refused action stays open
    assert apps.get(session, ward_code=WARD, application_id=app_id).state == "received"


def test_an_action_the_state_does_not_allow_is_a_409_page(client: Any, signed: Any,
                                                           session: Any) -> None:
    app_id = _receive(session, 1, on=date(2025, 7, 1))
    session.commit()
    csrf = signed("land_officer")
    r = client.post(f"/applications/{app_id}/issue", data={"csrf_token": csrf})
    assert r.status_code == 409 and "allowed only when it is approved" in r.text
    assert apps.get(session, ward_code=WARD, application_id=app_id).state == "received"


# ----------------------------------------------------------------------- error pages


def test_pages_refuse_as_pages(client: Any, signed: Any, session: Any) -> None:
    """Another role: the 403 page, without the application's data; a missing application:
    the 404 page; nobody signed in: to the sign-in page."""
    app_id = _receive(session, 1, on=date(2025, 7, 1), name="Đặng Thị Xuân")
    session.commit()
    signed("surveyor")
    r = client.get(f"/applications/{app_id}")
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    assert "Không được phép" in r.text and "Đặng Thị Xuân" not in r.text
    assert 'href="/applications"' not in r.text  # the surveyor's navigation has no queue
    signed("land_officer")
    r = client.get("/applications/987654321")
    assert r.status_code == 404 and "Không tìm thấy" in r.text
    client.cookies.clear()
    r = client.get("/stats", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_a_fault_shows_the_request_id_and_nothing_else(client: Any, signed: Any,
                                                        monkeypatch: Any) -> None:
    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError('SELECT secret FROM app_user WHERE password = "x"')

    monkeypatch.setattr(q, "queue", broken)
    signed("land_officer")
    r = client.get("/applications", headers={"X-Request-ID": "abc123"})
    # the server's own request id (a caller's is kept apart, never shown as ours)
    rid = r.headers["x-request-id"]
    assert r.status_code == 500 and rid != "abc123" and rid in r.text
    assert "SELECT" not in r.text and "secret" not in r.text and "Traceback" not in r.text


# ----------------------------------------------------------------------- language


def test_the_language_is_remembered_and_audited(client: Any, signed: Any, session: Any,
                                                 users: Any) -> None:
    csrf = signed("official")
    r = client.post("/language", data={"csrf_token": csrf, "language": "en",
                                       "back": "/stats?from=2025-07-01"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/stats?from=2025-07-01"
    user_id = users["official"][0].id
    assert session.execute(text("SELECT language FROM user_preference WHERE user_id = :u"),
                           {"u": user_id}).scalar_one() == "en"
    assert session.execute(text("SELECT count(*) FROM audit_event WHERE action = "
                                "'set_language' AND actor = 'official'")).scalar_one() == 1
    client.cookies.delete("kl_lang")
    page = client.get("/stats", params={"from": "2025-07-01", "to": "2025-07-31"})
    assert '<html lang="en">' in page.text and "Applications statistics" in page.text


def test_a_bad_language_or_a_foreign_return_address_is_refused(client: Any, signed: Any,
                                                               session: Any) -> None:
    csrf = signed("official")
    before = session.execute(text("SELECT count(*) FROM audit_event")).scalar_one()
    r = client.post("/language", data={"csrf_token": csrf, "language": "fr"})
    assert r.status_code == 422 and "language must be one of vi, en" in r.text
    assert session.execute(text("SELECT count(*) FROM audit_event")).scalar_one() == before
    r = client.post("/language", data={"csrf_token": csrf, "language": "vi",
                                       "back": "//evil.example/x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


# ---------------------------------------------------------------------- surveys page


def _shapefile_without_prj() -> bytes:
    gdf = gpd.GeoDataFrame({"so_to": [SHEET], "so_thua": [1], "loai_dat": ["ODT"]},
                           geometry=[rect(-1500, 1500, 20, 20)])
    out = io.BytesIO()
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as tmp:
        gdf.to_file(Path(tmp) / "thua.shp")
        with zipfile.ZipFile(out, "w") as z:
            for p in Path(tmp).iterdir():
                if p.suffix != ".prj":
                    z.write(p, p.name)
    return out.getvalue()


def test_a_survey_without_a_crs_asks_for_one(client: Any, signed: Any, session: Any) -> None:
    """A Shapefile without .prj: the form comes back asking for the CRS (nothing staged);
    with EPSG:9214 chosen, the batch is staged and the browser sent to its page."""
    csrf = signed("surveyor")
    zipped = _shapefile_without_prj()
    n = session.execute(text("SELECT count(*) FROM survey_batch")).scalar_one()
    r = client.post("/surveys/new", data={"csrf_token": csrf},
                    files={"file": ("thua.zip", zipped, "application/zip")})
    assert r.status_code == 422 and 'aria-invalid="true"' in r.text
    assert session.execute(text("SELECT count(*) FROM survey_batch")).scalar_one() == n
    r = client.post("/surveys/new", data={"csrf_token": csrf, "crs": "9214"},
                    files={"file": ("thua.zip", zipped, "application/zip")},
                    follow_redirects=False)
    assert r.status_code == 303
    batch = int(re.match(r"/surveys/(\d+)\?done=uploaded", r.headers["location"]).group(1))
    page = client.get(f"/surveys/{batch}")
    assert page.status_code == 200 and "thua.zip" in page.text
    assert "Ghi vào sổ địa chính" not in page.text  # a surveyor does not decide


def test_an_upload_over_the_limit_is_refused_before_it_is_read(client: Any, signed: Any,
                                                              app: Any) -> None:
    csrf = signed("surveyor")
    limit = app.state.settings.intake.max_file_bytes
    r = client.post("/surveys/new", data={"csrf_token": csrf},
                    files={"file": ("big.geojson", b"x" * (limit + 70_000),
                                    "application/geo+json")})
    assert r.status_code == 413 and "giới hạn" in r.text


# ----------------------------------------------------------------------- parcels


def test_parcel_search_by_number_holder_and_address(client: Any, signed: Any,
                                                     session: Any) -> None:
    v = registry.register_parcel(session, actor=OFFICER, reason="search fixture",
                                 spec=spec(SHEET, 77, rect(-1200, 1200, 20, 20)))
    session.execute(text("INSERT INTO party (ward_code, full_name) VALUES (:w, :n)"),
                    {"w": WARD, "n": "Tôn Nữ Thị Hà"})
    party = session.execute(text("SELECT max(id) FROM party")).scalar_one()
    session.execute(text("INSERT INTO parcel_right (ward_code, parcel_id, party_id, kind, "
                         "recorded_by) VALUES (:w, :p, :y, 'use_right', 'test')"),
                    {"w": WARD, "p": v.parcel_id, "y": party})
    session.flush()
    for text_, matched in ((f"{SHEET}/77", "number"), (f"tờ {SHEET} thửa 77", "number"),
                           ("tôn nữ thị", "holder"), ("kiệt 77 kim", "address"),
                           # typed without Vietnamese input: no diacritics, other case
                           ("TON NU THI HA", "holder"), ("kiet 77", "address")):
        hits = search.search(session, ward_code=WARD, text=text_)
        assert [(h.parcel_id, h.matched) for h in hits] == [(v.parcel_id, matched)], text_
    assert search.search(session, ward_code=WARD, text="Tôn Nữ Thị Hải") == []
    with pytest.raises(search.InvalidInput):
        search.search(session, ward_code=WARD, text="a")
    session.commit()
    signed("official")
    r = client.get("/parcels", params={"q": "Tôn Nữ"})
    assert r.status_code == 200 and f'href="/parcels/{v.parcel_id}"' in r.text
    page = client.get(f"/parcels/{v.parcel_id}")
    assert "Tôn Nữ Thị Hà" in page.text and page.text.count('class="sketch small"') == 1


def test_parcel_history_draws_each_version(client: Any, signed: Any, session: Any) -> None:
    v = registry.register_parcel(session, actor=OFFICER, reason="history fixture",
                                 spec=spec(SHEET, 78, rect(-1100, 1200, 20, 20)))
    registry.amend_parcel(session, actor=OFFICER, parcel_id=v.parcel_id,
                          amendment=registry.Amendment(geometry=rect(-1100, 1200, 25, 20),
                                                       srid=gcrs.WARD),
                          reason="đo lại", source=Source(kind="survey", number="DL-1"))
    session.commit()
    signed("surveyor")
    page = client.get(f"/parcels/{v.parcel_id}")
    assert page.status_code == 200 and page.text.count('class="sketch small"') == 2
    assert "Phiên bản 2" in page.text and "đo lại" in page.text


# ------------------------------------------------------------------ figures and drawings


def test_numbers_and_dates_follow_the_page_language() -> None:
    assert render.fmt_number(3100, "vi") == "3.100" and render.fmt_number(3100, "en") == "3,100"
    assert render.fmt_number(50555.94, "vi", 1) == "50.555,9"
    assert render.fmt_percent(0.9531, "vi") == "95%" and render.fmt_percent(0.0234, "vi", 1) == \
        "2,3%"
    assert render.fmt_date(date(2025, 8, 5)) == "05/08/2025"
    assert render.fmt_date(datetime(2025, 8, 25, 18, 30, tzinfo=UTC)) == "26/08/2025"  # Huế
    assert render.parse_day("1/7/2025") == render.parse_day("2025-07-01") == date(2025, 7, 1)
    with pytest.raises(ValueError):
        render.parse_day("31/02/2025")


def test_a_sketch_keeps_the_shape_and_escapes_its_text() -> None:
    """North up, one scale for both axes, labels escaped."""
    svg = sketch.draw([sketch.Layer("claim", [box(0, 0, 100, 50)],
                                    labels=["<b>1</b>"], titles=["A & B"])], title="T<")
    m = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    assert m and abs(int(m.group(1)) / int(m.group(2)) - 112 / 62) < 0.02
    assert "<b>" not in svg and "&lt;b&gt;1&lt;/b&gt;" in svg and "A &amp; B" in svg
    path = re.search(r'<path d="M([\d.]+) ([\d.]+)L', svg)
    assert path and float(path.group(2)) > 200  # y = 0 (south) is drawn at the bottom
    assert sketch.draw([sketch.Layer("claim", [])], title="x") == ""


def test_weekly_figures_by_hand(session: Any) -> None:
    """Received per week of receipt, finished per week of decision, on time of those."""
    a = _receive(session, 1, on=date(2025, 7, 1))   # Tuesday, week of 30 June
    b = _receive(session, 2, on=date(2025, 7, 8))   # week of 7 July
    _receive(session, 3, on=date(2025, 7, 9))
    for app_id, decided in ((a, date(2025, 7, 9)), (b, date(2025, 9, 1))):
        session.execute(text("UPDATE application SET state = 'rejected', decided_at = :d "
                             "WHERE id = :i"),
                        {"d": datetime.combine(decided, time(10), tzinfo=HUE), "i": app_id})
    session.flush()
    weeks = trends.weekly(session, ward_code=WARD, date_from=date(2025, 7, 1),
                          date_to=date(2025, 7, 13))
    assert [(w.start, w.days, w.received, w.finished, w.on_time) for w in weeks] == [
        (date(2025, 7, 1), 6, 1, 0, 0), (date(2025, 7, 7), 7, 2, 1, 1)]
    assert weeks[1].on_time_share == 1.0 and weeks[0].on_time_share is None


# ------------------------------------------------------------ a survey batch's overlaps


def test_an_overlap_is_settled_on_the_batch_page_never_accepted(client: Any, signed: Any,
                                                               session: Any, settings: Any,
                                                               tmp_path: Any) -> None:
    """Parcel 165 re-measured with a corner 1 m into neighbours 214 and 215: the batch page
    offers no "accept" for the two overlaps but "amend the neighbour" and "record a
    dispute"; a dispute without its description comes back named and writes nothing; one
    overlap settled each way is shown so, and the commit waits for the dispute."""
    import json

    from shapely.geometry import Polygon

    from config.intake import IntakeSettings
    from gis.geojson import geometry_to_geojson
    from parcels import surveys
    from tests.factories import X0, Y0

    x0, y0, sheet = X0 - 2_560.0, Y0 - 4_560.0, 7310  # nobody else's ground or sheet

    def at(*xy: tuple[float, float]) -> Polygon:
        return Polygon([(x0 + a, y0 + b) for a, b in xy])

    ids = {n: registry.register_parcel(session, actor=OFFICER, reason="fixture",
                                       spec=spec(sheet, n, g)).parcel_id
           for n, g in ((165, at((0, 0), (10, 0), (10, 4), (10, 8), (0, 8))),
                        (214, at((10, 0), (20, 0), (20, 4), (10, 4))),
                        (215, at((10, 4), (20, 4), (20, 8), (10, 8))))}
    doc = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"SoTo": sheet, "SoThua": 165, "LoaiDat": "ODT"},
        "geometry": geometry_to_geojson(at((0, 0), (10, 0), (11, 4), (10, 8), (0, 8)))}]}
    intake = settings.model_copy(update={"intake": IntakeSettings(work_dir=tmp_path)})
    staged = surveys.stage_upload(session, actor=Actor(username="surveyor", role="surveyor",
                                                       ward_code=WARD),
                                  stream=io.BytesIO(json.dumps(doc).encode()),
                                  filename="do_lai_165.geojson", settings=intake,
                                  options=surveys.UploadOptions(former_unit="kim_long"))
    session.commit()
    batch = staged.batch["id"]
    found = session.execute(text(
        "SELECT id, parcel_ids[1] AS pid FROM survey_finding WHERE batch_id = :b "
        "AND rule = 'overlap' ORDER BY parcel_ids[1]"), {"b": batch}).all()
    assert [r.pid for r in found] == [ids[214], ids[215]]

    csrf = signed("land_officer")
    page = client.get(f"/surveys/{batch}")
    assert page.status_code == 200
    for r in found:
        assert f"/surveys/{batch}/findings/{r.id}/amend-neighbour" in page.text
        assert f"/surveys/{batch}/findings/{r.id}/dispute" in page.text
        assert f"/surveys/{batch}/findings/{r.id}/override" not in page.text
        assert f'name="finding" value="{r.id}"' not in page.text

    before = counts(session)
    r = client.post(f"/surveys/{batch}/findings/{found[1].id}/dispute",
                    data={"csrf_token": csrf, "claimant": "Hộ bà Trần Thị Mai",
                          "description": ""})
    assert r.status_code == 422 and re.search(r'<ul class="fields"><li>description: ', r.text)
    assert counts(session) == before

    r = client.post(f"/surveys/{batch}/findings/{found[0].id}/amend-neighbour",
                    data={"csrf_token": csrf, "reason": "hai hộ đã ký xác nhận ranh mới"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("done=amend_neighbour")
    r = client.post(f"/surveys/{batch}/findings/{found[1].id}/dispute",
                    data={"csrf_token": csrf, "claimant": "Hộ bà Trần Thị Mai",
                          "description": "chưa thống nhất ranh phía đông"},
                    follow_redirects=False)
    assert r.status_code == 303
    resolutions = dict(session.execute(text(
        "SELECT id, resolution FROM survey_finding WHERE batch_id = :b AND rule = 'overlap'"),
        {"b": batch}).all())
    assert resolutions == {found[0].id: "amend_neighbour", found[1].id: "dispute"}
    page = client.get(f"/surveys/{batch}")
    assert "ranh thửa liền kề được điều chỉnh" in page.text
    assert "Đã ghi nhận tranh chấp" in page.text
    r = client.post(f"/surveys/{batch}/commit", data={"csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 409
    assert session.execute(text("SELECT state FROM survey_batch WHERE id = :b"),
                           {"b": batch}).scalar_one() == "validated"


# ------------------------------------------------------------------------ access tokens


def _token_rows(session: Any) -> int:
    return int(session.execute(text("SELECT count(*) FROM access_token")).scalar_one())


@pytest.mark.parametrize(("fields", "status", "said"), [
    ({"name": "   "}, 422, "name"),
    ({"name": "QGIS", "scope": "admin"}, 422, "scope"),
    ({"name": "QGIS", "days": "0"}, 422, "days"),
    ({"name": "QGIS", "days": "một năm"}, 422, "days"),
])
def test_a_bad_token_form_is_refused_and_writes_nothing(client: Any, signed: Any, session: Any,
                                                       fields: dict[str, str], status: int,
                                                       said: str) -> None:
    csrf = signed("official")
    before, tokens_before = counts(session), _token_rows(session)
    r = client.post("/tokens", data={"csrf_token": csrf, **fields})
    error = re.search(r'<p class="error" role="alert">(.*?)</p>', r.text, re.S)
    assert r.status_code == status and error is not None and said in error.group(1), r.text
    assert "klpat_" not in r.text
    assert counts(session) == before and _token_rows(session) == tokens_before


def test_a_token_is_shown_once_and_another_users_is_not_revoked(client: Any, signed: Any,
                                                                session: Any) -> None:
    """The answer to the form shows the token; the list never does; a surveyor cannot
    revoke (nor learn of) the official's token: the 404 page, nothing written."""
    csrf = signed("official")
    made = client.post("/tokens", data={"csrf_token": csrf, "name": "QGIS phòng họp"})
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    value = re.search(r'id="made-value"[^>]*value="(klpat_[^"]+)"', made.text)
    assert value is not None
    listed = client.get("/tokens")
    assert listed.status_code == 200 and value.group(1) not in listed.text
    assert "QGIS phòng họp" in listed.text
    token_id = session.execute(text("SELECT id FROM access_token WHERE name = 'QGIS phòng họp'"
                                    )).scalar_one()
    csrf = signed("surveyor")
    before = counts(session)
    r = client.post(f"/tokens/{token_id}/revoke", data={"csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 404
    assert counts(session) == before
    assert session.execute(text("SELECT revoked_at FROM access_token WHERE id = :i"),
                           {"i": token_id}).scalar_one() is None

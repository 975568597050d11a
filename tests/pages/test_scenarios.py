"""The people's days, in a real browser against a real server on the small demo ward.

Debian's Chromium through Playwright, every request off 127.0.0.1 refused; the site is
``cadastre serve`` on a database of its own with the clock on 26 August 2025 (see
``conftest.py``).  Each scenario signs in through the form and clicks what a person
would click, then checks what a person would see against the database or the API.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import geopandas as gpd
import pytest
import time_machine
from openpyxl import load_workbook
from shapely import affinity
from sqlalchemy import text
from sqlalchemy.orm import Session

from certificates import applications as apps
from certificates import queue as q
from data.load import WARD_CODE
from db.audit import Actor
from gis import crs as gcrs
from gis.convert import from_db
from tests.pages.browser import Browser, chromium, shoot, sign_in
from tests.pages.conftest import PASSWORD, Site

pytestmark = pytest.mark.browser
TODAY = date(2025, 8, 26)
"""The site's clock (conftest.CLOCK_START), the day the queue counts from."""


@pytest.fixture()
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b
        b.watch.clean()


def _planted(site: Site, rule: str, *, n: int = 0) -> int:
    """A backlog application the generator planted with ``rule`` (its ground truth)."""
    with site.engine.connect() as c:
        return int(c.execute(text(
            "SELECT a.id FROM application a JOIN demo_application_truth t "
            "ON t.application_id = a.id WHERE t.cohort = 'backlog' AND t.expected_rule = :r "
            "AND a.state IN ('received', 'verifying') ORDER BY a.id OFFSET :n LIMIT 1"),
            {"r": rule, "n": n}).scalar_one())


def _application(site: Site, app_id: int) -> Any:
    with site.engine.connect() as c:
        return c.execute(text("SELECT * FROM application WHERE id = :i"), {"i": app_id}).one()


# ------------------------------------------------------------------ the land officer


def test_officer_rejects_an_overlapping_claim_after_the_field_check(site: Site,
                                                                    browser: Browser) -> None:
    """Queue filtered to overdue → the overlap case → its finding and map → field check →
    rejected with a reason; the database holds the decision and the reason."""
    app_id = _planted(site, "overlap_registered")
    key = _application(site, app_id).application_key
    with Session(site.engine) as s:
        overdue = q.queue(s, ward_code=site.settings.data.ward_code,
                          filters=q.QueueFilter(overdue=True), today=TODAY, limit=200)
    page = browser.page()
    sign_in(page, site.url, "lan", PASSWORD)
    assert "Nguyễn Thị Lan" in page.inner_text("header") and \
        "Cán bộ địa chính" in page.inner_text("header")
    page.locator("nav.main-nav").get_by_role("link", name="Hàng đợi hồ sơ").click()
    page.get_by_label("Chỉ hồ sơ quá hạn").check()
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_url("**/applications?*overdue=1*")
    assert int(page.locator("[data-total]").get_attribute("data-total")) == overdue.total > 0
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == min(overdue.total, 50)
    assert rows.count() == page.locator("table.queue tbody tr.overdue").count()
    shoot(page, "scenario-queue-overdue")
    page.get_by_role("link", name=key, exact=True).click()
    page.wait_for_url(f"**/applications/{app_id}")

    page.get_by_role("button", name="Kiểm tra tự động").click()
    page.wait_for_url(f"**/applications/{app_id}?done=verify*")
    assert page.locator("[data-verdict]").get_attribute("data-verdict") == "fail"
    finding = page.locator("li.finding[data-rule='overlap_registered']")
    assert finding.count() == 1
    with site.engine.connect() as c:
        stored = c.execute(text(
            "SELECT findings FROM verification_report WHERE application_id = :i "
            "ORDER BY id DESC LIMIT 1"), {"i": app_id}).scalar_one()
    overlap = next(f for f in stored if f["rule"] == "overlap_registered")
    assert overlap["message_vi"] in finding.inner_text()  # the sentence an officer reads
    assert page.locator("svg.sketch .claim path").count() == 1
    assert page.locator("svg.sketch g.finding-error path").count() >= 1  # drawn on the map
    assert page.get_by_role("button", name="Phê duyệt").count() == 0  # a failed verdict
    shoot(page, "scenario-application-overlap")

    page.get_by_text("Ghi kết quả kiểm tra thực địa").click()
    page.get_by_label("Ghi chú thực địa").fill("Hàng rào lấn sang thửa bên cạnh khoảng 1 m.")
    page.get_by_role("button", name="Ghi và kiểm tra lại").click()
    page.wait_for_url(f"**/applications/{app_id}?done=field_check*")
    assert "Đã kiểm tra thực địa" in page.locator(".state").inner_text()

    reason = "Ranh giới lấn sang thửa đã cấp giấy của hộ liền kề."
    page.locator("summary", has_text="Từ chối").click()
    page.get_by_label("Lý do từ chối").fill(reason)
    page.get_by_role("button", name="Từ chối hồ sơ").click()
    page.wait_for_url(f"**/applications/{app_id}?done=reject*")
    assert page.locator(".state").inner_text() == "Từ chối"
    assert reason in page.locator("ol.timeline").inner_text()
    assert page.locator("section.actions").count() == 0  # nothing left to do
    row = _application(site, app_id)
    assert (row.state, row.decision_reason) == ("rejected", reason)
    shoot(page, "scenario-application-rejected")


def test_officer_approves_and_issues_and_the_parcel_shows_the_new_holder(
        site: Site, browser: Browser) -> None:
    """A clean claim through the procedure: verified (pass), field-checked and posted
    (15 days, complaint-free), then on the page the eligibility conclusion (form 16), the tax
    information (form 19), the obligations met, approved and the certificate issued; the
    parcel page then names the applicant as holder with the certificate number."""
    app_id = _planted(site, "clean")
    before = _application(site, app_id)
    # A posting's 15 days cannot pass in a live browser: the officer's first steps are taken
    # through the domain functions at their own dates, before the site's day (26 August).
    lan = Actor(username="lan", role="land_officer", ward_code=WARD_CODE)
    with Session(site.engine) as s:
        with time_machine.travel(datetime.fromisoformat("2025-08-01T09:00:00+07:00"),
                                 tick=False):
            assert apps.verify(s, actor=lan, application_id=app_id).verdict == "pass"
            apps.record_field_check(s, actor=lan, application_id=app_id,
                                    check=apps.FieldCheck(notes="Mốc ranh giới khớp."))
            apps.open_posting(s, actor=lan, application_id=app_id, place="Nhà văn hóa tổ 5")
            s.commit()
        with time_machine.travel(datetime.fromisoformat("2025-08-18T09:00:00+07:00"),
                                 tick=False):
            apps.close_posting(s, actor=lan, application_id=app_id)
            s.commit()
    page = browser.page()
    sign_in(page, site.url, "lan", PASSWORD)
    page.goto(f"{site.url}/applications/{app_id}")
    page.locator("summary", has_text="Kết luận đủ điều kiện").click()
    page.get_by_label("Căn cứ").fill("Đất sử dụng ổn định, không tranh chấp.")
    page.get_by_role("button", name="Ghi kết luận").click()
    page.wait_for_url("**done=eligibility*")
    page.locator("summary", has_text="Gửi thông tin cho cơ quan thuế").click()
    page.get_by_label("Cơ quan thuế").fill("Chi cục Thuế khu vực Huế")
    page.get_by_role("button", name="Gửi", exact=True).click()
    page.wait_for_url("**done=tax_info*")
    page.locator("summary", has_text="Hoàn thành nghĩa vụ tài chính").click()
    page.get_by_label("Số biên lai nộp tiền").fill("BL-2025-0815")
    page.get_by_role("button", name="Xác nhận").click()
    page.wait_for_url("**done=obligations_met*")
    shoot(page, "scenario-application-obligations-met")
    page.locator("summary", has_text="Phê duyệt").click()
    page.get_by_label("Căn cứ phê duyệt").fill("Đủ điều kiện cấp giấy lần đầu.")
    page.get_by_role("button", name="Phê duyệt", exact=True).click()
    page.wait_for_url("**done=approve*")
    assert page.locator(".state").inner_text() == "Đã phê duyệt"
    page.get_by_role("button", name="Trao giấy chứng nhận").click()
    page.wait_for_url("**done=issue*")
    assert page.locator(".state").inner_text() == "Đã trao giấy chứng nhận"
    after = _application(site, app_id)
    assert after.state == "certificate_issued" and after.certificate_no and after.parcel_id

    page.get_by_role("link", name="xem thửa").click()
    page.wait_for_url(f"**/parcels/{after.parcel_id}")
    holders = page.locator("table.holders").inner_text()
    assert before.applicant_name in holders and after.certificate_no in holders
    assert "Quyền sử dụng đất" in holders
    shoot(page, "scenario-parcel-new-holder")


# ------------------------------------------------------------------------ the surveyor


def _survey_file(site: Site, tmp_path: Any) -> tuple[Any, int]:
    """A GeoPackage of two lots: one a registered parcel moved 3 m onto its neighbours."""
    with Session(site.engine) as s:
        rows = s.execute(text(
            "SELECT sheet_no, parcel_no, land_use, geom FROM parcel_version "
            "WHERE valid_to IS NULL AND land_use = 'ODT' ORDER BY parcel_id LIMIT 2")).all()
    geoms = [affinity.translate(from_db(r.geom), 3.0, 0.0) for r in rows]
    gdf = gpd.GeoDataFrame({"so_to": [r.sheet_no for r in rows],
                            "so_thua": [9000 + i for i in range(len(rows))],
                            "loai_dat": ["ODT"] * len(rows)}, geometry=geoms,
                           crs=f"EPSG:{gcrs.WARD}")
    path = tmp_path / "do_dac_kim_long.gpkg"
    gdf.to_file(path, layer="thua_dat", driver="GPKG")
    return path, len(rows)


def test_surveyor_uploads_a_geopackage_and_may_not_approve(site: Site, browser: Browser,
                                                           tmp_path: Any) -> None:
    """A GeoPackage dropped on the upload form (sent with progress), the batch's findings on
    its page, no decision buttons for a surveyor, and the 403 page on an application."""
    path, features = _survey_file(site, tmp_path)
    page = browser.page()
    sign_in(page, site.url, "minh", PASSWORD)
    assert [a.inner_text() for a in page.locator("nav.main-nav a").all()] == \
        ["Đo đạc", "Thửa đất", "Mã truy cập"]
    page.goto(f"{site.url}/surveys/new")
    dropped = page.evaluate_handle(
        "([name, bytes]) => { const t = new DataTransfer(); "
        "t.items.add(new File([new Uint8Array(bytes)], name)); return t; }",
        [path.name, list(path.read_bytes())])
    page.dispatch_event(".dropzone", "drop", {"dataTransfer": dropped})  # dragged onto it
    assert page.locator("[data-file-name]").inner_text() == path.name
    page.get_by_role("button", name="Tải lên và kiểm tra").click()
    page.wait_for_url("**/surveys/*?done=uploaded")
    batch_id = int(page.url.split("/surveys/")[1].split("?")[0])
    with site.engine.connect() as c:
        batch = c.execute(text("SELECT uploaded_by, feature_count, state FROM survey_batch "
                               "WHERE id = :b"), {"b": batch_id}).one()
        rules = {r[0] for r in c.execute(text(
            "SELECT DISTINCT rule FROM survey_finding WHERE batch_id = :b"), {"b": batch_id})}
    assert (batch.uploaded_by, batch.feature_count, batch.state) == \
        ("minh", features, "validated")
    assert rules, "moving registered lots onto their neighbours must raise findings"
    assert {li.get_attribute("data-rule") for li in page.locator("li.finding").all()} == rules
    assert page.locator("[data-count=features]").inner_text() == str(features)
    assert page.locator("svg.sketch .feature path").count() == features
    for name in ("Ghi vào sổ địa chính", "Từ chối", "Chấp nhận", "Phê duyệt"):
        assert page.get_by_role("button", name=name).count() == 0, name
    shoot(page, "scenario-surveyor-batch")

    app_id = _planted(site, "clean", n=1)
    response = page.goto(f"{site.url}/applications/{app_id}")
    assert response is not None and response.status == 403
    assert "Không được phép" in page.locator("h1").inner_text()
    assert page.get_by_role("button", name="Phê duyệt").count() == 0
    token = page.context.cookies(site.url)
    csrf = next(c["value"] for c in token if c["name"] == "kl_csrf")
    refused = page.request.post(f"{site.url}/applications/{app_id}/decision",
                                form={"csrf_token": csrf, "decision": "approve",
                                      "reason": "thử phê duyệt"})
    assert refused.status == 403
    assert _application(site, app_id).state in ("received", "verifying")
    shoot(page, "scenario-surveyor-403")


# ------------------------------------------------------------------------- the official


def test_official_sorts_the_impact_table_and_downloads_the_xlsx(site: Site,
                                                                browser: Browser) -> None:
    """Ring Road 3's page: sorted by parcel area, the XLSX download opens in openpyxl with
    the same totals as the API's impact."""
    page = browser.page()
    sign_in(page, site.url, "hoa", PASSWORD)
    page.locator("nav.main-nav").get_by_role("link", name="Dự án").click()
    page.get_by_role("link", name="RING_ROAD_3").click()
    page.wait_for_url("**/projects/RING_ROAD_3")
    api = page.request.get(f"{site.url}/api/v1/projects/RING_ROAD_3/impact").json()
    totals = api["totals"]
    assert page.locator("[data-total=parcels_affected]").inner_text() == \
        f"{totals['parcels_affected']:,}".replace(",", ".")

    page.locator("a[data-sort-key=area]").click()
    page.wait_for_url("**sort=area*")
    areas = [float(x.replace(".", "").replace(",", ".")) for x in
             page.locator("table.impact tbody tr td:nth-child(4)").all_inner_texts()]
    assert len(areas) == totals["parcels_affected"] and areas == sorted(areas, reverse=True)
    page.locator("a[data-sort-key=area]").click()  # again: ascending
    page.wait_for_url("**dir=asc*")
    areas = [float(x.replace(".", "").replace(",", ".")) for x in
             page.locator("table.impact tbody tr td:nth-child(4)").all_inner_texts()]
    assert areas == sorted(areas)
    shoot(page, "scenario-project-sorted")

    with page.expect_download() as info:
        page.locator("a[data-format=xlsx]").click()
    wb = load_workbook(io.BytesIO(open(info.value.path(), "rb").read()))  # noqa: SIM115
    facts = {row[0]: row[1] for row in wb["Tổng hợp"].iter_rows(values_only=True)
             if row[0] and isinstance(row[1], int)}
    assert facts["Số thửa bị ảnh hưởng / Parcels affected"] == totals["parcels_affected"]
    assert facts["Số người sử dụng đất / Holders affected"] == totals["holders_affected"]
    assert facts["Thu hồi toàn bộ / Full takes"] == totals["full_takes"]
    assert facts["Thu hồi một phần / Partial takes"] == totals["partial_takes"]
    taken = rows = 0
    for ws in wb.worksheets[1:]:
        for row in ws.iter_rows(min_row=5, values_only=True):
            if row[0] and row[8] is not None and not str(row[0]).startswith("Tổng"):
                rows += 1
                taken += row[8] if row[14] != "Chỉ hành lang an toàn" else 0
    assert rows >= totals["parcels_affected"]
    assert taken == pytest.approx(totals["taken_m2"], abs=0.1 + 0.005 * rows)


def test_statistics_for_the_first_eight_weeks(site: Site, browser: Browser) -> None:
    """1 July – 25 August 2025 on the page equals the API's figures.  The small demo ward
    has 128 files (the full ward's generator gives the ward's 3,100): 95% online and 92%
    on time, as the ward published."""
    page = browser.page()
    sign_in(page, site.url, "hoa", PASSWORD)
    page.locator("nav.main-nav").get_by_role("link", name="Thống kê").click()
    page.get_by_label("Tiếp nhận từ ngày").fill("01/07/2025")
    page.get_by_label("đến ngày").fill("25/08/2025")
    page.get_by_role("button", name="Xem").click()
    page.wait_for_url("**/stats?*")
    api = page.request.get(f"{site.url}/api/v1/stats/applications",
                           params={"from": "2025-07-01", "to": "2025-08-25"}).json()
    shown = {k: page.locator(f"[data-figure={k}]").inner_text()
             for k in ("received", "online_share", "on_time_rate", "late_rate")}
    assert shown["received"] == f"{api['received']:,}".replace(",", ".")
    assert shown["online_share"] == f"{round(api['online_share'] * 100)}%"
    assert shown["on_time_rate"] == f"{round(api['on_time_rate'] * 100)}%"
    assert (api["received"], shown["online_share"], shown["on_time_rate"]) == \
        (site.manifest["applications"]["intake"], "95%", "92%")
    weeks = page.locator("table.weeks tbody tr")
    assert page.locator("svg.chart rect.bar-received").count() == weeks.count() + 1  # legend
    assert sum(int(x) for x in page.locator("table.weeks tbody tr td:nth-child(2)")
               .all_inner_texts()) == api["received"] and weeks.count() == 9
    shoot(page, "scenario-statistics")


# ------------------------------------------------------------------ language and errors


def test_english_is_remembered_for_the_user(site: Site, browser: Browser) -> None:
    """Switched to English, the next sign-in with no cookie left (as on another computer) is
    in English, with English number separators; switched back, Vietnamese again."""
    page = browser.page()
    sign_in(page, site.url, "hoa", PASSWORD)
    page.goto(f"{site.url}/stats?from=2025-07-01&to=2025-08-25")
    assert page.locator("html").get_attribute("lang") == "vi"
    page.get_by_role("button", name="English").click()
    page.wait_for_url("**/stats?from=2025-07-01&to=2025-08-25")
    assert page.locator("h1").inner_text() == "Applications statistics"
    browser.context.clear_cookies()  # another computer: no cookie remembers anything
    sign_in(page, site.url, "hoa", PASSWORD)
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Welcome" in page.locator("h1").inner_text()
    page.goto(f"{site.url}/projects/RING_ROAD_3")
    taken = page.locator("[data-total=taken_m2]").inner_text()
    assert re.fullmatch(r"\d{1,3}(,\d{3})*\.\d", taken), taken  # 50,555.9
    shoot(page, "scenario-project-english")
    page.goto(f"{site.url}/stats?from=2025-07-01&to=2025-08-25")
    page.get_by_role("button", name="Tiếng Việt").click()
    page.wait_for_url("**/stats?*")
    assert page.locator("h1").inner_text() == "Thống kê giải quyết hồ sơ"


# ------------------------------------------------------------------ access tokens


def test_official_makes_a_token_for_qgis_and_revokes_it(site: Site, browser: Browser) -> None:
    """An official makes a read-only token on the page, sees it once, QGIS's way of sending
    it (Basic: username and token) reads /ogc, a write with it is refused, the list shows
    only its first characters; revoked on the page, it is refused at once."""
    page = browser.page()
    sign_in(page, site.url, "hoa", PASSWORD)
    page.locator("nav.main-nav").get_by_role("link", name="Mã truy cập").click()
    page.wait_for_url("**/tokens")
    page.get_by_label("Tên (dùng ở đâu").fill("QGIS máy văn phòng")
    page.get_by_role("button", name="Tạo mã").click()
    value = page.locator("#made-value").input_value()
    assert value.startswith("klpat_") and len(value) > 30
    shoot(page, "scenario-token-made")
    items = f"{site.url}/ogc/collections/parcels/items?limit=3"
    got = page.request.fetch(items, headers={"Authorization": _basic("hoa", value)})
    assert got.status == 200 and len(got.json()["features"]) == 3
    write = page.request.post(f"{site.url}/api/v1/projects", data={},
                              headers={"Authorization": f"Bearer {value}"})
    assert write.status == 403 and write.json()["type"] == "/problems/read_only_token"

    page.goto(f"{site.url}/tokens")
    row = page.locator("table tbody tr", has_text="QGIS máy văn phòng")
    assert value not in page.content() and value[:12] in row.inner_text()
    assert "Còn hiệu lực" in row.inner_text()
    row.get_by_role("button", name="Thu hồi").click()
    page.wait_for_url("**/tokens?done=revoked")
    assert "Đã thu hồi" in page.locator("table tbody tr", has_text="QGIS máy văn phòng"
                                        ).inner_text()
    refused = page.request.fetch(items, headers={"Authorization": _basic("hoa", value)})
    assert refused.status == 401
    with site.engine.connect() as c:
        actions = c.execute(text(
            "SELECT action FROM audit_event WHERE entity = 'access_token' AND actor = 'hoa' "
            "ORDER BY id")).scalars().all()
    assert [a for a in actions if a != "access_token.use"][-2:] == \
        ["access_token.create", "access_token.revoke"]
    assert "access_token.use" in actions  # the read with it is attributable
    shoot(page, "scenario-token-revoked")


def _basic(username: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

"""The cadastral extract, read back as a person (and a phone) would read it.

One A4 page; the text layer gives back the coordinate table in EPSG:9214 to the
centimetre, the measured area, the Vietnamese words with their diacritics; the QR code,
decoded from the rendered page, is the record's URL.  The PDFs are kept as test artefacts
beside the screenshots.
"""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import geopandas as gpd
import pdfplumber
import pytest
import zxingcpp
from shapely.geometry import Polygon, box

from certificates import applications as apps
from config.maps import MapSettings
from gis.convert import from_db
from gis.crs import WARD
from maps import boundary, extract
from parcels import queries
from tests.certificates.conftest import Demo
from tests.conftest import WARD as WARD_CODE
from tests.conftest import counts
from tests.maps.browser import ARTEFACTS
from tests.maps.conftest import Cases

FONTS = MapSettings().font_dir
E0, N0 = 559_067.0, 1_820_005.0
NOTCHED = Polygon([(E0, N0), (E0 + 20.25, N0), (E0 + 20.25, N0 + 9.5), (E0 + 12.0, N0 + 9.5),
                   (E0 + 12.0, N0 + 15.75), (E0, N0 + 15.75)])
"""A hand-drawn lot: 20.25 × 15.75 m less a 8.25 × 6.25 m notch = 267.375 m²."""


def _read(pdf: bytes) -> tuple[int, str, list[str]]:
    path = ARTEFACTS / "extracts"
    path.mkdir(parents=True, exist_ok=True)
    with pdfplumber.open(_keep(pdf, path)) as doc:
        pages = len(doc.pages)
        text = doc.pages[0].extract_text()
        image = doc.pages[0].to_image(resolution=200).original
    return pages, text, [b.text for b in zxingcpp.read_barcodes(image)]


_kept: list[int] = []


def _keep(pdf: bytes, folder: Path) -> Path:
    _kept.append(1)
    out = folder / f"extract-{len(_kept)}.pdf"
    out.write_bytes(pdf)
    return out


def _table(text: str) -> dict[int, tuple[str, str]]:
    """Point number → (X, Y) as printed in the coordinate table."""
    rows = re.findall(r"^(\d+) (\d{7}\.\d{2}) (\d{6}\.\d{2}) \d+-\d+ \d+\.\d{2}$", text, re.M)
    return {int(n): (x, y) for n, x, y in rows}


def _input(**kw: object) -> extract.ExtractInput:
    values: dict[str, object] = dict(
        geometry=NOTCHED, valid=True, area_m2=NOTCHED.area,
        neighbours=gpd.GeoDataFrame({"sheet_no": [5, 5], "parcel_no": [12, 14]},
                                    geometry=[box(E0 - 15, N0, E0, N0 + 16),
                                              box(E0 + 20.25, N0, E0 + 35, N0 + 12)], crs=WARD),
        sheet_no=5, parcel_no=13, former_unit="Kim Long", land_use="ODT",
        holders=["Trần Thị Hương"], address="Kiệt 12 Kim Long", ward_name="Phường Kim Long",
        record_url="http://127.0.0.1:8000/api/v1/parcels/13", printed_on=date(2025, 8, 26),
        reference="thửa 13, tờ 5")
    values.update(kw)
    return extract.ExtractInput(**values)  # type: ignore[arg-type]


def test_hand_drawn_lot_reads_back_to_the_centimetre() -> None:
    pages, text, codes = _read(extract.extract_pdf(_input(), font_dir=FONTS))
    assert pages == 1
    table = _table(text)
    verts = boundary.vertices(NOTCHED)
    assert table == {v.number: (f"{v.x:.2f}", f"{v.y:.2f}") for v in verts}
    assert table[1] == ("1820020.75", "559067.00")  # north-west corner first, X northing
    assert "267.4 m²" in text
    for words in ("TRÍCH LỤC BẢN ĐỒ ĐỊA CHÍNH", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                  "Người sử dụng đất: Trần Thị Hương", "Tờ bản đồ số: 5 (Kim Long cũ)",
                  "ODT – Đất ở tại đô thị", "Bảng tọa độ đỉnh thửa", "Ngày 26 tháng 08 năm 2025",
                  "Tỷ lệ 1:200"):
        assert words in text, words
    assert codes == ["http://127.0.0.1:8000/api/v1/parcels/13"]
    assert "DỮ LIỆU MÔ PHỎNG" not in text


def test_scale_is_the_largest_that_fits() -> None:
    assert extract.choose_scale(NOTCHED, 180, 122) == 200
    assert extract.choose_scale(box(0, 0, 120, 60), 180, 122) == 1000
    assert extract.choose_scale(box(0, 0, 5000, 10), 180, 122) == 10000


def test_missing_font_says_which_package(tmp_path: Path) -> None:
    with pytest.raises(extract.FontMissing, match="fonts-dejavu-core"):
        extract.register_fonts(tmp_path)


def test_parcel_extract_of_a_registered_parcel(demo_client, auth, demo: Demo, settings) -> None:
    """The extract of a demo parcel: its vertices, its measured area, its holder, the
    synthetic notice, and a QR code that leads back to the parcel."""
    pid = demo.session.execute(queries.sql(
        "SELECT v.parcel_id FROM parcel_version v JOIN parcel_right r ON r.parcel_id = "
        "v.parcel_id WHERE v.ward_code = :w AND v.valid_to IS NULL AND v.land_use = 'ODT' "
        "ORDER BY v.parcel_id LIMIT 1"), {"w": WARD_CODE}).scalar_one()
    rec = queries.get_parcel(demo.session, ward_code=WARD_CODE, parcel_id=pid)
    r = demo_client.get(f"/api/v1/parcels/{pid}/extract.pdf", headers=auth("land_officer"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    pages, text, codes = _read(r.content)
    assert pages == 1
    assert _table(text) == {v.number: (f"{v.x:.2f}", f"{v.y:.2f}")
                            for v in boundary.vertices(rec.geometry)}
    assert f"Diện tích: {rec.measured_area:.1f} m²" in text
    assert rec.holders[0].full_name in text
    assert "DỮ LIỆU MÔ PHỎNG, KHÔNG PHẢI HỒ SƠ ĐỊA CHÍNH THẬT" in text
    assert codes == [f"{settings.server.public_base_url()}/api/v1/parcels/{pid}"]


def test_application_extract_of_an_invalid_claim(demo_client, auth, demo: Demo, settings,
                                                 cases: Cases) -> None:
    """A claim that crosses itself: the ring as filed, no area, and the record's URL."""
    geom = from_db(apps.get(demo.session, ward_code=WARD_CODE,
                            application_id=cases.invalid).geom)
    r = demo_client.get(f"/api/v1/applications/{cases.invalid}/extract.pdf",
                        headers=auth("land_officer"))
    assert r.status_code == 200
    _, text, codes = _read(r.content)
    assert _table(text) == {v.number: (f"{v.x:.2f}", f"{v.y:.2f}")
                            for v in boundary.vertices(geom)}
    assert "không xác định (ranh giới tự cắt)" in text
    assert codes == [
        f"{settings.server.public_base_url()}/api/v1/applications/{cases.invalid}"]


def test_unknown_parcel_extract_is_a_404_and_writes_nothing(demo_client, auth,
                                                            demo: Demo) -> None:
    before = counts(demo.session)
    r = demo_client.get("/api/v1/parcels/99999999/extract.pdf", headers=auth("land_officer"))
    assert r.status_code == 404 and r.json()["type"] == "/problems/parcel_not_found"
    assert demo_client.get("/api/v1/parcels/0/extract.pdf",
                           headers=auth("land_officer")).status_code == 422
    assert counts(demo.session) == before


def test_official_may_not_print_extracts(demo_client, auth) -> None:
    r = demo_client.get("/api/v1/parcels/1/extract.pdf", headers=auth("official"))
    assert r.status_code == 403


def teardown_module() -> None:
    if not _kept:  # pragma: no cover
        shutil.rmtree(ARTEFACTS / "extracts", ignore_errors=True)

"""How an officer writes a parcel, a point and a zone: one function each, both languages."""

from __future__ import annotations

from gis import labels


def test_a_parcel_reads_as_an_officer_writes_it() -> None:
    assert labels.parcel("kim_long", 5, 12) == "thửa đất số 12, tờ bản đồ số 5 (Kim Long cũ)"
    assert labels.parcel("huong_tho", 5, 12, "en") == \
        "parcel 12, map sheet 5 (former Hương Thọ)"
    assert "kim_long" not in labels.parcel("kim_long", 1, 1)


def test_a_point_is_x_northing_then_y_easting() -> None:
    assert labels.point(559067.211, 1820005.354) == "X = 1820005.354 m, Y = 559067.211 m"
    assert labels.point(559067.211, 1820005.354, "en") == \
        "X (northing) 1820005.354 m, Y (easting) 559067.211 m"


def test_zone_kinds_in_words() -> None:
    assert labels.zone_kind("heritage_2") == "khu vực bảo vệ II của di tích"
    assert labels.zone_kind("heritage_2", "en") == "heritage protection zone II"
    assert "_" not in labels.zone_kind("some_new_kind")

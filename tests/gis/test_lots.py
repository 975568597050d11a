"""The minimum-lot rule on hand-drawn lots (pure: shapely and the dated figures only), and
corridors from centrelines with a width per side."""

from __future__ import annotations

from datetime import date

import pytest
from shapely.geometry import LineString, box

from config import lots as lot_settings
from gis import corridors as gcor
from gis import lots as glots

HUE = glots.LotRule(min_area_m2=60.0, min_frontage_m=4.0, min_frontage_wide_m=5.0,
                    wide_road_m=19.0, min_depth_m=5.0, road_access=True, access_min_m=1.0)
NARROW = glots.Road(box(-16, -50, 0, 100), 16.0, "16 m street")
WIDE = glots.Road(box(-24, -50, 0, 100), 24.0, "24 m avenue")


def test_a_5_by_20_lot_on_a_narrow_street_passes() -> None:
    """100 m², 5 m of frontage on a 16 m street, 20 m deep: a lot."""
    check = glots.check_lot(box(0, 0, 20, 5), [NARROW], HUE)
    assert check.passes and check.frontage is not None
    assert check.frontage.length_m == pytest.approx(5.0, abs=0.11)
    assert check.depth_m == pytest.approx(20.0, abs=0.5)


def test_30_m2_fails_the_area() -> None:
    check = glots.check_lot(box(0, 0, 6, 5), [NARROW], HUE)
    assert check.failures == (glots.AREA,)


@pytest.mark.parametrize(("width", "road", "fails"), [
    (3.0, NARROW, True), (4.2, NARROW, False), (4.5, WIDE, True), (5.2, WIDE, False)])
def test_frontage_depends_on_the_red_line_width(width, road, fails) -> None:
    """Under 19 m of red line a lot needs 4 m of frontage; at 19 m or more, 5 m."""
    check = glots.check_lot(box(0, 0, 40, width), [road], HUE)
    assert (glots.FRONTAGE in check.failures) is fails
    assert check.frontage is not None and check.frontage.required_m == (
        4.0 if road is NARROW else 5.0)


def test_a_shallow_lot_fails_the_depth() -> None:
    """20 m of frontage, 4 m deep (80 m²): too shallow."""
    check = glots.check_lot(box(0, 0, 4, 20), [NARROW], HUE)
    assert check.failures == (glots.DEPTH,)
    assert check.depth_m == pytest.approx(4.0, abs=0.05)


def test_no_road_access_is_flagged_only_when_the_rule_asks() -> None:
    lot = box(10, 0, 30, 20)  # 10 m away from the street
    with_access = glots.check_lot(lot, [NARROW], HUE)
    assert not with_access.road_access and glots.ROAD_ACCESS in with_access.failures
    before = glots.LotRule(min_area_m2=60.0, road_access=False)
    assert glots.check_lot(lot, [NARROW], before).passes


def test_a_bridge_deck_gives_no_access() -> None:
    deck = glots.Road(box(-43, -50, 0, 100), 43.0, "bridge", gives_access=False)
    check = glots.check_lot(box(0, 0, 20, 10), [deck], HUE)
    assert not check.road_access and glots.ROAD_ACCESS in check.failures


def test_a_road_of_unknown_width_asks_the_larger_frontage() -> None:
    assert HUE.required_frontage(None) == 5.0 and HUE.required_frontage(18.9) == 4.0


def test_the_figures_in_force_are_dated_and_cite_their_source() -> None:
    """Kim Long's 60 m² from Huế's decision of 7 August 2025 (number not found); road access
    from Resolution 254/2025/QH15 on 1 January 2026, not the day before."""
    rows = lot_settings.load()
    odt = rows.figures("ODT", date(2026, 3, 1))
    assert odt.minimum is not None and odt.minimum.min_area_m2 == 60.0
    assert "7 August 2025" in odt.minimum.source and "not found" in odt.minimum.source
    assert odt.rule_fields()["road_access"] is True
    assert odt.access is not None and "254/2025/QH15" in odt.access.source
    assert rows.figures("ODT", date(2025, 12, 31)).rule_fields()["road_access"] is False
    assert rows.figures("ODT", date(2025, 8, 6)).minimum is None
    hnk = rows.figures("HNK", date(2026, 3, 1))
    assert hnk.minimum is not None and hnk.minimum.uncertain and "UNCERTAIN" in hnk.minimum.source
    assert rows.figures("CLN", date(2026, 3, 1)).minimum is None


def test_overlapping_access_rows_are_refused() -> None:
    data = {"settings": {"version": "x"}, "road_access": [
        {"required": False, "valid_from": date(2024, 1, 1), "source": "a"},
        {"required": True, "valid_from": date(2026, 1, 1), "source": "b"}]}
    with pytest.raises(lot_settings.LotSettingsError):
        lot_settings.parse(data)


def test_widths_per_side_of_a_centreline() -> None:
    """Drawn northwards, 2 m left and 10 m right: the red line spans x from -2 to 10."""
    poly = gcor.segment_redline(gcor.Segment(LineString([(0, 0), (0, 100)]), 2.0, 10.0))
    assert poly.bounds == pytest.approx((-2.0, 0.0, 10.0, 100.0))
    assert poly.area == pytest.approx(1200.0)


def test_joints_of_a_bent_centreline_are_filled() -> None:
    """Flat ends leave a wedge outside a bend; the disc at the joint fills it."""
    a = gcor.Segment(LineString([(0, 0), (0, 100)]), 5.0, 5.0)
    b = gcor.Segment(LineString([(0, 100), (100, 200)]), 5.0, 5.0)
    joined = gcor.corridor_redline([a, b])
    bare = gcor.segment_redline(a).union(gcor.segment_redline(b))
    assert len(joined.geoms) == 1 and joined.area > bare.area
    assert joined.contains(box(-4.5, 99, -4, 100.8))

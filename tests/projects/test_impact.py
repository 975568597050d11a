"""What a corridor takes from each parcel and what is left: hand-drawn lots whose answers are
on paper, the demo ward for conservation, and the registry as of a date."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import shapely
import time_machine
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.project_impact import project_impact
from certificates.disputes import open_dispute
from gis import lots as glots
from parcels import registry
from projects import corridors as pc
from projects.records import CorridorSpec, ElementSpec
from projects.results import Impact, ParcelImpact
from tests.conftest import WARD
from tests.factories import rect
from tests.projects.conftest import JAN_2026, OFFICER, Demo, centre, lot, poly, project


def _impact(session: Session, code: str, **kw) -> Impact:
    return project_impact(session, ward_code=WARD, code=code, **kw)


def _of(result: Impact, parcel_id: int) -> ParcelImpact:
    return next(p for p in result.parcels if p.parcel_id == parcel_id)


def test_a_corridor_through_the_middle_leaves_two_usable_parts(session: Session) -> None:
    """A 10 m red line across the middle of a 40 × 30 m house lot: 300 m² taken, two parts of
    450 m² left, each with 30 m of frontage on the new road: still lots, a partial take."""
    with time_machine.travel(JAN_2026):
        pid = lot(session, 701, 1, rect(0, 0, 40, 30), holder="Nguyễn Văn Một")
        project(session, "T_MIDDLE", centre([(20, -10), (20, 40)], 5, 5))
        r = _impact(session, "T_MIDDLE")
    p = _of(r, pid)
    assert p.take == "partial" and p.proposal == "partial"
    assert p.taken_m2 == pytest.approx(300.0, abs=0.01)
    assert p.remainder_m2 == pytest.approx(900.0, abs=0.01)
    assert [round(x.area_m2, 2) for x in p.parts] == [450.0, 450.0]
    assert all(x.frontage_m == pytest.approx(30.0, abs=0.2) and x.road_access
               and not x.failures for x in p.parts)
    assert p.holders == ("Nguyễn Văn Một",) and p.certificates == ("CT-701-1",)
    assert r.totals.parcels_affected == 1 and r.totals.parts_created == 2
    assert r.totals.parcels_cut_in_several == 1 and r.totals.holders_affected == 1
    assert r.totals.by_land_use["ODT"].taken_m2 == pytest.approx(300.0, abs=0.01)


def test_a_corner_clip_of_02_m2_is_boundary_noise(session: Session) -> None:
    """A red-line polygon clipping 0.2 m² off a lot's corner is digitising noise: the lot is
    listed as touched, not affected, and nothing is priced."""
    a = (0.4 ** 0.5)  # legs of a right triangle of 0.2 m²
    with time_machine.travel(JAN_2026):
        pid = lot(session, 702, 1, rect(100, 0, 20, 20))
        project(session, "T_NOISE", ElementSpec(section_code="S1", redline=poly(
            (120 - a, 20), (120, 20 - a), (130, 20 - a), (130, 30), (120 - a, 30))))
        r = _impact(session, "T_NOISE")
    p = _of(r, pid)
    assert p.taken_m2 == pytest.approx(0.2, abs=0.001)
    assert p.take == "noise" and p.proposal == "none" and p.cost_taken is None
    assert r.totals.parcels_affected == 0 and r.totals.noise_parcels == 1
    assert r.totals.taken_m2 == 0.0


def test_a_100_m2_lot_losing_70_m2_falls_below_the_minimum(session: Session) -> None:
    """30 m² of house land is left, under Kim Long's 60 m² (and 3 m deep, under 5 m): the
    whole lot is proposed for acquisition."""
    with time_machine.travel(JAN_2026):
        pid = lot(session, 703, 1, rect(200, 0, 10, 10))
        project(session, "T_SMALL", centre([(200, -20), (200, 30)], 3, 7))
        r = _impact(session, "T_SMALL")
    p = _of(r, pid)
    assert p.taken_m2 == pytest.approx(70.0, abs=0.01)
    assert len(p.parts) == 1 and p.parts[0].area_m2 == pytest.approx(30.0, abs=0.01)
    assert glots.AREA in p.parts[0].failures and glots.DEPTH in p.parts[0].failures
    assert p.parts[0].depth_m == pytest.approx(3.0, abs=0.05)
    assert p.rule is not None and p.rule.min_area_m2 == 60.0
    assert any("7 August 2025" in s and "number not found" in s for s in p.rule_sources)
    assert p.proposal == "full_acquisition" and p.proposed_m2 == pytest.approx(100.0, abs=0.01)
    assert r.totals.proposed_full_acquisition == 1 and r.totals.remainders_failing == 1


def test_3_m_of_frontage_on_a_road_under_19_m_fails_the_frontage_rule(session: Session) -> None:
    """A flag lot whose 3 m wide pole meets a 16 m red line: 424 m² is left, deep enough, but
    its only frontage is 3 m where Huế asks 4 m on roads narrower than 19 m."""
    flag = shapely.union(rect(300, 0, 10, 3), rect(310, 0, 20, 20))
    with time_machine.travel(JAN_2026):
        pid = lot(session, 704, 1, flag)
        project(session, "T_FRONT", centre([(294, -20), (294, 40)], 8, 8))
        r = _impact(session, "T_FRONT")
    part = _of(r, pid).parts[0]
    assert part.area_m2 == pytest.approx(424.0, abs=0.01)
    assert part.frontage_m == pytest.approx(3.0, abs=0.15)
    assert part.road_redline_width_m == 16.0 and part.required_frontage_m == 4.0
    assert part.failures == (glots.FRONTAGE,) and part.road_access
    assert _of(r, pid).proposal == "full_acquisition"


def test_asymmetric_widths_put_the_take_on_the_right(session: Session) -> None:
    """Drawn northwards with 2 m left and 10 m right, the red line takes 10 m from the east
    lot and 2 m from the west lot; drawn southwards the same widths take from the west."""
    with time_machine.travel(JAN_2026):
        west = lot(session, 705, 1, rect(400, 0, 20, 20))
        east = lot(session, 705, 2, rect(420, 0, 20, 20))
        project(session, "T_NORTH", centre([(420, -10), (420, 30)], 2, 10))
        project(session, "T_SOUTH", centre([(420, 30), (420, -10)], 2, 10))
        north, south = _impact(session, "T_NORTH"), _impact(session, "T_SOUTH")
    assert _of(north, east).taken_m2 == pytest.approx(200.0, abs=0.01)
    assert _of(north, west).taken_m2 == pytest.approx(40.0, abs=0.01)
    assert _of(south, west).taken_m2 == pytest.approx(200.0, abs=0.01)
    assert _of(south, east).taken_m2 == pytest.approx(40.0, abs=0.01)


def test_a_remainder_without_road_access_is_flagged_from_2026(session: Session) -> None:
    """Beside a bridge deck (no access) a garden's remainder touches no road: flagged under
    Resolution 254/2025/QH15 from 1 January 2026, not before (perennial-crop land has no
    minimum area in the settings, so access is the only figure); a lane gives access."""
    with time_machine.travel(datetime(2025, 12, 1, 3, 0, tzinfo=UTC)):
        cut = lot(session, 706, 1, rect(500, 0, 20, 20), land_use="CLN")
        beside_lane = lot(session, 706, 2, rect(500, 40, 20, 20), land_use="CLN")
        lot(session, 706, 3, rect(520, 40, 4, 20), land_use="DGT")  # a 4 m lane
        project(session, "T_BRIDGE", centre([(505, -10), (505, 70)], 5, 5, access=False))
        before = _impact(session, "T_BRIDGE")
    with time_machine.travel(JAN_2026):
        after = _impact(session, "T_BRIDGE")
    assert _of(before, cut).parts[0].failures == () and not _of(before, cut).parts[0].judged
    assert before.on.isoformat() == "2025-12-01"
    flagged = _of(after, cut).parts[0]
    assert not flagged.road_access and glots.ROAD_ACCESS in flagged.failures
    lane = _of(after, beside_lane).parts[0]
    assert lane.road_access and lane.failures == () and lane.frontage_m == pytest.approx(20, abs=.2)
    assert lane.road_redline_width_m == pytest.approx(4.0 * 20 / 24, abs=0.01)  # 2·A/P


def test_safety_corridor_and_open_cases_are_reported(session: Session) -> None:
    """A lot only in the 5 m safety band is listed as such; a disputed lot in the red line
    carries its dispute, and the totals count it."""
    with time_machine.travel(JAN_2026):
        taken = lot(session, 707, 1, rect(600, 0, 20, 20), holder="Trần Thị Hai")
        near = lot(session, 707, 2, rect(620, 0, 10, 20))
        project(session, "T_SAFE", centre([(610, -10), (610, 30)], 8, 8, safety=5.0))
        d = open_dispute(session, actor=OFFICER, parcel_ids=[taken], claimant="Lê Văn Ba",
                         description="ranh giới phía bắc", opened_on=JAN_2026.date())
        r = _impact(session, "T_SAFE")
    assert _of(r, near).take == "safety" and _of(r, near).safety_m2 == pytest.approx(
        3 * 20, abs=0.01)
    assert _of(r, taken).disputes == (d.id,)
    assert r.totals.safety_only_parcels == 1 and r.totals.open_disputes == 1


def test_cost_is_area_times_the_dated_unit_price(session: Session) -> None:
    """Taken m² × the invented demo price for house land at position 1 (on a 12 m street)."""
    with time_machine.travel(JAN_2026):
        pid = lot(session, 708, 1, rect(700, 0, 20, 30))
        lot(session, 708, 2, rect(720, 0, 12, 30), land_use="DGT")
        project(session, "T_COST", centre([(700, -10), (700, 40)], 5, 5))
        r = _impact(session, "T_COST")
    p = _of(r, pid)
    assert p.position == 1 and p.unit_price == 24_000_000
    assert p.cost_taken == pytest.approx(150.0 * 24_000_000, rel=1e-6)
    assert r.price_table is not None and r.price_table.invented
    assert "INVENTED" in r.price_table.source


def test_impact_as_of_a_date_uses_the_registry_and_corridor_of_that_day(
        session: Session) -> None:
    """A lot enlarged and a corridor widened in March: asked as of February, the impact is
    February's; asked now, it is March's."""
    with time_machine.travel(datetime(2026, 2, 1, 3, 0, tzinfo=UTC)):
        pid = lot(session, 709, 1, rect(800, 0, 20, 20))
        project(session, "T_ASOF", centre([(800, -10), (800, 30)], 5, 5))
    with time_machine.travel(datetime(2026, 3, 1, 3, 0, tzinfo=UTC)):
        registry.amend_parcel(session, actor=OFFICER, parcel_id=pid,
                              amendment=registry.Amendment(geometry=rect(800, 0, 20, 30)),
                              reason="re-survey")
        pc.new_corridor_version(session, actor=OFFICER, code="T_ASOF", reason="widened",
                                spec=CorridorSpec(elements=[centre([(800, -10), (800, 40)],
                                                                      8, 8)]))
    with time_machine.travel(datetime(2026, 3, 2, 3, 0, tzinfo=UTC)):
        then = _impact(session, "T_ASOF", as_of=datetime(2026, 2, 15, tzinfo=UTC))
        now = _impact(session, "T_ASOF")
    assert then.corridor.version == 1 and now.corridor.version == 2
    assert _of(then, pid).taken_m2 == pytest.approx(5 * 20, abs=0.01)
    assert _of(now, pid).taken_m2 == pytest.approx(8 * 30, abs=0.01)
    assert _of(then, pid).version == 1 and _of(now, pid).version == 2


def test_alternatives_compare_side_by_side(session: Session) -> None:
    """Alternative B keeps to the west: it spares the east lot, so only A affects it."""
    from projects.compare import compare

    with time_machine.travel(JAN_2026):
        west = lot(session, 710, 1, rect(900, 0, 20, 20))
        east = lot(session, 710, 2, rect(930, 0, 20, 20))
        project(session, "T_ALT", centre([(925, -10), (925, 30)], 10, 10))
        pc.new_corridor_version(session, actor=OFFICER, code="T_ALT", reason="option B",
                                spec=CorridorSpec(alternative="B",
                                                     elements=[centre([(915, -10), (915, 30)],
                                                                      5, 5)]))
        out = compare(_impact(session, "T_ALT", alternative="A"),
                      _impact(session, "T_ALT", alternative="B"))
    assert [x["parcel_id"] for x in out["only_a"]] == [east]
    assert out["only_b"] == [] and out["in_both"] == 1
    assert out["a"]["taken_m2"] == pytest.approx(5 * 20 + 5 * 20, abs=0.1)
    assert out["b"]["taken_m2"] == pytest.approx(10 * 20, abs=0.1)
    assert out["difference_b_minus_a"]["parcels_affected"] == -1
    assert {x["parcel_id"] for x in out["changed_in_both"]} == {west}


def test_corridor_versions_are_never_changed_or_deleted(session: Session) -> None:
    """History is kept: a stored version's red line cannot be edited, nor its elements, nor
    can a version be deleted; only closing the version in force is allowed."""
    import sqlalchemy.exc

    with time_machine.travel(JAN_2026):
        project(session, "T_KEEP", centre([(1100, -10), (1100, 30)], 5, 5))
    for statement in ("UPDATE corridor_version SET label = 'edited' WHERE project_code = "
                      "'T_KEEP'",
                      "DELETE FROM corridor_version WHERE project_code = 'T_KEEP'",
                      "UPDATE project_segment SET left_width_m = 1 WHERE project_code = "
                      "'T_KEEP'"):
        with pytest.raises(sqlalchemy.exc.DBAPIError), session.begin_nested():
            session.execute(text(statement))


def test_conservation_on_the_demo_ward(demo: Demo) -> None:
    """On the synthetic ward: the areas taken add up to the red line ∩ the parcels (within
    0.01%), and taken + remainder = the parcel's area for every parcel."""
    r = _impact(demo.session, "RING_ROAD_3")
    assert r.project.synthetic and len(r.parcels) > 20
    rows = demo.session.execute(text(
        "SELECT ST_AsBinary(geom) FROM parcel_version WHERE ward_code = :w "
        "AND valid_to IS NULL AND status = 'registered'"), {"w": WARD}).scalars()
    union = shapely.union_all([shapely.from_wkb(bytes(g)) for g in rows])
    expected = shapely.intersection(r.corridor.redline, union).area
    got = sum(p.taken_m2 for p in r.parcels)
    assert got == pytest.approx(expected, rel=1e-4)
    for p in r.parcels:
        assert p.taken_m2 + p.remainder_m2 == pytest.approx(p.area_m2, abs=1e-3), p.label
    assert r.totals.parcels_affected > 10 and r.totals.taken_m2 > 5_000
    river = [p for p in r.affected if p.land_use == "SON"]  # the bridge crosses the river
    assert river and all(p.state_land and p.cost_taken is None for p in river)
    assert r.totals.state_land_parcels >= len(river)
    assert any("NH" in p.sections for p in r.affected)

"""Verification rules on hand-drawn parcels whose answers are computed on paper.

The test ward has no map sheets, so every pair is judged at the default 1:1000
tolerances of config/rules.toml: noise up to 0.15 m, review up to 0.30 m, conflict above.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box
from sqlalchemy import text
from sqlalchemy.orm import Session

from certificates import applications as apps
from certificates import disputes
from certificates.rules import load_settings
from db.audit import Actor
from gis.convert import from_db_many, to_ewkb
from gis.crs import WARD as SRID
from gis.findings import Severity
from parcels.models import ParcelRight, Party
from parcels.registry import register_parcel
from tests.certificates.conftest import claim
from tests.conftest import WARD
from tests.factories import X0, Y0, rect, spec


def parcel(session: Session, officer: Actor, sheet: int, number: int, geom: Polygon, *,
           holder: str | None = "Lê Văn Bình", certificate: str | None = "CS 000123",
           land_use: str = "ODT") -> int:
    """A map parcel; with a holder and certificate number it is certified."""
    v = register_parcel(session, actor=officer, spec=spec(sheet, number, geom, land_use=land_use),
                        reason="test map")
    if holder:
        party = Party(ward_code=WARD, full_name=holder)
        session.add(party)
        session.flush()
        session.add(ParcelRight(ward_code=WARD, parcel_id=v.parcel_id, party_id=party.id,
                                kind="use_right", certificate_no=certificate,
                                issued_on=date(2015, 5, 1), recorded_by="test"))
        session.flush()
    return v.parcel_id


def verify(session: Session, officer: Actor, app_id: int) -> dict:
    r = apps.verify(session, actor=officer, application_id=app_id)
    return {"verdict": r.verdict, "findings": r.findings, "report": r}


def by_rule(findings: list[dict], rule: str) -> list[dict]:
    return [f for f in findings if f["rule"] == rule]


def test_one_metre_strip_along_a_twenty_metre_edge(session, officer) -> None:
    """A claim 1 m into a certified neighbour along 20 m: 20 m², 1 m wide, holder named."""
    b = parcel(session, officer, 1, 2, rect(20, 0, 20, 20), holder="Lê Văn Bình",
               certificate="CS 000123")
    out = verify(session, officer, claim(session, officer, rect(0, 0, 21, 20)))
    assert out["verdict"] == "fail"
    [f] = by_rule(out["findings"], "overlap_registered")
    assert f["severity"] == "error"
    assert f["figures"]["area_m2"] == pytest.approx(20.0, abs=1e-6)
    assert f["figures"]["width_m"] == pytest.approx(1.0, abs=0.01)
    assert f["figures"]["holder"] == "Lê Văn Bình"
    assert f["figures"]["certificate_no"] == "CS 000123"
    assert f["parcels"][0]["parcel_id"] == b
    assert f["geometry"]["type"] == "Polygon"
    strip = shapely.geometry.shape(f["geometry"])
    assert 107.0 < strip.centroid.x < 108.0 and 16.0 < strip.centroid.y < 17.0  # WGS 84
    assert "Lê Văn Bình" in f["message_vi"] and "CS 000123" in f["message_en"]


def test_shared_edge_is_no_overlap(session, officer) -> None:
    """Two lots sharing their 20 m edge: nothing to report, the claim passes."""
    parcel(session, officer, 1, 2, rect(20, 0, 20, 20))
    out = verify(session, officer, claim(session, officer, rect(0, 0, 20, 20)))
    assert out["verdict"] == "pass"
    assert out["findings"] == []


def test_three_centimetre_overlap_is_within_tolerance(session, officer) -> None:
    """3 cm into the neighbour is survey noise at 1:1000 (0.15 m): informed, not blocking."""
    parcel(session, officer, 1, 2, rect(20, 0, 20, 20))
    out = verify(session, officer, claim(session, officer, rect(0, 0, 20.03, 20)))
    assert out["verdict"] == "pass"
    [f] = by_rule(out["findings"], "overlap_registered")
    assert f["severity"] == "info" and f["band"] == "noise"
    assert f["figures"]["area_m2"] == pytest.approx(0.6, abs=1e-6)
    assert f["figures"]["width_m"] == pytest.approx(0.03, abs=0.001)


def test_uncertified_neighbour_is_a_warning_and_state_land_an_error(session, officer) -> None:
    """1 m into a lot nobody holds a certificate for: field check; 1 m into a road: blocks."""
    parcel(session, officer, 1, 2, rect(20, 0, 20, 20), holder=None)
    parcel(session, officer, 1, 3, rect(-10, 0, 10, 20), holder=None, land_use="DGT")
    out = verify(session, officer, claim(session, officer, rect(0, 0, 21, 20)))
    assert [f["severity"] for f in by_rule(out["findings"], "overlap_uncertified")] == ["warning"]
    assert out["verdict"] == "review"
    out = verify(session, officer, claim(session, officer, rect(-1, 30, 2, 2)))  # far away
    assert out["verdict"] == "pass"
    road = verify(session, officer, claim(session, officer, rect(-1, 0, 21, 20)))
    [f] = by_rule(road["findings"], "overlap_state_land")
    assert f["severity"] == "error" and f["figures"]["land_use"] == "DGT"
    assert road["verdict"] == "fail"


def test_claim_equal_to_a_certified_parcel_is_already_registered(session, officer) -> None:
    """A copy of a certified lot, 2 cm off: already registered, with its certificate."""
    b = parcel(session, officer, 1, 2, rect(20, 0, 20, 20), certificate="CS 777777")
    out = verify(session, officer, claim(session, officer, rect(20.02, 0.02, 20, 20)))
    assert out["verdict"] == "fail"
    [f] = by_rule(out["findings"], "already_registered")
    assert f["figures"]["certificate_no"] == "CS 777777"
    assert f["parcels"][0]["parcel_id"] == b
    assert not by_rule(out["findings"], "overlap_registered")  # said once, not twice


def test_the_subject_parcel_is_not_a_conflict(session, officer) -> None:
    """The uncertified map parcel a claim is for (sheet 1 no. 10) is its own, not a neighbour."""
    s = parcel(session, officer, 1, 10, rect(0, 0, 20, 20), holder=None)
    app_id = claim(session, officer, rect(0, 0, 20, 21), sheet=1, number=10)
    out = verify(session, officer, app_id)
    assert out["verdict"] == "pass", out["findings"]
    assert out["report"].subject_parcel_id == s


def test_overlapping_pending_claims_warn_and_name_the_first(session, officer) -> None:
    """Two pending claims 1 m over each other: both warned; the earlier one is named."""
    first = claim(session, officer, rect(0, 0, 21, 20), name="Người Trước")
    second = claim(session, officer, rect(20, 0, 20, 20), name="Người Sau")
    out = verify(session, officer, second)
    [f] = by_rule(out["findings"], "overlap_pending")
    assert out["verdict"] == "review" and f["severity"] == "warning"
    assert f["applications"][0]["application_id"] == first
    assert f["figures"]["received_first"] == "other"
    assert f["figures"]["area_m2"] == pytest.approx(20.0, abs=1e-6)


def test_hairline_gap_warns_and_proposes_the_snapped_boundary(session, officer) -> None:
    """20 cm short of the neighbour along 20 m (beyond 1:1000's 15 cm noise): a 4 m² gap,
    0.2 m wide, a warning; snapping closes it."""
    parcel(session, officer, 1, 2, rect(20, 0, 20, 20))
    out = verify(session, officer, claim(session, officer, rect(0, 0, 19.8, 20)))
    assert out["verdict"] == "review"
    [f] = by_rule(out["findings"], "boundary_gap")
    assert f["severity"] == "warning" and f["band"] == "review"
    assert f["figures"]["area_m2"] == pytest.approx(4.0, abs=1e-3)
    assert f["figures"]["width_m"] == pytest.approx(0.2, abs=0.004)
    snapped = shapely.geometry.shape(f["proposed_geometry"])
    from gis import crs as gcrs

    assert gcrs.to_ward(snapped, gcrs.WGS84).area == pytest.approx(400.0, abs=0.05)


def test_gap_and_overlap_within_survey_noise_weigh_the_same(session, officer) -> None:
    """1.4 cm short of the western neighbour and 1.4 cm into the eastern one (1:1000 noise:
    up to 15 cm): both are information with the snapped boundary proposed; the claim
    passes (the gap sent application 20 to review before)."""
    parcel(session, officer, 1, 2, rect(20, 0, 20, 20))
    parcel(session, officer, 1, 3, rect(-20, 0, 20, 20))
    out = verify(session, officer, claim(session, officer, rect(0.014, 0, 20.0, 20)))
    [gap] = by_rule(out["findings"], "boundary_gap")
    [over] = by_rule(out["findings"], "overlap_registered")
    assert gap["severity"] == over["severity"] == "info"
    assert gap["band"] == over["band"] == "noise"
    assert gap["figures"]["width_m"] == pytest.approx(0.014, abs=0.001)
    assert gap["proposed_geometry"] is not None
    assert out["verdict"] == "pass"


def test_area_mismatch_is_judged_against_the_scale_table(session, officer) -> None:
    """400 m² measured: declared 401 is within 1:1000's 2.31 m²; declared 430 is not."""
    settings = load_settings()
    assert settings.allowed_area_error(1000, 400.0) == pytest.approx(1.63 * 2 ** 0.5, abs=1e-6)
    assert settings.allowed_area_error(500, 65.0) == pytest.approx(0.53, abs=1e-6)
    ok = verify(session, officer, claim(session, officer, rect(0, 0, 20, 20), declared=401.0))
    assert ok["verdict"] == "pass"
    bad = verify(session, officer, claim(session, officer, rect(0, 40, 20, 20), declared=430.0))
    [f] = by_rule(bad["findings"], "area_mismatch")
    assert bad["verdict"] == "review" and f["severity"] == "warning"
    assert f["figures"]["difference_m2"] == pytest.approx(30.0, abs=1e-6)


def test_messages_name_every_holder_and_say_words_not_codes(session, officer) -> None:
    """Issue 14: every co-holder of the certified neighbour is named; an area difference
    carries its sign word; a zone kind is said in words, never as its code; a proposed
    repair is offered in Vietnamese as well as English."""
    b = parcel(session, officer, 1, 2, rect(20, 0, 20, 20), holder="Lê Văn Bình")
    spouse = Party(ward_code=WARD, full_name="Nguyễn Thị Hoa")
    session.add(spouse)
    session.flush()
    session.add(ParcelRight(ward_code=WARD, parcel_id=b, party_id=spouse.id, kind="use_right",
                            certificate_no="CS 000123", issued_on=date(2015, 5, 1),
                            recorded_by="test"))
    session.execute(text(
        "INSERT INTO zone (ward_code, zone_key, kind, name, geom) VALUES (:w, 'kv2', "
        "'heritage_2', 'Chùa Thiên Mụ', ST_Multi(ST_GeomFromEWKB(:g)))"),
        {"w": WARD, "g": to_ewkb(rect(-50, -50, 55, 70), SRID)})
    session.flush()
    out = verify(session, officer, claim(session, officer, rect(0, 0, 21, 20), declared=550.0))
    [over] = by_rule(out["findings"], "overlap_registered")
    assert over["figures"]["holder"] == "Lê Văn Bình và Nguyễn Thị Hoa"
    assert "cho Lê Văn Bình và Nguyễn Thị Hoa" in over["message_vi"]
    assert "certified to Lê Văn Bình and Nguyễn Thị Hoa" in over["message_en"]
    [area] = by_rule(out["findings"], "area_mismatch")  # 550 declared, 420 measured
    assert "550.0 m² lớn hơn 130.0 m² so với diện tích đo 420.0 m²" in area["message_vi"]
    assert "550.0 m² is 130.0 m² larger than the measured 420.0 m²" in area["message_en"]
    [zone] = by_rule(out["findings"], "protection_zone")
    assert "khu vực bảo vệ II của di tích (Chùa Thiên Mụ)" in zone["message_vi"]
    assert "heritage protection zone II (Chùa Thiên Mụ)" in zone["message_en"]
    smaller = verify(session, officer, claim(session, officer, rect(0, 40, 20, 20),
                                             declared=380.0))
    [area] = by_rule(smaller["findings"], "area_mismatch")
    assert "380.0 m² nhỏ hơn 20.0 m² so với" in area["message_vi"]
    assert "is 20.0 m² smaller than" in area["message_en"]
    gap = verify(session, officer, claim(session, officer, rect(0, 0, 19.8, 20)))
    [f] = by_rule(gap["findings"], "boundary_gap")
    assert f["proposal_vi"].startswith("bám ranh giới thửa bên cạnh trong")
    assert f["proposal"].startswith("snapped to neighbours within")
    for f in out["findings"] + smaller["findings"] + gap["findings"]:
        words = f["message_vi"] + f["message_en"]
        assert not [c for c in ("heritage_2", "kim_long", "river_corridor") if c in words], f
        assert not f["message_vi"][:1].islower() and not f["message_en"][:1].islower(), f


def test_outside_the_ward_reports_the_area_outside(session, officer) -> None:
    """A lot crossing the ward's east edge by 2 m over 10 m: 20 m² outside, fails."""
    out = verify(session, officer, claim(session, officer, rect(3990, 0, 12, 10)))
    [f] = by_rule(out["findings"], "outside_ward")
    assert out["verdict"] == "fail" and f["severity"] == "error"
    assert f["figures"]["area_m2"] == pytest.approx(20.0, abs=1e-6)
    assert f["figures"]["width_m"] == pytest.approx(2.0, abs=0.02)


def test_claim_smaller_than_a_millimetre_is_verified_not_a_crash(session, officer) -> None:
    """A valid triangle 0.5 mm across (a unit mistake, a stray click): the check runs and
    says it is far too small, instead of failing where its vertices would be merged."""
    x, y = X0 + 10, Y0 + 10
    tiny = Polygon([(x, y), (x + 0.0005, y), (x + 0.0002, y + 0.0004)])
    out = verify(session, officer, claim(session, officer, tiny, declared=120.0))
    [small] = [f for f in by_rule(out["findings"], "shape")
               if f["figures"]["defect"] == "min_area"]
    assert "area 0.00 m², under 1.0 m²" in small["message_en"]
    [area] = by_rule(out["findings"], "area_mismatch")
    assert area["figures"]["difference_m2"] == pytest.approx(120.0)


def test_bow_tie_is_kept_as_claimed_and_reported_with_its_crossing(session, officer) -> None:
    """A self-crossing boundary is stored as claimed; the report shows where and a repair."""
    bow = Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])
    app_id = claim(session, officer, bow, declared=50.0)
    stored = session.execute(text("SELECT ST_IsValid(geom), geom_valid FROM application "
                                  "WHERE id = :i"), {"i": app_id}).one()
    assert tuple(stored) == (False, False)
    out = verify(session, officer, app_id)
    [f] = by_rule(out["findings"], "invalid_geometry")
    assert out["verdict"] == "fail"
    assert f["figures"]["x"] == pytest.approx(X0 + 5) and f["figures"]["y"] == pytest.approx(Y0 + 5)
    assert f["proposed_geometry"] is not None
    assert out["report"].measured_area == pytest.approx(50.0, abs=1e-6)  # two 25 m² triangles


def test_zones_report_project_and_area(session, officer) -> None:
    """Half of a 20 × 20 lot inside a red line (200 m²) and a quarter in the river corridor."""
    session.execute(text(
        "INSERT INTO project (ward_code, code, name_vi, name_en) VALUES (:w, 'VD3', "
        "'Đường Vành đai 3', 'Ring Road 3')"), {"w": WARD})
    for key, kind, geom, project in (("red", "road_redline", rect(10, -50, 100, 100), "VD3"),
                                     ("river", "river_corridor", rect(-50, -50, 55, 70), None)):
        session.execute(text(
            "INSERT INTO zone (ward_code, zone_key, kind, name, project_code, geom) VALUES "
            "(:w, :k, :kind, :k, :p, ST_Multi(ST_GeomFromEWKB(:g)))"),
            {"w": WARD, "k": key, "kind": kind, "p": project, "g": to_ewkb(geom, SRID)})
    out = verify(session, officer, claim(session, officer, rect(0, 0, 20, 20)))
    [red] = by_rule(out["findings"], "road_redline")
    [river] = by_rule(out["findings"], "protection_zone")
    assert red["figures"]["area_m2"] == pytest.approx(200.0) and "Ring Road 3" in red["figures"][
        "project"]
    assert river["figures"]["area_m2"] == pytest.approx(100.0)
    assert out["verdict"] == "review"


def test_a_use_the_plan_does_not_allow_is_a_plan_conformity_warning(session, officer) -> None:
    """A planning zone planned for housing and perennial crops (ODT, CLN) covers the west
    three quarters of each 20 × 20 lot (300 m², 75 %): a claim declared as commercial land
    (TMD) is a plan_conformity warning naming both; declared ODT, or ODT+CLN (each part
    planned), it conforms."""
    session.execute(text(
        "INSERT INTO zone (ward_code, zone_key, kind, name, planned_uses, geom) VALUES "
        "(:w, 'qh-1', 'planning', 'Khu dân cư Kim Long', ARRAY['ODT','CLN'], "
        "ST_Multi(ST_GeomFromEWKB(:g)))"), {"w": WARD, "g": to_ewkb(rect(-50, -50, 65, 200),
                                                                     SRID)})
    out = verify(session, officer, claim(session, officer, rect(0, 0, 20, 20), land_use="TMD"))
    [f] = by_rule(out["findings"], "plan_conformity")
    assert f["severity"] == "warning" and out["verdict"] == "review"
    assert f["figures"]["area_m2"] == pytest.approx(300.0)
    assert f["figures"]["share_pct"] == pytest.approx(75.0)
    assert f["figures"]["planned_uses"] == ["ODT", "CLN"] and f["figures"]["declared"] == "TMD"
    assert "ODT (" in f["message_vi"] and "TMD (" in f["message_vi"]
    assert "planned for ODT" in f["message_en"] and "{" not in f["message_en"]
    for k, use in enumerate(("ODT", "ODT+CLN")):
        ok = verify(session, officer, claim(session, officer, rect(0, 40 * (k + 1), 20, 20),
                                            land_use=use))
        assert not by_rule(ok["findings"], "plan_conformity") and ok["verdict"] == "pass"


def test_open_dispute_on_a_neighbour_blocks_until_closed(session, officer) -> None:
    """A dispute over the next-door lot fails the claim; once resolved, it passes."""
    b = parcel(session, officer, 1, 2, rect(20, 0, 20, 20))
    app_id = claim(session, officer, rect(0, 0, 20, 20))
    d = disputes.open_dispute(session, actor=officer, parcel_ids=[b], claimant="Hộ ông Cường",
                              description="tranh chấp lối đi", opened_on=date(2025, 6, 1))
    out = verify(session, officer, app_id)
    [f] = by_rule(out["findings"], "dispute_open")
    assert out["verdict"] == "fail" and f["figures"]["dispute_id"] == d.id
    disputes.set_state(session, actor=officer, dispute_id=d.id, state="resolved",
                       on=date(2025, 7, 1), reason="hòa giải thành")
    assert verify(session, officer, app_id)["verdict"] == "pass"


def test_reverifying_makes_a_new_report_with_the_registry_version(session, officer) -> None:
    """Each verification is stored; a registry change shows in the next report's version."""
    app_id = claim(session, officer, rect(0, 0, 21, 20))
    first = verify(session, officer, app_id)["report"]
    parcel(session, officer, 1, 2, rect(20, 0, 20, 20))
    second = verify(session, officer, app_id)["report"]
    assert second.id != first.id and second.registry_version > first.registry_version
    assert (first.verdict, second.verdict) == ("pass", "fail")
    assert [r.id for r in apps.reports(session, ward_code=WARD, application_id=app_id)] == [
        second.id, first.id]


def test_every_finding_speaks_both_languages(session, officer) -> None:
    """No finding leaves a placeholder unfilled in either language."""
    parcel(session, officer, 1, 2, rect(20, 0, 20, 20))
    out = verify(session, officer, claim(session, officer, rect(0, 0, 21, 20), declared=500.0))
    assert len(out["findings"]) >= 2
    for f in out["findings"]:
        assert f["message_vi"] and f["message_en"] and "{" not in f["message_en"]
        assert Severity(f["severity"])


def _wobbly_outline(n: int = 3000) -> MultiPolygon:
    """A ward outline of ``n`` irregular vertices around the test ward's centre."""
    rng = np.random.default_rng(7)
    t = np.sort(rng.uniform(0.0, 2 * np.pi, n))
    r = 1500.0 + 40.0 * np.sin(7 * t) + rng.uniform(-3.0, 3.0, n)
    xy = np.round(np.column_stack([X0 + r * np.cos(t), Y0 + r * np.sin(t)]), 3)  # surveyed mm
    return MultiPolygon([Polygon(xy)])


def test_frame_from_indexed_pieces_judges_claims_along_the_outline(session, officer) -> None:
    """The outline is kept as small indexed pieces, rebuilt by a trigger when the boundary
    is written.  Claims drawn along the outline where two pieces meet (the outline's edge
    gains a seam vertex nanometres off it) are not outside the ward; the same squares
    drawn across the outline report exactly the area beyond it."""
    outline = _wobbly_outline()
    session.execute(text("UPDATE ward SET boundary = ST_GeomFromEWKB(:g) WHERE code = :w"),
                    {"g": to_ewkb(outline, SRID), "w": WARD})
    rows = session.execute(text("SELECT ST_AsBinary(geom) FROM ward_piece WHERE ward_code = :w"),
                           {"w": WARD}).scalars().all()
    pieces = list(from_db_many(rows))
    assert len(pieces) > 20 and max(shapely.get_num_coordinates(pieces)) <= 128
    assert shapely.union_all(pieces).symmetric_difference(outline).area < 1e-6
    ring = outline.geoms[0].exterior
    own = set(ring.coords)
    seams = {xy for p in pieces for xy in p.exterior.coords
             if xy not in own and ring.distance(Point(xy)) < 1e-6}
    assert len(seams) >= 5
    inside_flagged, wrong_area = [], []
    for x, y in sorted(seams)[:12]:
        square = box(x - 8, y - 8, x + 8, y + 8)
        inner = square.intersection(outline)
        found = verify(session, officer, claim(session, officer, inner))["findings"]
        if by_rule(found, "outside_ward"):
            inside_flagged.append((x, y))
        across = verify(session, officer, claim(session, officer, square))["findings"]
        [f] = by_rule(across, "outside_ward")
        if abs(f["figures"]["area_m2"] - (square.area - inner.area)) > 0.006:  # 2 decimals
            wrong_area.append((x, y, f["figures"]["area_m2"], square.area - inner.area))
    assert not inside_flagged and not wrong_area
